"""ObliQA structured regulatory documents (ADGM rulebooks): a JSON list of
`{"ID", "DocumentID", "PassageID", "Passage"}`, one file per document (1.json = AML and Sanctions
Rules). One non-empty passage -> one single-chunk "regulation" Document (empty passages, which are
bare section numbers, are skipped).

When a DocumentMap.txt sits next to the file (or one directory up), titles name the document:
"ADGM document 1 (Anti-Money Laundering and Sanctions Rules and Guidance (AML)), passage 1.1.1.(1)".
It is optional. The question files (ObliQA_dev.json: QuestionID/Question/Passages) are not this
format.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ingest.formats._errors import FormatError
from ingest.formats._common import (
    KeyDeduper,
    guarded,
    head_text,
    load_json,
    make_doc_id,
    safe_sniff,
)
from rag.core.models import Document

NAME = "obliqa_json"
EXTENSIONS = (".json",)
PUBLISHER = "ADGM FSRA"
MAP_NAME = "DocumentMap.txt"
_HEADING_MAX = 150  # a short passage that names its section ("Jurisdiction", "INTRODUCTION")


@safe_sniff
def sniff(path: Path, head: bytes) -> bool:
    text = head_text(head).lstrip()
    if not text.startswith("["):
        return False
    window = text[:2048]
    return all(f'"{k}"' in window for k in ("DocumentID", "PassageID", "Passage")) and '"QuestionID"' not in window


def load_document_map(path: Path) -> dict[str, str]:
    """DocumentID -> document name from a DocumentMap.txt near the file; {} when absent or unreadable."""
    for folder in (path.parent, path.parent.parent):
        candidate = folder / MAP_NAME
        if candidate.is_file():
            try:
                text = candidate.read_text(encoding="utf-8", errors="replace")
            except OSError:
                return {}
            names = {}
            for m in re.finditer(r"(\d+)\s*:\s*(\[.*?\])", text, flags=re.S):
                try:
                    entries = [str(x) for x in json.loads(m[2])]
                except json.JSONDecodeError:
                    continue
                candidates = entries[1:] or entries
                if candidates:
                    names[m[1]] = max(candidates, key=len)
            return names
    return {}


def _ancestors(passage_id: str) -> list[str]:
    """"1.1.1.(1)" -> ["1.1.1", "1.1.1.", "1.1", "1.1.", "1", "1."] (nearest first)."""
    parts = [p for p in passage_id.split(".") if p]
    out = []
    for k in range(len(parts) - 1, 0, -1):
        prefix = ".".join(parts[:k])
        out += [prefix, prefix + "."]
    return out


@guarded(NAME)
def parse(path: Path) -> Iterator[Document]:
    data = load_json(path)
    if not isinstance(data, list):
        raise FormatError(path, f"expected a JSON list of passages, found {type(data).__name__}")
    names = load_document_map(path)
    headings: dict[str, str] = {}
    dedupe = KeyDeduper()
    for i, item in enumerate(data, start=1):
        if not isinstance(item, dict):
            raise FormatError(path, f"item {i}: expected a JSON object, found {type(item).__name__}")
        missing = [k for k in ("DocumentID", "PassageID", "Passage") if k not in item]
        if missing:
            raise FormatError(path, f"item {i}: missing {', '.join(repr(k) for k in missing)}")
        doc_no, passage_id = str(item["DocumentID"]).strip(), str(item["PassageID"]).strip()
        passage = item["Passage"]
        if not isinstance(passage, str):
            raise FormatError(path, f"item {i} (passage {passage_id}): 'Passage' is not a string")
        passage = passage.strip()
        if not passage:
            continue
        if len(passage) <= _HEADING_MAX:
            headings[f"{doc_no}|{passage_id}"] = passage
        section = next((headings[f"{doc_no}|{a}"] for a in _ancestors(passage_id) if f"{doc_no}|{a}" in headings), None)
        doc_name = names.get(doc_no)
        label = f"ADGM document {doc_no}" + (f" ({doc_name})" if doc_name else "")
        metadata: dict[str, Any] = {
            "DocumentID": item["DocumentID"],
            "PassageID": passage_id,
            "ID": item.get("ID"),
            "document_name": doc_name,
            "section": section,
        }
        yield Document(
            doc_id=make_doc_id(path, dedupe(f"{doc_no}:{passage_id}", i)),
            title=f"{label}, passage {passage_id}",
            text=passage,
            doc_type="regulation",
            format=NAME,
            source=str(path),
            date=None,
            jurisdiction=None,
            publisher=PUBLISHER,
            metadata={k: v for k, v in metadata.items() if v is not None},
            single_chunk=True,
        )
