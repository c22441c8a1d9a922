"""The store: vectors, keyword index, registry, relations, audit trail and watchlist, kept consistent.

Chroma holds the embeddings (rag/store/vectors.py). Local Chroma has no BM25, so the keyword index, the
document registry and the relations live in a `Registry` (rag/store/protocol.py; SQLite FTS5 in
rag/store/registry.py). Everything outside this package calls the named operations of `Store`.

Consistency across the two systems (a document is stored whole or not at all):
  1. the new chunk ids are written to the `pending` table and committed (an intent log);
  2. the chunks are upserted into Chroma;
  3. one registry transaction swaps the document rows, the chunk rows, the FTS rows and the relations
     extracted from those documents, records the replaced chunk ids as pending deletions and clears
     the pending additions;
  4. the replaced ids are deleted from Chroma and their pending rows cleared.
A process killed anywhere leaves pending rows; `recover()` (run before every write) finishes or undoes
them, so Chroma never keeps an orphan and the registry never points at a missing vector. Readers only
ever return chunks that the registry holds, so a half-written document is never shown.
"""
from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from typing import Any

from rag.core.models import Chunk, Document, Filters
from rag.core.settings import Settings
from rag.core.sources import present, present_relation
from rag.embeddings import compatible
from rag.store.feeds import FeedStore
from rag.store.history import History
from rag.store.protocol import AuditTrail, FeedTables, Registry, WatchlistTables
from rag.store.registry import SqliteRegistry
from rag.store.vectors import StoreUnavailable, VectorIndex
from rag.store.watchlist import Watchlist

__all__ = ["EmbeddingMismatch", "Store", "StoreUnavailable", "VectorIndex", "get_store", "open_backend", "wait_for"]

log = logging.getLogger("regbrief.store")

# Stores written before signatures were recorded were all embedded by the one model v1 shipped, in torch.
LEGACY_SIGNATURE = "all-MiniLM-L6-v2@torch"


class EmbeddingMismatch(StoreUnavailable):
    """The store's vectors were made by an embedding model or backend whose vectors differ from this one's."""


def open_backend(settings: Settings) -> tuple[Registry, AuditTrail, WatchlistTables]:
    """The registry, audit trail and watchlist of a data directory: SQLite files under REGBRIEF_HOME, or
    PostgreSQL when REGBRIEF_DATABASE_URL is set (then nothing of the store is on this machine's disk)."""
    if settings.database_url:
        from rag.store.postgres import open_postgres  # psycopg, needed only with a database URL

        return open_postgres(settings)
    settings.home.mkdir(parents=True, exist_ok=True)
    return (SqliteRegistry(settings.db_path), History(settings.home / "history.sqlite3"),
            Watchlist(settings.home / "watchlist.sqlite3"))


