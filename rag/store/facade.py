"""The store: a Chroma vector collection, a keyword index and a document registry, kept consistent.

Chroma holds the embeddings (embedded `PersistentClient`, or a `chroma run` server through `HttpClient`
when REGBRIEF_CHROMA_URL is set). Local Chroma has no BM25, so the keyword index and the registry live
behind `KeywordIndex`: SQLite FTS5 on one machine (this module); a shared database would be the second
implementation when several API machines serve one store.

Consistency across the two systems (a document is stored whole or not at all):
  1. the new chunk ids are written to the `pending` table and committed (an intent log);
  2. the chunks are upserted into Chroma;
  3. one SQLite transaction swaps the registry rows, the chunk rows and the FTS rows, records the
     replaced chunk ids as pending deletions and clears the pending additions;
  4. the replaced ids are deleted from Chroma and their pending rows cleared.
A process killed anywhere leaves pending rows; `recover()` (run before every write) finishes or undoes
them, so Chroma never keeps an orphan and the registry never points at a missing vector. Readers only
ever return chunks that the registry holds, so a half-written document is never shown.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from rag.store.sqlite import SqliteDB
from rag.models import Chunk, Document, Filters
from rag.settings import Settings
from rag.text import keywords


class StoreUnavailable(RuntimeError):
    """The vector store cannot be reached (e.g. the Chroma server is down)."""


SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    format TEXT NOT NULL,
    doc_type TEXT NOT NULL,
    title TEXT NOT NULL,
    date TEXT,
    jurisdiction TEXT,
    publisher TEXT,
    url TEXT,
    content_hash TEXT NOT NULL,
    ingested_at TEXT NOT NULL,
    metadata TEXT NOT NULL,
    text TEXT NOT NULL,
    pages TEXT
);
CREATE INDEX IF NOT EXISTS documents_source ON documents(source);
CREATE TABLE IF NOT EXISTS chunks (
    rowid INTEGER PRIMARY KEY,
    chunk_id TEXT UNIQUE NOT NULL,
    doc_id TEXT NOT NULL REFERENCES documents(doc_id),
    idx INTEGER NOT NULL,
    text TEXT NOT NULL,
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    page INTEGER,
    doc_type TEXT NOT NULL,
    date TEXT,
    jurisdiction TEXT,
    source TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
    text, tokenize = 'porter unicode61 remove_diacritics 2'
);
CREATE TABLE IF NOT EXISTS files (
    source TEXT PRIMARY KEY,
    file_hash TEXT NOT NULL,
    format TEXT NOT NULL,
    documents INTEGER NOT NULL,
    ingested_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS pending (
    chunk_id TEXT NOT NULL,
    op TEXT NOT NULL CHECK (op IN ('add', 'delete')),
    owner TEXT NOT NULL,  -- host:pid of the writer, so recovery never undoes a live writer's batch
    PRIMARY KEY (chunk_id, op)
);
-- Bumped by every change to the registry's list entries, in any process: caches built from them (the
-- entity index) compare one number instead of scanning the table.
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO counters VALUES ('list_entries', 0);
CREATE TRIGGER IF NOT EXISTS list_entries_ins AFTER INSERT ON documents WHEN NEW.doc_type = 'list_entry'
    BEGIN UPDATE counters SET value = value + 1 WHERE name = 'list_entries'; END;
CREATE TRIGGER IF NOT EXISTS list_entries_upd AFTER UPDATE ON documents
    WHEN NEW.doc_type = 'list_entry' OR OLD.doc_type = 'list_entry'
    BEGIN UPDATE counters SET value = value + 1 WHERE name = 'list_entries'; END;
CREATE TRIGGER IF NOT EXISTS list_entries_del AFTER DELETE ON documents WHEN OLD.doc_type = 'list_entry'
    BEGIN UPDATE counters SET value = value + 1 WHERE name = 'list_entries'; END;
"""


OWNER = f"{socket.gethostname()}:{os.getpid()}"


