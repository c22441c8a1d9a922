"""Vectors by content: (embedder signature, SHA-256 of the text) -> float32 vector, in SQLite beside the
store (REGBRIEF_HOME/embeddings.sqlite3, so one per workspace and nothing shared between teams).

Re-ingesting a changed file re-embeds only the text that is new: an edited article keeps the vectors of
its unchanged chunks. A vector is reused only for the exact text and the exact embedder signature, so a
cache written with one backend never serves another. Written apart from the store's own transaction: an
entry whose chunk never got stored is still the right vector for that text.

With REGBRIEF_DATABASE_URL it stays here, a cache of each machine, not a table in PostgreSQL: it is never
the source of truth (a vector is a function of the text and the embedder; the store's own vectors are in
Chroma), so a worker with an empty REGBRIEF_HOME is correct, only slower on the rare re-ingest of a changed
document first stored through another worker (unchanged documents are skipped by their content hash, and
need no vectors at all). Sharing it would send ~1.5 KB a vector through PostgreSQL on every ingest and keep
a second copy of every vector there, for a saving a worker earns back by itself after one ingest.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from rag.store.sqlite import Migration, SqliteDB

# Numbered steps (rag/store/sqlite.py), like every database of the store.
MIGRATIONS = [Migration(1, "vectors by content", """CREATE TABLE IF NOT EXISTS embedding_cache (
    signature TEXT NOT NULL, text_sha256 BLOB NOT NULL, vector BLOB NOT NULL,
    PRIMARY KEY (signature, text_sha256)) WITHOUT ROWID;""")]


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


class EmbeddingCache(SqliteDB):
    def __init__(self, path: Path):
        super().__init__(path, MIGRATIONS)

    def get(self, signature: str, texts: list[str]) -> dict[int, np.ndarray]:
        keys = [_digest(t) for t in texts]
        found: dict[bytes, bytes] = {}
        for i in range(0, len(keys), 500):
            part = keys[i:i + 500]
            marks = ",".join("?" * len(part))
            found.update(self.conn().execute(
                f"SELECT text_sha256, vector FROM embedding_cache WHERE signature = ? AND text_sha256 IN ({marks})",
                [signature, *part]))
        return {i: np.frombuffer(found[k], dtype=np.float32) for i, k in enumerate(keys) if k in found}

    def put(self, signature: str, texts: list[str], vectors) -> None:
        rows = [(signature, _digest(t), np.asarray(v, dtype=np.float32).tobytes()) for t, v in zip(texts, vectors)]
        with self.tx() as db:
            db.executemany("INSERT OR REPLACE INTO embedding_cache VALUES (?, ?, ?)", rows)

    def encode(self, embedder, texts: list[str]) -> np.ndarray:
        """`embedder.encode(texts)`, computing only the vectors this cache does not hold."""
        signature = getattr(embedder, "signature", None)
        if not signature or not texts:
            return embedder.encode(texts)
        texts = list(texts)
        got = self.get(signature, texts)
        missing = list(dict.fromkeys(t for i, t in enumerate(texts) if i not in got))
        fresh = dict(zip(missing, embedder.encode(missing))) if missing else {}
        if fresh:
            self.put(signature, list(fresh), list(fresh.values()))
        return np.stack([got[i] if i in got else fresh[t] for i, t in enumerate(texts)]).astype(np.float32, copy=False)

    def count(self, signature: str | None = None) -> int:
        if signature:
            return self.conn().execute("SELECT count(*) FROM embedding_cache WHERE signature = ?",
                                       [signature]).fetchone()[0]
        return self.conn().execute("SELECT count(*) FROM embedding_cache").fetchone()[0]
