"""SQLite connections and schema versions, shared by the registry, the audit trail and the watchlist.

One autocommit connection per thread (the API serves requests from a thread pool), WAL so readers
never wait for a writer, and `tx()` for an explicit write transaction.

Every database records its schema version in `PRAGMA user_version`. A database is described by its
list of numbered migration steps (step N takes version N-1 to N); opening one runs the missing steps in
order, each in its own transaction, so a database written by an earlier release is brought up to date
and one written by a newer release is refused before anything is read or written. Databases from the
first release have no version (0) but already hold step 1's tables: step 1 is written with
`IF NOT EXISTS` throughout, so it applies to both an empty file and such a database.
"""
from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path


class SchemaTooNew(RuntimeError):
    """The database was written by a newer release of regbrief than this one."""


@dataclass(frozen=True)
class Migration:
    """Step `version`: SQL statements, then an optional function run in the same transaction."""

    version: int
    description: str
    sql: str = ""
    run: Callable[[sqlite3.Connection], None] | None = None


def statements(script: str) -> list[str]:
    """Split a script into statements (triggers hold ';' inside BEGIN ... END, so split where SQLite
    says a statement is complete). executescript() cannot be used: it commits the open transaction."""
    out, buf = [], ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            if buf.strip():
                out.append(buf.strip())
            buf = ""
    if buf.strip():
        out.append(buf.strip())
    return out


def migrate(db: sqlite3.Connection, path: Path, steps: Sequence[Migration]) -> int:
    """Bring the database at `path` to the newest version of `steps`; returns that version."""
    latest = len(steps)
    assert [m.version for m in steps] == list(range(1, latest + 1)), "migrations must be numbered 1..N"
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > latest:
        raise SchemaTooNew(
            f"{path} has schema version {version}, but this release of regbrief knows versions up to {latest}: "
            f"it was written by a newer release. Upgrade regbrief, or restore a backup made by this release.")
    while version < latest:
        db.execute("BEGIN IMMEDIATE")
        try:
            version = db.execute("PRAGMA user_version").fetchone()[0]  # another process may have done it
            if version < latest:
                step = steps[version]
                for stmt in statements(step.sql):
                    db.execute(stmt)
                if step.run:
                    step.run(db)
                version = step.version
                db.execute(f"PRAGMA user_version = {version}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
    return version


class SqliteDB:
    def __init__(self, path: Path, migrations: Sequence[Migration]):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.migrations = tuple(migrations)
        self._local = threading.local()
        self.schema_version = migrate(self.conn(), path, self.migrations)

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


def snapshot(src: Path, dest: Path) -> None:
    """A transaction-consistent copy of a live database (SQLite's online backup API)."""
    s = sqlite3.connect(f"file:{src}?mode=ro", uri=True, timeout=30)
    d = sqlite3.connect(dest)
    try:
        s.backup(d)
    finally:
        d.close()
        s.close()