def _alive(owner: str) -> bool:
    """Is the writer that left a pending row still running? (Only knowable on the same host.)"""
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname():
        return True  # another machine's writer: leave its rows to it
    if int(pid) == os.getpid():
        return False  # our own rows are from an interrupted call in this process
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _date_ord(d: str | None) -> int:
    """Dates as YYYYMMDD integers for Chroma's numeric filters (0 = unknown)."""
    return int(d.replace("-", "")) if d else 0


class KeywordIndex(SqliteDB):
    """SQLite: the document registry, the chunk table and its FTS5 (BM25) index."""

    def __init__(self, path: Path):
        super().__init__(path, SCHEMA)

    # --- reads -------------------------------------------------------------------------------
    def search(self, query: str, filters: Filters, limit: int) -> list[tuple[str, float]]:
        """(chunk_id, bm25 score: higher is better) for chunks matching any query keyword."""
        terms = keywords(query)
        if not terms:
            return []
        match = " OR ".join('"' + t.replace('"', "") + '"' for t in terms)
        where, params = _filter_sql(filters, "c")
        sql = (
            "SELECT c.chunk_id, -bm25(chunks_fts) AS score FROM chunks_fts "
            "JOIN chunks c ON c.rowid = chunks_fts.rowid "
            f"WHERE chunks_fts MATCH ? {where} ORDER BY bm25(chunks_fts) LIMIT ?"
        )
        db = self.conn()
        rows = db.execute(sql, [match, *params, limit]).fetchall()
        return [(r[0], r[1]) for r in rows]

    def chunk_rows(self, chunk_ids: Sequence[str], filters: Filters | None = None) -> dict[str, dict]:
        """Registered chunks with their document fields; ids not in the registry are left out."""
        if not chunk_ids:
            return {}
        where, params = _filter_sql(filters or Filters(), "c")
        out: dict[str, dict] = {}
        db = self.conn()
        for i in range(0, len(chunk_ids), 500):
            part = list(chunk_ids[i : i + 500])
            marks = ",".join("?" * len(part))
            rows = db.execute(
                "SELECT c.chunk_id, c.doc_id, c.idx, c.text, c.start, c.\"end\", c.page, c.doc_type, c.date, "
                "c.jurisdiction, c.source, d.title, d.publisher, d.url, d.metadata, d.format "
                f"FROM chunks c JOIN documents d ON d.doc_id = c.doc_id WHERE c.chunk_id IN ({marks}) {where}",
                [*part, *params],
            ).fetchall()
            for r in rows:
                row = dict(r)
                row["metadata"] = json.loads(row["metadata"])
                out[row["chunk_id"]] = row
        return out

    def document(self, doc_id: str) -> dict | None:
        db = self.conn()
        r = db.execute("SELECT * FROM documents WHERE doc_id = ?", [doc_id]).fetchone()
        if not r:
            return None
        doc = dict(r)
        doc["metadata"] = json.loads(doc["metadata"])
        doc["pages"] = json.loads(doc["pages"]) if doc["pages"] else None
        doc["chunk_ids"] = [
            x[0] for x in db.execute("SELECT chunk_id FROM chunks WHERE doc_id = ? ORDER BY idx", [doc_id])
        ]
        return doc

    def documents(self, source: str | None = None, limit: int | None = None, offset: int = 0) -> list[dict]:
        sql = (
            "SELECT d.doc_id, d.source, d.format, d.doc_type, d.title, d.date, d.jurisdiction, d.publisher, "
            "d.url, d.content_hash, d.ingested_at, (SELECT COUNT(*) FROM chunks c WHERE c.doc_id = d.doc_id) "
            "AS chunks FROM documents d"
        )
        params: list[Any] = []
        if source is not None:
            sql += " WHERE d.source = ?"
            params.append(source)
        sql += " ORDER BY d.source, d.doc_id"
        if limit is not None:
            sql += " LIMIT ? OFFSET ?"
            params += [limit, offset]
        db = self.conn()
        return [dict(r) for r in db.execute(sql, params)]

    def doc_hashes(self, source: str) -> dict[str, str]:
        db = self.conn()
        return {
            r[0]: r[1]
            for r in db.execute("SELECT doc_id, content_hash FROM documents WHERE source = ?", [source])
        }

    def file_hash(self, source: str) -> tuple[str, str] | None:
        db = self.conn()
        r = db.execute("SELECT file_hash, format FROM files WHERE source = ?", [source]).fetchone()
        return (r[0], r[1]) if r else None

    def stats(self) -> dict:
        db = self.conn()
        by_format = [
            dict(r)
            for r in db.execute(
                "SELECT d.format, d.doc_type, COUNT(DISTINCT d.doc_id) AS documents, COUNT(c.chunk_id) AS chunks, "
                "MIN(d.date) AS first_date, MAX(d.date) AS last_date FROM documents d "
                "LEFT JOIN chunks c ON c.doc_id = d.doc_id GROUP BY d.format, d.doc_type ORDER BY d.format"
            )
        ]
        files = [
            dict(r)
            for r in db.execute("SELECT source, format, documents, ingested_at FROM files ORDER BY source")
        ]
        totals = db.execute(
            "SELECT (SELECT COUNT(*) FROM documents), (SELECT COUNT(*) FROM chunks)"
        ).fetchone()
        return {"documents": totals[0], "chunks": totals[1], "formats": by_format, "files": files}

    def all_chunk_ids(self) -> set[str]:
        db = self.conn()
        return {r[0] for r in db.execute("SELECT chunk_id FROM chunks")}

    def pending(self, abandoned_only: bool = False) -> dict[str, list[str]]:
        """Pending chunk ids by operation; with `abandoned_only`, only those whose writer process is
        gone (several API processes may share one store in server mode)."""
        out: dict[str, list[str]] = {"add": [], "delete": []}
        db = self.conn()
        for cid, op, owner in db.execute("SELECT chunk_id, op, owner FROM pending"):
            if not abandoned_only or not _alive(owner):
                out[op].append(cid)
        return out

    # --- writes ------------------------------------------------------------------------------
    def mark_pending(self, chunk_ids: Iterable[str], op: str) -> None:
        with self.tx() as db:
            db.executemany("INSERT OR IGNORE INTO pending VALUES (?, ?, ?)", [(c, op, OWNER) for c in chunk_ids])

    def clear_pending(self, chunk_ids: Iterable[str], op: str) -> None:
        with self.tx() as db:
            db.executemany("DELETE FROM pending WHERE chunk_id = ? AND op = ?", [(c, op) for c in chunk_ids])

    def replace_documents(self, docs: Sequence[Document], chunks: Sequence[Chunk]) -> list[str]:
        """Swap in these documents and their chunks in one transaction; returns replaced chunk ids."""
        now = _now()
        doc_ids = [d.doc_id for d in docs]
        by_doc = {d.doc_id: d for d in docs}
        with self.tx() as db:
            old = self._delete_rows(db, doc_ids)
            db.executemany(
                "INSERT INTO documents VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                [
                    (
                        d.doc_id, d.source, d.format, d.doc_type, d.title, d.date.isoformat() if d.date else None,
                        d.jurisdiction, d.publisher, d.url, d.hash(), now,
                        json.dumps(d.metadata, default=str), d.text, json.dumps(d.pages) if d.pages else None,
                    )
                    for d in docs
                ],
            )
            for c in chunks:
                d = by_doc[c.doc_id]
                cur = db.execute(
                    "INSERT INTO chunks (chunk_id, doc_id, idx, text, start, \"end\", page, doc_type, date, "
                    "jurisdiction, source) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        c.chunk_id, c.doc_id, c.index, c.text, c.start, c.end, c.page, d.doc_type,
                        d.date.isoformat() if d.date else None, d.jurisdiction, d.source,
                    ),
                )
                # Titles are indexed with the text: a notice's title often names what the text does not.
                fts_text = c.text if c.index or d.title in c.text else f"{d.title}\n{c.text}"
                db.execute("INSERT INTO chunks_fts (rowid, text) VALUES (?, ?)", (cur.lastrowid, fts_text))
            new_ids = {c.chunk_id for c in chunks}
            gone = [cid for cid in old if cid not in new_ids]
            db.executemany("INSERT OR IGNORE INTO pending VALUES (?, 'delete', ?)", [(c, OWNER) for c in gone])
            db.executemany("DELETE FROM pending WHERE chunk_id = ? AND op = 'add'", [(c,) for c in new_ids])
        return gone

    def delete_documents(self, doc_ids: Sequence[str]) -> list[str]:
        """Remove documents from the registry and keyword index; returns their chunk ids."""
        with self.tx() as db:
            old = self._delete_rows(db, doc_ids)
            db.executemany("INSERT OR IGNORE INTO pending VALUES (?, 'delete', ?)", [(c, OWNER) for c in old])
        return old

    def _delete_rows(self, db: sqlite3.Connection, doc_ids: Sequence[str]) -> list[str]:
        old: list[str] = []
        for i in range(0, len(doc_ids), 500):
            part = list(doc_ids[i : i + 500])
            marks = ",".join("?" * len(part))
            rows = db.execute(f"SELECT rowid, chunk_id FROM chunks WHERE doc_id IN ({marks})", part).fetchall()
            old.extend(r[1] for r in rows)
            db.executemany("DELETE FROM chunks_fts WHERE rowid = ?", [(r[0],) for r in rows])
            db.execute(f"DELETE FROM chunks WHERE doc_id IN ({marks})", part)
            db.execute(f"DELETE FROM documents WHERE doc_id IN ({marks})", part)
        return old

    def record_file(self, source: str, file_hash: str, fmt: str, documents: int) -> None:
        with self.tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?)", (source, file_hash, fmt, documents, _now())
            )

    def forget_file(self, source: str) -> None:
        with self.tx() as db:
            db.execute("DELETE FROM files WHERE source = ?", [source])

    def sources(self) -> list[str]:
        db = self.conn()
        return [r[0] for r in db.execute("SELECT DISTINCT source FROM documents ORDER BY source")]


