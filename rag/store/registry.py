"""The registry on SQLite: documents, chunks, their FTS5 (BM25) keyword index, ingested files, the intent
log, relations and store settings. The one module that knows these tables (rag/store/protocol.py names
what a second implementation must offer).

The tables and their numbered migration steps are in rag/store/schema.py.
"""
# Over 400 lines by design: one class implementing the whole Registry protocol (rag/store/protocol.py).
from __future__ import annotations

import datetime as dt
import os
import socket
import sqlite3
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from rag.core.models import Chunk, Document, Filters
from rag.core.priority import stepping
from rag.store.schema import MIGRATIONS
from rag.store.rows import (CHUNK_ROW, DOCUMENT_COLUMNS, DOCUMENT_LISTING, LIST_ENTRY, RELATION_DOCUMENT, RELATION_SOURCE, decoded,
                            document_row, document_values, relation_source)
from rag.store.sqlite import SqliteDB
from rag.core.text import keywords

T = TypeVar("T")

RELATION_FIELDS = ("relation", "subject", "object", "subject_text", "object_text", "subject_ref", "object_ref",
                   "role", "percentage", "date", "end_date", "chunk_id", "start", "end", "quote", "method", "phrase",
                   "status", "amount", "score")

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


def date_ord(d: str | None) -> int:
    """Dates as YYYYMMDD integers for Chroma's numeric filters (0 = unknown)."""
    return int(d.replace("-", "")) if d else 0


def _parts(ids: Sequence[str], n: int = 500) -> Iterator[tuple[list[str], str]]:
    """Id lists in parts small enough for SQLite's parameter limit, with their '?,?,?' marks."""
    for i in range(0, len(ids), n):
        part = list(ids[i : i + n])
        yield part, ",".join("?" * len(part))


def weighted_keywords(keys: list[T], df: Callable[[T], int], n: int) -> list[T]:
    """The query keywords that BM25 gives weight in a collection of `n` passages: those in fewer than half
    of them. From there FTS5 (and the PostgreSQL registry, which scores as it does) floors a keyword's idf
    at 1e-6, so it changes no ranking, but matching it made every passage holding it a candidate to score:
    "list" and "listing" are in nearly every passage of a store holding SDN lists (the rendered entries), so
    a search naming either scored almost the whole store. All are kept when none would be left."""
    kept = [k for k in keys if 2 * df(k) < n]
    return kept or keys


def _quoted(term: str) -> str:
    return '"' + term.replace('"', "") + '"'


