"""PostgreSQL connections, one schema per workspace, numbered migrations, and the writer's lock session.

A pool (psycopg_pool) per (database, schema): every connection's search_path is the workspace's schema,
named after its Chroma collection (Settings.for_workspace gives each workspace its own), so a workspace's
tables, keyword statistics included, are its own. Connections are autocommit; `tx()` is one transaction.
Any failure to reach the server becomes StoreUnavailable naming PostgreSQL (the API answers 503), and the
pool replaces broken connections on the next use, so a restarted server is picked up without a restart.

Schema versions: the table `schema_version` holds the version; opening runs the missing steps of
MIGRATIONS (rag/store/postgres/schema.py) in order, each in one transaction under an advisory lock (two
workers starting at once do not both run a step), and a schema written by a newer release is refused
(SchemaTooNew) before anything is read or written.

The lock session: one extra connection per process holds a session-level advisory lock on a random
owner key while the process lives. The intent log records that key with each pending row; another
worker treats a row as abandoned only when no session holds the key (pg_locks), i.e. when the writer's
process (or its connection to the server) is gone. While a batch is between its intent rows and its
registry transaction, the writer also holds a shared lock on the schema's write key; recovery takes that
key exclusively (try, never wait), so it never runs while a live writer is mid-batch, and a writer whose
session was lost (server restarted) finds its shared lock gone and refuses to commit the batch.
"""
from __future__ import annotations

import os
import random
import socket
import threading
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from rag.store.sqlite import SchemaTooNew
from rag.store.vectors import StoreUnavailable

NS_OWNER = 0x52420001  # advisory lock namespaces (the two-key form: namespace, key)
NS_WRITE = 0x52420002
NS_MIGRATE = 0x52420003
POOL_SIZE = int(os.environ.get("REGBRIEF_PG_POOL_SIZE", "8"))
CONNECT_TIMEOUT = 5.0  # seconds a request waits for a connection before answering 503


@dataclass(frozen=True)
class Migration:
    """Step `version`: SQL statements (one script), then an optional function run in the same transaction;
    the tables in `vacuum` are vacuumed once it is committed (a rewritten table then serves index-only scans
    at once instead of after autovacuum's next visit)."""

    version: int
    description: str
    sql: str = ""
    run: Callable[[psycopg.Connection], None] | None = None
    vacuum: tuple[str, ...] = ()


def describe(url: str) -> str:
    """The server without credentials, for messages."""
    try:
        d = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "PostgreSQL"
    where = d.get("host") or "localhost"
    if d.get("port"):
        where += f":{d['port']}"
    return f"PostgreSQL at {where}/{d.get('dbname', '')}"


def key32(text: str) -> int:
    """A stable 31-bit key for advisory locks."""
    return zlib.crc32(text.encode()) & 0x7FFFFFFF


def unavailable(url: str, e: Exception) -> StoreUnavailable:
    return StoreUnavailable(f"database unavailable ({describe(url)}): {str(e).strip() or type(e).__name__}")


_CONN_ERRORS = (psycopg.OperationalError, psycopg.InterfaceError, PoolTimeout)


