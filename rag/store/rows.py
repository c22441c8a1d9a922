"""The registry's rows, shaped once for both backends (SQLite: rag/store/registry.py; PostgreSQL:
rag/store/postgres/registry.py): the columns a document is written with and a read selects, and how the JSON
columns are encoded and decoded. Both backends build their queries from these, so a field added to one
cannot be missing from the other; tests/test_store_parity.py holds every operation's results equal. What
differs by dialect (placeholders, FTS5 against the PostgreSQL keyword index, COPY) stays in each backend."""
from __future__ import annotations

import json
from typing import Any

from rag.core.models import Document

# A document as written (`Registry.replace_documents`): these columns, in this order, from `document_values`.
DOCUMENT_COLUMNS = ("doc_id, source, format, doc_type, title, date, jurisdiction, publisher, url, content_hash, "
                    "ingested_at, metadata, text, pages, entry")
# A chunk with its document's fields (`Registry.chunk_rows`), over `chunks c JOIN documents d`.
CHUNK_ROW = ('c.chunk_id, c.doc_id, c.idx, c.text, c.start, c."end", c.page, c.doc_type, c.date, c.jurisdiction, '
             'c.source, d.title, d.publisher, d.url, d.metadata, d.format, d.entry')
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


def document_values(d: Document, now: str) -> tuple:
    """A document's DOCUMENT_COLUMNS values, JSON columns encoded."""
    return (d.doc_id, d.source, d.format, d.doc_type, d.title, d.date.isoformat() if d.date else None,
            d.jurisdiction, d.publisher, d.url, d.hash(), now, json.dumps(d.metadata, default=str), d.text,
            json.dumps(d.pages) if d.pages else None, d.entry.model_dump_json() if d.entry is not None else None)


def json_or_none(value: str | None) -> Any:
    return json.loads(value) if value else None


def decoded(row: dict) -> dict:
    """A document row with its JSON columns (metadata, entry) decoded, in place."""
    row["metadata"] = json.loads(row["metadata"])
    row["entry"] = json_or_none(row["entry"])
    return row


def document_row(row: dict, chunk_ids: list[str]) -> dict:
    """A `Registry.document` row (every column of documents): JSON columns decoded, with its chunk ids."""
    decoded(row)
    row["pages"] = json_or_none(row["pages"])
    row["chunk_ids"] = chunk_ids
    return row


def relation_source(row: dict, chunks: list[tuple[str, str]]) -> dict:
    """A `relation_sources` row: the document's RELATION_SOURCE fields decoded, with its (chunk_id, text) chunks."""
    return {**decoded(dict(row)), "chunks": chunks}
