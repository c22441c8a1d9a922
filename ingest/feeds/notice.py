"""A sync's changes as a dated notice document: one summary sentence, then one sentence per entry added,
removed or changed (with the fields that changed, old and new values). Each sentence names the list and
the date, so any one of them, cited alone, answers "what was added on ..." or "when was X removed"."""
from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from ingest.feeds.diff import Change
from rag.core.dates import human_date
from rag.core.models import Document, ListEntry

NOTICE_FORMAT = "feed_notice"
MAX_VALUE_CHARS = 160
VERBS = {"added": "Added to", "removed": "Removed from", "changed": "Changed on"}


def _list_label(entry: ListEntry | None, fallback: str) -> str:
    if entry is None:
        return fallback
    name = entry.list or fallback
    issuer = entry.issuer or ""
    return f"{issuer} {name} list".strip() if issuer and not name.startswith(issuer) else f"{name} list"


def _item(x: Any) -> str:
    if isinstance(x, dict):  # a name, an identifier or a link, as a person reads it
        text = " ".join(str(x[k]) for k in ("type", "number", "name", "relation", "object") if x.get(k))
        return f"{text} ({x['country']})" if x.get("country") else text
    return str(x)


def _value(v: Any) -> str:
    if v in (None, "", [], {}):
        return "(none)"
    text = " ".join(("; ".join(map(_item, v)) if isinstance(v, list) else str(v)).split())  # items hold commas
    return text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS - 1] + "…"


def field_change(name: str, old: Any, new: Any) -> str:
    """"programs changed from A to B", or for lists what was added and removed ("addresses: added X")."""
    label = name.replace("_", " ")
    if isinstance(old, list) and isinstance(new, list):
        before, after = [_item(x) for x in old], [_item(x) for x in new]
        parts = [f"{verb} {_value([x for x in a if x not in b])}" for verb, a, b in
                 (("added", after, before), ("removed", before, after)) if any(x not in b for x in a)]
        if parts:
            return f"{label}: {' and '.join(parts)}"
    return f"{label} changed from {_value(old)} to {_value(new)}"


def _describe(c: Change) -> str:
    e = c.entry
    if e is None:
        return c.name
    facts = [n for n in e.all_names()[1:4]]
    bits = [f"a.k.a. {'; '.join(facts)}"] if facts else []
    if e.source_type or e.entity_type != "other":
        bits.append(e.source_type or e.entity_type)
    if e.programs:
        bits.append(("programs " if len(e.programs) > 1 else "program ") + ", ".join(e.programs))
    bits.append(f"entry {e.uid or c.key}")
    return f"{c.name} ({'; '.join(bits)})"


def sentence(c: Change, list_label: str, when: str) -> str:
    head = f"{VERBS[c.change]} the {_list_label(c.entry, list_label)} on {when}: {_describe(c)}"
    if c.change == "changed" and c.fields:
        head += ": " + "; ".join(field_change(k, old, new) for k, (old, new) in c.fields.items())
    return head.rstrip(".") + "."


def render(feed: dict, changes: list[Change], date: dt.date, synced_at: str, version: str) -> Document:
    entries = [c.entry for c in changes if c.entry is not None]
    common = Counter(_list_label(e, feed["name"]) for e in entries).most_common(1)
    label = common[0][0] if common else f"{feed['name']} feed"
    counts = Counter(c.change for c in changes)
    when = human_date(date)
    summary = (f"{label} changes published {when} (feed {feed['name']}, {feed['url']}): "
               f"{counts['added']} added, {counts['removed']} removed, {counts['changed']} changed.")
    order = {"added": 0, "removed": 1, "changed": 2}
    lines = [summary] + [sentence(c, label, when) for c in sorted(changes, key=lambda c: (order[c.change], c.name))]
    issuers = Counter(e.issuer for e in entries if e.issuer).most_common(1)
    places = Counter(e.jurisdiction for e in entries if e.jurisdiction).most_common(1)
    return Document(
        doc_id=f"feed~{feed['name']}:changes@{synced_at}",
        title=f"{label} changes, {when}: {counts['added']} added, {counts['removed']} removed, "
              f"{counts['changed']} changed",
        text="\n".join(lines),
        doc_type="notice",
        format=NOTICE_FORMAT,
        source=notice_source(feed["name"], synced_at),
        date=date,
        jurisdiction=places[0][0] if places else None,
        publisher=issuers[0][0] if issuers else None,
        url=feed["url"],
        metadata={"feed": feed["name"], "version": version, "synced_at": synced_at, **dict(counts)},
    )


def notice_source(feed: str, synced_at: str) -> str:
    """What `source` says for a notice: the feed and the sync, as a person reads it."""
    return f"regbrief feed {feed}: changes found {synced_at}"
