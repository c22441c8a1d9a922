"""Benchmarks: each module compares regbrief with the plain alternative in the same run.

`python -m bench [name ...]` runs them (see bench/README.md). Each module has `run(args) -> dict`,
writes bench/results/<name>.json (raw figures, environment, timestamp) and prints a short table.

This package holds what the modules share: where the data is, the result writer, percentiles, and a
disk cache of embeddings (bench/results/tmp/, git-ignored) so that stores the benchmarks only *read*
(the 50k-chunk search store, the ObliQA store, the ask store) are built without embedding the same text
twice across modules and runs. Every timed embedding goes through the real model, never the cache.
"""
from __future__ import annotations

import contextlib

import datetime as dt
import hashlib
import json
import os
import platform
import shutil
import sqlite3
import statistics
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("REGBRIEF_BENCH_DATA", ROOT.parent / "shared" / "data"))
RESULTS = ROOT / "bench" / "results"
TMP = Path(os.environ.get("REGBRIEF_BENCH_TMP", RESULTS / "tmp"))  # cached stores and embeddings
DEMO = ROOT / "ingest" / "demo_corpus"

SDN_2024 = DATA / "ofac" / "sdn_2024-05-03.csv"
FR_JSONL = DATA / "federal_register" / "fr_sanctions_export_controls_abstracts.jsonl"
OBLIQA_DOCS = DATA / "obliqa" / "StructuredRegulatoryDocuments"
OBLIQA_DEV = DATA / "obliqa" / "ObliQA_dev.json"


# --- environment and results ---------------------------------------------------------------------

try:
    _LOAD_AT_START = os.getloadavg()  # when the benchmark process started (this package is imported first)
except OSError:
    _LOAD_AT_START = None

def _version(dist: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return None


def environment() -> dict[str, Any]:
    dists = ("regbrief", "torch", "sentence-transformers", "chromadb", "langchain-core", "langchain-chroma",
             "langchain-community", "langchain-classic", "langchain-text-splitters", "rank-bm25", "xllamacpp",
             "numpy")
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "load_average_at_start": _LOAD_AT_START,
        "sqlite": sqlite3.sqlite_version,
        "versions": {d: _version(d) for d in dists},
        "torch_threads": dict(TORCH) or None,
    }


def write_result(name: str, result: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = {
        "benchmark": name,
        "timestamp": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "environment": environment(),
        **result,
    }
    try:
        out["environment"]["load_average_at_end"] = os.getloadavg()
    except OSError:
        pass
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(out, indent=2, default=str) + "\n")
    return path


def percentile(values: list[float], p: float) -> float:
    """Linear-interpolated percentile (p in 0..100) of a non-empty list."""
    s = sorted(values)
    if len(s) == 1:
        return s[0]
    x = (len(s) - 1) * p / 100.0
    lo = int(x)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (x - lo)


def latency_summary(seconds: list[float]) -> dict[str, float]:
    ms = [s * 1000 for s in seconds]
    return {
        "n": len(ms),
        "p50_ms": round(percentile(ms, 50), 2),
        "p95_ms": round(percentile(ms, 95), 2),
        "p99_ms": round(percentile(ms, 99), 2),
        "mean_ms": round(statistics.fmean(ms), 2),
        "max_ms": round(max(ms), 2),
    }


