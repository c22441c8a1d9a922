"""Feeds and their sync state on PostgreSQL (FeedTables of rag/store/protocol.py; the same behaviour as
rag/store/feeds.py), in the workspace's schema, so every worker sees one set of feeds, one sync state and
one list of changes. Feed names compare without case, as SQLite's NOCASE does.

`sync_lock` is held across workers (an advisory lock of the schema): the scheduler of each worker may find
a feed due, but its syncs run one at a time over the whole deployment, as they do in one process."""
from __future__ import annotations

import contextlib
import datetime as dt
import json
import threading
from collections.abc import Sequence
from typing import Any

from rag.store.feeds import STATE
from rag.store.postgres.db import PgDB, key32

NS_FEEDS = 0x52420006


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


class SyncLock:
    """`with lock:` holds the schema's feed-sync advisory lock on a pooled connection (waiting for it, as
    threading.Lock does); threads of one process queue on a threading.Lock first. The advisory lock goes
    with the session if the worker dies."""

    def __init__(self, db: PgDB):
        self.db = db
        self._local = threading.Lock()
        self._held: contextlib.ExitStack | None = None

    def __enter__(self) -> None:
        self._local.acquire()
        try:
            stack = contextlib.ExitStack()
            c = stack.enter_context(self.db.conn())
            key = key32(self.db.schema)
            c.execute("SELECT pg_advisory_lock(%s, %s)", [NS_FEEDS, key])
            stack.callback(c.execute, "SELECT pg_advisory_unlock(%s, %s)", [NS_FEEDS, key])
        except BaseException:
            stack.close()
            self._local.release()
            raise
        self._held = stack

    def __exit__(self, *exc) -> None:
        stack, self._held = self._held, None
        try:
            if stack is not None:
                stack.close()
        finally:
            self._local.release()


class PgFeeds:
    """FeedTables (rag/store/protocol.py)."""

    def __init__(self, db: PgDB):
        self.db = db
        self.sync_lock = SyncLock(db)

    # --- definitions --------------------------------------------------------------------------
    def add(self, name: str, url: str, format: str | None, every_s: int, guarded: bool) -> dict:
        """Add a feed, or change the URL, format and schedule of an existing one (its state is kept
        unless the URL changed)."""
        with self.db.tx() as c:
            r = c.execute("SELECT url FROM feeds WHERE lower(name) = lower(%s) FOR UPDATE", [name]).fetchone()
            if r and r["url"] == url:
                c.execute("UPDATE feeds SET format = %s, every_s = %s, guarded = %s WHERE lower(name) = lower(%s)",
                          [format, every_s, int(guarded), name])
            else:
                c.execute("DELETE FROM feeds WHERE lower(name) = lower(%s)", [name])
                c.execute("INSERT INTO feeds (name, url, format, every_s, guarded, added_at) "
                          "VALUES (%s, %s, %s, %s, %s, %s)", [name, url, format, every_s, int(guarded), _now()])
        return self.get(name)  # type: ignore[return-value]

    def remove(self, name: str) -> bool:
        with self.db.tx() as c:
            c.execute("DELETE FROM feed_items WHERE feed = lower(%s)", [name])
            return c.execute("DELETE FROM feeds WHERE lower(name) = lower(%s)", [name]).rowcount > 0

    def get(self, name: str) -> dict | None:
        rows = self.db.all("SELECT * FROM feeds WHERE lower(name) = lower(%s)", [name])
        return _feed(rows[0]) if rows else None

    def list(self) -> list[dict]:
        return [_feed(r) for r in self.db.all('SELECT * FROM feeds ORDER BY lower(name) COLLATE "C"')]

    def update_state(self, name: str, **state: Any) -> None:
        cols = [k for k in state if k in STATE]
        if cols:
            with self.db.tx() as c:
                c.execute(f"UPDATE feeds SET {', '.join(f'{k} = %s' for k in cols)} WHERE lower(name) = lower(%s)",
                          [state[k] for k in cols] + [name])

    # --- news items ---------------------------------------------------------------------------
    def seen_items(self, feed: str) -> set[str]:
        return {r["link"] for r in self.db.all("SELECT link FROM feed_items WHERE feed = lower(%s)", [feed])}

    def add_items(self, feed: str, links: Sequence[str]) -> None:
        with self.db.tx() as c, c.cursor() as cur:
            cur.executemany("INSERT INTO feed_items VALUES (lower(%s), %s, %s) ON CONFLICT DO NOTHING",
                            [(feed, link, _now()) for link in links])

    # --- changes ------------------------------------------------------------------------------
    def record_changes(self, feed: str, synced_at: str, changes: Sequence[dict]) -> None:
        """Rows {date, change, key, name, list, fields, notice_id}, written in one transaction."""
        with self.db.tx() as c, c.cursor() as cur:
            cur.executemany(
                "INSERT INTO feed_changes (feed, synced_at, date, change, key, name, list, fields, notice_id) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                [(feed, synced_at, ch.get("date"), ch["change"], ch["key"], ch["name"], ch.get("list"),
                  json.dumps(ch.get("fields") or {}, default=str), ch.get("notice_id")) for ch in changes])

    def changes(self, since: str | None = None, feed: str | None = None, limit: int = 1000) -> list[dict]:
        """Changes found by syncs, oldest first; `since` compares with the change's date or, without
        one, the sync time (ISO strings)."""
        q, params = "SELECT * FROM feed_changes WHERE TRUE", []
        if since:
            q += ' AND COALESCE(date, synced_at) COLLATE "C" >= %s'
            params.append(since)
        if feed:
            q += " AND lower(feed) = lower(%s)"
            params.append(feed)
        out = []
        for d in self.db.all(q + " ORDER BY id LIMIT %s", [*params, limit]):
            d["fields"] = json.loads(d["fields"])
            out.append(d)
        return out


def _feed(r: dict) -> dict:
    r["guarded"] = bool(r["guarded"])
    return r
