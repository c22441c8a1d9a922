"""The watchlist: entities whose briefings regenerate themselves when their evidence changes.

Stored in SQLite beside the store (REGBRIEF_HOME/watchlist.sqlite3): the watched names with their
aliases, and one row per briefing generated for them (the briefing itself lives in the audit trail,
`rag.history`, like every other briefing).

After every ingest or removal, `refresh(rb, changed_doc_ids)` looks at each watched entity:
its evidence is the documents its latest briefing cited plus the changed documents that now mention
its name or one of its aliases. When a changed document is part of that evidence, a fresh briefing is
built with `Regbrief.brief` and gets a "What changed since the previous briefing" section (citations
added and dropped, changed documents that mention the entity). Entities whose evidence did not change
are not regenerated. Writers call this in the one process that writes the store (the CLI or the API).
"""
from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rag.store.sqlite import SqliteDB
from rag.models import Briefing, BriefingSection, Sentence
from rag.text import mentions

CHANGES_TITLE = "What changed since the previous briefing"

SCHEMA = """
CREATE TABLE IF NOT EXISTS watched (
    name TEXT PRIMARY KEY COLLATE NOCASE,
    aliases TEXT NOT NULL,           -- JSON list
    added_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS watch_briefings (
    briefing_id TEXT PRIMARY KEY,
    entity TEXT NOT NULL COLLATE NOCASE,
    trigger TEXT NOT NULL,           -- added | ingest | remove | manual
    changed_docs TEXT NOT NULL,      -- JSON list: the changed doc ids that caused it
    evidence TEXT NOT NULL,          -- JSON list: doc ids it was based on (cited, or naming the entity)
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS watch_briefings_entity ON watch_briefings(entity, created_at);
"""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class Watchlist(SqliteDB):
    def __init__(self, path: Path):
        super().__init__(path, SCHEMA)
        self.refresh_lock = threading.Lock()  # refreshes of this watchlist take turns (see refresh)

    # --- watched entities -------------------------------------------------------------------
    def add(self, name: str, aliases: Sequence[str] = ()) -> dict:
        name = " ".join(name.split())
        if not name:
            raise ValueError("the entity name is empty")
        aliases = [a for a in dict.fromkeys(" ".join(a.split()) for a in aliases) if a and a.lower() != name.lower()]
        existing = self.get(name)
        if existing:
            aliases = list(dict.fromkeys([*existing["aliases"], *aliases]))
            self.conn().execute("UPDATE watched SET aliases = ? WHERE name = ?", [json.dumps(aliases), name])
        else:
            self.conn().execute("INSERT INTO watched VALUES (?, ?, ?)",
                                 [name, json.dumps(aliases), _now().isoformat(timespec="seconds")])
        return self.get(name)  # type: ignore[return-value]

    def remove(self, name: str) -> bool:
        return self.conn().execute("DELETE FROM watched WHERE name = ?", [name.strip()]).rowcount > 0

    def get(self, name: str) -> dict | None:
        r = self.conn().execute("SELECT * FROM watched WHERE name = ?", [name.strip()]).fetchone()
        return self._entry(r) if r else None

    def list(self) -> list[dict]:
        return [self._entry(r) for r in self.conn().execute("SELECT * FROM watched ORDER BY name COLLATE NOCASE")]

    def _entry(self, r) -> dict:
        latest = self.latest(r["name"])
        return {
            "name": r["name"],
            "aliases": json.loads(r["aliases"]),
            "added_at": r["added_at"],
            "latest_briefing_id": latest["briefing_id"] if latest else None,
            "latest_briefing_at": latest["created_at"] if latest else None,
            "briefings": self.conn().execute(
                "SELECT COUNT(*) FROM watch_briefings WHERE entity = ?", [r["name"]]).fetchone()[0],
        }

    # --- generated briefings ----------------------------------------------------------------
    def record(self, entity: str, briefing_id: str, trigger: str, changed_docs: Sequence[str],
               evidence: Sequence[str] = ()) -> None:
        self.conn().execute(
            "INSERT OR REPLACE INTO watch_briefings VALUES (?, ?, ?, ?, ?, ?)",
            [briefing_id, entity, trigger, json.dumps(list(changed_docs)[:1000]), json.dumps(sorted(evidence)),
             _now().isoformat()],
        )

    def latest(self, entity: str) -> dict | None:
        r = self.conn().execute(
            "SELECT * FROM watch_briefings WHERE entity = ? ORDER BY created_at DESC LIMIT 1", [entity]
        ).fetchone()
        return dict(r) if r else None

    def briefings(self, entity: str | None = None, limit: int = 50) -> list[dict]:
        sql, params = "SELECT * FROM watch_briefings", []
        if entity:
            sql += " WHERE entity = ?"
            params.append(entity)
        sql += " ORDER BY created_at DESC LIMIT ?"
        out = []
        for r in self.conn().execute(sql, [*params, limit]):
            d = dict(r)
            d["changed_docs"] = json.loads(d["changed_docs"])
            d["evidence"] = json.loads(d["evidence"])
            out.append(d)
        return out


