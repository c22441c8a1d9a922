"""The vector side: a Chroma collection (embedded `PersistentClient` under the data directory, or a
`chroma run` server through `HttpClient` when REGBRIEF_CHROMA_URL is set). Embeddings are always
computed by regbrief, never by Chroma (its default embedding function downloads a model)."""
from __future__ import annotations

import threading
from collections.abc import Sequence
from urllib.parse import urlparse

from rag.core.models import Chunk, Document, Filters
from rag.core.priority import step_aside
from rag.core.settings import Settings
from rag.store.registry import date_ord as _date_ord


class StoreUnavailable(RuntimeError):
    """The vector store cannot be reached (e.g. the Chroma server is down)."""


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

    def __init__(self, settings: Settings, name: str | None = None):
        self.settings = settings
        self.name = name or settings.collection  # another name: a re-embedded copy (Store.reembed)
        self._collection = None
        self._client = None
        self._lock = threading.Lock()

    @property
    def collection(self):
        if self._collection is None:
            with self._lock:
                if self._collection is None:
                    self._collection = self._open()
        return self._collection

    def _open(self):
        try:
            self._client = self._connect()
            return self._client.get_or_create_collection(
                self.name,
                embedding_function=None,  # never Chroma's default: it downloads a model
                configuration={"hnsw": {"space": "cosine"}},
            )
        except Exception as e:
            raise StoreUnavailable(f"vector store unavailable ({self.describe()}): {e}") from e

    def _connect(self):
        # Imported when a collection is first opened: chromadb takes seconds to import, and many uses of the
        # store (listings, the audit trail, the watchlist) never open one.
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False)
        if self.settings.chroma_url:
            u = urlparse(self.settings.chroma_url)
            return chromadb.HttpClient(
                host=u.hostname or "127.0.0.1",
                port=u.port or (443 if u.scheme == "https" else 8000),
                ssl=u.scheme == "https",
                settings=chroma_settings,
            )
        self.settings.chroma_path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(self.settings.chroma_path), settings=chroma_settings)

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
        n = self._slice
        for i in range(0, len(chunks), n):
            self._call(
                self.collection.upsert,
                ids=[c.chunk_id for c in chunks[i : i + n]],
                embeddings=embeddings[i : i + n],
                metadatas=metadatas[i : i + n],
            )
            step_aside()  # a query waiting for the interpreter goes first (rag/core/priority.py)

    def delete(self, chunk_ids: Sequence[str]) -> None:
        n = self._slice
        for i in range(0, len(chunk_ids), n):
            self._call(self.collection.delete, ids=list(chunk_ids[i : i + n]))
            step_aside()

    @property
    def _slice(self) -> int:
        """Vectors per Chroma call. Embedded Chroma holds the interpreter lock for a whole call, so a big call
        stops every query thread until it ends (`python -m bench chroma_writes` measures for how long); a
        server releases it while waiting, and caps one request's size, so it gets bigger calls."""
        return 1000 if self.settings.chroma_url else 64

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

    def siblings(self) -> list[str]:
        """Names of this collection's re-embedded copies ("<name>.e<hash>"), finished or not."""
        self.collection  # connects
        base = self.settings.collection
        names = [c if isinstance(c, str) else c.name for c in self._call(self._client.list_collections)]
        return [n for n in names if n.startswith(base + ".e")]

    def drop(self, name: str) -> None:
        """Delete another collection of this Chroma (a re-embedded copy that was replaced or abandoned)."""
        self.collection  # connects
        self._call(self._client.delete_collection, name)

    def vectors(self, chunk_ids: Sequence[str]) -> dict[str, tuple[list[float], dict]]:
        """chunk_id -> (embedding, metadata) for the ids the collection holds (backups)."""
        got: dict[str, tuple[list[float], dict]] = {}
        for i in range(0, len(chunk_ids), 1000):
            res = self._call(self.collection.get, ids=list(chunk_ids[i:i + 1000]), include=["embeddings", "metadatas"])
            for cid, emb, meta in zip(res["ids"], res["embeddings"], res["metadatas"]):
                got[cid] = (list(emb), meta)
        return got

    def put_vectors(self, ids: Sequence[str], embeddings, metadatas: Sequence[dict]) -> None:
        """Store vectors as they are (restoring a backup, re-embedding a store)."""
        for i in range(0, len(ids), 1000):
            self._call(self.collection.upsert, ids=list(ids[i:i + 1000]),
                       embeddings=[list(map(float, e)) for e in embeddings[i:i + 1000]],
                       metadatas=list(metadatas[i:i + 1000]))


def _is_connection_error(e: Exception) -> bool:
    text = f"{type(e).__name__} {e}".lower()
    return any(s in text for s in ("connect", "timeout", "unavailable", "refused", "reset", "503", "502"))
