"""The PostgreSQL backend on a real server (tests/pg.py) with a real `chroma run`: the same interface as
SQLite, the same keyword ranking, numbered migrations, workspaces as schemas, and the intent log across
processes (a live writer's batch is never undone; a killed one's is, by another process)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psycopg
import pytest

from rag.core.models import Filters
from rag.store.postgres.schema import MIGRATIONS
from tests.conftest import DATA, DEMO, ROOT, assert_implements, make_rb

QUERIES = ["SenseTime", "facial recognition surveillance", "Chinese military companies", "Huawei",
           "anti-money laundering", "Japan Computer Vision", "divestment deadline", "owned or controlled",
           "SenseTime list", "listing program", "NS-CMIC list entity"]  # words in most passages: left out alike


def test_the_postgres_backend_implements_the_protocol():
    from rag.store import protocol
    from rag.store.postgres import PgHistory, PgJobs, PgRateLimits, PgRegistry, PgWatchlist
    from rag.store.postgres.feeds import PgFeeds

    assert_implements([(protocol.Registry, PgRegistry), (protocol.AuditTrail, PgHistory),
                       (protocol.WatchlistTables, PgWatchlist), (protocol.JobTable, PgJobs),
                       (protocol.RateLimits, PgRateLimits), (protocol.FeedTables, PgFeeds)])


@pytest.fixture(scope="module")
def both(tmp_path_factory, embedder, servers):
    """The demo corpus in an embedded store and in one on the servers."""
    root = tmp_path_factory.mktemp("both")
    out = {"embedded": make_rb(root / "embedded"), "servers": make_rb(root / "servers", **servers())}
    for rb in out.values():
        assert rb.ingestor.ingest([DEMO / "articles", DEMO / "lists"]).ok
    return out


def test_keyword_ranking_is_sqlites_bm25(both):
    """Same chunks, same order, same scores (to 1e-6) as FTS5's bm25 for every query, with and without filters."""
    for q in QUERIES:
        for f in (Filters(), Filters(doc_type=["list_entry"]), Filters(doc_type=["article"], source="demo")):
            want = both["embedded"].store.keyword_search(q, f, 20)
            got = both["servers"].store.keyword_search(q, f, 20)
            assert [c for c, _ in got] == [c for c, _ in want], (q, f)
            assert all(abs(a[1] - b[1]) < 1e-6 for a, b in zip(got, want)), (q, got[:3], want[:3])


PHRASES = {  # keywords of several terms, which FTS5 matches as phrases (terms next to each other, in order)
    "a.md": "# Counter narcotics\n\nThe counter-narcotics unit met. Narcotics seized at the counter. Abd al-Salam "
            "Trading and Salam Abd al Trading. The Member's duty; the members owe duties.\n",
    "b.md": "# Repeats\n\nx x x, then counter narcotics counter narcotics. Al Salam abd. Member s duty.\n",
    "c.md": "# Apart\n\nNarcotics counter, counter of narcotics, x and x, abd and al and salam, member and s.\n",
}
PHRASE_QUERIES = ["counter-narcotics", "abd-al-salam", "Member's duty", "x-x", "x-x-x", "narcotics counter-narcotics",
                  "al-salam abd", "salam-abd-al", "s-duty", "counter-narcotics-counter-narcotics"]


