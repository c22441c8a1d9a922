"""Entities on the lists in the store: find the ones a text names, and render their facts.

The index is built from every list-entry document in the registry (primary names, aliases, former
names) and rebuilt when the registry changes. Matching works on the names' words as rag.names reads
them: case, accents and punctuation folded, legal-form words (Ltd, Limited, Co., LLC ...) and generic
words (Group, Technology, Holding ...) set aside, so "SenseTime" finds "SENSETIME GROUP LIMITED".
"""
from __future__ import annotations

import datetime as dt
import re
import threading
from collections import defaultdict
from dataclasses import dataclass

from rag.dates import human_date, iso
from rag.models import ListEntry
from rag.names import LIST_WORDS, common_words, core_tokens, distinctive, fold, mentions


@dataclass
class EntityMatch:
    entry: ListEntry
    matched_name: str  # which of its names matched
    text_span: str  # what in the text it matched


class EntityIndex:
    def __init__(self, store):
        self.store = store
        self._lock = threading.Lock()
        self._version: int | None = None
        self.entries: dict[str, ListEntry] = {}
        self._by_token: dict[str, set[str]] = defaultdict(set)
        self._names: dict[str, list[tuple[str, list[str]]]] = {}  # doc_id -> [(name, distinctive tokens)]
        self._derived: dict[str, tuple[tuple | None, object]] = {}

    def _registry_version(self) -> int:
        """The registry's list-entry change counter (triggers bump it on every insert, update or delete)."""
        return self.store.list_entries_version()

    def refresh(self) -> None:
        version = self._registry_version()
        if version == self._version:
            return
        with self._lock:
            if version == self._version:
                return
            entries: dict[str, ListEntry] = {}
            by_token: dict[str, set[str]] = defaultdict(set)
            names: dict[str, list[tuple[str, list[str]]]] = {}
            for r in self.store.list_entry_rows():
                e = _entry(r)
                entries[e.doc_id] = e
                names[e.doc_id] = []
                for n in e.all_names():
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
        for m in sorted(matches, key=lambda m: (m.entry.list_published or dt.date.min, m.entry.doc_id)):
            latest[_same_entry(m.entry)] = m
        matches = list(latest.values())
        matches.sort(key=lambda m: (-len(m.text_span.split()), m.entry.date or dt.date.min, m.entry.doc_id))
        return matches

    def lists_loaded(self) -> list[dict]:
        """Which lists the store holds, with their publication dates: what a 'not listed' rests on."""
        self.refresh()
        seen: dict[tuple, int] = defaultdict(int)
        for e in self.entries.values():
            seen[(e.list or "", iso(e.list_published) or "", e.issuer or "")] += 1
        return [{"list": k[0], "published": k[1] or None, "authority": k[2] or None, "entries": v}
                for k, v in sorted(seen.items())]


def _entry(row: dict) -> ListEntry:
    """The typed entry of a store row (`Store.list_entry_rows`), with where the store keeps it."""
    e = ListEntry.model_validate(row["entry"])
    e.doc_id, e.source = row["doc_id"], row["source"]
    return e


def _same_entry(e: ListEntry) -> tuple:
    """What one entry keeps across versions of its list (two SDN files): its list, uid and name. FtM
    Sanction and relation records are told apart by list and name only (one per authority and target)."""
    return (e.list, e.uid if e.record == "entity" else None, fold(e.name))


def listing_sentence(e: ListEntry) -> str:
    """One plain sentence with the entry's listing facts, rendered from the typed entry."""
    programs = ", ".join(e.programs)
    on = f"the {e.list} list" if e.list and "list" not in e.list.lower() else (e.list or "a sanctions list")
    s = f"{e.name} is on {on}"
    if e.issuer and e.issuer.lower() not in on.lower():
        s += f" ({e.issuer})"
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
