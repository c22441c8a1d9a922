"""Entities on the lists in the store: find the ones a text names, and render their facts.

The index is built from every list-entry document in the registry (primary names, aliases, former
names) and rebuilt when the registry changes. Matching works on the names' words as rag.names reads
them: case, accents and punctuation folded, legal-form words (Ltd, Limited, Co., LLC ...) and generic
words (Group, Technology, Holding ...) set aside, so "SenseTime" finds "SENSETIME GROUP LIMITED".
"""
from __future__ import annotations

import re
import threading
from collections import defaultdict
from dataclasses import dataclass, field

from rag.dates import human_date
from rag.names import LIST_WORDS, common_words, core_tokens, distinctive, fold, mentions



@dataclass
class ListEntry:
    doc_id: str
    name: str
    names: list[str]  # primary name first, then aliases and former names
    list: str
    programs: list[str]
    entity_type: str | None
    listing_date: str | None
    effective_date: str | None
    divestment_date: str | None
    date: str | None  # the document date (listing date, or the list's publication date)
    source: str
    publisher: str | None
    jurisdiction: str | None
    metadata: dict = field(default_factory=dict)


@dataclass
class EntityMatch:
    entry: ListEntry
    matched_name: str  # which of its names matched
    text_span: str  # what in the text it matched


