"""Feeds against a real HTTP server on a loopback port, serving versions of real files from ../shared/data:
the SDN list of 9 then 10 Dec 2021 (OFAC's 25 additions), the consolidated list of 2024-05-06 then
2025-06-30, an RSS feed with article pages, and the faults a feed meets (server down, 500, 304, timeout, a
file cut in half, an HTML error page served as CSV, a 300 MB response, a redirect loop): after each the
store is exactly as before and the reason is reported."""
from __future__ import annotations

import csv
import email.utils
import hashlib
import html
import io
import socket
import threading
import time
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml

from api.metrics import rss_bytes
from tests.conftest import DATA, DEMO, make_rb

SDN_9, SDN_10 = DATA / "ofac" / "sdn_2021-12-09.csv", DATA / "ofac" / "sdn_2021-12-10.csv"
CONS_2024, CONS_2025 = DATA / "ofac" / "consolidated_nonSDN_2024-05-06.xml", DATA / "ofac" / "consolidated_nonSDN_2025-06-30.xml"
MB = 1024 * 1024


# --- the server -----------------------------------------------------------------------------------

class Site:
    """Routes of a real HTTP server: path -> what to answer, changed by the tests as they go. Files are
    served as a web server does: an ETag from the content, Last-Modified, 304 to a matching If-None-Match."""

    def __init__(self):
        self.routes: dict[str, dict] = {}
        self.requests: list[tuple[str, dict]] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                site.requests.append((self.path, dict(self.headers)))
                try:
                    site.answer(self, site.routes.get(self.path, {"status": 404, "body": b"not found"}))
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client stopped reading (a refused response)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def serve(self, path: str, body: bytes, date: str | None = None, **route) -> str:
        self.routes[path] = {"body": body, "date": date, **route}
        return self.url + path

    def answer(self, h: BaseHTTPRequestHandler, r: dict) -> None:
        time.sleep(r.get("delay", 0))
        if "redirect" in r:
            h.send_response(302)
            h.send_header("Location", r["redirect"])
            h.end_headers()
            return
        if "stream" in r:  # a huge response, made as it is sent, of unannounced length
            h.send_response(200)
            h.send_header("Content-Type", "text/csv")
            h.end_headers()
            block = b"1," + b"x" * (MB - 2)
            for _ in range(r["stream"] // MB):
                h.wfile.write(block)
            return
        body, status = r["body"], r.get("status", 200)
        etag = None if r.get("plain") else '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        if etag and status == 200 and h.headers.get("If-None-Match") == etag:
            h.send_response(304)
            h.send_header("ETag", etag)
            h.end_headers()
            return
        h.send_response(status)
        h.send_header("Content-Type", r.get("type", "application/octet-stream"))
        h.send_header("Content-Length", str(r.get("length", len(body))))
        if etag:
            h.send_header("ETag", etag)
        if r.get("date") and not r.get("plain"):
            h.send_header("Last-Modified", email.utils.format_datetime(
                __import__("datetime").datetime.fromisoformat(r["date"] + "T12:00:00+00:00"), usegmt=True))
        h.end_headers()
        h.wfile.write(body[:r.get("send", len(body))])  # `send` < length: the connection drops mid-file

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def site():
    s = Site()
    yield s
    s.close()


# --- real data, sliced to what a test needs --------------------------------------------------------

def sdn_rows(path) -> list[bytes]:
    """The legacy SDN CSV's records, one per CRLF line, as published (the file ends with a ^Z)."""
    return [ln + b"\r\n" for ln in path.read_bytes().split(b"\r\n") if ln.strip(b"\x1a")]


def ent_num(row: bytes) -> str:
    return row.split(b",", 1)[0].decode()


def sdn_versions(n: int = 150) -> tuple[bytes, bytes, set[str]]:
    """The first `n` entries of the 9 Dec 2021 list, and the 10 Dec list restricted to those entries plus
    every entry new on 10 Dec; and the entries new on 10 Dec, from the whole real files."""
    day9, day10 = sdn_rows(SDN_9), sdn_rows(SDN_10)
    added = {ent_num(r) for r in day10} - {ent_num(r) for r in day9}
    kept = {ent_num(r) for r in day9[:n]}
    return (b"".join(day9[:n]), b"".join(r for r in day10 if ent_num(r) in kept | added), added)


def xml_uids(path) -> dict[str, str]:
    root = ET.parse(path).getroot()
    ns = {"n": root.tag.split("}")[0][1:]}
    out = {}
    for e in root.findall("n:sdnEntry", ns):
        name = " ".join(filter(None, [(e.findtext("n:firstName", "", ns) or "").strip(),
                                      (e.findtext("n:lastName", "", ns) or "").strip()]))
        out[e.findtext("n:uid", "", ns)] = name
    return out


def snapshot(rb) -> dict:
    """What a reader sees: every document with its hash, the files, search results, consistency."""
    hits = rb.search("Cuba airline designated entity", k=10)
    return {"documents": [(d["doc_id"], d["content_hash"]) for d in rb.store.documents()],
            "files": [(f["source"], f["format"], f["documents"]) for f in rb.sources()["files"]],
            "search": [(r.chunk_id, round(r.score, 6)) for r in hits.results],
            "check": rb.check()["ok"]}


# --- lists -----------------------------------------------------------------------------------------

def test_sdn_9_then_10_december_2021_gives_ofacs_25_additions(tmp_path, site, embedder):
    before, after, added = sdn_versions()
    assert len(added) == 25
    rb = make_rb(tmp_path / "home")
    url = site.serve("/sdn.csv", before, date="2021-12-09")
    rb.add_feed("ofac-sdn", url, "ofac_sdn_csv", "24h")

    first = rb.sync_feeds()[0]
    assert (first.status, first.added, first.notice_id) == ("updated", 150, None), first  # a first load: no notice
    # An analyst watches one of the entries OFAC is about to add: the sync re-briefs it.
    watched = next(row[1] for row in csv.reader(io.StringIO(after.decode("latin-1"))) if row and row[0] in added)
    rb.watch(watched, brief=False)
    site.serve("/sdn.csv", after, date="2021-12-10")
    r = rb.sync_feeds(["ofac-sdn"])[0]
    assert (r.status, r.added, r.removed, r.changed, r.error) == ("updated", 25, 0, 0, None), r
    assert r.date == "2021-12-10" and r.documents == 175 and r.notice_id

    changes = rb.changes(feed="ofac-sdn")
    assert {c.key for c in changes} == added and {c.change for c in changes} == {"added"}
    assert all(c.date == "2021-12-10" and c.notice_id == r.notice_id for c in changes)
    notice = rb.document(r.notice_id)
    assert notice["doc_type"] == "notice" and notice["date"] == "2021-12-10"
    text = "\n".join(ch["text"] for ch in rb.store.document_chunks(r.notice_id))
    for program in ("GLOMAG", "BURMA-EO14014", "DPRK"):
        assert program in text
    assert all(c.name in text for c in changes)

    rebriefed = rb.watchlist.briefings(watched)
    assert rebriefed and rebriefed[0]["trigger"] == "feed" and r.notice_id in rebriefed[0]["changed_docs"]

    # The notice is searchable and answers the question, cited.
    a = rb.ask("What did OFAC add to the SDN list on 10 December 2021?", record=False)
    assert not a.refused and any(c.doc_id == r.notice_id for c in a.citations), a.answer
    assert "10 December 2021" in a.answer or "10 Dec 2021" in a.answer

    # Unchanged now: one conditional request, nothing parsed or written.
    n = len(site.requests)
    again = rb.sync_feeds()[0]
    assert (again.status, again.requests, len(site.requests) - n) == ("unchanged", 1, 1)
    assert site.requests[-1][1].get("If-None-Match")


def test_a_big_list_is_parsed_and_prepared_by_the_servers_ingest_worker(tmp_path, site, embedder):
    """In the server (REGBRIEF_INGEST_WORKER) a big list's parse, like its embedding, runs in the ingest
    worker process, so queries served meanwhile keep their speed; the sync's result is the same."""
    from ingest.worker import ingest_worker

    before, after, added = sdn_versions(600)
    assert len(before) > 64 * 1024  # big enough for the worker (ingest.pipeline.WORKER_MIN_BYTES)
    rb = make_rb(tmp_path / "home", ingest_worker=True)
    url = site.serve("/sdn.csv", before, date="2021-12-09")
    rb.add_feed("ofac-sdn", url, "ofac_sdn_csv", "24h")
    worker = ingest_worker(rb.embedder)
    sent = worker.inputs
    first = rb.sync_feeds()[0]
    assert (first.status, first.added, first.error) == ("updated", 600, None), first
    assert worker.inputs == sent + 2  # the parse, then the documents to embed
    site.serve("/sdn.csv", after, date="2021-12-10")
    r = rb.sync_feeds()[0]
    assert (r.status, r.added, r.removed, r.changed, r.error) == ("updated", 25, 0, 0, None), r
    assert {c.key for c in rb.changes(feed="ofac-sdn")} == added and rb.check()["ok"]
    # a response that is not the list fails, names the URL (not this machine's file), and changes nothing
    site.serve("/sdn.csv", b"x" * 70_000 + b"\n", date="2021-12-11")
    bad = rb.sync_feeds()[0]
    assert bad.status == "failed" and url in bad.error and str(tmp_path) not in bad.error, bad
    assert rb.store.count_documents(url) == 625


def test_consolidated_2024_then_2025_gives_its_real_additions_and_removals(tmp_path, site, embedder):
    old, new = xml_uids(CONS_2024), xml_uids(CONS_2025)
    rb = make_rb(tmp_path / "home")
    url = site.serve("/consolidated.xml", CONS_2024.read_bytes())
    rb.add_feed("ofac-cons", url, every="1d")  # format detected at the first sync
    assert rb.sync_feeds()[0].status == "updated"
    assert rb.feeds()[0].format == "ofac_xml"

    site.serve("/consolidated.xml", CONS_2025.read_bytes())
    # Questions are not held up by a sync: searches finish while it is still running.
    done: list = []
    syncing = threading.Thread(target=lambda: done.append(rb.sync_feeds()[0]))
    syncing.start()
    answered_during = 0
    while syncing.is_alive():
        hits = rb.search("SenseTime NS-CMIC listing", k=3).results
        answered_during += bool(hits) and syncing.is_alive()
    syncing.join()
    assert answered_during > 0
    r = done[0]
    assert r.status == "updated" and r.date == "2025-06-30", r
    changes = rb.changes(since="2025-01-01", feed="ofac-cons")
    by_kind = {k: {c.key for c in changes if c.change == k} for k in ("added", "removed", "changed")}
    assert by_kind["added"] == set(new) - set(old) and by_kind["removed"] == set(old) - set(new)
    assert (r.added, r.removed, r.changed) == tuple(len(by_kind[k]) for k in ("added", "removed", "changed"))
    for c in changes:  # a changed entry names its fields with old and new values, which differ
        if c.change == "changed":
            assert c.fields and all(old_v != new_v for old_v, new_v in c.fields.values())

    gone = next(c for c in changes if c.change == "removed")
    a = rb.ask(f"When was {gone.name} removed?", record=False)
    assert any(c.doc_id == r.notice_id for c in a.citations), a.answer
    assert "30 June 2025" in a.answer or "30 Jun 2025" in a.answer, a.answer


# --- news ------------------------------------------------------------------------------------------

def article_page(md_path) -> tuple[str, bytes]:
    text = md_path.read_text(encoding="utf-8")
    _, front, body = text.split("---", 2)
    meta = yaml.safe_load(front)
    paras = "".join(f"<p>{html.escape(p.strip())}</p>" for p in body.split("\n\n") if p.strip() and not p.startswith("#"))
    page = (f"<!DOCTYPE html><html><head><title>{html.escape(meta['title'])}</title>"
            f"<meta name='date' content='{meta['date']}'></head><body><article><h1>{html.escape(meta['title'])}</h1>"
            f"{paras}</article></body></html>")
    return meta["title"], page.encode()


def rss(site, items) -> bytes:
    entries = "".join(f"<item><title>{html.escape(t)}</title><link>{site.url}{p}</link>"
                      f"<pubDate>Fri, 10 Dec 2021 12:00:00 GMT</pubDate></item>" for t, p in items)
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Sanctions news</title>'
            f"<link>{site.url}/</link>{entries}</channel></rss>").encode()


