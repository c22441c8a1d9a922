"""Queries during a big ingest: search and ask latency over HTTP while 10,000 list entries are ingested,
against the same queries on the idle server.

    .venv/bin/python -m bench ingest_load                 # 90 s idle, the ingest, 60 s idle after
    .venv/bin/python -m bench ingest_load --load-rows 2000 --load-idle-seconds 30 --load-after-seconds 20

The server is `regbrief serve` (uvicorn) in its own process, on a copy of a store holding the demo corpus
and the 2021-12-10 SDN list (9,146 entries; built once under bench/results/tmp/ingest-load-base). The
copy's embedding cache is emptied, so the ingest embeds every one of its texts, as for a list never seen.
This process is the client, on loopback, with two clients in every phase:

  search client  GET /v1/search?q=...&k=10 (hybrid), the fixed queries in turn, `--load-think` seconds
                 between an answer and the next request
  ask client     POST /v1/ask (extractive), the fixed questions in turn, `--load-ask-think` seconds apart

Phases, the same clients and queries:

  idle      nothing else running (the plain case)
  ingest    while the first `--load-rows` rows of the 2024 SDN list, uploaded as one file through
            POST /v1/documents, are ingested by the server's background job (until it is done)
  after     idle again, on the grown store: tells a slower search on a bigger store from one slowed by
            the ingest

Reported per phase: requests, errors, p50/p95/p99 per request kind, load average at its start and end;
p95 of the ingest phase over idle (the target: search p95 < 100 ms and <= 3x idle) and over after; the
ingest's documents, chunks, seconds and docs/s; server RSS (samples every 0.5 s: median per phase, peak), alone and with its
child processes (the ingest worker its upload jobs use, ingest/worker.py). Raw latencies with
their send times are kept in the JSON, so a slow stretch can be matched with what the ingest was doing.
Results: bench/results/bench_ingest_load.json (and bench_ingest_load@<backend>.json for another backend).
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

from bench import DATA, DEMO, ROOT, TMP, latency_summary, log, table, write_result

NAME = "bench_ingest_load"
BASE_LIST = DATA / "ofac" / "sdn_2021-12-10.csv"

SEARCHES = [
    "SenseTime NS-CMIC list", "BANCO NACIONAL DE CUBA", "Bank Melli Iran secondary sanctions",
    "Hikvision Executive Order 14032", "50 percent rule ownership", "Megvii DJI listing December 2021",
    "Islamic Revolutionary Guard Corps Qods Force", "divestment deadline CMIC securities",
    "Huawei Technologies investment prohibition", "vessel IMO number Iran", "Global Magnitsky Xinjiang officials",
    "Chinese military-industrial complex companies list",
]
QUESTIONS = [
    "Is SenseTime sanctioned, and on which list?", "When was SenseTime added to the NS-CMIC list?",
    "What does the OFAC 50 percent rule say?", "Is Bank Melli Iran on the SDN list?",
    "Which program is Hikvision listed under?", "Why was SenseTime listed?",
]


def base_store(backend: str) -> Path:
    """Demo corpus + the 2021-12-10 SDN list, built once per embedding family with `regbrief ingest`
    (not timed)."""
    from bench.bench_api import server_env
    from rag.embeddings import FAMILY

    family = "onnx" if FAMILY[backend] == "float" else backend
    home = TMP / f"ingest-load-base@{family}"
    if not (home / ".complete").exists():
        log(f"building the base store {home} (demo corpus + {BASE_LIST.name}), not timed")
        home.mkdir(parents=True, exist_ok=True)
        p = subprocess.run([sys.executable, "-m", "api.cli", "ingest", "-q", "--json", str(DEMO / "articles"),
                            str(DEMO / "lists"), str(BASE_LIST)], cwd=ROOT, capture_output=True, text=True,
                           env={**server_env(home), "REGBRIEF_EMBEDDING_BACKEND": family})
        if p.returncode != 0:
            raise RuntimeError(f"base store: ingest failed: {p.stderr[-2000:]}")
        (home / ".complete").write_text(p.stdout)
    return home


def fresh_copy(base: Path, home: Path) -> Path:
    """A copy of the base store with an empty embedding cache (the ingest then embeds every text)."""
    if home.exists():
        shutil.rmtree(home)
    shutil.copytree(base, home, ignore=shutil.ignore_patterns("embeddings.sqlite3*", "uploads", ".complete"))
    return home


class Clients:
    """The search client and the ask client of one phase; each records (sent at, kind, seconds, error)."""

    def __init__(self, url: str, think: float, ask_think: float, t0: float):
        self.url, self.think, self.ask_think, self.t0 = url, think, ask_think, t0
        self.records: list[tuple[float, str, float, str | None]] = []
        self._lock = threading.Lock()
        self.stop = threading.Event()

    def _loop(self, kind: str, pause: float, offset: int) -> None:
        import httpx

        i = offset
        with httpx.Client(base_url=self.url, timeout=300) as c:
            while not self.stop.is_set():
                sent = time.monotonic()
                try:
                    if kind == "search":
                        r = c.get("/v1/search", params={"q": SEARCHES[i % len(SEARCHES)], "k": 10})
                    else:
                        r = c.post("/v1/ask", json={"question": QUESTIONS[i % len(QUESTIONS)]})
                    err = None if 200 <= r.status_code < 300 else f"HTTP {r.status_code}: {r.text[:200]}"
                except httpx.HTTPError as e:
                    err = f"{type(e).__name__}: {e}"
                dt = time.monotonic() - sent
                with self._lock:
                    self.records.append((round(sent - self.t0, 3), kind, dt, err))
                i += 1
                self.stop.wait(pause)

    def start(self) -> "Clients":
        self.threads = [threading.Thread(target=self._loop, args=("search", self.think, 0), daemon=True),
                        threading.Thread(target=self._loop, args=("ask", self.ask_think, 0), daemon=True)]
        for t in self.threads:
            t.start()
        return self

    def finish(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join()


def run_phase(name: str, url: str, args, t0: float, until: threading.Event | None = None,
              seconds: float = 0.0) -> dict:
    """Both clients until `seconds` have passed, or until `until` is set (the ingest is done)."""
    load_start = os.getloadavg()
    started = time.monotonic()
    clients = Clients(url, args.load_think, args.load_ask_think, t0).start()
    if until is not None:
        until.wait(args.load_max_minutes * 60)
    else:
        time.sleep(seconds)
    clients.finish()
    ended = time.monotonic()
    by_kind = {}
    for kind in ("search", "ask"):
        lat = [r[2] for r in clients.records if r[1] == kind]
        by_kind[kind] = {"requests": len(lat), **(latency_summary(lat) if lat else {})}
    errors = [f"{r[1]}: {r[3]}" for r in clients.records if r[3]]
    return {"seconds": round(ended - started, 1), "from_s": round(started - t0, 1), "to_s": round(ended - t0, 1),
            "load_average_start": [round(x, 2) for x in load_start],
            "load_average_end": [round(x, 2) for x in os.getloadavg()],
            "errors": len(errors), "error_examples": errors[:5], "by_kind": by_kind,
            "requests": [[r[0], r[1], round(r[2] * 1000, 1)] for r in clients.records]}


def measure(backend: str, args) -> dict:
    from bench.bench_api import Server
    from bench.bench_soak import MemorySampler, sdn_slice, store_check, upload_big, wait_jobs

    base = base_store(backend)
    home = fresh_copy(base, TMP / "ingest-load-home")
    big = sdn_slice(args.load_rows)
    env = {"REGBRIEF_EMBEDDING_BACKEND": backend}
    server = Server(home, env=env, log_name="ingest-load-server.log")
    mem = None
    try:
        ready = server.wait_ready()
        log(f"server ({backend}) ready in {ready:.1f}s on {server.url} (pid {server.proc.pid})")
        import httpx

        with httpx.Client(base_url=server.url, timeout=120) as c:  # warm-up, not measured
            for i in range(len(SEARCHES)):
                c.get("/v1/search", params={"q": SEARCHES[i], "k": 10})
            for q in QUESTIONS[:3]:
                c.post("/v1/ask", json={"question": q})
        t0 = time.monotonic()
        mem = MemorySampler(server.proc.pid).start()
        phases: dict[str, dict] = {}
        log(f"idle: {args.load_idle_seconds:.0f} s")
        phases["idle"] = run_phase("idle", server.url, args, t0, seconds=args.load_idle_seconds)
        log(f"ingest: uploading {big.name} and querying until its job is done")
        done = threading.Event()
        job = {}

        def ingest() -> None:
            job_id = upload_big(server.url, big)
            job.update(wait_jobs(server.url, [job_id], timeout=args.load_max_minutes * 60).get(job_id, {}))
            done.set()

        t_up = time.monotonic()
        ingester = threading.Thread(target=ingest, daemon=True)
        ingester.start()
        phases["ingest"] = run_phase("ingest", server.url, args, t0, until=done)
        ingester.join(timeout=5)
        ingest_wall = time.monotonic() - t_up
        if args.load_after_seconds > 0:
            log(f"after: {args.load_after_seconds:.0f} s on the grown store")
            phases["after"] = run_phase("after", server.url, args, t0, seconds=args.load_after_seconds)
    finally:
        if mem:
            mem.stop()
        server.stop()
    check = store_check(home)
    rss, rss_all = {}, {}
    for name, ph in phases.items():
        m = mem.median(t0 + ph["from_s"], t0 + ph["to_s"])
        rss[name] = round(m / 2**20, 1) if m else None
        m = mem.median(t0 + ph["from_s"], t0 + ph["to_s"], children=True)
        rss_all[name] = round(m / 2**20, 1) if m else None
    result = (job.get("result") or {}).get("files", [{}])[0]
    docs = result.get("added")
    ratios = {}
    for kind in ("search", "ask"):
        p95 = {n: ph["by_kind"][kind].get("p95_ms") for n, ph in phases.items()}
        if p95.get("idle") and p95.get("ingest"):
            ratios[f"{kind} p95 ingest / idle"] = round(p95["ingest"] / p95["idle"], 2)
        if p95.get("after") and p95.get("ingest"):
            ratios[f"{kind} p95 ingest / after"] = round(p95["ingest"] / p95["after"], 2)
    return {
        "backend": backend, "store": {"base": [f"{DEMO.name}/articles", f"{DEMO.name}/lists", BASE_LIST.name],
                                      "embedding_cache": "emptied before the run"},
        "server": {"ready_seconds": round(ready, 1), "peak_rss_mb": round(server.peak_rss / 2**20, 1),
                   "median_rss_mb": rss,
                   # with its child processes: the ingest worker that upload jobs use (ingest/worker.py)
                   "with_worker": {"peak_rss_mb": round(mem.peak(children=True) / 2**20, 1),
                                   "median_rss_mb": rss_all}},
        "ingest": {"file": big.name, "status": job.get("status"), "error": job.get("error"), "documents": docs,
                   "chunks": result.get("chunks"), "job_seconds": result.get("seconds"),
                   "wall_seconds": round(ingest_wall, 1),
                   "docs_per_s": round(docs / result["seconds"], 1) if docs and result.get("seconds") else None},
        "phases": phases, "ratios": ratios, "store_check_ok": bool(check.get("ok")), "store_check": check,
        "clients": {"search_think_s": args.load_think, "ask_think_s": args.load_ask_think},
    }


def run(args: argparse.Namespace | None = None) -> int:
    defaults = {"load_rows": 10000, "load_idle_seconds": 90.0, "load_after_seconds": 60.0, "load_max_minutes": 30.0,
                "load_think": 0.25, "load_ask_think": 2.0, "embedding_backends": ""}
    a = argparse.Namespace(**{k: getattr(args, k, v) if args is not None else v for k, v in defaults.items()})
    from rag.embeddings.backends import resolve
    from rag.core.settings import Settings

    default = resolve(Settings().embedding_backend)  # "auto" on a new store
    backends = (a.embedding_backends or default).split(",")
    ok = True
    for backend in backends:
        fig = measure(backend, a)
        search_ratio = fig["ratios"].get("search p95 ingest / idle")
        fig["targets"] = {
            "zero errors": all(ph["errors"] == 0 for ph in fig["phases"].values()),
            "ingest succeeded, store consistent": fig["ingest"]["status"] == "succeeded" and fig["store_check_ok"],
            "search p95 during the ingest < 100 ms and <= 3x idle":
                search_ratio is not None and search_ratio <= 3.0 and
                (fig["phases"]["ingest"]["by_kind"]["search"].get("p95_ms") or 1e9) < 100,
        }
        name = NAME if backend == default else f"{NAME}@{backend}"
        path = write_result(name, fig)
        rows = []
        for phase, ph in fig["phases"].items():
            for kind, k in ph["by_kind"].items():
                rows.append([phase, ph["seconds"], kind, k["requests"], k.get("p50_ms"), k.get("p95_ms"),
                             k.get("p99_ms"), f"{ph['load_average_start'][0]}-{ph['load_average_end'][0]}",
                             fig["server"]["median_rss_mb"].get(phase)])
        print(f"\n{NAME} ({backend}): {fig['ingest']['documents']} entries ingested in "
              f"{fig['ingest']['job_seconds']} s ({fig['ingest']['docs_per_s']} docs/s) while querying")
        print(table(rows, ["phase", "s", "request", "n", "p50 ms", "p95 ms", "p99 ms", "load 1-min", "RSS MB"]))
        print("  " + ", ".join(f"{k} {v}x" for k, v in fig["ratios"].items()) +
              f"; server peak RSS {fig['server']['peak_rss_mb']} MB, with its ingest worker "
              f"{fig['server']['with_worker']['peak_rss_mb']} MB (sampled)")
        for k, v in fig["targets"].items():
            print(f"  {'PASS' if v else 'FAIL'}  {k}")
        print(f"wrote {path}")
        ok = ok and all(fig["targets"].values())
    return 0 if ok else 1


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--load-rows", type=int, default=10000, help="ingest_load: rows of the 2024 SDN list ingested")
    p.add_argument("--load-idle-seconds", type=float, default=90.0, help="ingest_load: idle phase length")
    p.add_argument("--load-after-seconds", type=float, default=60.0,
                   help="ingest_load: idle phase on the grown store afterwards (0 = skip)")
    p.add_argument("--load-max-minutes", type=float, default=30.0, help="ingest_load: longest wait for the ingest")
    p.add_argument("--load-think", type=float, default=0.25, help="ingest_load: search client's pause between requests")
    p.add_argument("--load-ask-think", type=float, default=2.0, help="ingest_load: ask client's pause between asks")
    p.add_argument("--embedding-backends", default="",
                   help="backends to serve with, one run each (default: the configured one)")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(ap)
    sys.exit(run(ap.parse_args()))
