"""What changed between two versions of a source: list entries compared by their typed fields
(rag.core.models.ListEntry), other documents by their content hash."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rag.core.models import Document, ListEntry
from rag.core.priority import stepping

# Fields that say where or when a list was read, not what it says about the entry.
IGNORED = {"list_published", "last_updated"}


@dataclass
class Change:
    change: str  # added | removed | changed
    key: str  # the document's key within its source (doc id without the file tag)
    name: str
    doc_id: str
    entry: ListEntry | None = None  # the new entry (the old one for a removal)
    fields: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # changed: field -> (old, new)

    def row(self) -> dict:
        return {"change": self.change, "key": self.key, "name": self.name,
                "list": (self.entry.list if self.entry else None),
                "fields": {k: [old, new] for k, (old, new) in self.fields.items()}}


def key_of(doc_id: str) -> str:
    """"sdn~1a2b3c:36" -> "36": the list's own key (ids are "<file tag>:<key>", ingest/formats/_ids.py)."""
    return doc_id.split(":", 1)[1] if ":" in doc_id else doc_id


def _values(entry: ListEntry) -> dict[str, Any]:
    return {k: v for k, v in entry.model_dump(mode="json").items() if k not in IGNORED}


def entry_fields(old: ListEntry, new: ListEntry) -> dict[str, tuple[Any, Any]]:
    """The typed fields whose values differ, with the old and the new value."""
    a, b = _values(old), _values(new)
    return {k: (a.get(k), b.get(k)) for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)}


def diff(old_docs: list[dict], new_docs: list[Document]) -> list[Change]:
    """Changes from the stored documents of a source ({doc_id, title, content_hash, entry}) to its newly
    parsed ones: added, removed, and changed (list entries: the fields that changed; others: the text)."""
    old = {d["doc_id"]: d for d in old_docs}
    new = {d.doc_id: d for d in new_docs}
    out: list[Change] = []
    for doc_id, d in stepping(new.items()):  # queries served meanwhile go first (rag/core/priority.py)
        before = old.get(doc_id)
        if before is None:
            out.append(Change("added", key_of(doc_id), d.entry.name if d.entry else d.title, doc_id, d.entry))
            continue
        if d.entry is not None and before.get("entry") is not None:
            fields = entry_fields(ListEntry.model_validate(before["entry"]), d.entry)
            if fields:
                out.append(Change("changed", key_of(doc_id), d.entry.name, doc_id, d.entry, fields))
        elif before.get("content_hash") != d.hash():
            out.append(Change("changed", key_of(doc_id), d.title, doc_id, d.entry))
    for doc_id, before in old.items():
        if doc_id not in new:
            entry = ListEntry.model_validate(before["entry"]) if before.get("entry") else None
            out.append(Change("removed", key_of(doc_id), entry.name if entry else before["title"], doc_id, entry))
    return out
