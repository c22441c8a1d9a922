"""Running feeds when they are due, inside `regbrief serve`: one background thread, one sync at a time,
so queries (served by other threads) never wait for a sync. A failed feed is tried again sooner than
its schedule (within a quarter of an hour), since a stale list is what the schedule is there to avoid."""
from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Iterable

log = logging.getLogger("regbrief.feeds")
RETRY_FAILED_S = 900


def next_due(feed: dict) -> dt.datetime:
    """When a feed should next be synced (now, if it never was)."""
    if not feed.get("last_attempt"):
        return dt.datetime.min.replace(tzinfo=dt.timezone.utc)
    wait = feed["every_s"]
    if feed.get("last_status") == "failed":
        wait = min(wait, RETRY_FAILED_S)
    return dt.datetime.fromisoformat(feed["last_attempt"]) + dt.timedelta(seconds=wait)


def due(feeds: Iterable[dict], now: dt.datetime | None = None) -> list[str]:
    now = now or dt.datetime.now(dt.timezone.utc)
    return [f["name"] for f in feeds if next_due(f) <= now]


class Scheduler:
    """Every `tick_s`, syncs the due feeds of each service `services()` returns (the workspaces open in
    the server)."""

    def __init__(self, services: Callable[[], list], tick_s: float):
        self.services, self.tick_s = services, tick_s
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="regbrief-feeds", daemon=True)

    def start(self) -> "Scheduler":
        self.thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self.stopping.set()
        self.thread.join(timeout)

    def run_due(self) -> list:
        out = []
        for rb in self.services():
            names = due(rb.store.feeds.list()) if rb.store.has_feeds() else []
            if names and not self.stopping.is_set():
                out += rb.sync_feeds(names)
        return out

    def _loop(self) -> None:
        while not self.stopping.is_set():
            try:
                for r in self.run_due():
                    log.info("feed %s: %s (+%d -%d ~%d)%s", r.feed, r.status, r.added, r.removed, r.changed,
                             f": {r.error}" if r.error else "")
            except Exception:  # a broken store must not end the scheduler; it tries again next tick
                log.exception("feed scheduler")
            self.stopping.wait(self.tick_s)
