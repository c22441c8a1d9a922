"""Entities on the lists in the store: find the ones a text names, and render their facts.

The index is built from every list-entry document in the registry (primary names, aliases, former
names) and rebuilt when the registry changes (see EntityIndex for when). Matching works on the names' words as rag.entities.names reads
them: case, accents and punctuation folded, legal-form words (Ltd, Limited, Co., LLC ...) and generic
words (Group, Technology, Holding ...) set aside, so "SenseTime" finds "SENSETIME GROUP LIMITED".
"""
from __future__ import annotations

import datetime as dt
import gc
import re
import threading
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass

from rag.core.dates import human_date, iso
from rag.core.models import ListEntry
from rag.entities.names import LIST_WORDS, common_words, core_tokens, distinctive, fold, mentions
from rag.core.priority import step_aside, stepping


@dataclass
class EntityMatch:
    entry: ListEntry
    matched_name: str  # which of its names matched
    text_span: str  # what in the text it matched


class _View:
    """The entries as of one registry version, with the indexes derived from them. Its entries never
    change (a new view replaces it whole), so a query holds one consistent view while a new one is built;
    derived indexes are added to it as they are first asked for."""

    def __init__(self, version: int | None, entries: dict[str, ListEntry], by_token: dict[str, set[str]],
                 names: dict[str, list[tuple[str, list[str]]]]):
        self.version = version
        self.entries = entries
        self.by_token = by_token
        self.names = names  # doc_id -> [(name, distinctive tokens)]
        self.derived: dict[str, object] = {}


_EMPTY = _View(None, {}, {}, {})


_pause_lock = threading.Lock()
_pauses = [0, False]  # pauses open now; was the collector on when the first began


@contextmanager
def collector_paused():
    """No cyclic garbage collection inside (the collector is back on when the last pause open ends, if it
    was on before the first began): index builds and screening batches pause it, in any order and in
    several threads at once. Both make and keep many objects, and each full collection meanwhile would
    scan them all while it stops every thread; what they free, they free by reference counting."""
    with _pause_lock:
        if not _pauses[0]:
            _pauses[1] = gc.isenabled()
            gc.disable()
        _pauses[0] += 1
    try:
        yield
    finally:
        with _pause_lock:
            _pauses[0] -= 1
            if not _pauses[0] and _pauses[1]:
                gc.enable()


@contextmanager
def _frozen_after():
    """Around the build of a view or a derived index: the collector paused, then every object alive moved
    out of its reach (gc.freeze). Otherwise each full collection during an ingest (which allocates a lot)
    scans the tens of thousands of list entries in memory while it stops every thread, and the searches
    served meanwhile wait for it (bench/results/ingest_load_ablation.json). Frozen objects are still freed
    when their last reference goes (the previous view is); only garbage in reference cycles at that moment
    is kept (a little, once per build)."""
    with collector_paused():
        try:
            yield
        finally:
            # Frozen at once, not collected first: the collector was off, so the young generations hold the
            # whole new view, and collecting them would be one long pause of every thread.
            gc.freeze()


