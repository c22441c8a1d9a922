"""What a vector write costs the other threads of the writing process: why a search waits during an ingest.

    .venv/bin/python -m bench chroma_writes                  # 20,000 vectors in the index, 2,048 written
    .venv/bin/python -m bench chroma_writes --writes-base 5000 --writes-count 1024

The store's own vector index (rag/store/vectors.py, `VectorIndex.upsert`, with its slices) writes random
384-d vectors with the store's metadata into an index already holding `--writes-base`, while two other
threads of the same process run:

  probe   time.sleep(0.5 ms) in a loop: how long a thread that wants the interpreter waits for it
  query   VectorIndex.query (k=10) every 20 ms: what a search's vector step costs meanwhile

once with embedded Chroma (PersistentClient, the default) and once with a `chroma run` server on loopback
(REGBRIEF_CHROMA_URL), with the store's slice for a server (1,000) and with 64 a call as embedded; the same
query thread also runs with no write going on (idle). Plain alternative: the server, whose client waits on
a socket with the interpreter released.

Reported per mode: write calls (p50/p95 ms), probe wake-up delay (p50/p99/max ms) and the share of the
write time the probe was held for more than 5 ms, query latency idle and during the writes (p50/p95) and
their ratio. bench_ingest_load measures the whole server; this isolates the index, the cause its
remaining slow searches were traced to (bench/README.md). Results: bench/results/bench_chroma_writes.json.
"""
from __future__ import annotations

import argparse
import shutil
import threading
import time

import numpy as np

from bench import TMP, latency_summary, log, table, write_result

NAME = "bench_chroma_writes"
DIM = 384


class _Chunk:  # what VectorIndex.upsert reads of a chunk and a document
    def __init__(self, i: int):
        self.chunk_id, self.doc_id = f"c{i}", f"d{i}"


class _Doc:
    doc_type, jurisdiction, date = "list_entry", "US", None


def _vectors(n: int, seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _write(index, start: int, n: int, seed: int) -> None:
    chunks = [_Chunk(i) for i in range(start, start + n)]
    index.upsert(chunks, {c.doc_id: _Doc() for c in chunks}, _vectors(n, seed))


def _queries(index, stop: threading.Event, out: list[float]) -> None:
    from rag.core.models import Filters

    q = _vectors(64, 7)
    i = 0
    while not stop.is_set():
        t = time.perf_counter()
        index.query(q[i % len(q)].tolist(), Filters(), 10)
        out.append(time.perf_counter() - t)
        i += 1
        stop.wait(0.02)


def _probe(stop: threading.Event, out: list[float]) -> None:
    while not stop.is_set():
        t = time.perf_counter()
        time.sleep(0.0005)
        out.append(time.perf_counter() - t - 0.0005)


MODES = {  # name: (a Chroma server?, vectors per write call: None = the store's own slice)
    "embedded": (False, None), "server": (True, None), "server, 64 a call": (True, 64)}


def measure(mode: str, args) -> dict:
    from rag.core.settings import Settings
    from rag.store.vectors import VectorIndex
    from tests.pg import ChromaServer

    with_server, slice_ = MODES[mode]

    class Index(VectorIndex):
        @property
        def _slice(self) -> int:
            return slice_ or super()._slice

    home = TMP / "chroma-writes"
    shutil.rmtree(home, ignore_errors=True)
    server = ChromaServer(home / "server").start() if with_server else None
    try:
        index = Index(Settings(home=home, chroma_url=server.url if server else None))
        for start in range(0, args.writes_base, 1000):  # the index as an ingest finds it
            _write(index, start, min(1000, args.writes_base - start), seed=start)
        idle: list[float] = []
        stop = threading.Event()
        t = threading.Thread(target=_queries, args=(index, stop, idle))
        t.start()
        time.sleep(args.writes_idle_seconds)
        stop.set()
        t.join()

        during, probe, calls = [], [], []
        stop = threading.Event()
        threads = [threading.Thread(target=_queries, args=(index, stop, during)),
                   threading.Thread(target=_probe, args=(stop, probe))]
        for th in threads:
            th.start()
        call = index._call

        def timed(fn, *a, **kw):  # every Chroma call of the writes (this thread's), timed
            t0 = time.perf_counter()
            try:
                return call(fn, *a, **kw)
            finally:
                if threading.current_thread() is threading.main_thread():
                    calls.append(time.perf_counter() - t0)

        index._call = timed
        t0 = time.perf_counter()
        for start in range(args.writes_base, args.writes_base + args.writes_count, 1024):
            _write(index, start, min(1024, args.writes_base + args.writes_count - start), seed=start)
        write_seconds = time.perf_counter() - t0
        index._call = call
        stop.set()
        for th in threads:
            th.join()
    finally:
        if server:
            server.stop()
        shutil.rmtree(home, ignore_errors=True)
    held = sum(p for p in probe if p > 0.005)
    q_idle, q_during = latency_summary(idle), latency_summary(during)
    return {
        "mode": mode, "slice": index._slice, "vectors_before": args.writes_base, "vectors_written": args.writes_count,
        "write_seconds": round(write_seconds, 2), "write_calls": latency_summary(calls),
        "probe_delay": latency_summary(probe), "probe_held_share_of_write_time": round(held / write_seconds, 3),
        "query_idle": q_idle, "query_during_writes": q_during,
        "query_p95_during_over_idle": round(q_during["p95_ms"] / q_idle["p95_ms"], 2),
    }


def run(args: argparse.Namespace | None = None) -> int:
    defaults = {"writes_base": 20000, "writes_count": 2048, "writes_idle_seconds": 5.0}
    a = argparse.Namespace(**{k: getattr(args, k, v) if args is not None else v for k, v in defaults.items()})
    log(f"=== {NAME}")
    modes = {}
    for mode in MODES:
        log(f"{mode}: {a.writes_base} vectors, then {a.writes_count} written while probing")
        modes[mode] = measure(mode, a)
    path = write_result(NAME, {"modes": modes})
    rows = [[m, f["slice"], f["write_calls"]["p50_ms"], f["write_calls"]["p95_ms"], f["probe_delay"]["p99_ms"],
             f["probe_delay"]["max_ms"], f["probe_held_share_of_write_time"], f["query_idle"]["p95_ms"],
             f["query_during_writes"]["p95_ms"], f["query_p95_during_over_idle"]] for m, f in modes.items()]
    print(table(rows, ["mode", "slice", "call p50", "call p95", "probe p99", "probe max", "held share",
                       "query p95 idle", "during", "ratio"]))
    print(f"wrote {path}")
    return 0


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--writes-base", type=int, default=20000, help="chroma_writes: vectors in the index first")
    p.add_argument("--writes-count", type=int, default=2048, help="chroma_writes: vectors written while probing")
    p.add_argument("--writes-idle-seconds", type=float, default=5.0, help="chroma_writes: idle query phase")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(ap)
    raise SystemExit(run(ap.parse_args()))
