"""Feed tables: feed definitions with their sync state, the news items already fetched, and the changes
each sync found (REGBRIEF_HOME/feeds.sqlite3). Fetching and syncing are ingest/feeds/; the change notices
themselves are documents in the registry like any other."""
from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rag.store.sqlite import Migration, SqliteDB

# Numbered steps (rag/store/sqlite.py).
MIGRATIONS = [Migration(1, "feeds, their state, news items seen and the changes found", """
CREATE TABLE IF NOT EXISTS feeds (
    name TEXT PRIMARY KEY COLLATE NOCASE,
    url TEXT NOT NULL,
    format TEXT,                     -- a list format, 'rss' for news, or NULL: detected at the first sync
    every_s INTEGER NOT NULL,        -- how often it is due
    guarded INTEGER NOT NULL,        -- 1: every request checks the address is public (added over the API)
    added_at TEXT NOT NULL,
    etag TEXT,                       -- from the last good response, for conditional requests
    last_modified TEXT,
    content_hash TEXT,               -- sha256 of the last good file
    version TEXT,
    data_date TEXT,                  -- the date the data speaks from (list publication, Last-Modified)
    last_attempt TEXT,
    last_success TEXT,               -- last sync that ended updated or unchanged
    last_failure TEXT,
    last_status TEXT,
    last_error TEXT,
    documents INTEGER
);
CREATE TABLE IF NOT EXISTS feed_items (
    feed TEXT NOT NULL COLLATE NOCASE,
    link TEXT NOT NULL,
    fetched_at TEXT NOT NULL,
    PRIMARY KEY (feed, link)
);
CREATE TABLE IF NOT EXISTS feed_changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    feed TEXT NOT NULL COLLATE NOCASE,
    synced_at TEXT NOT NULL,
    date TEXT,                       -- the date the change speaks from
    change TEXT NOT NULL,            -- added | removed | changed
    key TEXT NOT NULL,               -- the entry's key in its list (uid, ent_num, Group ID) or an article link
    name TEXT NOT NULL,
    list TEXT,
    fields TEXT NOT NULL,            -- JSON {field: [old, new]} for changed entries, {} otherwise
    notice_id TEXT                   -- the notice document that states it
);
CREATE INDEX IF NOT EXISTS feed_changes_time ON feed_changes(synced_at);
CREATE INDEX IF NOT EXISTS feed_changes_name ON feed_changes(name);
""")]

STATE = ("etag", "last_modified", "content_hash", "version", "data_date", "last_attempt", "last_success",
         "last_failure", "last_status", "last_error", "documents", "format")


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


class FeedStore(SqliteDB):
    def __init__(self, path: Path):
        super().__init__(path, MIGRATIONS)
        self.sync_lock = threading.Lock()  # syncs of this store's feeds run one at a time

    # --- definitions --------------------------------------------------------------------------
    def add(self, name: str, url: str, format: str | None, every_s: int, guarded: bool) -> dict:
        """Add a feed, or change the URL, format and schedule of an existing one (its state is kept
        unless the URL changed)."""
        existing = self.get(name)
        with self.tx() as db:
            if existing and existing["url"] == url:
                db.execute("UPDATE feeds SET format = ?, every_s = ?, guarded = ? WHERE name = ?",
                           [format, every_s, int(guarded), name])
            else:
                db.execute("DELETE FROM feeds WHERE name = ?", [name])
                db.execute("INSERT INTO feeds (name, url, format, every_s, guarded, added_at) VALUES (?, ?, ?, ?, ?, ?)",
                           [name, url, format, every_s, int(guarded), _now()])
        return self.get(name)  # type: ignore[return-value]

    def remove(self, name: str) -> bool:
        with self.tx() as db:
            db.execute("DELETE FROM feed_items WHERE feed = ?", [name])
            return db.execute("DELETE FROM feeds WHERE name = ?", [name]).rowcount > 0

    def get(self, name: str) -> dict | None:
        r = self.conn().execute("SELECT * FROM feeds WHERE name = ?", [name]).fetchone()
        return _feed(r) if r else None

    def list(self) -> list[dict]:
        return [_feed(r) for r in self.conn().execute("SELECT * FROM feeds ORDER BY name COLLATE NOCASE")]

    def update_state(self, name: str, **state: Any) -> None:
        cols = [k for k in state if k in STATE]
        if cols:
            self.conn().execute(f"UPDATE feeds SET {', '.join(f'{c} = ?' for c in cols)} WHERE name = ?",
                                [state[c] for c in cols] + [name])

    # --- news items ---------------------------------------------------------------------------
    def seen_items(self, feed: str) -> set[str]:
        return {r[0] for r in self.conn().execute("SELECT link FROM feed_items WHERE feed = ?", [feed])}

    def add_items(self, feed: str, links: Sequence[str]) -> None:
        with self.tx() as db:
            db.executemany("INSERT OR IGNORE INTO feed_items VALUES (?, ?, ?)", [(feed, link, _now()) for link in links])

    # --- changes ------------------------------------------------------------------------------
    def record_changes(self, feed: str, synced_at: str, changes: Sequence[dict]) -> None:
        """Rows {date, change, key, name, list, fields, notice_id}, written in one transaction."""
        with self.tx() as db:
            db.executemany(
                "INSERT INTO feed_changes (feed, synced_at, date, change, key, name, list, fields, notice_id) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(feed, synced_at, c.get("date"), c["change"], c["key"], c["name"], c.get("list"),
                  json.dumps(c.get("fields") or {}, default=str), c.get("notice_id")) for c in changes])

    def changes(self, since: str | None = None, feed: str | None = None, limit: int = 1000) -> list[dict]:
        """Changes found by syncs, oldest first; `since` compares with the change's date or, without
        one, the sync time (ISO strings)."""
        sql, params = "SELECT * FROM feed_changes WHERE 1 = 1", []
        if since:
            sql += " AND COALESCE(date, synced_at) >= ?"
            params.append(since)
        if feed:
            sql += " AND feed = ?"
            params.append(feed)
        sql += " ORDER BY id LIMIT ?"
        out = []
        for r in self.conn().execute(sql, [*params, limit]):
            d = dict(r)
            d["fields"] = json.loads(d["fields"])
            out.append(d)
        return out


def _feed(r) -> dict:
    d = dict(r)
    d["guarded"] = bool(d["guarded"])
    return d