class EntityIndex:
    """Built from the registry's list entries, and rebuilt when they change, by one thread while the
    others go on with the view they have. During an ingest in this process (`Store.ingesting`) the view
    from before it is kept (a write batch does not make every query rebuild it, and screening never sees
    half of a list); the ingesting thread brings it up to date, derived indexes included, when it ends."""

    def __init__(self, store):
        self.store = store
        self._lock = threading.Lock()  # one rebuild at a time
        self._view = _EMPTY
        self._builders: dict[str, object] = {}  # derived key -> build(view), to rebuild them ahead of queries

    @property
    def entries(self) -> dict[str, ListEntry]:
        return self._view.entries

    @property
    def version(self) -> int | None:
        """The registry version the entries were built from (changes when list entries change)."""
        return self._view.version

    def refresh(self, force: bool = False) -> None:
        """Bring the view up to the registry's list entries. A query (not `force`) that finds another
        thread rebuilding, or an ingest of this process running, keeps the view it has, if it has one."""
        version = self.store.list_entries_version()
        if version == self._view.version:
            return
        built = self._view.version is not None
        if built and not force and self.store.ingest_running:
            return
        if not self._lock.acquire(blocking=force or not built):
            return
        try:
            version = self.store.list_entries_version()  # again, under the lock: another thread may have built it
            if version == self._view.version:
                return
            with _frozen_after():
                self._view = self._build(version)
        finally:
            self._lock.release()

    def _build(self, version: int) -> _View:
        """A new view with every derived index queries have asked for, so none of them is built by a query.
        `version` is read before the entries: a change made meanwhile makes the next refresh."""
        entries: dict[str, ListEntry] = {}
        by_token: dict[str, set[str]] = defaultdict(set)
        names: dict[str, list[tuple[str, list[str]]]] = {}
        for r in stepping(self.store.list_entry_rows()):  # a rebuild steps aside for queries (rag/core/priority.py)
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
        view = _View(version, entries, by_token, names)
        for key, build in list(self._builders.items()):
            step_aside()
            view.derived[key] = build(view)
        return view

    def derived(self, key: str, build):
        """An index derived from the entries (e.g. screening's name index in rag/entities/screen.py), built by
        `build(view)` (the view has `entries`) once per view."""
        self.refresh()
        view = self._view
        if key not in view.derived:
            with self._lock:  # one build at a time; another thread may have built it meanwhile
                if key not in view.derived:
                    self._builders[key] = build
                    with _frozen_after():
                        view.derived[key] = build(view)
        return view.derived[key]

    def find_in_text(self, text: str, allowed=None) -> list[EntityMatch]:
        """List entries that `text` names: every distinctive token of one of the entry's names appears
        in the text, or a rare, capitalised distinctive token does (e.g. "Hikvision")."""
        self.refresh()
        view = self._view
        folded_tokens = fold(text).split()
        tokens = set(folded_tokens)
        capitalised = {w for m in mentions(text) for w in fold(m.text).split()}
        candidates: set[str] = set()
        for t in tokens - LIST_WORDS:
            if t in view.by_token and len(view.by_token[t]) <= 50:
                candidates |= view.by_token[t]
        matches: list[EntityMatch] = []
        for doc_id in candidates:
            if allowed is not None and not allowed(view.entries[doc_id]):
                continue
            for name, d in view.names[doc_id]:
                if not d:
                    continue
                core = core_tokens(name)
                short = len(core) == 1 and len(core[0]) <= 3
                if all(t in tokens for t in core) and (not short or re.search(rf"\b{re.escape(name)}\b", text)):
                    matches.append(EntityMatch(view.entries[doc_id], name, " ".join(d)))
                    break
                rare = [t for t in d if t in capitalised and t in tokens and len(t) >= 5
                        and len(view.by_token[t]) <= 3 and t not in common_words()]
                if rare:
                    matches.append(EntityMatch(view.entries[doc_id], name, rare[0]))
                    break
        # Best first: more matched tokens, then listing date, then id (stable).
        # The same entry in several versions of a list (two SDN files): keep the latest version allowed.
        latest: dict[tuple, EntityMatch] = {}
        for m in sorted(matches, key=lambda m: (m.entry.list_published or dt.date.min, m.entry.doc_id)):
            latest[same_entry(m.entry)] = m
        matches = list(latest.values())
        matches.sort(key=lambda m: (-len(m.text_span.split()), m.entry.date or dt.date.min, m.entry.doc_id))
        return matches

    def lists_loaded(self) -> list[dict]:
        """Which lists the store holds, with their publication dates: what a 'not listed' rests on.
        Counted once per view (screening, answers and briefings ask it every time)."""
        def build(view) -> list[dict]:
            # one entry synced by a feed and ingested from a file is one entry of its list
            seen: dict[tuple, set] = defaultdict(set)
            for e in view.entries.values():
                seen[(e.list or "", iso(e.list_published) or "", e.issuer or "")].add(same_entry(e))
            return [{"list": k[0], "published": k[1] or None, "authority": k[2] or None, "entries": len(v)}
                    for k, v in sorted(seen.items())]

        return [dict(x) for x in self.derived("entities.lists_loaded", build)]


def _entry(row: dict) -> ListEntry:
    """The typed entry of a store row (`Store.list_entry_rows`), with where the store keeps it."""
    e = ListEntry.model_validate(row["entry"])
    e.doc_id, e.source = row["doc_id"], row["source"]
    return e


def same_entry(e: ListEntry) -> tuple:
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