def get_watchlist(settings) -> Watchlist:
    return Watchlist(settings.home / "watchlist.sqlite3")


# --- regeneration -----------------------------------------------------------------------------

def _previous(rb, wl: Watchlist, entity: str) -> Briefing | None:
    latest = wl.latest(entity)
    if not latest:
        return None
    rec = rb.history.get(latest["briefing_id"])
    if not rec:
        return None
    try:
        return Briefing.model_validate_json(rec["result"])
    except ValueError:
        return None


def _mentioning(rb, doc_ids: Sequence[str], names: Sequence[str]) -> list[str]:
    """The documents among `doc_ids` (still in the store) whose title or text names the entity."""
    out: list[str] = []
    db = rb.store.keyword.conn()
    ids = list(dict.fromkeys(doc_ids))
    for i in range(0, len(ids), 500):
        part = ids[i : i + 500]
        marks = ",".join("?" * len(part))
        for r in db.execute(f"SELECT doc_id, title, text FROM documents WHERE doc_id IN ({marks})", part):
            if mentions(f"{r[1]}\n{r[2]}", names):
                out.append(r[0])
    return out


def named_docs(rb, names: Sequence[str], limit: int = 200) -> set[str]:
    """Documents that a keyword search for the entity's names finds and that really name it."""
    from rag.models import Filters

    out: set[str] = set()
    for name in names:
        hits = rb.store.keyword.search(name, Filters(), limit)
        rows = rb.store.keyword.chunk_rows([cid for cid, _ in hits])
        out.update(row["doc_id"] for row in rows.values() if mentions(f"{row['title']}\n{row['text']}", [name]))
    return out


def affected(rb, wl: Watchlist, entry: dict, changed_doc_ids: Sequence[str]) -> list[str]:
    """The changed documents that are part of this entity's evidence (empty: nothing to redo).

    Its evidence: what its latest briefing was based on (the documents it cited and those naming the
    entity then), plus the changed documents that name it now."""
    changed = set(changed_doc_ids)
    if not changed:
        return []
    latest = wl.latest(entry["name"])
    known = set(json.loads(latest["evidence"])) if latest else set()
    prev = _previous(rb, wl, entry["name"])
    if prev:
        known |= {c.doc_id for c in prev.citations}
    hits = known & changed
    hits.update(_mentioning(rb, sorted(changed - hits), [entry["name"], *entry["aliases"]]))
    return sorted(hits)