def test_hyphenated_keywords_match_as_phrases_as_in_fts5(tmp_path, embedder, servers):
    """A keyword of several terms matches where they stand together in order (two terms: by the pairs in the
    postings; three or more: counted on the text), with FTS5's counts and scores."""
    for name, text in PHRASES.items():
        (tmp_path / name).write_text(text)
    emb, srv = make_rb(tmp_path / "e"), make_rb(tmp_path / "s", **servers())
    for rb in (emb, srv):
        assert rb.ingestor.ingest(sorted(tmp_path.glob("*.md"))).ok
    for q in PHRASE_QUERIES:
        want = emb.store.keyword_search(q, Filters(), 20)
        got = srv.store.keyword_search(q, Filters(), 20)
        assert [c for c, _ in got] == [c for c, _ in want], q
        assert all(abs(a[1] - b[1]) < 1e-6 for a, b in zip(got, want)), (q, got, want)
    doc = {r["chunk_id"]: r["doc_id"] for r in srv.store.registry.chunk_listing()}
    assert {doc[c] for c, _ in srv.store.keyword_search("counter-narcotics", Filters(), 20)} == \
        {d for d in doc.values() if not d.startswith("c~")}  # c.md holds both words, never side by side
    assert {doc[c] for c, _ in srv.store.keyword_search("x-x-x", Filters(), 20)} == {d for d in doc.values() if d.startswith("b~")}


def test_server_store_answers_as_the_embedded_one(both, tmp_path):
    emb, srv = both["embedded"], both["servers"]
    assert not (tmp_path / "servers").exists() or not any((tmp_path / "servers").iterdir())
    assert not (srv.settings.home / "regbrief.sqlite3").exists(), "the registry must not be on this disk"
    assert not (srv.settings.home / "chroma").exists(), "the vectors must not be on this disk"
    assert srv.store.stats()["documents"] == emb.store.stats()["documents"]
    check = srv.store.check()
    assert check["ok"] and check["schema_version"] == len(MIGRATIONS), check
    for q in ("Is SenseTime sanctioned?", "Which SoftBank subsidiary uses SenseTime technology?"):
        a, b = emb.ask(q, record=False), srv.ask(q, record=False)
        assert a.answer == b.answer and [c.chunk_id for c in a.citations] == [c.chunk_id for c in b.citations]
    assert len(srv.store.relations()) == len(emb.store.relations()) > 0
    assert srv.store.list_entries_version() > 0


def test_audit_trail_and_watchlist_on_postgres(both):
    rb = both["servers"]
    a = rb.ask("Is SenseTime sanctioned?")
    got = rb.store.history.get(a.id)
    assert got and got["subject"] == "Is SenseTime sanctioned?" and got["evidence"]
    assert rb.store.history.list(kind="answer", subject="is sensetime SANCTIONED?")[0]["id"] == a.id
    wl = rb.store.watchlist
    wl.add("SenseTime Group", ["SenseTime"])
    assert wl.add("sensetime group", ["Shangtang"])["aliases"] == ["SenseTime", "Shangtang"]
    wl.record("SenseTime Group", "b1", "manual", ["d1"], ["d2"])
    assert wl.latest("SENSETIME GROUP")["briefing_id"] == "b1"
    assert [e["name"] for e in wl.list()] == ["SenseTime Group"] and wl.list()[0]["briefings"] == 1
    assert wl.remove("SenseTime group") and wl.get("SenseTime Group") is None
    # decisions on screening hits: added, never overwritten, in the order made (as on SQLite)
    for rb_ in both.values():
        h = rb_.store.history
        first = h.decide("scr_pg", 0, "e1", "needs_review", "look again", "key:aaa")
        h.decide("scr_pg", 0, "e1", "true_match", "", "key:bbb")
        got = h.decisions("scr_pg")
        assert [(d["decision"], d["analyst"]) for d in got] == [("needs_review", "key:aaa"), ("true_match", "key:bbb")]
        assert got[0] == first and h.decisions("scr_other") == []


def test_changed_file_and_removal_keep_both_indexes_consistent(tmp_path, embedder, servers):
    rb = make_rb(tmp_path / "home", **servers())
    f = tmp_path / "note.md"
    f.write_text("# Zorbian note\n\nThe Zorbian Widget Company exports quantum gyroscopes to Ruritania.\n")
    assert rb.ingestor.ingest([f]).ok
    assert rb.store.keyword_search("gyroscopes", Filters(), 5)
    f.write_text("# Zorbian note\n\nThe Zorbian Widget Company now sells marmalade in Freedonia.\n")
    assert rb.ingestor.ingest([f]).ok
    assert not rb.store.keyword_search("gyroscopes", Filters(), 5)
    assert rb.store.keyword_search("marmalade", Filters(), 5)
    assert rb.store.check()["ok"]
    rb.ingestor.remove(source=str(f))
    check = rb.store.check()
    assert check["ok"] and check["chunks"] == 0 and check["vectors"] == 0 and check["fts_rows"] == 0


