"""Searches while a feed syncs a big list: the server's way (REGBRIEF_INGEST_WORKER: the list parsed and
embedded in the ingest worker process) against everything in the serving process (the CLI's way).

    .venv/bin/python -m bench feed_load                    # the first 10,000 rows of the 2024 SDN list
    .venv/bin/python -m bench feed_load --feed-load-rows 3000

For each mode, on a fresh copy of bench_ingest_load's base store (demo corpus + the 2021-12-10 SDN list; its
embedding cache emptied, so every entry is embedded): a thread runs `rb.search` (hybrid, k=10) every 0.1 s,
15 s alone, then while the same process adds and syncs a feed serving the list from a loopback HTTP server
(Python's http.server). Reported: search p50 / p95 / max idle and during the sync, the longest search in the
sync's first 20 s (the fetch and the parse of the whole list), searches over 100 ms, the sync's seconds.
In process, not over HTTP: bench_ingest_load measures the HTTP service during an upload.
Results: bench/results/bench_feed_load.json.
"""
from __future__ import annotations

import argparse
import functools
import shutil
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

from bench import TMP, latency_summary, log, table, write_result

NAME = "bench_feed_load"
SEARCHES = ["SenseTime NS-CMIC list", "BANCO NACIONAL DE CUBA", "Bank Melli Iran secondary sanctions",
            "vessel IMO number Iran", "Huawei Technologies investment prohibition", "Global Magnitsky Xinjiang officials"]
IDLE_SECONDS = 15.0
PARSE_WINDOW = 20.0  # seconds from the sync's start: the fetch and the parse


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def measure(worker: bool, rows: int) -> dict:
    from bench.bench_ingest_load import base_store
    from bench.bench_soak import sdn_slice
    from rag.embeddings.backends import resolve
    from rag.service import Regbrief
    from rag.core.settings import Settings

    backend = resolve(Settings().embedding_backend)
    home = TMP / f"feed-load-home-{'worker' if worker else 'here'}"  # Chroma keeps a client per path
    shutil.rmtree(home, ignore_errors=True)
    shutil.copytree(base_store(backend), home)
    (home / "embeddings.sqlite3").unlink(missing_ok=True)  # every entry embedded, as for a list never seen
    served = TMP / "feed-load-site"
    served.mkdir(parents=True, exist_ok=True)
    shutil.copy(sdn_slice(rows), served / "sdn.csv")
    site = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(served)))
    threading.Thread(target=site.serve_forever, daemon=True).start()
    rb = Regbrief(Settings(home=home, ingest_worker=worker, feeds_allow_private=True, embedding_backend=backend))
    try:
        for q in SEARCHES:  # warm-up, not measured
            rb.search(q, k=10)
        times: list[tuple[float, float]] = []
        stop = threading.Event()

        def searches() -> None:
            i = 0
            while not stop.is_set():
                t = time.perf_counter()
                rb.search(SEARCHES[i % len(SEARCHES)], k=10)
                times.append((time.monotonic(), time.perf_counter() - t))
                i += 1
                stop.wait(0.1)

        client = threading.Thread(target=searches)
        client.start()
        time.sleep(IDLE_SECONDS)
        rb.add_feed("sdn-load", f"http://127.0.0.1:{site.server_port}/sdn.csv", "ofac_sdn_csv", "24h")
        t0 = time.monotonic()
        r = rb.sync_feeds(["sdn-load"])[0]
        t1 = time.monotonic()
        stop.set()
        client.join()
    finally:
        site.shutdown()
        from ingest.worker import close_workers

        close_workers()
    idle = [d for t, d in times if t < t0]
    during = [d for t, d in times if t0 <= t <= t1]
    first = [d for t, d in times if t0 <= t <= t0 + PARSE_WINDOW]
    return {"ingest_worker": worker, "status": r.status, "error": r.error, "added": r.added,
            "sync_seconds": round(t1 - t0, 1), "search_idle": latency_summary(idle),
            "search_during": latency_summary(during), "search_first_20s": latency_summary(first),
            "searches_over_100ms": sum(d > 0.1 for d in during)}


def run(args: argparse.Namespace | None = None) -> int:
    rows = getattr(args, "feed_load_rows", 10000) if args is not None else 10000
    log(f"=== {NAME}")
    modes = {}
    for worker in (True, False):
        name = "ingest worker (server)" if worker else "in process (CLI)"
        log(f"{name}: a feed of {rows} SDN rows synced while searching")
        modes[name] = measure(worker, rows)
    path = write_result(NAME, {"rows": rows, "modes": modes})
    print(table([[n, f["status"], f["sync_seconds"], f["search_idle"]["p95_ms"], f["search_during"]["p50_ms"],
                  f["search_during"]["p95_ms"], f["search_during"]["max_ms"], f["search_first_20s"]["max_ms"],
                  f["searches_over_100ms"]] for n, f in modes.items()],
                ["mode", "status", "sync s", "idle p95", "during p50", "p95", "max", "max, first 20 s", "> 100 ms"]))
    print(f"wrote {path}")
    return 0 if all(f["status"] == "updated" for f in modes.values()) else 1


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--feed-load-rows", type=int, default=10000, help="feed_load: rows of the 2024 SDN list synced")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(ap)
    raise SystemExit(run(ap.parse_args()))