class SqliteRegistry(SqliteDB):
    """SQLite: the document registry, the chunk table and its FTS5 (BM25) index, relations, settings."""

    def __init__(self, path: Path):
        super().__init__(path, MIGRATIONS)

    # --- keyword search ----------------------------------------------------------------------
    def keyword_search(self, query: str, filters: Filters, limit: int) -> list[tuple[str, float]]:
        """(chunk_id, bm25 score: higher is better) for chunks matching any query keyword."""
        terms = keywords(query)
        if not terms:
            return []
        db = self.conn()
        n = db.execute("SELECT count(*) FROM chunks_fts_docsize").fetchone()[0]
        terms = weighted_keywords(terms, lambda t: db.execute(
            "SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH ?", [_quoted(t)]).fetchone()[0], n)
        match = " OR ".join(_quoted(t) for t in terms)
        where, params = _filter_sql(filters, "c")
        sql = (
            "SELECT c.chunk_id, -bm25(chunks_fts) AS score FROM chunks_fts "
            "JOIN chunks c ON c.rowid = chunks_fts.rowid "
            f"WHERE chunks_fts MATCH ? {where} ORDER BY bm25(chunks_fts) LIMIT ?"
        )
        rows = db.execute(sql, [match, *params, limit]).fetchall()
        return [(r[0], r[1]) for r in rows]

    # --- chunks and documents ----------------------------------------------------------------
    def chunk_rows(self, chunk_ids: Sequence[str], filters: Filters | None = None) -> dict[str, dict]:
        """Registered chunks with their document fields; ids not in the registry are left out."""
        if not chunk_ids:
            return {}
        where, params = _filter_sql(filters or Filters(), "c")
        out: dict[str, dict] = {}
        db = self.conn()
        for part, marks in _parts(chunk_ids):
            rows = db.execute(
                f"SELECT {CHUNK_ROW} FROM chunks c JOIN documents d ON d.doc_id = c.doc_id "
                f"WHERE c.chunk_id IN ({marks}) {where}", [*part, *params]).fetchall()
            for r in rows:
                out[r["chunk_id"]] = decoded(dict(r))
        return out

    def first_chunks(self, doc_ids: Sequence[str]) -> dict[str, str]:
        """doc_id -> the id of its first chunk (a list entry or notice is one chunk)."""
        out: dict[str, str] = {}
        for part, marks in _parts(doc_ids):
            out.update(self.conn().execute(
                f"SELECT doc_id, chunk_id FROM chunks WHERE idx = 0 AND doc_id IN ({marks})", part).fetchall())
        return out

    def document_chunks(self, doc_id: str) -> list[dict]:
        rows = self.conn().execute(
            'SELECT chunk_id, idx, text, start, "end", page FROM chunks WHERE doc_id = ? ORDER BY idx', [doc_id])
        return [{"chunk_id": r[0], "index": r[1], "text": r[2], "start": r[3], "end": r[4], "page": r[5]}
                for r in rows]

    def document(self, doc_id: str) -> dict | None:
        db = self.conn()
        r = db.execute("SELECT * FROM documents WHERE doc_id = ?", [doc_id]).fetchone()
        if not r:
            return None
        return document_row(dict(r), [
            x[0] for x in db.execute("SELECT chunk_id FROM chunks WHERE doc_id = ? ORDER BY idx", [doc_id])])

    def documents(self, source: str | None = None, limit: int | None = None, offset: int = 0) -> list[dict]:
        sql = f"SELECT {DOCUMENT_LISTING} FROM documents d"
        params: list[Any] = []
        if source is not None:
            sql += " WHERE d.source = ?"
            params.append(source)
        sql += " ORDER BY d.source, d.doc_id"
        if limit is not None:
            sql += " LIMIT ? OFFSET ?"
            params += [limit, offset]
        return [decoded(dict(r)) for r in self.conn().execute(sql, params)]

    def count_documents(self, source: str | None = None) -> int:
        if source is None:
            return self.conn().execute("SELECT COUNT(*) FROM documents").fetchone()[0]
        return self.conn().execute("SELECT COUNT(*) FROM documents WHERE source = ?", [source]).fetchone()[0]

    def document_texts(self, doc_ids: Sequence[str]) -> list[tuple[str, str, str]]:
        """(doc_id, title, text) of the documents among `doc_ids` still in the store."""
        out: list[tuple[str, str, str]] = []
        for part, marks in _parts(list(dict.fromkeys(doc_ids))):
            out += [tuple(r) for r in self.conn().execute(
                f"SELECT doc_id, title, text FROM documents WHERE doc_id IN ({marks})", part)]
        return out

    def flagged_documents(self) -> list[tuple[str, str]]:
        """(source key, doc_id) of documents flagged at ingest for instructions addressed to the system."""
        return [(r[0], r[1]) for r in self.conn().execute(
            "SELECT source, doc_id FROM documents WHERE metadata LIKE '%injected_instructions%'")]

    def all_chunks(self) -> list[tuple[str, str]]:
        """(chunk_id, text) of every registered chunk, in insertion order."""
        return [(r[0], r[1]) for r in self.conn().execute("SELECT chunk_id, text FROM chunks ORDER BY rowid")]

    def chunk_listing(self) -> list[dict]:
        """Every chunk with its document's title and type (for exports and benchmarks)."""
        return [dict(r) for r in self.conn().execute(
            "SELECT c.chunk_id, c.text, c.doc_id, c.doc_type, d.title, c.source FROM chunks c "
            "JOIN documents d ON d.doc_id = c.doc_id ORDER BY c.rowid")]

    def vector_metadata(self, chunk_ids: Sequence[str]) -> dict[str, dict]:
        """The metadata Chroma keeps beside each vector, rebuilt from the registry."""
        out = {}
        for part, marks in _parts(chunk_ids):
            for r in self.conn().execute(
                    f"SELECT chunk_id, doc_id, doc_type, jurisdiction, date FROM chunks WHERE chunk_id IN ({marks})",
                    part):
                out[r[0]] = {"doc_id": r[1], "doc_type": r[2], "jurisdiction": r[3] or "", "date": date_ord(r[4])}
        return out

    def doc_hashes(self, source: str) -> dict[str, str]:
        return dict(self.conn().execute("SELECT doc_id, content_hash FROM documents WHERE source = ?", [source]))

    def file_hash(self, source: str) -> tuple[str, str] | None:
        r = self.conn().execute("SELECT file_hash, format FROM files WHERE source = ?", [source]).fetchone()
        return (r[0], r[1]) if r else None

    def sources(self) -> list[str]:
        return [r[0] for r in self.conn().execute("SELECT DISTINCT source FROM documents ORDER BY source")]

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
        totals = db.execute("SELECT (SELECT COUNT(*) FROM documents), (SELECT COUNT(*) FROM chunks)").fetchone()
        return {"documents": totals[0], "chunks": totals[1], "formats": by_format, "files": files}

    def all_chunk_ids(self) -> set[str]:
        return {r[0] for r in self.conn().execute("SELECT chunk_id FROM chunks")}

    def integrity(self) -> dict[str, int]:
        """Counts that must be zero (or match) in a consistent registry."""
        db = self.conn()
        one = lambda sql: db.execute(sql).fetchone()[0]  # noqa: E731
        return {
            "fts_rows": one("SELECT COUNT(*) FROM chunks_fts"),
            "duplicate_chunks": one(
                "SELECT COUNT(*) FROM (SELECT doc_id, idx FROM chunks GROUP BY doc_id, idx HAVING COUNT(*) > 1)"),
            "documents_without_chunks": one(
                "SELECT COUNT(*) FROM documents d WHERE NOT EXISTS (SELECT 1 FROM chunks c WHERE c.doc_id = d.doc_id)"),
            "relations_of_missing_documents": one(
                "SELECT COUNT(*) FROM relations_docs r WHERE NOT EXISTS "
                "(SELECT 1 FROM documents d WHERE d.doc_id = r.doc_id)"),
        }

    # --- list entries --------------------------------------------------------------------------
    def list_entries_version(self) -> int:
        """Changes whenever a list entry is added, changed or removed (by any process)."""
        return self.conn().execute("SELECT value FROM counters WHERE name = 'list_entries'").fetchone()[0]

    def list_entry_rows(self) -> Iterator[dict]:
        for r in self.conn().execute(f"SELECT {LIST_ENTRY} FROM documents WHERE doc_type = 'list_entry'"):
            yield decoded(dict(r))

    # --- intent log ----------------------------------------------------------------------------
    def pending(self, abandoned_only: bool = False) -> dict[str, list[str]]:
        """Pending chunk ids by operation; with `abandoned_only`, only those whose writer process is
        gone (several API processes may share one store in server mode)."""
        out: dict[str, list[str]] = {"add": [], "delete": []}
        for cid, op, owner in self.conn().execute("SELECT chunk_id, op, owner FROM pending"):
            if not abandoned_only or not _alive(owner):
                out[op].append(cid)
        return out

    def mark_pending(self, chunk_ids: Iterable[str], op: str) -> None:
        with self.tx() as db:
            db.executemany("INSERT OR IGNORE INTO pending VALUES (?, ?, ?)", [(c, op, OWNER) for c in chunk_ids])

    def clear_pending(self, chunk_ids: Iterable[str] | None, op: str | None = None) -> None:
        """Clear these pending rows, or (None) every one: a restored store holds exactly its chunks."""
        with self.tx() as db:
            if chunk_ids is None:
                db.execute("DELETE FROM pending")
            else:
                db.executemany("DELETE FROM pending WHERE chunk_id = ? AND op = ?", [(c, op) for c in chunk_ids])

    # --- writes --------------------------------------------------------------------------------
    def replace_documents(self, docs: Sequence[Document], chunks: Sequence[Chunk],
                          relations: dict[str, list] | None = None) -> list[str]:
        """Swap in these documents, their chunks and (when given) their relations in one transaction;
        returns the replaced chunk ids (now pending deletion)."""
        now = _now()
        by_doc = {d.doc_id: d for d in docs}
        with self.tx() as db:
            old = self._delete_rows(db, list(by_doc))
            db.executemany(
                f"INSERT INTO documents ({DOCUMENT_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                # a background write steps aside for queries (rag/core/priority.py)
                (document_values(d, now) for d in stepping(docs, 64)))
            for c in stepping(chunks, 64):
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
            if relations is not None:
                self._write_relations(db, {d.doc_id: (d.hash(), relations.get(d.doc_id, [])) for d in docs})
            new_ids = {c.chunk_id for c in chunks}
            gone = [cid for cid in old if cid not in new_ids]
            db.executemany("INSERT OR IGNORE INTO pending VALUES (?, 'delete', ?)", [(c, OWNER) for c in gone])
            db.executemany("DELETE FROM pending WHERE chunk_id = ? AND op = 'add'", [(c,) for c in new_ids])
        return gone

    def delete_documents(self, doc_ids: Sequence[str]) -> list[str]:
        """Remove documents, their chunks and relations; returns their chunk ids (now pending deletion)."""
        with self.tx() as db:
            old = self._delete_rows(db, doc_ids)
            db.executemany("INSERT OR IGNORE INTO pending VALUES (?, 'delete', ?)", [(c, OWNER) for c in old])
        return old

    def _delete_rows(self, db: sqlite3.Connection, doc_ids: Sequence[str]) -> list[str]:
        old: list[str] = []
        for part, marks in _parts(doc_ids):
            rows = db.execute(f"SELECT rowid, chunk_id FROM chunks WHERE doc_id IN ({marks})", part).fetchall()
            old.extend(r[1] for r in rows)
            db.executemany("DELETE FROM chunks_fts WHERE rowid = ?", [(r[0],) for r in rows])
            db.execute(f"DELETE FROM chunks WHERE doc_id IN ({marks})", part)
            db.execute(f"DELETE FROM documents WHERE doc_id IN ({marks})", part)
            db.execute(f"DELETE FROM relations WHERE doc_id IN ({marks})", part)
            db.execute(f"DELETE FROM relations_docs WHERE doc_id IN ({marks})", part)
        return old

    def record_file(self, source: str, file_hash: str, fmt: str, documents: int) -> None:
        with self.tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?)", (source, file_hash, fmt, documents, _now())
            )

    def forget_file(self, source: str) -> None:
        with self.tx() as db:
            db.execute("DELETE FROM files WHERE source = ?", [source])

    # --- relations -----------------------------------------------------------------------------
    def _write_relations(self, db: sqlite3.Connection, by_doc: dict[str, tuple[str, list]]) -> None:
        """Replace the relations of these documents: {doc_id: (content hash, [relation objects])}."""
        for part, marks in _parts(list(by_doc)):
            db.execute(f"DELETE FROM relations WHERE doc_id IN ({marks})", part)
        cols = ", ".join(f'"{f}"' for f in RELATION_FIELDS)
        for doc_id, (content_hash, rels) in by_doc.items():
            db.execute("INSERT OR REPLACE INTO relations_docs VALUES (?, ?)", (doc_id, content_hash))
            db.executemany(
                f"INSERT INTO relations (doc_id, {cols}) VALUES (?{',?' * len(RELATION_FIELDS)})",
                [(doc_id, *(getattr(r, f) for f in RELATION_FIELDS)) for r in rels])

    def replace_relations(self, by_doc: dict[str, tuple[str, list]]) -> None:
        """Store relations re-extracted from documents already in the store (see Store.sync_relations)."""
        with self.tx() as db:
            self._write_relations(db, {d: v for d, v in by_doc.items()})

    def relations_stale(self) -> tuple[list[str], list[str]]:
        """(documents whose relations were extracted from other content or never, relation rows of
        documents no longer in the store)."""
        db = self.conn()
        current = dict(db.execute("SELECT doc_id, content_hash FROM documents").fetchall())
        done = dict(db.execute("SELECT doc_id, content_hash FROM relations_docs").fetchall())
        return [d for d, h in current.items() if done.get(d) != h], [d for d in done if d not in current]

    def forget_relations(self, doc_ids: Sequence[str] | None = None) -> None:
        """Drop the relations of these documents, or (None) all of them."""
        with self.tx() as db:
            if doc_ids is None:
                db.execute("DELETE FROM relations")
                db.execute("DELETE FROM relations_docs")
                return
            for part, marks in _parts(doc_ids):
                db.execute(f"DELETE FROM relations WHERE doc_id IN ({marks})", part)
                db.execute(f"DELETE FROM relations_docs WHERE doc_id IN ({marks})", part)

    def relation_sources(self, doc_ids: Sequence[str]) -> list[dict]:
        """What relation extraction needs of stored documents: their fields and (chunk_id, text) chunks."""
        db = self.conn()
        out: list[dict] = []
        for part, marks in _parts(doc_ids):
            chunks: dict[str, list[tuple[str, str]]] = defaultdict(list)
            for r in db.execute(
                    f"SELECT doc_id, chunk_id, text FROM chunks WHERE doc_id IN ({marks}) ORDER BY doc_id, idx", part):
                chunks[r[0]].append((r[1], r[2]))
            for r in db.execute(f"SELECT {RELATION_SOURCE} FROM documents WHERE doc_id IN ({marks})", part):
                out.append(relation_source(dict(r), chunks.get(r["doc_id"], [])))
        return out

    def relations(self) -> list[dict]:
        """Every stored relation with its document's title, source, date and url (for citations)."""
        return [dict(r) for r in self.conn().execute(
            f"SELECT r.*, {RELATION_DOCUMENT} FROM relations r JOIN documents d ON d.doc_id = r.doc_id ORDER BY r.id")]

    def relations_version(self) -> tuple:
        return tuple(self.conn().execute("SELECT COUNT(*), MAX(id) FROM relations").fetchone())

    # --- store settings ------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        r = self.conn().execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return r[0] if r else None

    def set_meta(self, key: str, value: str) -> None:
        with self.tx() as db:
            db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [key, value])


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