# --- migrations ----------------------------------------------------------------------------------------

def test_every_step_runs_from_the_version_before_and_newer_is_refused(pg_server):
    from rag.store import SchemaTooNew
    from rag.store.postgres.db import PgDB
    from rag.store.postgres.registry import PgRegistry
    from rag.store.postgres.schema import MIGRATIONS

    url = pg_server.create_database()
    for n in range(1, len(MIGRATIONS) + 1):
        schema = f"step{n}"
        before = PgDB(url, schema, MIGRATIONS[: n - 1]) if n > 1 else None
        if before:
            assert before.schema_version == n - 1
            with before.tx() as c:
                c.execute("INSERT INTO meta VALUES ('kept', 'yes')")
        reg = PgRegistry(url, schema)
        assert reg.schema_version == len(MIGRATIONS)
        if before:
            assert reg.get_meta("kept") == "yes"
    # all steps together give the same tables as a new schema
    with psycopg.connect(url) as c:
        tables = {s: {r[0] for r in c.execute("SELECT table_name FROM information_schema.tables "
                                              "WHERE table_schema = %s", [s])} for s in ("step1", "step2")}
        assert tables["step1"] == tables["step2"] and {"postings", "jobs", "rate_hits"} <= tables["step1"]
        c.execute("UPDATE step1.schema_version SET version = 99")
    with pytest.raises(SchemaTooNew, match="schema version 99.*newer release"):
        PgRegistry(url, "step1")


def test_step3_rebuilds_the_keyword_index_of_a_filled_store(both):
    """A store written before step 3 (postings of terms only, no term_df) ranks as before once migrated."""
    from rag.store.postgres.registry import PgRegistry

    reg = both["servers"].store.registry
    want = {q: reg.keyword_search(q, Filters(), 20) for q in QUERIES + ["anti-money laundering", "SenseTime's"]}
    with reg.tx() as c:  # back to version 2
        c.execute("DELETE FROM postings WHERE term LIKE '%% %%'")
        c.execute("DROP TABLE term_df, feeds, feed_items, feed_changes")  # what steps 3 and 4 make
        c.execute("DROP TABLE screening_decisions")  # step 5
        c.execute("ALTER TABLE relations DROP COLUMN status, DROP COLUMN amount, DROP COLUMN score")  # step 6
        c.execute("UPDATE schema_version SET version = 2")
    again = PgRegistry(reg.url, reg.schema)
    assert again.schema_version == len(MIGRATIONS) >= 3
    for q, hits in want.items():
        got = again.keyword_search(q, Filters(), 20)
        assert [c for c, _ in got] == [c for c, _ in hits] and all(abs(a[1] - b[1]) < 1e-9 for a, b in zip(got, hits)), q


# --- workspaces ------------------------------------------------------------------------------------------

