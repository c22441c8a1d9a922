"""One sync of a list feed: fetch (conditional) -> parse the whole file -> diff with what the store holds
-> store the new version through the ingest pipeline -> record the changes as a notice document and as
rows -> refresh watched entities. Any failure before the store is written leaves the last good version in
place (the file on disk and every document) and reports the reason."""
from __future__ import annotations

import datetime as dt
import email.utils
import logging
import re
import time
from pathlib import Path
from urllib.parse import urlsplit

from ingest.feeds import news, notice
from ingest.feeds.diff import diff
from ingest.feeds.fetch import FetchError, fetch
from ingest.feeds.models import NEWS, FeedError, SyncResult, feed_dir
from ingest.formats import FormatError, read_head, resolve

log = logging.getLogger("regbrief.feeds")
ARTICLE_FORMATS = {"article_html", "article_text", "article_pdf"}
# A list this small may lose most of its entries for real; the share guard is for big lists.
SMALL_LIST = 20


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def file_name(feed: dict) -> str:
    """The file a feed's data is kept in: its URL's own name (parsers read extensions), made safe."""
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(urlsplit(feed["url"]).path).name).strip("._")
    return base or f"{feed['name']}.dat"


def sync_feeds(rb, names=None) -> list[SyncResult]:
    """Sync the named feeds (all when none are named), one at a time; KeyError for an unknown name."""
    table = rb.store.feeds
    feeds = table.list() if not names else [table.get(n) for n in names]
    missing = [n for n, f in zip(names or [], feeds) if f is None]
    if missing:
        raise KeyError(f"no feed named {', '.join(missing)}")
    with table.sync_lock:
        return [sync_one(rb, table.get(f["name"]) or f) for f in feeds]


def sync_one(rb, feed: dict) -> SyncResult:
    t0 = time.perf_counter()
    table, started = rb.store.feeds, now_iso()
    table.update_state(feed["name"], last_attempt=started)
    res = SyncResult(feed=feed["name"], fetched_at=started, version=feed["version"], format=feed["format"])
    try:
        run = news.sync if feed["format"] == NEWS else sync_list
        res = res.model_copy(update=run(rb, feed, started))
        table.update_state(feed["name"], last_success=started, last_status=res.status, last_error=res.error,
                           version=res.version, format=res.format, documents=res.documents, data_date=res.date)
    except FormatError as e:  # it names the feed's file on this machine: name the URL instead
        res.error = f"{feed['url']}: {e.reason}"
    except (FetchError, FeedError) as e:
        res.error = str(e)
    except Exception as e:  # the store or the model failed: the feed stays as it was, the reason is reported
        log.exception("feed %s: sync failed", feed["name"])
        res.error = f"{type(e).__name__}: {e}"
    if res.status == "failed":
        table.update_state(feed["name"], last_failure=started, last_status="failed", last_error=res.error)
    res.seconds = round(time.perf_counter() - t0, 3)
    return res