class EntityIndex:
    def __init__(self, keyword_index):
        self.keyword = keyword_index
        self._lock = threading.Lock()
        self._version: int | None = None
        self.entries: dict[str, ListEntry] = {}
        self._by_token: dict[str, set[str]] = defaultdict(set)
        self._names: dict[str, list[tuple[str, list[str]]]] = {}  # doc_id -> [(name, distinctive tokens)]
        self._derived: dict[str, tuple[tuple | None, object]] = {}

    def _registry_version(self) -> int:
        """The registry's list-entry change counter (triggers bump it on every insert, update or delete)."""
        return self.keyword.conn().execute("SELECT value FROM counters WHERE name = 'list_entries'").fetchone()[0]

    def refresh(self) -> None:
        version = self._registry_version()
        if version == self._version:
            return
        with self._lock:
            if version == self._version:
                return
            import json

            entries: dict[str, ListEntry] = {}
            by_token: dict[str, set[str]] = defaultdict(set)
            names: dict[str, list[tuple[str, list[str]]]] = {}
            db = self.keyword.conn()
            for r in db.execute(
                "SELECT doc_id, title, date, source, publisher, jurisdiction, metadata FROM documents "
                "WHERE doc_type = 'list_entry'"
            ):
                md = json.loads(r["metadata"])
                primary = md.get("name") or r["title"]
                all_names = [primary] + [n for n in _as_list(md.get("aliases")) + _as_list(md.get("former_names"))
                                         if n and n != primary]
                e = ListEntry(
                    doc_id=r["doc_id"], name=primary, names=all_names,
                    list=md.get("list") or md.get("list_name") or (r["publisher"] or "list"),
                    programs=_as_list(md.get("programs") or md.get("program")),
                    entity_type=md.get("entity_type") or md.get("schema"),
                    listing_date=md.get("listing_date") or md.get("start_date") or md.get("listed_on"),
                    effective_date=md.get("effective_date"), divestment_date=md.get("divestment_date"),
                    date=r["date"], source=r["source"], publisher=r["publisher"], jurisdiction=r["jurisdiction"],
                    metadata=md,
                )
                entries[e.doc_id] = e
                names[e.doc_id] = []
                for n in all_names:
                    # A name of generic words only ("China Electronics Technology Group") is
                    # indexed by all of them; a match then needs every one.
                    d = distinctive(core_tokens(n)) or [t for t in core_tokens(n) if len(t) > 1]
                    names[e.doc_id].append((n, d))
                    for t in d:
                        by_token[t].add(e.doc_id)
            self.entries, self._by_token, self._names, self._version = entries, by_token, names, version

    @property
    def version(self) -> tuple | None:
        """The registry version the entries were built from (changes when list entries change)."""
        return self._version

    def derived(self, key: str, build):
        """An index derived from the entries (e.g. screening's name index in rag/screen.py), built by
        `build(self)` and rebuilt when the entries change."""
        self.refresh()
        version = self._version
        cached = self._derived.get(key)
        if cached is not None and cached[0] == version:
            return cached[1]
        with self._lock:
            cached = self._derived.get(key)
            if cached is None or cached[0] != version:
                cached = (version, build(self))
                self._derived[key] = cached
        return cached[1]

    def find_in_text(self, text: str, allowed=None) -> list[EntityMatch]:
        """List entries that `text` names: every distinctive token of one of the entry's names appears
        in the text, or a rare, capitalised distinctive token does (e.g. "Hikvision")."""
        self.refresh()
        folded_tokens = fold(text).split()
        tokens = set(folded_tokens)
        capitalised = {w for m in mentions(text) for w in fold(m.text).split()}
        candidates: set[str] = set()
        for t in tokens - LIST_WORDS:
            if t in self._by_token and len(self._by_token[t]) <= 50:
                candidates |= self._by_token[t]
        matches: list[EntityMatch] = []
        for doc_id in candidates:
            if allowed is not None and not allowed(self.entries[doc_id]):
                continue
            for name, d in self._names[doc_id]:
                if not d:
                    continue
                core = core_tokens(name)
                short = len(core) == 1 and len(core[0]) <= 3
                if all(t in tokens for t in core) and (not short or re.search(rf"\b{re.escape(name)}\b", text)):
                    matches.append(EntityMatch(self.entries[doc_id], name, " ".join(d)))
                    break
                rare = [t for t in d if t in capitalised and t in tokens and len(t) >= 5
                        and len(self._by_token[t]) <= 3 and t not in common_words()]
                if rare:
                    matches.append(EntityMatch(self.entries[doc_id], name, rare[0]))
                    break
        # Best first: more matched tokens, then listing date, then id (stable).
        # The same entry in several versions of a list (two SDN files): keep the latest version allowed.
        latest: dict[tuple, EntityMatch] = {}
        for m in sorted(matches, key=lambda m: (str(m.entry.metadata.get("list_published") or ""), m.entry.doc_id)):
            latest[(m.entry.list, str(m.entry.metadata.get("uid") or fold(m.entry.name)))] = m
        matches = list(latest.values())
        matches.sort(key=lambda m: (-len(m.text_span.split()), m.entry.date or "", m.entry.doc_id))
        return matches

    def lists_loaded(self) -> list[dict]:
        """Which lists the store holds, with their publication dates: what a 'not listed' rests on."""
        self.refresh()
        seen: dict[tuple, int] = defaultdict(int)
        for e in self.entries.values():
            seen[(e.list, e.metadata.get("list_published") or "", e.publisher or "")] += 1
        return [{"list": k[0], "published": k[1] or None, "authority": k[2] or None, "entries": v}
                for k, v in sorted(seen.items())]


def _as_list(v) -> list[str]:
    if v is None:
        return []
    if isinstance(v, str):
        return [v]
    return [str(x) for x in v]


def listing_sentence(e: ListEntry) -> str:
    """One plain sentence with the entry's listing facts, rendered from its metadata."""
    programs = ", ".join(e.programs)
    on = f"the {e.list} list" if e.list and "list" not in e.list.lower() else (e.list or "a sanctions list")
    s = f"{e.name} is on {on}"
    if e.publisher and e.publisher.lower() not in on.lower():
        s += f" ({e.publisher})"
    if programs:
        s += f" under program {programs}"
    dates = []
    if e.listing_date:
        dates.append(f"listed on {human_date(e.listing_date)}")
    if e.effective_date:
        dates.append(f"effective {human_date(e.effective_date)}")
    if e.divestment_date:
        dates.append(f"with a divestment date of {human_date(e.divestment_date)}")
    if dates:
        s += ", " + ", ".join(dates)
    return s + "."