def test_workspaces_are_schemas_and_share_nothing(tmp_path, embedder, servers):
    base = make_rb(tmp_path / "home", **servers()).settings
    alpha, beta = (make_rb(base.for_workspace(w).home, **{**servers(), "database_url": base.database_url,
                                                           "chroma_url": base.chroma_url,
                                                           "collection": base.for_workspace(w).collection})
                   for w in ("alpha", "beta"))
    f = tmp_path / "a.md"
    f.write_text("# Corvane\n\nCorvane Maritime Trading charters the Silver Orrery tanker.\n")
    g = tmp_path / "b.md"
    g.write_text("# Halvorsen\n\nHalvorsen Grain Cooperative charters a tanker for grain.\n")
    assert beta.ingestor.ingest([g]).ok
    before = beta.store.keyword_search("charters tanker", Filters(), 5)
    assert alpha.ingestor.ingest([f]).ok
    assert beta.store.keyword_search("charters tanker", Filters(), 5) == before  # not even statistics shared
    assert not beta.store.keyword_search("Corvane", Filters(), 5)
    assert alpha.store.keyword_search("Corvane", Filters(), 5)
    with psycopg.connect(base.database_url) as c:
        schemas = {r[0] for r in c.execute("SELECT schema_name FROM information_schema.schemata")}
    assert {f"{base.collection}-alpha", f"{base.collection}-beta"} <= schemas


# --- the intent log across processes ---------------------------------------------------------------------

WRITER = r"""
import sys, time
from rag.core.settings import Settings
from rag.store import get_store
store = get_store(Settings(home=sys.argv[1], database_url=sys.argv[2], chroma_url=sys.argv[3], collection=sys.argv[4]))
store.registry.mark_pending(["live-1", "live-2"], "add")   # a batch in flight: intent rows written ...
store.vectors.put_vectors(["live-1", "live-2"], [[0.1] * 384, [0.2] * 384], [{"doc_id": "x"}, {"doc_id": "x"}])
print("written", flush=True)
time.sleep(600)                                              # ... and the registry write not yet done
"""