def sync_list(rb, feed: dict, started: str) -> dict:
    settings, table, source = rb.store.settings, rb.store.feeds, feed["url"]
    folder = feed_dir(settings, feed["name"])
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / file_name(feed)
    have = bool(feed["content_hash"]) and target.exists() and rb.store.count_documents(source) > 0
    got = fetch(feed["url"], folder / f"download{target.suffix}", settings, guarded=feed["guarded"],
                etag=feed["etag"] if have else None, last_modified=feed["last_modified"] if have else None)
    unchanged = {"status": "unchanged", "requests": got.requests, "version": feed["version"],
                 "date": feed["data_date"], "documents": feed["documents"], "format": feed["format"]}
    if got.not_modified:
        return unchanged
    if have and got.sha256 == feed["content_hash"]:  # the server sent it again, unchanged
        got.path.unlink(missing_ok=True)
        table.update_state(feed["name"], etag=got.etag, last_modified=got.last_modified)
        return unchanged

    if not feed["format"] and news.sniff(got.path):  # a news feed added without --format rss
        return news.sync(rb, {**feed, "format": NEWS}, started, got)
    module, docs = _swap_in(got.path, target, feed, rb.ingestor)
    old = _stored(rb, source)
    changes = diff(old, docs)
    removed = sum(c.change == "removed" for c in changes)
    if len(old) >= SMALL_LIST and removed > settings.feed_max_removed_share * len(old):
        _restore(target)
        raise FeedError(f"the new file would remove {removed} of the {len(old)} documents of {source} "
                        f"(over {settings.feed_max_removed_share:.0%}): refused as a cut-off or wrong file")
    date = _data_date(docs, got.last_modified)
    version = f"{date.isoformat()}-{got.sha256[:10]}"

    rb.store.recover()
    with rb.store.source_lock(source):
        stored = rb.ingestor.store_documents(docs, source, got.sha256, module.NAME, label=feed["name"])
    changed_ids, notice_id = list(stored.changed), None
    if old and changes:  # the first load of a feed is not a change to report
        doc = notice.render(feed, changes, date, started, version)
        with rb.store.source_lock(doc.source):
            rb.ingestor.store_documents([doc], doc.source, doc.hash(), notice.NOTICE_FORMAT)
        notice_id = doc.doc_id
        changed_ids.append(notice_id)
        table.record_changes(feed["name"], started, [{**c.row(), "date": date.isoformat(), "notice_id": notice_id}
                                                     for c in changes])
    _forget(target)
    table.update_state(feed["name"], etag=got.etag, last_modified=got.last_modified, content_hash=got.sha256)
    rb.refresh_affected(changed_ids, trigger="feed")
    counts = {k: sum(c.change == k for c in changes) for k in ("added", "removed", "changed")}
    if not old:
        counts["added"] = len(docs)
    return {"status": "updated" if stored.changed or notice_id else "unchanged", **counts, "version": version, "date": date.isoformat(), "format": module.NAME,
            "documents": len(docs), "notice_id": notice_id, "requests": got.requests}


def _swap_in(download: Path, target: Path, feed: dict, ingestor):
    """Put the download where the feed's file lives (document ids name that path) and parse it whole;
    on any failure the previous file is put back."""
    prev = target.with_name(target.name + ".prev")
    if target.exists():
        target.replace(prev)
    download.replace(target)
    try:
        return _parse(target, feed, ingestor)
    except BaseException:
        _restore(target)
        raise


def _restore(target: Path) -> None:
    prev = target.with_name(target.name + ".prev")
    if prev.exists():
        prev.replace(target)
    else:
        target.unlink(missing_ok=True)


def _forget(target: Path) -> None:
    target.with_name(target.name + ".prev").unlink(missing_ok=True)


def _parse(path: Path, feed: dict, ingestor):
    fmt = feed["format"]
    module = resolve(path, fmt)
    head = read_head(path)
    if fmt and not module.sniff(path, head):
        start = head[:80].decode("utf-8", "replace").strip()
        raise FeedError(f"{feed['url']}: the response does not look like {fmt} (it starts {start!r})")
    if not fmt and module.NAME in ARTICLE_FORMATS:
        raise FeedError(f"{feed['url']}: the response is a web page or text ({module.NAME}), not a list; "
                        f"give the feed a --format if it really is one, or 'rss' for a news feed")
    return module, ingestor.parse(path, module.NAME)  # a big list in the server's ingest worker


def _stored(rb, source: str) -> list[dict]:
    """The source's documents as the store holds them, with their typed entries."""
    docs = rb.store.documents(source)
    ids = {d["doc_id"] for d in docs}  # by id: what list_entry_rows calls a row's source may be its label
    entries = {r["doc_id"]: r["entry"] for r in rb.store.list_entry_rows() if r["doc_id"] in ids}
    return [{**d, "entry": entries.get(d["doc_id"])} for d in docs]


def _data_date(docs, last_modified: str | None) -> dt.date:
    """The date the data speaks from: the list's own publication date, else the server's Last-Modified,
    else today."""
    published = [d.entry.list_published for d in docs if d.entry is not None and d.entry.list_published]
    if published:
        return max(published)
    if last_modified:
        try:
            return email.utils.parsedate_to_datetime(last_modified).date()
        except (TypeError, ValueError):
            pass
    return dt.datetime.now(dt.timezone.utc).date()
