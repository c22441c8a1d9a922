"""News feeds: an RSS or Atom feed (read with feedparser) whose new items' pages are fetched and ingested
as articles (trafilatura, through the article parsers). An item is fetched once; one that failed is tried
again at the next sync."""
from __future__ import annotations

import hashlib
import re
from pathlib import Path
from urllib.parse import urljoin

import feedparser

from ingest.feeds.fetch import FetchError, fetch
from ingest.feeds.models import FeedError, feed_dir

# Items fetched per sync: a feed that suddenly lists thousands of links is not read all at once.
MAX_ITEMS = 50
_FEED_START = re.compile(rb"\A(?:\s|<\?xml[^>]*\?>|<!--.*?-->)*<(rss|feed|rdf:RDF)\b", re.S)


def sniff(path: Path) -> bool:
    with open(path, "rb") as f:
        return bool(_FEED_START.match(f.read(4096)))


def sync(rb, feed: dict, started: str, got=None) -> dict:
    """`got`: the feed file already fetched (a feed whose format was detected as news at this sync)."""
    settings, table = rb.store.settings, rb.store.feeds
    folder = feed_dir(settings, feed["name"])
    folder.mkdir(parents=True, exist_ok=True)
    if got is None:
        got = fetch(feed["url"], folder / "feed.xml", settings, guarded=feed["guarded"], etag=feed["etag"],
                    last_modified=feed["last_modified"])
    if got.not_modified:
        return {"status": "unchanged", "requests": got.requests, "version": feed["version"], "format": "rss",
                "documents": feed["documents"]}
    parsed = feedparser.parse(got.path.read_bytes())  # bytes: feedparser fetches nothing itself
    if not parsed.version and not parsed.entries:
        reason = getattr(parsed, "bozo_exception", None) or "no items"
        raise FeedError(f"{feed['url']}: not an RSS or Atom feed ({reason})")
    seen = table.seen_items(feed["name"])
    links = [urljoin(got.url, e.get("link", "")) for e in parsed.entries if e.get("link")]
    items = {link: e for link, e in zip(links, (e for e in parsed.entries if e.get("link")))}
    new = [link for link in dict.fromkeys(links) if link not in seen][:MAX_ITEMS]

    done, errors, changed, rows = [], [], [], []
    for link in new:
        path = folder / "articles" / f"{hashlib.sha256(link.encode()).hexdigest()[:16]}.html"
        path.parent.mkdir(exist_ok=True)
        try:
            fetch(link, path, settings, guarded=feed["guarded"])
        except FetchError as e:
            errors.append(str(e))
            continue
        report = rb.ingestor.ingest([path], source_name=lambda p, link=link: link)
        result = report.files[0]
        if result.status == "failed":
            errors.append(result.error or link)
            path.unlink(missing_ok=True)
            continue
        done.append(link)
        changed += result.changed
        e = items[link]
        rows.append({"change": "added", "key": link, "name": e.get("title") or link,
                     "date": _published(e), "list": None, "fields": {}})
    if new and not done:
        raise FeedError(f"{feed['url']}: none of the {len(new)} new items could be read: " + "; ".join(errors[:3]))
    table.add_items(feed["name"], done)
    if rows:
        table.record_changes(feed["name"], started, rows)
    # Conditional requests only once every item is in: a 304 would hide the ones that failed.
    table.update_state(feed["name"], etag=None if errors else got.etag,
                       last_modified=None if errors else got.last_modified, content_hash=got.sha256)
    if changed:
        rb.refresh_affected(changed, trigger="feed")
    return {"status": "updated" if done else "unchanged", "added": len(done), "requests": got.requests,
            "error": "; ".join(errors) or None, "version": got.sha256[:16], "format": "rss",
            "documents": len(seen) + len(done)}


def _published(entry) -> str | None:
    t = entry.get("published_parsed") or entry.get("updated_parsed")
    return f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}" if t else None
