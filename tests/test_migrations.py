"""Schema versions: every database records one; older ones migrate in numbered steps; newer are refused.

The v1 fixture (tests/fixtures/store_v1, built by tests/fixtures/build_store_v1.sh with the first
release, whose databases had no version) must open, migrate and answer as a store built today does,
and its audit trail and watchlist must read back exactly as v1 wrote them.
"""
from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import DEMO, ROOT, make_rb

FIXTURE = ROOT / "tests" / "fixtures" / "store_v1"
EXPECTED = FIXTURE / "expected"
QUESTIONS = ["When was SenseTime listed?", "Which SoftBank subsidiary uses SenseTime technology?"]
QUERIES = ["SenseTime listing", "Japan Computer Vision", "divestment deadline"]


def _user_version(path: Path) -> int:
    con = sqlite3.connect(path)  # reading the file as it is on disk, not through the store
    try:
        return con.execute("PRAGMA user_version").fetchone()[0]
    finally:
        con.close()


def _tables(path: Path) -> set[str]:
    con = sqlite3.connect(path)
    try:
        return {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')")}
    finally:
        con.close()


# --- each numbered step ------------------------------------------------------------------------------

def _databases():
    from rag.store.embedding_cache import EmbeddingCache
    from rag.store.feeds import FeedStore
    from rag.store.history import History
    from rag.store.registry import SqliteRegistry
    from rag.store.watchlist import Watchlist

    return [("regbrief.sqlite3", SqliteRegistry), ("history.sqlite3", History), ("watchlist.sqlite3", Watchlist),
            ("feeds.sqlite3", FeedStore), ("embeddings.sqlite3", EmbeddingCache)]


@pytest.mark.parametrize("name,cls", _databases(), ids=lambda x: x if isinstance(x, str) else "")
def test_every_step_runs_from_the_version_before(tmp_path, name, cls):
    """Step N takes a database made by steps 1..N-1 to version N and keeps what was there; all steps
    together give the schema of a new database."""
    from rag.store.sqlite import migrate

    fresh = cls(tmp_path / "fresh" / name)
    steps = fresh.migrations
    for n in range(1, len(steps) + 1):
        path = tmp_path / f"v{n - 1}" / name
        path.parent.mkdir()
        con = sqlite3.connect(path, isolation_level=None)
        migrate(con, path, steps[: n - 1])
        con.execute("CREATE TABLE keep_me (x)")
        con.execute("INSERT INTO keep_me VALUES (1)")
        assert migrate(con, path, steps[:n]) == n == _user_version(path)
        assert con.execute("SELECT x FROM keep_me").fetchall() == [(1,)]
        con.close()
        assert cls(path).schema_version == len(steps)  # and the rest of the way
        assert _tables(path) - {"keep_me"} == _tables(fresh.path)


def test_a_newer_schema_is_refused_with_a_clear_message(tmp_path):
    from rag.store import SchemaTooNew
    from rag.store.registry import MIGRATIONS, SqliteRegistry

    path = tmp_path / "home" / "regbrief.sqlite3"
    SqliteRegistry(path)
    con = sqlite3.connect(path)
    con.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 3}")
    con.commit()
    con.close()
    with pytest.raises(SchemaTooNew, match=r"schema version \d+, but this release of regbrief knows versions up to"):
        SqliteRegistry(path)
    # the CLI says so and exits non-zero, without a traceback
    out = subprocess.run([sys.executable, "-m", "api.cli", "check"], cwd=ROOT, capture_output=True, text=True,
                         env={**_env(), "REGBRIEF_HOME": str(path.parent)}, timeout=120)
    assert out.returncode != 0 and "newer release" in out.stderr and "Traceback" not in out.stderr


def _env() -> dict:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("REGBRIEF_")} | {"HF_HUB_OFFLINE": "1"}


# --- the store and backup written by the first release ------------------------------------------------

@pytest.fixture(scope="module")
def v1_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("v1") / "home"
    shutil.copytree(FIXTURE / "home", home)
    return home


@pytest.fixture(scope="module")
def today_rb(tmp_path_factory, embedder):
    """The same corpus ingested by today's code, for comparison: with float vectors, as the v1 store holds
    (a store keeps the vectors it was built with; a new one is int8 by default), so what is compared is the
    migration, not the embedding precision."""
    rb = make_rb(tmp_path_factory.mktemp("today") / "home", embedding_backend="onnx")
    assert rb.ingest([DEMO / "articles", DEMO / "lists"]).ok
    return rb


def _search_view(resp) -> list[tuple]:
    # ids hold a hash of the file's path, which differs between the fixture's machine and this one
    return [(r.title, r.text, round(r.score, 4)) for r in resp.results]


def _answer_view(a) -> tuple:
    return a.answer, a.refused, [(c.title, c.quote) for c in a.citations]


def test_v1_store_checks_out_after_migration(v1_home):
    out = subprocess.run([sys.executable, "-m", "api.cli", "check", "--json"], cwd=ROOT, capture_output=True,
                         text=True, env={**_env(), "REGBRIEF_HOME": str(v1_home)}, timeout=300)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    v1 = json.loads((EXPECTED / "check.json").read_text())
    assert report["ok"] and {k: report[k] for k in v1} == v1
    from rag.store.registry import MIGRATIONS

    assert report["schema_version"] == len(MIGRATIONS) == _user_version(v1_home / "regbrief.sqlite3")


def test_v1_store_searches_and_answers_as_todays(v1_home, today_rb, embedder):
    old = make_rb(v1_home)
    for q in QUERIES:
        for mode in ("hybrid", "keyword", "dense"):
            assert _search_view(old.search(q, k=5, mode=mode)) == _search_view(today_rb.search(q, k=5, mode=mode)), (q, mode)
    for q in QUESTIONS:
        assert _answer_view(old.ask(q, record=False)) == _answer_view(today_rb.ask(q, record=False)), q
    # relations were outside v1's schema: they are there (extracted on use) and cite real passages
    assert old.links("SoftBank").relations
    assert [r.phrase for r in old.links("SoftBank").relations] == [r.phrase for r in today_rb.links("SoftBank").relations]


def test_v1_history_and_watchlist_read_back_exactly(v1_home, embedder):
    old = make_rb(v1_home)
    v1_history = json.loads((EXPECTED / "history.json").read_text())
    assert old.past(limit=20) == v1_history
    for name in ("ask_sensetime.json", "ask_softbank.json"):
        recorded = json.loads((EXPECTED / name).read_text())
        assert json.loads(old.show(recorded["id"])["result"]) == recorded  # `regbrief show` reprints it
    assert old.watched() == json.loads((EXPECTED / "watch_list.json").read_text())
    # and the watchlist still works on it: a refresh writes a new briefing
    (fresh,) = old.refresh_watched("SenseTime")
    assert old.watched()[0]["latest_briefing_id"] == fresh["briefing_id"]


def test_v1_backup_restores_and_migrates(tmp_path, embedder):
    home = tmp_path / "restored"
    rb = make_rb(home)
    rb.restore(FIXTURE / "backup_v1.tar.gz")
    assert rb.check()["ok"]
    assert rb.past(limit=20) == json.loads((EXPECTED / "history.json").read_text())
    v1_search = json.loads((EXPECTED / "search_SenseTime_listing.json").read_text())
    got = rb.search("SenseTime listing", k=5)
    assert [r.chunk_id for r in got.results] == [r["chunk_id"] for r in v1_search["results"]]
    assert _user_version(home / "regbrief.sqlite3") == rb.store.registry.schema_version
