"""HTTP service under load: /v1/search and /v1/ask (extractive) from a second process on loopback.

The server is `regbrief serve` in its own process, on a store holding the demo corpus plus the 2024 SDN
list (built once under bench/results/tmp/api-home; later runs skip the unchanged files). This process is
the client: closed-loop load with 1, 4 and 16 concurrent clients (threads, one keep-alive connection
each), bounded in requests and seconds per step.

  plain      the same search queries through the library in-process (Regbrief.search, one caller, no
             HTTP), on the same store, before the server starts: what the HTTP layer adds.
  search     GET /v1/search?q=...&k=10 (hybrid retrieval)
  ask        POST /v1/ask (the extractive answerer: retrieval, drafting, verification, audit record)
  stream     POST /v1/chat with stream=true: time to the first SSE event and to the first `sentence`
  memory     the server's peak resident memory (VmHWM from /proc) over the whole run; with
             --api-memory-backends onnx,onnx-int8,torch only that, per embedding backend, each in a fresh
             server on the ask benchmark's store (bench/results/api_memory.json)

Figures per step: requests, errors (non-2xx or transport errors), throughput (req/s), p50/p95/p99 ms.
Targets (issue 4): zero errors; search p95 < 100 ms at 4 clients; server peak RSS < 1.5 GB; first
SSE event < 1 s.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from bench import DEMO, ROOT, SDN_2024, TMP, Timer, configure_torch, latency_summary, log, table, write_result

NAME = "api"

SEARCH_QUERIES = [
    "SenseTime NS-CMIC list", "BANCO NACIONAL DE CUBA", "Bank Melli Iran secondary sanctions",
    "Hikvision Executive Order 14032", "50 percent rule ownership", "Megvii DJI listing December 2021",
    "Islamic Revolutionary Guard Corps Qods Force", "divestment deadline CMIC securities",
    "Huawei Technologies investment prohibition", "vessel IMO number Iran", "Global Magnitsky Xinjiang officials",
    "Chinese military-industrial complex companies list",
]
ASK_QUESTIONS = [
    "Is SenseTime sanctioned, and on which list?", "When was SenseTime added to the NS-CMIC list?",
    "What does the OFAC 50 percent rule say?", "Is Bank Melli Iran on the SDN list?",
    "Which program is Hikvision listed under?", "What is the divestment date for SenseTime?",
    "Why was SenseTime listed?", "Is Megvii on the NS-CMIC list?",
]


# --- the server --------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGBRIEF_")}
    env.update({"REGBRIEF_HOME": str(home), "REGBRIEF_LLM": "extractive", "REGBRIEF_RATE_LIMIT_PER_MINUTE": "0",
                "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
                "ANONYMIZED_TELEMETRY": "False"})
    threads = os.environ.get("REGBRIEF_BENCH_TORCH_THREADS")
    if threads:  # the server's torch uses as many threads as this benchmark's (see bench.configure_torch)
        env.update({"OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads})
    return env


def ensure_store(home: Path, sdn: Path) -> dict:
    """Ingest the corpus with the CLI (idempotent: unchanged files are skipped)."""
    cmd = [sys.executable, "-m", "api.cli", "ingest", "-q", "--json",
           str(DEMO / "articles"), str(DEMO / "lists"), str(sdn)]
    with Timer() as t:
        proc = subprocess.run(cmd, cwd=ROOT, env=server_env(home), capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"ingest failed: {proc.stderr[-2000:]}")
    report = json.loads(proc.stdout)
    return {"seconds": round(t.seconds, 1), "totals": report["totals"]}


def proc_status(pid: int) -> dict[str, int]:
    out = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(("VmHWM", "VmRSS")):
                key, val = line.split(":", 1)
                out[key] = int(val.split()[0]) * 1024
    except OSError:
        pass
    return out


class Server:
    """`regbrief serve` in its own process; `env` adds settings (e.g. REGBRIEF_MAX_CONCURRENT_JOBS)."""

    def __init__(self, home: Path, env: dict[str, str] | None = None, log_name: str = "api-server.log"):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        TMP.mkdir(parents=True, exist_ok=True)
        self.log = open(TMP / log_name, "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "serve", "--host", "127.0.0.1", "--port", str(self.port),
             "--log-level", "warning"],
            cwd=ROOT, env={**server_env(home), **(env or {})}, stdout=self.log, stderr=subprocess.STDOUT)
        self.peak_rss = 0
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            st = proc_status(self.proc.pid)
            self.peak_rss = max(self.peak_rss, st.get("VmHWM", 0), st.get("VmRSS", 0))
            self._stop.wait(0.25)

    def wait_ready(self, timeout: float = 180) -> float:
        import httpx

        t0 = time.perf_counter()
        while time.perf_counter() - t0 < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}; see {self.log.name}")
            try:
                if httpx.get(self.url + "/readyz", timeout=2).status_code == 200:
                    self._sampler.start()
                    return time.perf_counter() - t0
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        raise RuntimeError("server not ready in time")

    def stop(self) -> None:
        st = proc_status(self.proc.pid)
        self.peak_rss = max(self.peak_rss, st.get("VmHWM", 0))
        self._stop.set()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


# --- load ----------------------------------------------------------------------------------------------

def load_step(url: str, clients: int, make_request, max_requests: int, max_seconds: float) -> dict:
    """Closed loop: `clients` threads send requests back to back until the request or time budget is spent."""
    import httpx

    lock = threading.Lock()
    issued = 0
    latencies: list[float] = []
    errors: list[str] = []
    deadline = time.perf_counter() + max_seconds

    def worker(wid: int) -> None:
        nonlocal issued
        with httpx.Client(base_url=url, timeout=60) as c:
            while True:
                with lock:
                    if issued >= max_requests or time.perf_counter() > deadline:
                        return
                    i = issued
                    issued += 1
                t0 = time.perf_counter()
                try:
                    r = make_request(c, i)
                    ok = 200 <= r.status_code < 300
                    err = None if ok else f"HTTP {r.status_code}: {r.text[:200]}"
                except httpx.HTTPError as e:
                    err = f"{type(e).__name__}: {e}"
                dt = time.perf_counter() - t0
                with lock:
                    latencies.append(dt)
                    if err:
                        errors.append(err)

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    out = {"clients": clients, "requests": len(latencies), "errors": len(errors), "seconds": round(wall, 2),
           "throughput_rps": round(len(latencies) / wall, 2) if wall else 0.0, **latency_summary(latencies)}
    if errors:
        out["error_examples"] = errors[:5]
    return out


def search_request(c, i):
    return c.get("/v1/search", params={"q": SEARCH_QUERIES[i % len(SEARCH_QUERIES)], "k": 10})


def ask_request(c, i):
    return c.post("/v1/ask", json={"question": ASK_QUESTIONS[i % len(ASK_QUESTIONS)]})


def first_events(url: str, n: int) -> dict:
    """Time to the first SSE event and to the first `sentence` event of /v1/chat?stream."""
    import httpx

    first, first_sentence, total, errors = [], [], [], 0
    with httpx.Client(base_url=url, timeout=60) as c:
        for i in range(n):
            t0 = time.perf_counter()
            got_first = got_sentence = None
            try:
                with c.stream("POST", "/v1/chat", json={"message": ASK_QUESTIONS[i % len(ASK_QUESTIONS)],
                                                        "stream": True}) as r:
                    if r.status_code != 200:
                        errors += 1
                        continue
                    for line in r.iter_lines():
                        if line.startswith("event:"):
                            now = time.perf_counter() - t0
                            got_first = got_first if got_first is not None else now
                            if line.startswith("event: sentence") and got_sentence is None:
                                got_sentence = now
            except httpx.HTTPError:
                errors += 1
                continue
            total.append(time.perf_counter() - t0)
            if got_first is not None:
                first.append(got_first)
            if got_sentence is not None:
                first_sentence.append(got_sentence)
    return {"requests": n, "errors": errors, "first_event": latency_summary(first) if first else None,
            "first_sentence": latency_summary(first_sentence) if first_sentence else None,
            "complete": latency_summary(total) if total else None}


def plain_search(home: Path, n: int) -> dict:
    """The same queries through the library in this process (no HTTP), before the server starts."""
    from rag.service import Regbrief
    from rag.core.settings import Settings

    rb = Regbrief(Settings(home=home))
    rb.search("warm-up", k=10)
    lat = []
    for i in range(n):
        t0 = time.perf_counter()
        rb.search(SEARCH_QUERIES[i % len(SEARCH_QUERIES)], k=10)
        lat.append(time.perf_counter() - t0)
    return {"clients": 1, **latency_summary(lat)}


def memory_by_backend(backends: list[str], searches: int = 60, asks: int = 16) -> dict:
    """Server memory per embedding backend: `regbrief serve` on a copy of the ask benchmark's store (demo
    corpus + the 2024 SDN list, built by `python -m bench ask`; int8 has its own), `searches` searches and
    `asks` asks from one client, then the server's peak (VmHWM) and current (VmRSS) resident memory.
    Each backend in a fresh server, one after another, in the same run."""
    import shutil

    import httpx

    from bench.bench_ask import home_for

    out = {}
    for backend in backends:
        src = home_for(backend)
        if not (src / "regbrief.sqlite3").exists():
            raise RuntimeError(f"no ask store at {src}: run `python -m bench ask --embedding-backends {backend}` first")
        home = TMP / "api-memory-home"
        if home.exists():
            shutil.rmtree(home)
        shutil.copytree(src, home)
        load_start = os.getloadavg()
        server = Server(home, env={"REGBRIEF_EMBEDDING_BACKEND": backend}, log_name="api-memory-server.log")
        try:
            ready = server.wait_ready()
            with httpx.Client(base_url=server.url, timeout=300) as c:
                lat = {"search": [], "ask": []}
                for i in range(searches):
                    t0 = time.perf_counter()
                    search_request(c, i).raise_for_status()
                    lat["search"].append(time.perf_counter() - t0)
                for i in range(asks):
                    t0 = time.perf_counter()
                    ask_request(c, i).raise_for_status()
                    lat["ask"].append(time.perf_counter() - t0)
            st = proc_status(server.proc.pid)
        finally:
            server.stop()
        out[backend] = {"ready_seconds": round(ready, 1), "peak_rss_mb": round(st.get("VmHWM", 0) / 2**20, 1),
                        "rss_mb_after": round(st.get("VmRSS", 0) / 2**20, 1), "store": src.name,
                        "search": latency_summary(lat["search"]), "ask": latency_summary(lat["ask"]),
                        "load_average_start": [round(x, 2) for x in load_start],
                        "load_average_end": [round(x, 2) for x in os.getloadavg()]}
        log(f"memory {backend}: peak {out[backend]['peak_rss_mb']} MB, now {out[backend]['rss_mb_after']} MB "
            f"(ready in {ready:.1f}s; search p50 {out[backend]['search']['p50_ms']} ms)")
    return out


def run_memory(backends: list[str]) -> dict:
    figures = {"corpus": "demo corpus + sdn_2024-05-03.csv (the ask benchmark's stores)",
               "by_backend": memory_by_backend(backends)}
    figures["targets"] = {f"{b}: server peak RSS < 1.5 GB": m["peak_rss_mb"] < 1536
                          for b, m in figures["by_backend"].items()}
    path = write_result(f"{NAME}_memory", figures)
    print(table([[b, m["peak_rss_mb"], m["rss_mb_after"], m["ready_seconds"], m["search"]["p50_ms"],
                  m["ask"]["p50_ms"], f"{m['load_average_start'][0]}-{m['load_average_end'][0]}"]
                 for b, m in figures["by_backend"].items()],
                ["backend", "peak RSS MB", "RSS MB after", "ready s", "search p50 ms", "ask p50 ms", "load 1-min"]))
    print(f"wrote {path}")
    return figures


# --- run -----------------------------------------------------------------------------------------------

def run(args: argparse.Namespace | None = None) -> dict:
    defaults = {"api_sdn_rows": 0, "api_search_requests": 300, "api_ask_requests": 40, "api_step_seconds": 20.0,
                "api_stream_requests": 8, "api_plain": True}
    a = argparse.Namespace(**{k: getattr(args, k, v) if args is not None else v for k, v in defaults.items()})
    if getattr(args, "api_memory_backends", ""):
        return run_memory(args.api_memory_backends.split(","))
    torch_info = configure_torch()
    home = TMP / "api-home"
    home.mkdir(parents=True, exist_ok=True)
    sdn = SDN_2024
    if a.api_sdn_rows and a.api_sdn_rows > 0:
        sdn = TMP / f"sdn_2024-05-03_first{a.api_sdn_rows}.csv"
        sdn.write_bytes(b"".join(SDN_2024.read_bytes().splitlines(keepends=True)[: a.api_sdn_rows]))
    log(f"{NAME}: store at {home} (demo corpus + {sdn.name}); ingesting what changed")
    ingest = ensure_store(home, sdn)
    log(f"  ingest: {ingest}")

    plain = None
    if a.api_plain:
        log("plain: in-process Regbrief.search, one caller")
        plain = plain_search(home, min(a.api_search_requests, 40))
        log(f"  p50 {plain['p50_ms']} ms, p95 {plain['p95_ms']} ms")

    server = Server(home)
    try:
        ready = server.wait_ready()
        log(f"server ready in {ready:.1f}s on {server.url} (pid {server.proc.pid})")
        import httpx

        with httpx.Client(base_url=server.url, timeout=60) as c:  # warm-up, not measured
            for i in range(3):
                search_request(c, i)
                ask_request(c, i)
        steps: dict[str, list[dict]] = {"search": [], "ask": []}
        for clients in (1, 4, 16):
            res = load_step(server.url, clients, search_request, a.api_search_requests, a.api_step_seconds)
            steps["search"].append(res)
            log(f"search x{clients}: {res['requests']} req, {res['errors']} errors, {res['throughput_rps']} req/s, "
                f"p50 {res['p50_ms']} p95 {res['p95_ms']} p99 {res['p99_ms']} ms")
        for clients in (1, 4, 16):
            res = load_step(server.url, clients, ask_request, a.api_ask_requests, a.api_step_seconds * 1.5)
            steps["ask"].append(res)
            log(f"ask x{clients}: {res['requests']} req, {res['errors']} errors, {res['throughput_rps']} req/s, "
                f"p50 {res['p50_ms']} p95 {res['p95_ms']} p99 {res['p99_ms']} ms")
        stream = first_events(server.url, a.api_stream_requests)
        log(f"stream: first event p50 {stream['first_event'] and stream['first_event']['p50_ms']} ms, "
            f"first sentence p50 {stream['first_sentence'] and stream['first_sentence']['p50_ms']} ms")
        metrics_ok = httpx.get(server.url + "/metrics", timeout=10).status_code == 200
    finally:
        server.stop()

    errors = sum(s["errors"] for v in steps.values() for s in v) + stream["errors"]
    search4 = next(s for s in steps["search"] if s["clients"] == 4)
    fe = stream["first_event"] or {}
    fs = stream["first_sentence"] or {}
    figures = {
        "corpus": {"files": ["demo_corpus/articles", "demo_corpus/lists", sdn.name], "ingest": ingest},
        "server": {"ready_seconds": round(ready, 1), "peak_rss_bytes": server.peak_rss,
                   "peak_rss_mb": round(server.peak_rss / 2**20, 1), "metrics_endpoint_ok": metrics_ok},
        "plain_in_process_search": plain,
        "search": steps["search"],
        "ask": steps["ask"],
        "stream": stream,
        "torch": torch_info,
        "budgets": {"search_requests_per_step": a.api_search_requests, "ask_requests_per_step": a.api_ask_requests,
                    "seconds_per_step": a.api_step_seconds},
        "targets": {
            "zero errors": errors == 0,
            "search p95 < 100 ms at 4 clients": search4["p95_ms"] < 100,
            "server peak RSS < 1.5 GB": server.peak_rss < 1.5 * 2**30,
            "first SSE event < 1 s (p95)": bool(fe) and fe["p95_ms"] < 1000,
            "first sentence event < 1 s (p95)": bool(fs) and fs["p95_ms"] < 1000,
        },
    }
    path = write_result(NAME, figures)
    rows = [[ep, s["clients"], s["requests"], s["errors"], s["throughput_rps"], s["p50_ms"], s["p95_ms"],
             s["p99_ms"]] for ep in ("search", "ask") for s in steps[ep]]
    if plain:
        rows.insert(0, ["search (plain, in-process)", 1, plain["n"], 0, "-", plain["p50_ms"], plain["p95_ms"],
                        plain["p99_ms"]])
    print(f"\n{NAME}: demo corpus + {sdn.name}, server peak RSS {figures['server']['peak_rss_mb']} MB")
    print(table(rows, ["endpoint", "clients", "requests", "errors", "req/s", "p50 ms", "p95 ms", "p99 ms"]))
    print(f"stream: first event p50/p95 {fe.get('p50_ms')}/{fe.get('p95_ms')} ms, first sentence p50/p95 "
          f"{fs.get('p50_ms')}/{fs.get('p95_ms')} ms")
    for k, v in figures["targets"].items():
        print(f"  {'PASS' if v else 'FAIL'}  {k}")
    print(f"wrote {path}")
    return figures


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--api-sdn-rows", type=int, default=0, help="api: first N rows of the 2024 SDN CSV (0 = all)")
    p.add_argument("--api-search-requests", type=int, default=300, help="api: requests per search step")
    p.add_argument("--api-ask-requests", type=int, default=40, help="api: requests per ask step")
    p.add_argument("--api-step-seconds", type=float, default=20.0, help="api: time budget per step (ask: x1.5)")
    p.add_argument("--api-stream-requests", type=int, default=8, help="api: streamed chats for time-to-first-event")
    p.add_argument("--api-memory-backends", default="",
                   help="api: only measure the server's memory with each of these embedding backends "
                        "(e.g. onnx,onnx-int8,torch; writes api_memory.json)")
    p.add_argument("--api-no-plain", dest="api_plain", action="store_false", help="api: skip the in-process baseline")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(ap)
    run(ap.parse_args())