def test_a_live_writers_batch_is_never_undone_and_a_killed_ones_is(tmp_path, embedder, servers):
    o = servers()
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path / "w"), o["database_url"],
                             o["chroma_url"], o["collection"]], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "written"
        rb = make_rb(tmp_path / "other", **o)  # another worker
        assert rb.store.recover() == {"undone_adds": 0, "finished_deletes": 0}
        assert rb.store.check()["pending"] == 2 and rb.store.vectors.count() == 2
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        # PostgreSQL ends the dead client's session (and frees its advisory lock) once it sees the socket
        # close, a moment after the kill: until then the writer still counts as alive, as it should.
        undone = {"undone_adds": 0}
        deadline = time.monotonic() + 20
        while undone["undone_adds"] == 0 and time.monotonic() < deadline:
            undone = rb.store.recover()
            time.sleep(0.1)
        assert undone == {"undone_adds": 2, "finished_deletes": 0}
        check = rb.store.check()
        assert check["ok"] and check["pending"] == 0 and check["vectors"] == 0, check
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.slow
def test_killed_ingest_is_recovered_by_another_process(tmp_path, embedder, servers):
    """`regbrief ingest` on the servers, SIGKILLed mid-ingest; another process recovers and completes it."""
    o = servers()
    src = DATA / "federal_register" / "fr_sanctions_export_controls_abstracts.jsonl"
    sliced = tmp_path / "fr_slice.jsonl"
    sliced.write_text("".join(src.read_text(encoding="utf-8").splitlines(keepends=True)[:400]), encoding="utf-8")
    env = {**os.environ, "REGBRIEF_HOME": str(tmp_path / "killed"), "REGBRIEF_INGEST_BATCH_CHUNKS": "50",
           "REGBRIEF_DATABASE_URL": o["database_url"], "REGBRIEF_CHROMA_URL": o["chroma_url"],
           "REGBRIEF_COLLECTION": o["collection"]}
    proc = subprocess.Popen([sys.executable, "-m", "api.cli", "ingest", "--quiet", str(sliced)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rb = None
    deadline = time.monotonic() + 240
    written = 0
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            rb = rb or make_rb(tmp_path / "other", **o)
            written = rb.store.count_documents()
        except Exception:
            written = 0
        if written > 0:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "ingest finished before it could be killed; use a bigger slice"
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert 0 < written < 400
    rb.store.recover()
    check = rb.store.check()
    assert check["ok"] and check["pending"] == 0, check
    assert rb.ingestor.ingest([sliced]).ok
    check = rb.store.check()
    assert check["ok"] and check["duplicate_chunks"] == 0
    assert rb.store.stats()["documents"] == 400


# --- feeds -------------------------------------------------------------------------------------------------

def _feed_script(t) -> list:
    """The same calls on a FeedTables; what they return, without the times they stamp."""
    def bare(d):
        return d and {k: v for k, v in d.items() if k not in ("added_at", "fetched_at", "synced_at", "id")}

    out = [bare(t.add("OFAC-SDN", "https://example.org/sdn.csv", None, 3600, True))]
    t.update_state("ofac-sdn", etag='"abc"', version="v1", documents=12, last_status="updated", bogus="ignored")
    out.append(bare(t.add("ofac-sdn", "https://example.org/sdn.csv", "ofac_sdn_csv", 60, False)))  # state kept
    out.append(bare(t.add("News", "https://example.org/rss", "rss", 600, True)))
    t.add_items("news", ["https://a/1", "https://a/2"])
    t.add_items("NEWS", ["https://a/2", "https://a/3"])
    out.append(sorted(t.seen_items("News")))
    t.record_changes("OFAC-SDN", "2025-01-02T00:00:00+00:00", [
        {"date": "2025-01-01", "change": "added", "key": "1", "name": "Acme", "list": "SDN", "fields": {},
         "notice_id": "n1"},
        {"change": "changed", "key": "2", "name": "Bolt", "fields": {"program": ["A", "B"]}}])
    out.append([bare(c) for c in t.changes()])
    out.append([bare(c) for c in t.changes(since="2025-01-02", feed="ofac-SDN")])
    out.append([f["name"] for f in t.list()])
    out.append(bare(t.add("News", "https://example.org/other-rss", "rss", 600, True)))  # new URL: state reset
    out.append((t.remove("news"), t.remove("news"), t.get("News"), sorted(t.seen_items("news"))))
    out.append(bare(t.get("OFAC-sdn")))
    return out


def test_feeds_on_postgres_behave_as_on_sqlite(tmp_path, pg_server):
    from rag.store.feeds import FeedStore
    from rag.store.postgres.feeds import PgFeeds
    from rag.store.postgres.registry import PgRegistry

    sqlite = FeedStore(tmp_path / "feeds.sqlite3")
    pg = PgFeeds(PgRegistry(pg_server.create_database(), "feeds_ws"))
    assert _feed_script(pg) == _feed_script(sqlite)


def test_a_store_on_postgres_keeps_its_feeds_there(tmp_path, embedder, servers):
    """Feeds and their state are in the workspace's schema: another worker (its own empty home) sees them,
    and nothing of them is written under either home."""
    o = servers()
    one, two = make_rb(tmp_path / "one", **o), make_rb(tmp_path / "two", **o)
    one.store.feeds.add("sdn", "https://example.org/sdn.csv", None, 3600, True)
    one.store.feeds.update_state("sdn", version="v7")
    assert two.store.has_feeds() and two.store.feeds.get("SDN")["version"] == "v7"
    for home in (tmp_path / "one", tmp_path / "two"):
        assert not (home / "feeds.sqlite3").exists()


def test_feed_syncs_take_turns_across_workers(pg_server):
    """The sync lock is PostgreSQL's: a second holder (another worker) waits until the first lets go."""
    import threading

    from rag.store.postgres.feeds import PgFeeds
    from rag.store.postgres.registry import PgRegistry

    url = pg_server.create_database()
    a, b = PgFeeds(PgRegistry(url, "ws")), PgFeeds(PgRegistry(url, "ws"))
    order = []

    def second():
        with b.sync_lock:
            order.append("b")

    with a.sync_lock:
        t = threading.Thread(target=second)
        t.start()
        time.sleep(0.5)
        order.append("a")
    t.join(10)
    assert order == ["a", "b"]