def table(rows: list[list[Any]], header: list[str]) -> str:
    cells = [[str(c) for c in header]] + [[_fmt(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.3f}" if abs(v) < 100 else f"{v:.1f}"
    return str(v)


class Timer:
    def __enter__(self) -> "Timer":
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self.t0


def fresh_dir(path: Path) -> Path:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


CHILD_MARK = "BENCH_CHILD_JSON "


def child_json(stdout: str) -> dict:
    """The result line a benchmark's child process printed (other output may surround it)."""
    for line in reversed(stdout.splitlines()):
        if line.startswith(CHILD_MARK):
            return json.loads(line[len(CHILD_MARK):])
    raise RuntimeError(f"child printed no result line; stdout ended with: {stdout[-500:]!r}")


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --- embeddings: the real model, and a disk cache for building read-only stores --------------------

TORCH: dict[str, Any] = {}


def configure_torch() -> dict[str, Any]:
    """How many threads torch uses in this benchmark process (recorded in every result):
    REGBRIEF_BENCH_TORCH_THREADS=N forces N (`python -m bench --torch-threads N` sets it), else
    rag.embeddings.threads_for_load decides. Both sides of every comparison share the one model object,
    so the choice never favours one side."""
    if TORCH:
        return TORCH
    import torch

    from rag.embeddings import threads_for_load

    n, reason = threads_for_load(os.environ.get("REGBRIEF_BENCH_TORCH_THREADS", ""))
    if n:
        torch.set_num_threads(n)
        os.environ["REGBRIEF_BENCH_TORCH_THREADS"] = str(n)  # children measure the same way
    TORCH.update({"threads": torch.get_num_threads(), "reason": reason})
    log(f"torch threads: {TORCH['threads']} ({reason})")
    return TORCH


def real_embedder():
    from rag.embeddings import get_embedder
    from rag.core.settings import Settings

    configure_torch()
    s = Settings()
    # The benches' stores and their vector cache hold float vectors: "auto" means onnx here, whatever a
    # store in the environment has; --embedding-backends measures the others side by side.
    backend = "onnx" if s.embedding_backend == "auto" else s.embedding_backend
    return get_embedder(s.embedding_model, s.embedding_batch_size, backend)


class TimedEncode:
    """Times every call of `embedder.encode` on the same model object, by shadowing the method on the
    instance (LangChain's embed_documents goes through it too). With `keep=True` the texts and vectors
    are kept in memory (not timed) so `flush(cache)` can store them afterwards. Use as a context
    manager; the method is restored on exit."""

    def __init__(self, embedder, keep: bool = False):
        self.embedder = embedder
        self.keep = keep
        self.kept: list[tuple[list[str], Any]] = []
        self.seconds = 0.0
        self.texts = 0
        self.calls = 0

    def __enter__(self) -> "TimedEncode":
        original = type(self.embedder).encode.__get__(self.embedder)

        def encode(texts):
            t0 = time.perf_counter()
            out = original(texts)
            self.seconds += time.perf_counter() - t0
            self.texts += len(texts)
            self.calls += 1
            if self.keep:
                self.kept.append((list(texts), out))
            return out

        self.embedder.encode = encode
        return self

    def __exit__(self, *exc) -> None:
        del self.embedder.encode

    def flush(self, cache: "EmbeddingCache") -> None:
        for texts, vecs in self.kept:
            cache.put(texts, vecs)
        self.kept = []


class EmbeddingCache:
    """text -> unit vector, in SQLite under bench/results/tmp/ (keyed by model name and text)."""

    def __init__(self, model_name: str, path: Path | None = None):
        path = path or TMP / "embeddings.sqlite3"
        path.parent.mkdir(parents=True, exist_ok=True)
        self.model = model_name
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("CREATE TABLE IF NOT EXISTS emb (key TEXT PRIMARY KEY, vec BLOB NOT NULL)")

    def _key(self, text: str) -> str:
        return hashlib.sha1(f"{self.model}\x00{text}".encode("utf-8", "surrogatepass")).hexdigest()

    def get(self, texts: list[str]) -> dict[int, Any]:
        import numpy as np

        keys = [self._key(t) for t in texts]
        found: dict[str, bytes] = {}
        for i in range(0, len(keys), 500):
            part = keys[i : i + 500]
            marks = ",".join("?" * len(part))
            for k, v in self.db.execute(f"SELECT key, vec FROM emb WHERE key IN ({marks})", part):
                found[k] = v
        return {i: np.frombuffer(found[k], dtype=np.float32) for i, k in enumerate(keys) if k in found}

    def put(self, texts: list[str], vectors) -> None:
        import numpy as np

        rows = [(self._key(t), np.asarray(v, dtype=np.float32).tobytes()) for t, v in zip(texts, vectors)]
        self.db.execute("BEGIN")
        self.db.executemany("INSERT OR REPLACE INTO emb VALUES (?, ?)", rows)
        self.db.execute("COMMIT")


class CachedEmbedder:
    """Looks like rag.embeddings.Embedder (encode, count_tokens, embed_documents, embed_query); vectors
    come from the cache, misses are computed by the real model in batches and cached. Only for
    building stores that a benchmark then reads; never for a timed step."""

    def __init__(self, real, cache: EmbeddingCache | None = None):
        self.real = real
        # keyed by backend too: int8 vectors are not float ones (and onnx's are measured as its own)
        self.cache = cache or EmbeddingCache(getattr(real, "signature", real.name))
        self.hits = 0
        self.misses = 0
        self.miss_seconds = 0.0

    def __getattr__(self, name):
        return getattr(self.real, name)

    def encode(self, texts):
        import numpy as np

        texts = list(texts)
        got = self.cache.get(texts)
        missing = [i for i in range(len(texts)) if i not in got]
        self.hits += len(texts) - len(missing)
        if missing:
            t0 = time.perf_counter()
            # unique texts only, in big batches (the model sorts by length within a call)
            uniq = list(dict.fromkeys(texts[i] for i in missing))
            vecs = type(self.real).encode(self.real, uniq)
            self.cache.put(uniq, vecs)
            by_text = dict(zip(uniq, vecs))
            for i in missing:
                got[i] = by_text[texts[i]]
            self.misses += len(uniq)
            self.miss_seconds += time.perf_counter() - t0
        dim = len(next(iter(got.values()))) if got else self.real.dimension
        out = np.zeros((len(texts), dim), dtype=np.float32)
        for i, v in got.items():
            out[i] = v
        return out

    def prefetch(self, texts: list[str], chunk: int = 2048, label: str = "") -> None:
        """Embed every text not yet cached (in large calls, with progress on stderr)."""
        texts = list(dict.fromkeys(texts))
        have = self.cache.get(texts) if texts else {}
        todo = [t for i, t in enumerate(texts) if i not in have]
        if not todo:
            return
        log(f"embedding {len(todo)} uncached texts {label}(cached: {len(texts) - len(todo)})")
        t0 = time.perf_counter()
        for i in range(0, len(todo), chunk):
            self.encode(todo[i : i + chunk])
            done = min(i + chunk, len(todo))
            rate = done / (time.perf_counter() - t0)
            log(f"  {done}/{len(todo)} embedded, {rate:.0f}/s")

    def count_tokens(self, texts):
        return self.real.count_tokens(texts)

    def embed_documents(self, texts):
        return self.encode(list(texts)).tolist()

    def embed_query(self, text):
        return self.encode([text])[0].tolist()

    def stats(self) -> dict[str, Any]:
        return {"cache_hits": self.hits, "embedded_now": self.misses, "embedding_seconds": round(self.miss_seconds, 2)}


def build_store(home: Path, paths: list[Path], embedder, label: str, **settings: Any):
    """A regbrief store at `home` holding `paths` (incremental: unchanged files are skipped), built with a
    CachedEmbedder; returns (Regbrief, ingest seconds, report totals)."""
    from ingest.pipeline import Ingestor
    from rag.service import Regbrief
    from rag.core.settings import Settings

    rb = Regbrief(Settings(home=home, **settings))
    with Timer() as t:
        report = Ingestor(rb.store, embedder, rb.settings).ingest(paths)
    failed = [f for f in report.files if f.status == "failed"]
    for f in failed:
        log(f"  {label}: {f.source} failed: {f.error}")
    totals = report.totals()
    log(f"{label} store at {home}: {totals} in {t.seconds:.1f}s")
    return rb, t.seconds, totals, [f.source for f in failed]


@contextlib.contextmanager
def database_url(name: str):
    """A PostgreSQL database for a benchmark comparing the backends: a cluster of our own kept under
    bench/results/tmp/pg_NAME (tests/pg.py starts it on a free loopback port; fsync off, as in the tests), or
    the server REGBRIEF_BENCH_DATABASE_URL names."""
    if os.environ.get("REGBRIEF_BENCH_DATABASE_URL"):
        yield os.environ["REGBRIEF_BENCH_DATABASE_URL"]
        return
    from tests.pg import PgServer

    pg = PgServer(root=TMP / f"pg_{name}").start()  # one cluster per bench: they may run at once
    try:
        yield pg.url()
    finally:
        pg.close()