def _filter_sql(f: Filters, alias: str) -> tuple[str, list[Any]]:
    clauses, params = [], []
    if f.doc_type:
        clauses.append(f"{alias}.doc_type IN ({','.join('?' * len(f.doc_type))})")
        params += list(f.doc_type)
    if f.jurisdiction:
        clauses.append(f"{alias}.jurisdiction IN ({','.join('?' * len(f.jurisdiction))})")
        params += list(f.jurisdiction)
    if f.source:
        clauses.append(f"instr({alias}.source, ?) > 0")
        params.append(f.source)
    if f.since:
        clauses.append(f"{alias}.date >= ?")
        params.append(f.since.isoformat())
    if f.until:
        clauses.append(f"{alias}.date <= ?")
        params.append(f.until.isoformat())
    return ("".join(" AND " + c for c in clauses), params)


def _chroma_where(f: Filters) -> dict | None:
    clauses: list[dict] = []
    if f.doc_type:
        clauses.append({"doc_type": {"$in": list(f.doc_type)}})
    if f.jurisdiction:
        clauses.append({"jurisdiction": {"$in": list(f.jurisdiction)}})
    if f.since:
        clauses.append({"date": {"$gte": _date_ord(f.since.isoformat())}})
    if f.until:
        clauses.append({"date": {"$lte": _date_ord(f.until.isoformat())}})
        clauses.append({"date": {"$gt": 0}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


class VectorIndex:
    """The Chroma collection; embeddings are always computed by us, never by Chroma."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._collection = None
        self._lock = threading.Lock()

    @property
    def collection(self):
        if self._collection is None:
            with self._lock:
                if self._collection is None:
                    self._collection = self._open()
        return self._collection

    def _open(self):
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False)
        try:
            if self.settings.chroma_url:
                u = urlparse(self.settings.chroma_url)
                client = chromadb.HttpClient(
                    host=u.hostname or "127.0.0.1",
                    port=u.port or (443 if u.scheme == "https" else 8000),
                    ssl=u.scheme == "https",
                    settings=chroma_settings,
                )
            else:
                self.settings.chroma_path.mkdir(parents=True, exist_ok=True)
                client = chromadb.PersistentClient(path=str(self.settings.chroma_path), settings=chroma_settings)
            return client.get_or_create_collection(
                self.settings.collection,
                embedding_function=None,  # never Chroma's default: it downloads a model
                configuration={"hnsw": {"space": "cosine"}},
            )
        except Exception as e:
            raise StoreUnavailable(f"vector store unavailable ({self.describe()}): {e}") from e

    def describe(self) -> str:
        return f"Chroma server {self.settings.chroma_url}" if self.settings.chroma_url else (
            f"embedded Chroma at {self.settings.chroma_path}"
        )

    def _call(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except StoreUnavailable:
            raise
        except Exception as e:
            if self.settings.chroma_url and _is_connection_error(e):
                self._collection = None  # reconnect on the next call, when the server is back
                raise StoreUnavailable(f"vector store unavailable ({self.describe()}): {e}") from e
            raise

    def upsert(self, chunks: Sequence[Chunk], docs: dict[str, Document], embeddings) -> None:
        metadatas = []
        for c in chunks:
            d = docs[c.doc_id]
            metadatas.append(
                {
                    "doc_id": c.doc_id,
                    "doc_type": d.doc_type,
                    "jurisdiction": d.jurisdiction or "",
                    "date": _date_ord(d.date.isoformat() if d.date else None),
                }
            )
        # Chroma caps one request's size; stay well under it.
        for i in range(0, len(chunks), 1000):
            self._call(
                self.collection.upsert,
                ids=[c.chunk_id for c in chunks[i : i + 1000]],
                embeddings=embeddings[i : i + 1000],
                metadatas=metadatas[i : i + 1000],
            )

    def delete(self, chunk_ids: Sequence[str]) -> None:
        for i in range(0, len(chunk_ids), 1000):
            self._call(self.collection.delete, ids=list(chunk_ids[i : i + 1000]))

    def query(self, embedding, filters: Filters, limit: int) -> list[tuple[str, float]]:
        """(chunk_id, cosine similarity) nearest first."""
        res = self._call(
            self.collection.query,
            query_embeddings=[embedding],
            n_results=limit,
            where=_chroma_where(filters),
            include=["distances"],
        )
        return [(cid, 1.0 - dist) for cid, dist in zip(res["ids"][0], res["distances"][0])]

    def count(self) -> int:
        return self._call(self.collection.count)

    def all_ids(self) -> set[str]:
        ids: set[str] = set()
        offset = 0
        while True:
            page = self._call(self.collection.get, include=[], limit=5000, offset=offset)["ids"]
            ids.update(page)
            if len(page) < 5000:
                return ids
            offset += len(page)

    def ping(self) -> None:
        self.count()


def _is_connection_error(e: Exception) -> bool:
    text = f"{type(e).__name__} {e}".lower()
    return any(s in text for s in ("connect", "timeout", "unavailable", "refused", "reset", "503", "502"))


class Store:
    """The facade the rest of regbrief uses: registry + keyword index + vectors, kept consistent."""

    def __init__(self, settings: Settings):
        self.settings = settings
        settings.home.mkdir(parents=True, exist_ok=True)
        self.keyword = KeywordIndex(settings.db_path)
        self.vectors = VectorIndex(settings)
        # Threads of this process write one batch at a time (the intent log covers crashes and other
        # processes). Held per batch, not per file, so a small upload is not stuck behind a big list.
        self.write_lock = threading.RLock()
        self._source_locks: dict[str, threading.Lock] = {}
        self._entities = None

    @property
    def entities(self):
        """The list entries in the store, indexed by name (rebuilt when the registry changes)."""
        if self._entities is None:
            from rag.entities import EntityIndex

            self._entities = EntityIndex(self.keyword)
        return self._entities

    def source_lock(self, source: str) -> threading.Lock:
        """Held while one file (source) is ingested or removed: two uploads of the same name take turns."""
        with self.write_lock:
            return self._source_locks.setdefault(source, threading.Lock())

    def recover(self) -> dict[str, int]:
        """Finish or undo writes interrupted by a crash (see the module docstring)."""
        with self.write_lock:  # no write of this process is half done while the lock is held
            return self._recover()

    def _recover(self) -> dict[str, int]:
        pending = self.keyword.pending(abandoned_only=True)
        if pending["add"]:
            registered = self.keyword.all_chunk_ids()
            orphans = [c for c in pending["add"] if c not in registered]
            self.vectors.delete(orphans)
            self.keyword.clear_pending(pending["add"], "add")
        if pending["delete"]:
            self.vectors.delete(pending["delete"])
            self.keyword.clear_pending(pending["delete"], "delete")
        return {"undone_adds": len(pending["add"]), "finished_deletes": len(pending["delete"])}

    def write(self, docs: Sequence[Document], chunks: Sequence[Chunk], embeddings) -> None:
        ids = [c.chunk_id for c in chunks]
        with self.write_lock:
            self.keyword.mark_pending(ids, "add")
            self.vectors.upsert(chunks, {d.doc_id: d for d in docs}, embeddings)
            gone = self.keyword.replace_documents(docs, chunks)
            if gone:
                self.vectors.delete(gone)
                self.keyword.clear_pending(gone, "delete")

    def delete(self, doc_ids: Sequence[str]) -> int:
        with self.write_lock:
            gone = self.keyword.delete_documents(doc_ids)
            if gone:
                self.vectors.delete(gone)
                self.keyword.clear_pending(gone, "delete")
            return len(gone)

    def check(self) -> dict[str, Any]:
        """Consistency report: every registered chunk has a vector, and no vector lacks a chunk."""
        registered = self.keyword.all_chunk_ids()
        vectors = self.vectors.all_ids()
        db = self.keyword.conn()
        fts = db.execute("SELECT COUNT(*) FROM chunks_fts").fetchone()[0]
        dup = db.execute(
            "SELECT COUNT(*) FROM (SELECT doc_id, idx FROM chunks GROUP BY doc_id, idx HAVING COUNT(*) > 1)"
        ).fetchone()[0]
        docs_without_chunks = db.execute(
            "SELECT COUNT(*) FROM documents d WHERE NOT EXISTS (SELECT 1 FROM chunks c WHERE c.doc_id = d.doc_id)"
        ).fetchone()[0]
        return {
            "chunks": len(registered),
            "vectors": len(vectors),
            "fts_rows": fts,
            "missing_vectors": len(registered - vectors),
            "orphan_vectors": len(vectors - registered),
            "duplicate_chunks": dup,
            "documents_without_chunks": docs_without_chunks,
            "pending": sum(len(v) for v in self.keyword.pending().values()),
            "ok": registered == vectors and fts == len(registered) and dup == 0 and docs_without_chunks == 0,
        }


_stores: dict[tuple, Store] = {}
_stores_lock = threading.Lock()


def get_store(settings: Settings) -> Store:
    key = (str(settings.home.resolve()), settings.chroma_url, settings.collection)
    with _stores_lock:
        if key not in _stores:
            _stores[key] = Store(settings)
        return _stores[key]


def wait_for(fn, timeout: float = 30.0, interval: float = 0.2):
    """Retry `fn` until it stops raising or the timeout passes (used by tests and start-up)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return fn()
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(interval)
