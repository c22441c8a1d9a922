"""The store is sealed: no SQL and no database connection outside rag/store/.

Everything else goes through the named operations of rag.store.Store, so a second backend
(PostgreSQL) is one new module and a schema change touches one package. Tests may read the files
on disk to check what the store wrote; nothing else may.
"""
from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import ROOT, assert_implements

CHECKED = ["rag", "api", "ingest", "eval", "bench", "prompts"]
SEALED = ROOT / "rag" / "store"
# Databases that are not the store's, each with why it is not a store operation.
NOT_THE_STORE = {
    # the benchmarks' own cache of vectors, so repeated runs do not re-embed; never a regbrief store
    "bench/__init__.py",
    # an ablation of FTS5 query forms over in-memory copies of the passages, beside the real store
    "bench/bench_quality.py",
}

PATTERNS = [
    re.compile(r"^\s*(import|from)\s+(sqlite3|psycopg|psycopg_pool|chromadb)\b", re.M),
    re.compile(r"\.(conn|cursor)\(\)"),
    re.compile(r"\.execute(many|script)?\("),
    re.compile(r"\bSELECT\b[^\n]*\bFROM\b|\bINSERT\s+(OR\s+\w+\s+)?INTO\b|\bDELETE\s+FROM\b|"
               r"\bCREATE\s+(VIRTUAL\s+)?TABLE\b|\bUPDATE\s+\w+\s+SET\b|\b(DROP|ALTER)\s+TABLE\b|\bPRAGMA\s+\w+"),
]


def offending(root: Path = ROOT) -> list[str]:
    out = []
    for top in CHECKED:
        for path in sorted((root / top).rglob("*.py")):
            rel = path.relative_to(root).as_posix()
            if path.is_relative_to(root / "rag" / "store") or rel in NOT_THE_STORE:
                continue
            text = path.read_text(encoding="utf-8")
            for pat in PATTERNS:
                for m in pat.finditer(text):
                    line = text.count("\n", 0, m.start()) + 1
                    out.append(f"{rel}:{line}: {m.group(0).strip()}")
    return out


def test_no_sql_or_connection_outside_the_store():
    found = offending()
    assert not found, "SQL or a database connection outside rag/store/:\n" + "\n".join(found)


def test_the_guard_catches_what_it_is_for(tmp_path):
    """The check itself: a raw query planted in a module is reported (so the test above can fail)."""
    (tmp_path / "rag").mkdir()
    (tmp_path / "rag" / "sneaky.py").write_text(
        'def n(rb):\n    return rb.store.registry.conn().execute("SELECT COUNT(*) FROM documents")\n')
    found = offending(tmp_path)
    assert any(".conn()" in f for f in found) and any("SELECT" in f for f in found)


def test_the_sqlite_backend_implements_the_protocol():
    """Every operation of the backend interface exists on the SQLite implementation with the same
    parameters: the interface a second backend (PostgreSQL) implements is the one really used."""
    from rag.store import protocol
    from rag.store.feeds import FeedStore
    from rag.store.history import History
    from rag.store.registry import SqliteRegistry
    from rag.store.watchlist import Watchlist

    assert_implements([(protocol.Registry, SqliteRegistry), (protocol.AuditTrail, History),
                       (protocol.WatchlistTables, Watchlist), (protocol.FeedTables, FeedStore)])


def test_every_database_of_the_store_is_versioned():
    """Each SQLite database the store creates goes through SqliteDB (numbered migrations, a recorded
    version): no module of rag/store opens a connection of its own."""
    for path in sorted(SEALED.rglob("*.py")):
        if path.name == "sqlite.py" or "postgres" in path.parts:
            continue
        assert "sqlite3.connect(" not in path.read_text(encoding="utf-8"), f"{path} opens SQLite itself"
