"""Federal Register documents (rules and notices), as JSON Lines
`{"document_number", "title", "publication_date", "abstract", "url", ...}`, one per line,
or as a federalregister.gov API response (`{"results": [...]}`, or a JSON list of the same objects).

One record -> one "notice" Document: title = the FR title, text = title + abstract,
date = publication_date. Agencies, type and citation are kept when the record has them.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ingest.formats._errors import FormatError
from ingest.formats._common import (
    KeyDeduper,
    clean_space,
    guarded,
    head_text,
    iter_jsonl,
    json_object_line,
    load_json,
    make_doc_id,
    parse_date,
    safe_sniff,
    uniq,
)
from rag.core.models import Document

NAME = "federal_register"
EXTENSIONS = (".jsonl", ".json", ".ndjson")
PUBLISHER = "Federal Register"
_KEPT = ("type", "action", "citation", "docket_ids", "regulation_id_numbers", "cfr_references",
         "effective_on", "html_url", "pdf_url", "source_repo_path")


@safe_sniff
def sniff(path: Path, head: bytes) -> bool:
    text = head_text(head).lstrip()
    if not text.startswith(("{", "[")):
        return False
    first = text.split("\n", 1)[0] if text.startswith("{") else text[:4096]
    return '"document_number"' in first and '"publication_date"' in first


def _records(path: Path) -> Iterable[tuple[str, dict[str, Any]]]:
    """(where, record) pairs: "line N" for JSON Lines, "record N" for a JSON document."""
    with open(path, "rb") as f:
        start = f.read(4096).decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    whole = start.startswith("[") or (start.startswith("{") and '"results"' in start
                                      and '"document_number"' not in start.split("\n", 1)[0])
    if not whole:
        for line, value in iter_jsonl(path):
            yield f"line {line}", json_object_line(path, line, value, "JSON object (one Federal Register record)")
        return
    data = load_json(path)
    items = data.get("results") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise FormatError(path, "expected a JSON list of records or an object with a 'results' list")
    for i, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise FormatError(path, f"record {i}: expected a JSON object, found {type(item).__name__}")
        yield f"record {i}", item


def _agencies(value: Any) -> list[str]:
    if not value:
        return []
    if isinstance(value, (str, dict)):
        value = [value]
    out = []
    for a in value:
        if isinstance(a, dict):
            a = a.get("name") or a.get("raw_name") or a.get("slug")
        if a:
            out.append(str(a))
    return uniq(out)


@guarded(NAME)
def parse(path: Path) -> Iterator[Document]:
    dedupe = KeyDeduper()
    count = 0
    for where, rec in _records(path):
        number = str(rec.get("document_number") or "").strip()
        if not number:
            raise FormatError(path, f"{where}: record has no document_number")
        title = clean_space(str(rec.get("title") or "")) or f"Federal Register document {number}"
        raw_date = rec.get("publication_date")
        published = parse_date(raw_date)
        if raw_date and not published:
            raise FormatError(path, f"{where}: publication_date {raw_date!r} is not a date")
        abstract = str(rec.get("abstract") or "").strip()
        agencies = _agencies(rec.get("agencies") or rec.get("agency_names"))
        url = rec.get("url") or rec.get("html_url")
        metadata: dict[str, Any] = {
            "document_number": number,
            "publication_date": published.isoformat() if published else None,
            "url": url,
            "agencies": agencies,
        }
        for key in _KEPT:
            if rec.get(key) not in (None, "", []):
                metadata[key] = rec[key] if isinstance(rec[key], (str, int, float, bool, list)) else json.dumps(rec[key])
        lead = title if not agencies else f"{title} ({'; '.join(agencies)})"
        text = lead + (f"\n\n{abstract}" if abstract else "")
        count += 1
        yield Document(
            doc_id=make_doc_id(path, dedupe(re.sub(r"\s+", "", number), where.replace(" ", ""))),
            title=title,
            text=text,
            doc_type="notice",
            format=NAME,
            source=str(path),
            date=published,
            jurisdiction="US",
            publisher=PUBLISHER,
            url=str(url) if url else None,
            metadata={k: v for k, v in metadata.items() if v not in (None, "", [])},
            single_chunk=True,
        )
    if not count:
        raise FormatError(path, "no Federal Register records found")