def test_rss_feed_brings_new_articles_in(tmp_path, site, embedder):
    pages = sorted((DEMO / "articles").glob("2021-12-1*.md"))[:3]
    items = []
    for i, md in enumerate(pages):
        title, page = article_page(md)
        site.serve(f"/news/{i}.html", page, type="text/html")
        items.append((title, f"/news/{i}.html"))
    rb = make_rb(tmp_path / "home")
    url = site.serve("/news.rss", rss(site, items[:2]), type="application/rss+xml")
    rb.add_feed("news", url, every="1h")  # detected as RSS
    r = rb.sync_feeds()[0]
    assert (r.status, r.added, r.format) == ("updated", 2, "rss"), r
    sources = {d["source_key"] for d in rb.store.documents()}
    assert sources == {site.url + p for _, p in items[:2]}

    site.serve("/news.rss", rss(site, items), type="application/rss+xml")  # one more item
    r = rb.sync_feeds()[0]
    assert (r.status, r.added) == ("updated", 1), r
    hits = rb.search("SenseTime NS-CMIC", k=5)
    assert any((h.url or "").startswith(site.url + "/news/") for h in hits.results)
    assert rb.sync_feeds()[0].status == "unchanged"


# --- faults ----------------------------------------------------------------------------------------

@pytest.fixture
def loaded(tmp_path, site, embedder):
    """A store holding a feed's good version (a slice of the real SDN list), with short limits."""
    rb = make_rb(tmp_path / "home", feed_retries=1, feed_backoff_s=0.05, feed_timeout_s=1.5)
    good, _, _ = sdn_versions(120)
    url = site.serve("/sdn.csv", good, date="2021-12-09")
    rb.add_feed("sdn", url, "ofac_sdn_csv")
    assert rb.sync_feeds()[0].status == "updated"
    return rb, good


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("fault, reason", [
    ("down", "ConnectError"),
    ("500", "HTTP 500"),
    ("timeout", "no response within"),
    ("cut-connection", "RemoteProtocolError"),
    ("cut-file", "malformed CSV"),
    ("half-file", "would remove"),
    ("html-as-csv", "does not look like ofac_sdn_csv"),
    ("huge-declared", "over the"),
    ("redirect-loop", "redirects"),
])
def test_faults_leave_the_store_as_it_was(loaded, site, fault, reason):
    rb, good = loaded
    before = snapshot(rb)
    half = good[:len(good) // 2]
    if fault == "down":
        rb.add_feed("sdn", f"http://127.0.0.1:{free_port()}/sdn.csv", "ofac_sdn_csv")
    elif fault == "500":
        site.serve("/sdn.csv", b"Internal Server Error", status=500)
    elif fault == "timeout":
        site.serve("/sdn.csv", good, delay=2.5)
    elif fault == "cut-connection":  # the server announces the whole file and drops the connection half way
        site.serve("/sdn.csv", good + b" ", send=len(good) // 2)
    elif fault == "cut-file":  # a complete response holding half the file, the last record cut
        site.serve("/sdn.csv", half[:-40])
    elif fault == "half-file":  # half the records, cut where a record ends
        site.serve("/sdn.csv", half[:half.rindex(b"\r\n") + 2])
    elif fault == "html-as-csv":
        site.serve("/sdn.csv", b"<!DOCTYPE html><html><body><h1>503 Service Unavailable</h1></body></html>",
                   type="text/csv")
    elif fault == "huge-declared":
        site.serve("/sdn.csv", good + b" ", length=300 * MB, send=0)
    elif fault == "redirect-loop":
        site.routes["/sdn.csv"] = {"redirect": "/sdn2.csv"}
        site.routes["/sdn2.csv"] = {"redirect": "/sdn.csv"}
    r = rb.sync_feeds(["sdn"])[0]
    assert r.status == "failed" and reason in (r.error or ""), r
    assert snapshot(rb) == before
    feed = rb.feeds()[0]
    assert feed.last_status == "failed" and reason in feed.last_error

    # The feed recovers when the server serves the good file again (and nothing was lost meanwhile).
    if fault == "down":
        rb.add_feed("sdn", site.url + "/sdn.csv", "ofac_sdn_csv")
    site.routes.pop("/sdn2.csv", None)
    site.serve("/sdn.csv", good, date="2021-12-09")
    assert rb.sync_feeds(["sdn"])[0].status == "unchanged"
    assert snapshot(rb) == before


def test_a_300_mb_response_is_streamed_and_refused(loaded, site):
    rb, _ = loaded
    rb.settings.feed_timeout_s = 120  # this fault is the size, not the time
    before, rss0 = snapshot(rb), rss_bytes()
    site.routes["/sdn.csv"] = {"stream": 300 * MB}
    r = rb.sync_feeds(["sdn"])[0]
    assert r.status == "failed" and "passed the" in r.error, r
    assert rss_bytes() - rss0 < 100 * MB  # streamed to disk and dropped, never held
    assert not any(p.name.endswith(".part") for p in (rb.settings.home / "feeds").rglob("*"))
    assert snapshot(rb) == before


@pytest.mark.parametrize("validators", [True, False])
def test_an_unchanged_list_costs_one_request(loaded, site, validators):
    """With ETag/Last-Modified the server answers 304; without, the same bytes come back and their
    SHA-256 matches: either way nothing is parsed or written."""
    rb, good = loaded
    site.serve("/sdn.csv", good, date="2021-12-09", plain=not validators)
    before, n = snapshot(rb), len(site.requests)
    t0 = time.perf_counter()
    r = rb.sync_feeds(["sdn"])[0]
    assert (r.status, r.requests, len(site.requests) - n) == ("unchanged", 1, 1)
    assert time.perf_counter() - t0 < 2
    assert snapshot(rb) == before


# --- HTTP API ----------------------------------------------------------------------------------------

def test_feeds_over_http(tmp_path, site, embedder):
    from fastapi.testclient import TestClient

    from api.app import create_app
    from rag.core.settings import Settings

    good, _, _ = sdn_versions(30)
    url = site.serve("/sdn.csv", good, date="2021-12-09")
    app = create_app(Settings(home=tmp_path / "home", feed_schedule=False), warm=False)
    with TestClient(app) as client:
        refused = client.post("/v1/feeds", json={"name": "sdn", "url": url, "format": "ofac_sdn_csv"})
        assert refused.status_code == 422 and "loopback" in refused.json()["error"]["message"]
        assert client.post("/v1/feeds", json={"name": "x", "url": "file:///etc/passwd"}).status_code == 422

    app = create_app(Settings(home=tmp_path / "home", feed_schedule=False, feeds_allow_private=True), warm=False)
    with TestClient(app) as client:
        made = client.post("/v1/feeds", json={"name": "sdn", "url": url, "format": "ofac_sdn_csv", "every": "6h"})
        assert made.status_code == 201 and made.json()["every"] == "6h"
        r = client.post("/v1/feeds/sdn/sync").json()
        assert {"feed", "status", "added", "removed", "changed", "error", "fetched_at", "version"} <= set(r)
        assert (r["status"], r["added"]) == ("updated", 30)
        assert client.post("/v1/feeds/nope/sync").status_code == 404
        assert client.get("/v1/feeds").json()["feeds"][0]["last_status"] == "updated"
        assert client.get("/v1/changes", params={"since": "2021-01-01", "feed": "sdn"}).json() == {"changes": []}
        ready = client.get("/readyz").json()
        assert ready["checks"]["feeds"]["sdn"]["status"] == "updated"
        metrics = client.get("/metrics").text
        assert 'regbrief_feed_last_success_timestamp_seconds{feed="sdn"}' in metrics
        assert 'regbrief_feed_data_age_seconds{feed="sdn"}' in metrics
        assert client.delete("/v1/feeds/sdn").json() == {"feeds": []}
        assert client.delete("/v1/feeds/sdn").status_code == 404

    # Inside the server, the scheduler syncs a due feed by itself; with keys configured, adding one needs a key.
    app = create_app(Settings(home=tmp_path / "home2", feed_tick_s=0.2, feeds_allow_private=True,
                              api_keys="k-feeds"), warm=False)
    with TestClient(app) as client:
        assert client.post("/v1/feeds", json={"name": "sdn", "url": url}).status_code == 401
        key = {"Authorization": "Bearer k-feeds"}
        assert client.post("/v1/feeds", json={"name": "sdn", "url": url}, headers=key).status_code == 201
        deadline = time.monotonic() + 120
        while client.get("/v1/feeds", headers=key).json()["feeds"][0]["last_status"] != "updated":
            assert time.monotonic() < deadline, "the scheduler did not sync the due feed"
            time.sleep(0.2)


def test_scheduler_syncs_due_feeds_one_at_a_time(tmp_path, site, embedder):
    from ingest.feeds.schedule import Scheduler, due

    good, _, _ = sdn_versions(20)
    rb = make_rb(tmp_path / "home")
    rb.add_feed("a", site.serve("/a.csv", good), "ofac_sdn_csv", "1h")
    rb.add_feed("b", site.serve("/b.csv", good), "ofac_sdn_csv", "1h")
    s = Scheduler(lambda: [rb], tick_s=3600)
    assert {r.feed: r.status for r in s.run_due()} == {"a": "updated", "b": "updated"}
    assert due(rb.store.feeds.list()) == [] and s.run_due() == []  # next due in an hour
    assert all(f.next_due for f in rb.feeds())


def test_cli_feeds_and_sync(tmp_path, site, embedder, capsys, monkeypatch):
    import json

    from api.cli import main

    good, _, _ = sdn_versions(10)
    url = site.serve("/sdn.csv", good, date="2021-12-09")
    monkeypatch.setenv("REGBRIEF_HOME", str(tmp_path / "home"))
    from rag.core.settings import get_settings

    get_settings.cache_clear()
    try:
        assert main(["feeds", "add", "sdn", url, "--format", "ofac_sdn_csv", "--every", "12h"]) == 0
        assert main(["sync", "--json"]) == 0
        out = capsys.readouterr().out
        result = json.loads(out[out.index("{"):])["results"][0]
        assert (result["feed"], result["status"], result["added"]) == ("sdn", "updated", 10)
        assert main(["sync", "sdn"]) == 0
        assert "unchanged sdn: +0 -0 ~0" in capsys.readouterr().out
        assert main(["feeds", "list", "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["feeds"][0]["every"] == "12h"
        assert main(["sync", "nope"]) == 2
        assert main(["feeds", "remove", "sdn"]) == 0
    finally:
        get_settings.cache_clear()


def test_feed_tables_implement_their_protocol_and_keep_state(tmp_path):
    """FeedStore has every FeedTables operation with the protocol's parameters (what a PostgreSQL backend
    implements), and its rows round-trip."""
    import inspect

    from rag.store.feeds import FeedStore
    from rag.store.protocol import FeedTables

    for name, fn in vars(FeedTables).items():
        if not name.startswith("_") and callable(fn):
            assert list(inspect.signature(getattr(FeedStore, name)).parameters) == list(inspect.signature(fn).parameters)
    t = FeedStore(tmp_path / "feeds.sqlite3")
    assert t.schema_version == 1
    t.add("sdn", "https://example.org/sdn.csv", "ofac_sdn_csv", 3600, guarded=True)
    t.update_state("sdn", etag='"x"', last_status="updated")
    t.add("sdn", "https://example.org/sdn.csv", None, 7200, guarded=False)  # same URL: the state is kept
    assert (t.get("SDN")["etag"], t.get("sdn")["every_s"], t.get("sdn")["guarded"]) == ('"x"', 7200, False)
    t.add("sdn", "https://example.org/other.csv", None, 7200, guarded=False)  # another URL: a new feed
    assert t.get("sdn")["etag"] is None
    t.record_changes("sdn", "2026-01-02T00:00:00+00:00", [
        {"change": "changed", "key": "1", "name": "A", "date": "2021-12-10", "fields": {"programs": [["X"], ["Y"]]}}])
    assert t.changes(since="2021-12-10")[0]["fields"] == {"programs": [["X"], ["Y"]]}
    assert t.changes(since="2021-12-11") == [] and t.remove("sdn") and t.list() == []


def lines(path, n: int) -> bytes:
    return b"".join(path.read_bytes().splitlines(keepends=True)[:n])


@pytest.mark.parametrize("fmt, body", [
    ("uk_ofsi_csv", lambda: (DATA / "uk" / "ConList_excerpt_2020.csv").read_bytes()),
    ("ftm_json", lambda: (DATA / "opensanctions" / "yente_fixtures" / "t1" / "entities.ftm.json").read_bytes()),
    ("eu_oj_csv", lambda: (DATA / "eu" / "amendments" / "32026R1883.csv").read_bytes()),
    ("federal_register", lambda: lines(DATA / "federal_register" / "fr_sanctions_export_controls_abstracts.jsonl", 12)),
    ("ofac_changelog_csv", lambda: lines(DATA / "ofac" / "sdn_changelog_2021-08-18_to_2024-05-03.csv", 12)),
])
def test_every_list_format_syncs_as_its_ingest_does(tmp_path, site, embedder, fmt, body):
    """A feed of each format, detected from the content, holds what ingesting the same file holds."""
    from ingest.formats import parse_with, resolve

    data = body()
    rb = make_rb(tmp_path / "home")
    rb.add_feed("f", site.serve(f"/list.{'json' if 'json' in fmt else 'csv'}", data))
    r = rb.sync_feeds()[0]
    local = tmp_path / f"copy.{'json' if 'json' in fmt else 'csv'}"
    local.write_bytes(data)
    expected = parse_with(resolve(local), local)
    assert (r.status, r.format, r.documents) == ("updated", fmt, len(expected)), r
    assert sorted(d["title"] for d in rb.store.documents(site.url + f"/list.{local.suffix[1:]}")) == \
        sorted(d.title for d in expected)
