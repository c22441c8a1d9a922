"""The watchlist's tables: watched names with their aliases, and one row per briefing generated for them
(the briefing itself lives in the audit trail, like every other briefing). Regeneration is rag/entities/watchlist.py."""
from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Sequence
from pathlib import Path

from rag.store.sqlite import Migration, SqliteDB

# Numbered steps (rag/store/sqlite.py); step 1 is the first release's schema.
MIGRATIONS = [Migration(1, "watched entities and their briefings", """
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
""")]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class Watchlist(SqliteDB):
    def __init__(self, path: Path):
        super().__init__(path, MIGRATIONS)
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
