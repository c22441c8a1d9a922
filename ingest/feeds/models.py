"""The shapes of feeds, sync results and changes: what `regbrief feeds/sync --json` prints and the API returns;
and what list and news syncs share (the error a bad new version raises, the folder a feed's files are kept in)."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict, List, Literal

from pydantic import BaseModel, Field

NEWS = "rss"  # the format name of an RSS or Atom news feed
FEED_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class FeedError(Exception):
    """The fetched file is not a good new version; the message says why."""


def feed_dir(settings, name: str) -> Path:
    return settings.home / "feeds" / name


def parse_every(text: str | int) -> int:
    """"24h", "30m", "1d", "3600s" or seconds -> seconds (at least a minute)."""
    s = str(text).strip().lower()
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([smhdw]?)", s)
    if not m:
        raise ValueError(f"not a duration: {text!r} (use e.g. 30m, 6h, 1d)")
    seconds = int(float(m.group(1)) * _UNITS[m.group(2) or "s"])
    if seconds < 60:
        raise ValueError(f"every {text!r} is too often: a feed is synced at most once a minute")
    return seconds


def human_every(seconds: int) -> str:
    for unit, n in (("w", 604800), ("h", 3600), ("m", 60)):  # 24h reads better than 1d
        if seconds % n == 0:
            return f"{seconds // n}{unit}"
    return f"{seconds}s"


def check_name(name: str) -> str:
    if not FEED_NAME.match(name or ""):
        raise ValueError(f"invalid feed name {name!r}: use 1-64 characters a-z, 0-9, '.', '-' or '_'")
    return name


class FeedRequest(BaseModel):
    name: str = Field(..., min_length=1, max_length=64)
    url: str = Field(..., min_length=8, max_length=2000)
    format: str | None = Field(None, description="a list format (see `regbrief formats`), 'rss' for news, "
                                                 "or empty: detected at the first sync")
    every: str = Field("24h", description="how often it is synced: 30m, 6h, 1d ...")


class Feed(BaseModel):
    name: str
    url: str
    format: str | None = None
    every: str
    every_s: int
    added_at: str
    last_status: str | None = None  # updated | unchanged | failed
    last_attempt: str | None = None
    last_success: str | None = None
    last_failure: str | None = None
    last_error: str | None = None
    version: str | None = None
    data_date: str | None = None
    documents: int | None = None
    next_due: str | None = None

    @classmethod
    def of(cls, row: dict[str, Any], next_due: str | None = None) -> "Feed":
        return cls(**{k: v for k, v in row.items() if k in cls.model_fields}, every=human_every(row["every_s"]),
                   next_due=next_due)


class FeedList(BaseModel):
    feeds: list[Feed]


class SyncResult(BaseModel):
    feed: str
    status: Literal["updated", "unchanged", "failed"] = "failed"
    added: int = 0
    removed: int = 0
    changed: int = 0
    error: str | None = None
    fetched_at: str
    version: str | None = None
    format: str | None = None
    date: str | None = None  # the date the data speaks from
    documents: int | None = None  # documents the feed's source holds after the sync
    notice_id: str | None = None  # the notice document stating the changes
    requests: int = 0
    seconds: float = 0.0


class SyncResults(BaseModel):
    results: list[SyncResult]


class FeedChange(BaseModel):
    feed: str
    synced_at: str
    date: str | None = None
    change: Literal["added", "removed", "changed"]
    key: str
    name: str
    list: str | None = None  # (List and Dict below: this field shadows the builtin in the class body)
    fields: Dict[str, List[Any]] = {}
    notice_id: str | None = None


class Changes(BaseModel):
    changes: list[FeedChange]