class PgDB:
    """One workspace's schema in one PostgreSQL database."""

    _pools: dict[tuple[str, str], ConnectionPool] = {}
    _pools_lock = threading.Lock()

    def __init__(self, url: str, schema: str, migrations: Sequence[Migration]):
        self.url, self.schema = url, schema
        self.where = describe(url)
        self.pool = self._pool(url, schema)
        self.locks = LockSession.of(url)
        self.schema_version = self.migrate(migrations)

    @classmethod
    def _pool(cls, url: str, schema: str) -> ConnectionPool:
        with cls._pools_lock:
            pool = cls._pools.get((url, schema))
            if pool is None:
                def configure(conn: psycopg.Connection) -> None:
                    conn.execute(sql.SQL("SET search_path TO {}, public").format(sql.Identifier(schema)))
                    conn.execute("SET jit = off")  # short queries: compiling them costs more than it saves

                pool = ConnectionPool(url, min_size=1, max_size=POOL_SIZE, open=True, timeout=CONNECT_TIMEOUT,
                                      kwargs={"autocommit": True, "row_factory": dict_row, "connect_timeout": 5},
                                      configure=configure, check=ConnectionPool.check_connection,
                                      reconnect_timeout=24 * 3600, name=f"regbrief-{schema}")
                cls._pools[(url, schema)] = pool
            return pool

    @contextmanager
    def conn(self) -> Iterator[psycopg.Connection]:
        """A pooled autocommit connection; unreachable server -> StoreUnavailable."""
        try:
            with self.pool.connection() as c:
                yield c
        except _CONN_ERRORS as e:
            raise unavailable(self.url, e) from e

    @contextmanager
    def tx(self) -> Iterator[psycopg.Connection]:
        """`with db.tx() as c:` runs the block in one transaction."""
        with self.conn() as c, c.transaction():
            yield c

    def all(self, query: str, params: Sequence | dict | None = None) -> list[dict]:
        with self.conn() as c:
            return c.execute(query, params).fetchall()

    def one(self, query: str, params: Sequence | dict | None = None):
        """The first column of the first row, or None."""
        with self.conn() as c:
            r = c.execute(query, params).fetchone()
        return next(iter(r.values())) if r else None

    def migrate(self, steps: Sequence[Migration]) -> int:
        latest = len(steps)
        assert [m.version for m in steps] == list(range(1, latest + 1)), "migrations must be numbered 1..N"
        with self.tx() as c:
            c.execute("SELECT pg_advisory_xact_lock(%s, %s)", [NS_MIGRATE, key32(self.schema)])
            c.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self.schema)))
            c.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            r = c.execute("SELECT version FROM schema_version").fetchone()
            version = r["version"] if r else 0
            if r is None:
                c.execute("INSERT INTO schema_version VALUES (0)")
            if version > latest:
                raise SchemaTooNew(
                    f"{self.where}, schema {self.schema!r} has schema version {version}, but this release of "
                    f"regbrief knows versions up to {latest}: it was written by a newer release. Upgrade "
                    f"regbrief, or restore a backup made by this release.")
        while version < latest:
            with self.tx() as c:
                c.execute("SELECT pg_advisory_xact_lock(%s, %s)", [NS_MIGRATE, key32(self.schema)])
                version = c.execute("SELECT version FROM schema_version").fetchone()["version"]
                if version < latest:
                    step = steps[version]
                    if step.sql:
                        c.execute(step.sql)
                    if step.run:
                        step.run(c)
                    version = step.version
                    c.execute("UPDATE schema_version SET version = %s", [version])
                    vacuum = step.vacuum
                else:
                    vacuum = ()
            with self.conn() as c:
                for table in vacuum:
                    c.execute(sql.SQL("VACUUM (ANALYZE) {}").format(sql.Identifier(table)))
        return version


