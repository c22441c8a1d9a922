"""SQLite connections shared by the store, the audit trail and the watchlist.

One autocommit connection per thread (the API serves requests from a thread pool), WAL so readers
never wait for a writer, and `tx()` for an explicit write transaction.
"""
from __future__ import annotations

import sqlite3
import threading
from pathlib import Path


class SqliteDB:
    def __init__(self, path: Path, schema: str):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._local = threading.local()
        self.conn().executescript(schema)

    def conn(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA foreign_keys=ON")
            self._local.db = db
        return db

    def tx(self) -> "Transaction":
        """`with db.tx() as conn:` runs the block in one IMMEDIATE (write) transaction."""
        return Transaction(self.conn())


class Transaction:
    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, exc_type, exc, tb) -> None:
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")
