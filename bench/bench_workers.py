"""Several API workers on one store: throughput and latency of search and ask through 1 worker and through 3,
each worker its own `regbrief serve` process with its own empty REGBRIEF_HOME, all on one PostgreSQL
(REGBRIEF_DATABASE_URL) and one Chroma server (tests/pg.py starts both on loopback ports).

Store: the demo corpus and the 2025-06-30 consolidated non-SDN list, uploaded through worker 1 (the upload
job polled through the last worker). Load: CONCURRENCY client threads for SECONDS per configuration, each
sending GET /v1/search (3 of 4 requests) or POST /v1/ask (1 of 4) round-robin over the workers in play.
On a 2-core machine three workers share the same two cores, so the figure that matters is that the store
is shared correctly with no state on any worker, not a speed-up.

    .venv/bin/python -m bench workers [--seconds 30] [--concurrency 6]
"""
from __future__ import annotations

import argparse
import itertools
import os
import threading
import time


from bench import DATA, DEMO, TMP, latency_summary, log, table, write_result

NAME = "bench_workers"
QUERIES = ["SenseTime", "facial recognition surveillance", "Chinese military companies investment ban",
           "Huawei program", "Hikvision", "NS-CMIC list", "divestment deadline", "owned or controlled by"]
QUESTIONS = ["Is SenseTime sanctioned?", "What is the program for Huawei?", "When was SenseTime listed?"]


def load(workers, seconds: float, concurrency: int) -> dict:
    stop = time.monotonic() + seconds
    lat: dict[str, list[float]] = {"search": [], "ask": []}
    errors: list[str] = []
    lock = threading.Lock()
    counter = itertools.count()

    def run():
        clients = [w.client("bench") for w in workers]
        while time.monotonic() < stop:
            i = next(counter)
            c = clients[i % len(clients)]
            t0 = time.perf_counter()
            if i % 4 == 3:
                kind, r = "ask", c.post("/v1/ask", json={"question": QUESTIONS[i % len(QUESTIONS)]})
            else:
                kind, r = "search", c.get("/v1/search", params={"q": QUERIES[i % len(QUERIES)], "k": 10})
            dt = time.perf_counter() - t0
            with lock:
                if r.status_code == 200:
                    lat[kind].append(dt)
                else:
                    errors.append(f"{r.status_code} {r.text[:200]}")

    t0 = time.perf_counter()
    threads = [threading.Thread(target=run) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    n = len(lat["search"]) + len(lat["ask"])
    return {"requests": n, "errors": len(errors), "error_samples": errors[:3], "seconds": round(elapsed, 1),
            "throughput_rps": round(n / elapsed, 1), "search": latency_summary(lat["search"]),
            "ask": latency_summary(lat["ask"]), "all": latency_summary(lat["search"] + lat["ask"])}


def run(args: argparse.Namespace | None = None) -> dict:
    from tests.pg import ApiWorker, ChromaServer, PgServer

    seconds = getattr(args, "seconds", 30) or 30
    concurrency = getattr(args, "concurrency", 6) or 6
    root = TMP / "workers"
    import shutil

    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    pg = PgServer().start()
    chroma = ChromaServer(root / "chroma").start()
    workers = []
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("REGBRIEF_")}
        env.update({"REGBRIEF_DATABASE_URL": pg.create_database("regbrief"), "REGBRIEF_CHROMA_URL": chroma.url,
                    "REGBRIEF_API_KEYS": "bench", "REGBRIEF_RATE_LIMIT_PER_MINUTE": "1000000",
                    "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"})
        workers = [ApiWorker(root / f"home{n}", env, root / f"worker{n}.log") for n in (1, 2, 3)]
        for w in workers:
            w.wait_ready()
        files = sorted((DEMO / "lists").iterdir()) + sorted((DEMO / "articles").iterdir()) + \
            [DATA / "ofac" / "consolidated_nonSDN_2025-06-30.xml"]
        t0 = time.perf_counter()
        r = workers[0].client("bench").post("/v1/documents", files=[
            ("files", (p.name, p.read_bytes(), "application/octet-stream")) for p in files])
        job_id = r.json()["job_id"]
        while True:  # polled through the last worker: jobs are shared
            job = workers[-1].client("bench").get(f"/v1/jobs/{job_id}").json()
            if job["status"] in ("succeeded", "failed"):
                break
            time.sleep(1)
        assert job["status"] == "succeeded", job
        ingest_s = time.perf_counter() - t0
        log(f"store: {len(files)} files uploaded through worker 1 in {ingest_s:.1f}s")
        load(workers, 5, concurrency)  # warm-up
        out = {"files": len(files), "ingest_seconds": round(ingest_s, 1), "concurrency": concurrency,
               "seconds_per_configuration": seconds, "configurations": {}}
        for n in (1, 3):
            log(f"{n} worker(s): {concurrency} clients for {seconds}s")
            out["configurations"][f"{n} worker{'s' if n > 1 else ''}"] = load(workers[:n], seconds, concurrency)
        print(table([[k, v["throughput_rps"], v["search"]["p50_ms"], v["search"]["p95_ms"], v["ask"]["p95_ms"],
                      v["errors"]] for k, v in out["configurations"].items()],
                    ["workers", "req/s", "search p50 ms", "search p95 ms", "ask p95 ms", "errors"]))
        write_result(NAME, out)
        return out
    finally:
        for w in workers:
            w.stop()
        chroma.stop()
        pg.close()


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seconds", type=float, default=30, help="load per configuration (default 30 s)")
    p.add_argument("--concurrency", type=int, default=6, help="client threads (default 6)")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(ap)
    run(ap.parse_args())
