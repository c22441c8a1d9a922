"""The registry's rows, shaped once for both backends (SQLite: rag/store/registry.py; PostgreSQL:
rag/store/postgres/registry.py): the columns a listing selects and how its JSON columns are decoded. Both
backends build these queries from the same column lists, so a field added to one cannot be missing from the
other; tests/test_store_parity.py holds every operation's results equal."""
from __future__ import annotations

import json
from typing import Any

# Stored documents as listed (`Registry.documents`), with what the source label is made from.
DOCUMENT_LISTING = ("d.doc_id, d.source, d.format, d.doc_type, d.title, d.date, d.jurisdiction, d.publisher, d.url, "
                    "d.content_hash, d.ingested_at, (SELECT COUNT(*) FROM chunks c WHERE c.doc_id = d.doc_id) AS chunks, "
                    "d.metadata, d.entry")
# Every list entry (`Registry.list_entry_rows`), for the entity index.
LIST_ENTRY = "doc_id, doc_type, title, date, source, publisher, jurisdiction, url, metadata, entry"
# The document fields a relation is cited with (`Registry.relations`, over `relations r JOIN documents d`).
RELATION_DOCUMENT = ("d.title AS doc_title, d.source AS doc_source, d.date AS doc_date, d.url AS doc_url, "
                     "d.doc_type AS doc_type, d.publisher AS doc_publisher, d.metadata AS doc_metadata, "
                     "d.entry AS doc_entry")
# What relation extraction reads of a stored document (`Registry.relation_sources`), besides its chunks.
RELATION_SOURCE = "doc_id, doc_type, title, metadata, content_hash, entry"


def json_or_none(value: str | None) -> Any:
    return json.loads(value) if value else None


def decoded(row: dict) -> dict:
    """A document row with its JSON columns (metadata, entry) decoded, in place."""
    row["metadata"] = json.loads(row["metadata"])
    row["entry"] = json_or_none(row["entry"])
    return row


def relation_source(row: dict, chunks: list[tuple[str, str]]) -> dict:
    """A `relation_sources` row: the document's RELATION_SOURCE fields decoded, with its (chunk_id, text) chunks."""
    return {**decoded(dict(row)), "chunks": chunks}