class Store:
    """The facade the rest of regbrief uses: registry + keyword index + vectors, kept consistent."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.registry, self.history, self.watchlist = open_backend(settings)
        self._vectors = VectorIndex(settings, self._vector_state().get("collection"))
        # Threads of this process write one batch at a time (the intent log covers crashes and other
        # processes). Held per batch, not per file, so a small upload is not stuck behind a big list.
        self.write_lock = threading.RLock()
        self._source_locks: dict[str, threading.Lock] = {}
        self._ingests = 0  # sources being ingested by this process (see `ingesting`)
        self._entities = None
        self._feeds: FeedTables | None = None
        self._entity_index: Callable[[Store], Any] | None = None
        self._extract_relations: Callable[[dict], list] | None = None

    def attach(self, entity_index: Callable[[Store], Any], extract_relations: Callable[[dict], list]) -> None:
        """Hand the store the two parts of the domain it keeps current but does not define, so that it never
        imports the domain (rag/service.py attaches them): `entity_index(store)` builds the index over its
        list entries (see `entities`), and `extract_relations(row)` gives the relations of a stored document
        (a `Registry.relation_sources` row) for `sync_relations`."""
        self._entity_index, self._extract_relations = entity_index, extract_relations

    @property
    def feeds(self) -> FeedTables:
        """Feeds and their sync state, opened on first use: REGBRIEF_HOME/feeds.sqlite3 (rag/store/feeds.py),
        or the workspace's schema in PostgreSQL (rag/store/postgres/feeds.py) when the registry is there."""
        if self._feeds is None:
            if self.settings.database_url:
                from rag.store.postgres.feeds import PgFeeds  # psycopg, needed only with a database URL

                self._feeds = PgFeeds(self.registry)
            else:
                self._feeds = FeedStore(self.settings.home / "feeds.sqlite3")
        return self._feeds

    def has_feeds(self) -> bool:
        """Whether feed tables exist, without creating them (probes and the scheduler ask this); in
        PostgreSQL they always do (a numbered step of the schema)."""
        return self._feeds is not None or bool(self.settings.database_url) or \
            (self.settings.home / "feeds.sqlite3").exists()

    @property
    def entities(self):
        """The list entries in the store, indexed by name (rebuilt when the registry changes): built on first
        use by the `entity_index` attached (see `attach`)."""
        if self._entities is None:
            if self._entity_index is None:
                raise RuntimeError("no entity index is attached to this store: open it through rag.service.Regbrief "
                                   "(or call Store.attach)")
            self._entities = self._entity_index(self)
        return self._entities

    @property
    def vectors(self) -> VectorIndex:
        """The collection the vectors are in: the settings' own, or its re-embedded copy (see reembed),
        read from the registry each time so a store re-embedded by another process is followed."""
        name = self._vector_state().get("collection") or self.settings.collection
        if self._vectors.name != name:
            self._vectors = VectorIndex(self.settings, name)
        return self._vectors

    def describe(self) -> str:
        return self.vectors.describe()

    def source_lock(self, source: str) -> threading.Lock:
        """Held while one file (source) is ingested or removed: two uploads of the same name take turns."""
        with self.write_lock:
            return self._source_locks.setdefault(source, threading.Lock())

    @contextmanager
    def ingesting(self):
        """Held while this process ingests one source. The entity index keeps the view it had before
        while any ingest runs, and is brought up to date by the ingesting thread when each ends, so no
        query rebuilds it after a write batch (a second or more for a big list, on the query's time)."""
        with self.write_lock:
            self._ingests += 1
        try:
            yield
        finally:
            with self.write_lock:
                self._ingests -= 1
            if self._entities is not None and self._entities.version is not None:
                try:
                    self._entities.refresh(force=True)
                except Exception as e:  # the ingest is stored; the next query rebuilds the index
                    log.warning("entity index not refreshed after an ingest: %s", e)

    @property
    def ingest_running(self) -> bool:
        return self._ingests > 0

    # --- search sides -------------------------------------------------------------------------
    def keyword_search(self, query: str, filters: Filters, limit: int) -> list[tuple[str, float]]:
        return self.registry.keyword_search(query, filters, limit)

    def dense_search(self, embedding, filters: Filters, limit: int, signature: str | None = None) -> list[tuple[str, float]]:
        """Nearest chunks to a query vector; `signature` (the embedder's) is checked against the store's."""
        if signature:
            self.require_embedder(signature)
        return self.vectors.query(embedding, filters, limit)

    # --- registry look-ups --------------------------------------------------------------------
    # Rows leave the store presented (rag/core/sources.py): `source` is what a person recognises, `source_key`
    # the store's own key for the file, `url` a public link.
    def chunk_rows(self, chunk_ids: Sequence[str], filters: Filters | None = None) -> dict[str, dict]:
        return {cid: present(row) for cid, row in self.registry.chunk_rows(chunk_ids, filters).items()}

    def first_chunks(self, doc_ids: Sequence[str]) -> dict[str, str]:
        return self.registry.first_chunks(doc_ids)

    def document(self, doc_id: str) -> dict | None:
        doc = self.registry.document(doc_id)
        return present(doc) if doc else None

    def document_chunks(self, doc_id: str) -> list[dict]:
        return self.registry.document_chunks(doc_id)

    def documents(self, source: str | None = None, limit: int | None = None, offset: int = 0) -> list[dict]:
        return [present(d) for d in self.registry.documents(source, limit, offset)]

    def count_documents(self, source: str | None = None) -> int:
        return self.registry.count_documents(source)

    def document_texts(self, doc_ids: Sequence[str]) -> list[tuple[str, str, str]]:
        return self.registry.document_texts(doc_ids)

    def flagged_documents(self) -> list[tuple[str, str]]:
        return self.registry.flagged_documents()

    def chunk_listing(self) -> list[dict]:
        return self.registry.chunk_listing()

    def doc_hashes(self, source: str) -> dict[str, str]:
        return self.registry.doc_hashes(source)

    def file_hash(self, source: str) -> tuple[str, str] | None:
        return self.registry.file_hash(source)

    def sources(self) -> list[str]:
        return self.registry.sources()

    def stats(self) -> dict:
        return self.registry.stats()

    # --- list entries and relations ------------------------------------------------------------
    def list_entries_version(self) -> int:
        return self.registry.list_entries_version()

    def list_entry_rows(self):
        return (present(r) for r in self.registry.list_entry_rows())

    def relations(self, sync: bool = True) -> list[dict]:
        """Every relation with its document's title, source, date and url; `sync` first extracts those of
        documents stored without them (a store from before relations joined the schema)."""
        if sync:
            self.sync_relations()
        return [present_relation(r) for r in self.registry.relations()]

    def relations_version(self) -> tuple:
        return self.registry.relations_version()

    def sync_relations(self, rebuild: bool = False) -> dict[str, int]:
        """Bring relations up to date with documents they were not extracted from at write time (a
        store written before relations joined the schema, or after the extraction changed); the extraction
        is the one attached (see `attach`)."""
        if rebuild:
            self.registry.forget_relations()
        todo, gone = self.registry.relations_stale()
        if gone:
            self.registry.forget_relations(gone)
        n = 0
        if todo and self._extract_relations is None:
            raise RuntimeError("no relation extraction is attached to this store: open it through "
                               "rag.service.Regbrief (or call Store.attach)")
        for i in range(0, len(todo), 1000):
            sources = self.registry.relation_sources(todo[i:i + 1000])
            extracted = {s["doc_id"]: (s["content_hash"], self._extract_relations(s)) for s in sources}
            with self.write_lock:
                self.registry.replace_relations(extracted)
            n += sum(len(v[1]) for v in extracted.values())
        return {"documents": len(todo), "removed": len(gone), "relations": n}

    # --- settings recorded with the data ----------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        return self.registry.get_meta(key)

    def set_meta(self, key: str, value: str) -> None:
        self.registry.set_meta(key, value)

    # --- which embedder made the vectors ---------------------------------------------------------
    def _vector_state(self) -> dict:
        return json.loads(self.registry.get_meta("vectors") or "{}")

    def embedding_signature(self) -> str | None:
        """The embedder signature ("model@backend") the store's vectors were made with; None when empty."""
        recorded = self._vector_state().get("embedding")
        if recorded:
            return recorded
        return LEGACY_SIGNATURE if self.registry.count_documents() else None

    def require_embedder(self, signature: str) -> None:
        """Refuse an embedder whose vectors cannot be compared with the store's; an empty store takes it."""
        recorded = self.embedding_signature()
        if recorded is None:
            state = self._vector_state()
            self.registry.set_meta("vectors", json.dumps({**state, "embedding": signature}))
        elif not compatible(recorded, signature):
            raise EmbeddingMismatch(
                f"this store's vectors were made by {recorded}, and the configured embedder is {signature}, "
                f"whose vectors differ: set REGBRIEF_EMBEDDING_BACKEND (and REGBRIEF_EMBEDDING_MODEL) to match "
                f"the store, or convert the store with `regbrief reembed`")

    def reembed(self, embedder, batch: int = 512, on_progress=None) -> dict:
        """Re-embed every chunk with `embedder`, crash-safe: the new vectors go into a copy of the collection,
        which is resumed if a run is interrupted, and one registry write switches the store to it."""
        base = self.settings.collection
        target = f"{base}.e{hashlib.sha1(embedder.signature.encode()).hexdigest()[:8]}"
        with self.write_lock:
            self.recover()
            current = self.vectors.name
            if self.embedding_signature() == embedder.signature and current in (base, target):
                return {"signature": embedder.signature, "reembedded": 0, "collection": current, "changed": False}
            new = VectorIndex(self.settings, target if current != target else base)
            for stale in self.vectors.siblings():  # copies left by other interrupted runs
                if stale not in (new.name, current):
                    self.vectors.drop(stale)
            have = new.all_ids()
            todo = [(c, t) for c, t in self.registry.all_chunks() if c not in have]
            for i in range(0, len(todo), batch):
                part = todo[i:i + batch]
                ids = [c for c, _ in part]
                metadata = self.registry.vector_metadata(ids)
                new.put_vectors(ids, embedder.encode([t for _, t in part]), [metadata[c] for c in ids])
                if on_progress:
                    on_progress(min(i + batch, len(todo)), len(todo))
            self.registry.set_meta("vectors", json.dumps({"collection": new.name, "embedding": embedder.signature}))
            old, self._vectors = self._vectors, new
            old.drop(old.name)
            return {"signature": embedder.signature, "reembedded": len(todo), "collection": new.name,
                    "changed": True}

    # --- writes ---------------------------------------------------------------------------------
    def recover(self) -> dict[str, int]:
        """Finish or undo writes interrupted by a crash (see the module docstring)."""
        with self.write_lock:  # no write of this process is half done while the lock is held
            pending = self.registry.pending(abandoned_only=True)
            if pending["add"]:
                registered = self.registry.all_chunk_ids()
                orphans = [c for c in pending["add"] if c not in registered]
                self.vectors.delete(orphans)
                self.registry.clear_pending(pending["add"], "add")
            if pending["delete"]:
                self.vectors.delete(pending["delete"])
                self.registry.clear_pending(pending["delete"], "delete")
            return {"undone_adds": len(pending["add"]), "finished_deletes": len(pending["delete"])}

    def write(self, docs: Sequence[Document], chunks: Sequence[Chunk], embeddings,
              relations: dict[str, list] | None = None, signature: str | None = None) -> None:
        """Store documents with their chunks, vectors and relations ({doc_id: [relation]}), all or nothing;
        `signature` is the embedder's that made the vectors (checked against the store's)."""
        ids = [c.chunk_id for c in chunks]
        with self.write_lock:
            if signature:
                self.require_embedder(signature)
            self.registry.mark_pending(ids, "add")
            self.vectors.upsert(chunks, {d.doc_id: d for d in docs}, embeddings)
            gone = self.registry.replace_documents(docs, chunks, relations)
            if gone:
                self.vectors.delete(gone)
                self.registry.clear_pending(gone, "delete")

    def delete(self, doc_ids: Sequence[str]) -> int:
        """Remove documents with their chunks, vectors and relations; returns how many chunks went."""
        with self.write_lock:
            gone = self.registry.delete_documents(doc_ids)
            if gone:
                self.vectors.delete(gone)
                self.registry.clear_pending(gone, "delete")
            return len(gone)

    def record_file(self, source: str, file_hash: str, fmt: str, documents: int) -> None:
        self.registry.record_file(source, file_hash, fmt, documents)

    def forget_file(self, source: str) -> None:
        self.registry.forget_file(source)

    def check(self) -> dict[str, Any]:
        """Consistency report: every registered chunk has a vector, and no vector lacks a chunk."""
        registered = self.registry.all_chunk_ids()
        vectors = self.vectors.all_ids()
        counts = self.registry.integrity()
        not_extracted, _ = self.registry.relations_stale()
        return {
            "chunks": len(registered),
            "vectors": len(vectors),
            "fts_rows": counts["fts_rows"],
            "missing_vectors": len(registered - vectors),
            "orphan_vectors": len(vectors - registered),
            "duplicate_chunks": counts["duplicate_chunks"],
            "documents_without_chunks": counts["documents_without_chunks"],
            "relations_of_missing_documents": counts["relations_of_missing_documents"],
            # documents written before relations were part of the schema: extracted on first use, not an error
            "relations_not_extracted": len(not_extracted),
            "pending": sum(len(v) for v in self.registry.pending().values()),
            "schema_version": self.registry.schema_version,
            "ok": registered == vectors and counts["fts_rows"] == len(registered) and counts["duplicate_chunks"] == 0
            and counts["documents_without_chunks"] == 0 and counts["relations_of_missing_documents"] == 0,
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