def changes_section(prev: Briefing | None, new: Briefing, changed_docs: Sequence[str], rb=None) -> BriefingSection:
    """Notes on what differs from the previous briefing: citations added and dropped, changed documents."""
    sentences: list[Sentence] = []

    def note(text: str, cites: list[int] | None = None) -> None:
        sentences.append(Sentence(text=text, citations=cites or [], kind="note", support=0.0))

    def label(c) -> str:
        when = f", {c.date.isoformat()}" if c.date else ""
        return f"{c.title} ({c.source}{when})"

    if prev is None:
        note(f"This is the first briefing on {new.entity}; there is no previous briefing to compare with.")
    else:
        note(f"Compared with the previous briefing of {prev.created_at.isoformat(timespec='seconds')} "
             f"(id {prev.id}); rating then: {prev.rating}, now: {new.rating}.")
        old_keys = {c.chunk_id for c in prev.citations}
        new_keys = {c.chunk_id for c in new.citations}
        added = [c for c in new.citations if c.chunk_id not in old_keys]
        dropped = [c for c in prev.citations if c.chunk_id not in new_keys]
        for c in added:
            note(f"New source cited: {label(c)}.", [c.n])
        for c in dropped:
            note(f"No longer cited: {label(c)}.")
        if not added and not dropped:
            note("The cited passages are the same as in the previous briefing.")
    if changed_docs and rb is not None:
        titles = []
        for doc_id in list(changed_docs)[:20]:
            d = rb.store.keyword.document(doc_id)
            titles.append(f"{d['title']} ({d['source']})" if d else f"{doc_id} (removed from the store)")
        more = f" and {len(changed_docs) - 20} more" if len(changed_docs) > 20 else ""
        note("Documents added, changed or removed since then that concern this entity: "
             + "; ".join(titles) + more + ".")
    return BriefingSection(title=CHANGES_TITLE, sentences=sentences)


def regenerate(rb, wl: Watchlist, entity: str, changed_docs: Sequence[str] = (), trigger: str = "manual") -> Briefing:
    """A fresh briefing on a watched entity with a "what changed" section, recorded in the history."""
    from rag.store.history import text_hash

    prev = _previous(rb, wl, entity)
    new = rb.brief(entity, record=False)
    new.sections.append(changes_section(prev, new, changed_docs, rb))
    import prompts

    try:
        prompt_version = prompts.version("briefing")
    except Exception:
        prompt_version = new.prompt_version
    rb.history.record(
        "briefing", new.id, entity, new.model_dump_json(),
        filters={"as_of": new.as_of.isoformat() if new.as_of else None, "watchlist": trigger},
        evidence=[{"chunk_id": c.chunk_id, "hash": text_hash(c.chunk_text or c.quote)} for c in new.citations],
        backend=new.backend, model=new.model, prompt_versions={"briefing": new.prompt_version or prompt_version},
        created_at=new.created_at,
    )
    entry = wl.get(entity)
    names = [entity, *(entry["aliases"] if entry else [])]
    evidence = {c.doc_id for c in new.citations} | named_docs(rb, names)
    wl.record(entity, new.id, trigger, changed_docs, evidence)
    return new


def refresh(rb, changed_doc_ids: Sequence[str], *, trigger: str = "ingest", wl: Watchlist | None = None,
            on_progress=None) -> dict[str, Any]:
    """Regenerate the briefings of watched entities whose evidence changed.

    Returns {"regenerated": [{"entity", "briefing_id", "changed_docs"}], "unchanged": [names]}.
    Cheap when nothing is watched or nothing changed.
    """
    wl = wl or get_watchlist(rb.settings)
    entries = wl.list()
    out: dict[str, Any] = {"regenerated": [], "unchanged": []}
    if not entries:
        return out
    # One refresh at a time per watchlist: two uploads touching one entity must not both compare against
    # the same previous briefing and record two "what changed" briefings for one change.
    with wl.refresh_lock:
        for n, entry in enumerate(entries):
            hits = affected(rb, wl, entry, changed_doc_ids)
            if hits:
                b = regenerate(rb, wl, entry["name"], hits, trigger)
                out["regenerated"].append({"entity": entry["name"], "briefing_id": b.id, "changed_docs": hits[:50]})
            else:
                out["unchanged"].append(entry["name"])
            if on_progress:
                on_progress(n + 1, len(entries))
    return out

