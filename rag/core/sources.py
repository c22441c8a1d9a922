"""What a person recognises as a document's source, and its public link; never a path on the server.

The store keeps a key per ingested file (`source_key`: "file:<name>#<hash of its path>", "upload:<name>"
or a feed's URL) so a re-ingested file replaces its own documents; what every response, page and
briefing shows is the label made here ("OFAC NS-CMIC list, published 30 Jun 2025, uid 33114", a
publisher and date, an uploaded file's own name) and, where one exists, a public link.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from rag.core.dates import human_date

# Public pages for one entry of a list, by the issuer's own search (the uid is the list's own id).
ENTRY_PAGES = {
    "OFAC": "https://sanctionssearch.ofac.treas.gov/Details.aspx?id={uid}",
    "OpenSanctions": "https://www.opensanctions.org/entities/{uid}/",
}
FEDERAL_REGISTER_PAGE = "https://www.federalregister.gov/d/{number}"


def file_key(path: str | Path) -> str:
    """The key of a file ingested from this machine: its name and a hash of where it is (two files of one
    name in different folders stay apart), never the path itself."""
    resolved = str(Path(path).resolve())
    return f"file:{Path(resolved).name}#{hashlib.sha256(resolved.encode()).hexdigest()[:10]}"


def stored_file_key(key: str) -> str:
    """The key for a source as an earlier release stored it (an absolute path) ; other keys unchanged."""
    return file_key(key) if key.startswith("/") else key


def file_name(source_key: str) -> str | None:
    """The file name a key stands for ("upload:report.pdf" -> "report.pdf"); None for a URL."""
    if source_key.startswith(("http://", "https://")):
        return None
    if source_key.startswith("upload:"):
        return source_key[len("upload:"):]
    if source_key.startswith("file:"):
        return source_key[len("file:"):].rsplit("#", 1)[0]
    return Path(source_key).name  # a path as the first release stored it


def label(*, doc_type: str, publisher: str | None, date: Any, source_key: str, metadata: dict,
          entry: dict | None) -> str:
    """How the source reads to a person."""
    if entry:
        return _entry_label(entry, publisher)
    when = human_date(date)
    if doc_type == "notice" and metadata.get("document_number"):
        return ", ".join(x for x in [publisher or "Federal Register", when,
                                     f"document {metadata['document_number']}"] if x)
    name = file_name(source_key)
    if source_key.startswith("upload:"):  # the name the user gave it comes first
        return "; ".join(x for x in [name, ", ".join(x for x in [publisher, when] if x)] if x)
    if publisher:
        return ", ".join(x for x in [publisher, when] if x)
    return ", ".join(x for x in [name or source_key, when] if x)


def _entry_label(entry: dict, publisher: str | None) -> str:
    issuer = entry.get("issuer") or publisher or ""
    listed = entry.get("list") or ""
    head = issuer if listed in ("", issuer) else f"{issuer} {listed}".strip()
    parts = [f"{head} list" if head else "list"]
    if entry.get("list_published"):
        parts.append(f"published {human_date(entry['list_published'], short=True)}")
    if entry.get("uid"):
        parts.append(f"uid {entry['uid']}" if issuer == "OFAC" else f"id {entry['uid']}")
    return ", ".join(parts)


def public_url(*, url: str | None, doc_type: str, source_key: str, metadata: dict, entry: dict | None) -> str | None:
    """The document's own link, else the issuer's page for a list entry, else the feed URL it came from."""
    if url:
        return url
    if entry and entry.get("uid"):
        for issuer in (entry.get("issuer"), entry.get("list")):
            if issuer in ENTRY_PAGES:
                return ENTRY_PAGES[issuer].format(uid=entry["uid"])
    if doc_type == "notice" and metadata.get("document_number"):
        return FEDERAL_REGISTER_PAGE.format(number=metadata["document_number"])
    if source_key.startswith(("http://", "https://")):
        return source_key
    return None


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def present(row: dict) -> dict:
    """A stored document or chunk row as people see it: `source` becomes the label, the store's key moves to
    `source_key`, `url` is the public link, and the metadata names the file it came from (never its path).
    Done as rows are read (rag/store/facade.py), so every backend and every older store shows the same."""
    if "source_key" in row:
        return row  # already presented
    key = row["source"]
    md, entry = _json(row.get("metadata")) or {}, _json(row.get("entry"))
    common = {"doc_type": row.get("doc_type") or "", "source_key": key, "metadata": md, "entry": entry}
    row["source_key"] = key
    row["source"] = label(publisher=row.get("publisher"), date=row.get("date"), **common)
    row["url"] = public_url(url=row.get("url"), **common)
    if isinstance(row.get("metadata"), (dict, str)) and file_name(key):
        row["metadata"] = {**md, "file": file_name(key)}
    return row


def present_relation(row: dict) -> dict:
    """A relation row's document fields (doc_source, doc_url) as people see them."""
    if "doc_source_key" in row:
        return row
    key = row["doc_source"]
    common = {"doc_type": row.get("doc_type") or "", "source_key": key,
              "metadata": _json(row.get("doc_metadata")) or {}, "entry": _json(row.get("doc_entry"))}
    row["doc_source_key"] = key
    row["doc_source"] = label(publisher=row.get("doc_publisher"), date=row.get("doc_date"), **common)
    row["doc_url"] = public_url(url=row.get("doc_url"), **common)
    return row