class LockSession:
    """This process's owner identity in PostgreSQL (see the module docstring). One per database URL."""

    _sessions: dict[str, "LockSession"] = {}
    _sessions_lock = threading.Lock()

    @classmethod
    def of(cls, url: str) -> "LockSession":
        with cls._sessions_lock:
            if url not in cls._sessions:
                cls._sessions[url] = cls(url)
            return cls._sessions[url]

    def __init__(self, url: str):
        self.url = url
        self._lock = threading.RLock()
        self._conn: psycopg.Connection | None = None
        self.key = 0
        self.owner = ""
        self.pid = 0
        self._shared: set[int] = set()     # write keys held shared (a batch in flight)
        self._exclusive: set[int] = set()  # write keys held for recovery

    def _connect(self) -> psycopg.Connection:
        """The lock connection, (re)opened with a fresh owner key when the old one was lost."""
        with self._lock:
            if self._conn is not None and not self._conn.closed:
                try:
                    self._conn.execute("SELECT 1")
                    return self._conn
                except _CONN_ERRORS:
                    pass
            try:
                conn = psycopg.connect(self.url, autocommit=True, connect_timeout=5,
                                       application_name=f"regbrief {socket.gethostname()}:{os.getpid()}")
                self.key = random.randint(1, 0x7FFFFFFF)
                conn.execute("SELECT pg_advisory_lock(%s, %s)", [NS_OWNER, self.key])
                conn.execute("SET lock_timeout = '30s'")  # a writer waits this long for a recovery to end
                self.pid = conn.info.backend_pid
            except _CONN_ERRORS as e:
                raise unavailable(self.url, e) from e
            self._conn = conn
            self.owner = f"{socket.gethostname()}:{os.getpid()}:{self.key}"
            self._shared.clear()
            self._exclusive.clear()
            return conn

    def _run(self, query: str, params: Sequence) -> object:
        with self._lock:
            conn = self._connect()
            try:
                r = conn.execute(query, params).fetchone()
            except _CONN_ERRORS as e:
                raise unavailable(self.url, e) from e
            return r[0] if r else None

    def current_owner(self) -> str:
        with self._lock:
            self._connect()
            return self.owner

    # --- a writer's batch -----------------------------------------------------------------------
    def begin_batch(self, schema: str) -> str:
        """Hold the schema's write key shared until end_batch; returns the owner to record."""
        k = key32(schema)
        with self._lock:
            self.end_recovery(schema)
            if k not in self._shared:
                try:
                    self._run("SELECT pg_advisory_lock_shared(%s, %s)", [NS_WRITE, k])
                except psycopg.errors.LockNotAvailable as e:
                    raise StoreUnavailable(f"database busy ({describe(self.url)}): another worker is "
                                           f"recovering an interrupted write; retry") from e
                self._shared.add(k)
            return self.owner

    def end_batch(self, schema: str) -> None:
        k = key32(schema)
        with self._lock:
            if k in self._shared:
                self._shared.discard(k)
                try:
                    self._run("SELECT pg_advisory_unlock_shared(%s, %s)", [NS_WRITE, k])
                except StoreUnavailable:
                    pass  # the session is gone, and its locks with it

    def holds_batch_sql(self, schema: str) -> tuple[str, list]:
        """A query (for the writer's own transaction) that is true while this process still holds its
        batch's shared lock: false after the lock session was lost (e.g. the server restarted)."""
        return ("SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = %s AND "
                "classid = %s AND objid = %s AND objsubid = 2 AND mode = 'ShareLock' AND granted) AS held",
                [self.pid, NS_WRITE, key32(schema)])

    # --- recovery -----------------------------------------------------------------------------
    def begin_recovery(self, schema: str) -> bool:
        """Take the schema's write key exclusively if no live writer is mid-batch (never waits)."""
        k = key32(schema)
        with self._lock:
            if k in self._exclusive:
                return True
            if k in self._shared:  # our own batch was interrupted: this process is not writing now
                self.end_batch(schema)
            if self._run("SELECT pg_try_advisory_lock(%s, %s)", [NS_WRITE, k]):
                self._exclusive.add(k)
                return True
            return False

    def end_recovery(self, schema: str) -> None:
        k = key32(schema)
        with self._lock:
            if k in self._exclusive:
                self._exclusive.discard(k)
                try:
                    self._run("SELECT pg_advisory_unlock(%s, %s)", [NS_WRITE, k])
                except StoreUnavailable:
                    pass

    def alive(self, owners: Sequence[str]) -> set[str]:
        """The owners among these whose lock session still holds its owner key."""
        keys = {}
        for o in owners:
            try:
                keys[o] = int(o.rsplit(":", 1)[1])
            except (IndexError, ValueError):
                keys[o] = -1
        with self._lock:
            conn = self._connect()
            try:
                held = {r[0] for r in conn.execute(
                    "SELECT objid::text::bigint FROM pg_locks WHERE locktype = 'advisory' AND classid = %s "
                    "AND objsubid = 2 AND granted AND database = (SELECT oid FROM pg_database WHERE "
                    "datname = current_database())", [NS_OWNER]).fetchall()}
            except _CONN_ERRORS as e:
                raise unavailable(self.url, e) from e
        return {o for o, k in keys.items() if k in held}
