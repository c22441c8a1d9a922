"""Soak: mixed traffic from 8 concurrent clients while a large list is ingested through the API.

    .venv/bin/python -m bench soak        # 1.5 min baseline, soak until the ingest is done, 4 min steady
    .venv/bin/python -m bench soak --soak-baseline-minutes 0.5 --soak-sdn-rows 2000 --soak-steady-minutes 2

The server is `regbrief serve` in its own process on a fresh store holding the demo corpus; this process
is the client, on loopback. Each client loops over a mix of requests: search (hybrid), ask (extractive),
chat (a question then a follow-up in the same conversation, every other one streamed over SSE) and, at
most every `--soak-upload-every` seconds, an upload of a small article with a word no other document
has. Three phases, the same mix (about 13 minutes in all with the defaults):

  baseline   the traffic alone (the plain case)
  soak       the traffic while 10,000 entries of the 2024 SDN list are uploaded and ingested as a
             background job: what a big ingest costs the people using the service meanwhile
  steady     the traffic on the grown store afterwards: where memory growth is judged

Checked: zero errors (any non-2xx, transport error or SSE `error` event); no lost uploads (every upload
job succeeds, its document is listed and its unique word finds it); the store is consistent afterwards
(`regbrief check`); server memory (VmRSS, sampled every 0.5 s): the median of the steady phase's last
minute against the median of its minute after warm-up, under 10% growth (growth during the soak is
reported too: most of it is the store growing 30-fold). Reported: requests, errors and p50/p95 per
request kind per phase, and each phase's p95 over the baseline's.
Results: bench/results/bench_soak.json. The CI version is tests/test_soak.py (same driver, shorter).
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

from bench import DEMO, ROOT, SDN_2024, TMP, fresh_dir, latency_summary, log, table, write_result

NAME = "bench_soak"
CLIENTS = 8

SEARCHES = ["SenseTime NS-CMIC list", "Bank Melli Iran", "50 percent rule ownership", "Hikvision Executive Order",
            "divestment deadline CMIC securities", "Global Magnitsky Xinjiang officials", "vessel IMO number"]
QUESTIONS = ["Is SenseTime sanctioned, and on which list?", "What does the OFAC 50 percent rule say?",
             "Which program is Hikvision listed under?", "When was SenseTime added to the NS-CMIC list?"]
CHATS = [("Is SenseTime on the NS-CMIC list?", "When was it listed?"),
         ("What did the EU do about Xinjiang officials?", "Which regime did it use?")]


class Traffic:
    """The clients of one phase: what they sent, how long it took, what went wrong, what they uploaded."""

    def __init__(self, url: str, clients: int, seconds: float, upload_every: float, seed: int, headers=None,
                 stop: threading.Event | None = None):
        self.url, self.clients, self.seconds, self.upload_every = url, clients, seconds, upload_every
        self.stop = stop or threading.Event()  # ends the phase early (the large ingest finished)
        self.headers = headers or {}
        self.rng = random.Random(seed)
        self.latencies: dict[str, list[float]] = {}
        self.errors: list[str] = []
        self.uploads: list[dict] = []  # {"name", "word", "job_id"}
        self._lock = threading.Lock()

    def _record(self, kind: str, seconds: float, error: str | None) -> None:
        with self._lock:
            self.latencies.setdefault(kind, []).append(seconds)
            if error:
                self.errors.append(f"{kind}: {error}")

    def _timed(self, kind: str, fn) -> None:
        import httpx

        t0 = time.perf_counter()
        try:
            error = fn()
        except httpx.HTTPError as e:
            error = f"{type(e).__name__}: {e}"
        self._record(kind, time.perf_counter() - t0, error)

    @staticmethod
    def _status(r) -> str | None:
        return None if 200 <= r.status_code < 300 else f"HTTP {r.status_code}: {r.text[:200]}"

    def _chat(self, c, turn: int, i: int) -> str | None:
        first, follow = CHATS[i % len(CHATS)]
        r = c.post("/v1/chat", json={"message": first})
        if self._status(r):
            return self._status(r)
        body = {"message": follow, "conversation_id": r.json()["conversation_id"]}
        if turn % 2 == 0:
            return self._status(c.post("/v1/chat", json=body))
        with c.stream("POST", "/v1/chat", json={**body, "stream": True}) as resp:
            if self._status(resp):
                resp.read()
                return self._status(resp)
            events = [line[len("event: "):] for line in resp.iter_lines() if line.startswith("event: ")]
        if "error" in events or not events or events[-1] != "done":
            return f"stream ended with {events[-3:]}"
        return None

    def _upload(self, c, client_id: int) -> str | None:
        word = "soakword" + uuid.uuid4().hex[:10]
        name = f"soak-{word}.md"
        text = (f"---\ntitle: \"Soak test note {word}\"\ndate: 2026-01-15\n---\n\n# Soak test note {word}\n\n"
                f"This note was uploaded by soak client {client_id}. Its marker word is {word}.\n")
        r = c.post("/v1/documents", files=[("files", (name, text.encode(), "text/markdown"))])
        if self._status(r):
            return self._status(r)
        with self._lock:
            self.uploads.append({"name": name, "word": word, "job_id": r.json()["job_id"]})
        return None

    def _client(self, client_id: int, deadline: float) -> None:
        import httpx

        rng = random.Random(self.rng.random())
        next_upload = time.monotonic() + rng.uniform(0, self.upload_every)
        n = 0
        with httpx.Client(base_url=self.url, timeout=120, headers=self.headers) as c:
            while time.monotonic() < deadline and not self.stop.is_set():
                n += 1
                if time.monotonic() >= next_upload:
                    next_upload += self.upload_every
                    self._timed("upload", lambda: self._upload(c, client_id))
                    continue
                roll = rng.random()
                if roll < 0.5:
                    q = rng.choice(SEARCHES)
                    self._timed("search", lambda: self._status(c.get("/v1/search", params={"q": q, "k": 10})))
                elif roll < 0.8:
                    q = rng.choice(QUESTIONS)
                    self._timed("ask", lambda: self._status(c.post("/v1/ask", json={"question": q})))
                else:
                    self._timed("chat", lambda: self._chat(c, n, rng.randrange(100)))

    def run(self) -> "Traffic":
        t0 = time.monotonic()
        deadline = t0 + self.seconds
        threads = [threading.Thread(target=self._client, args=(i, deadline), daemon=True)
                   for i in range(self.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.seconds = round(time.monotonic() - t0, 1)
        return self

    def summary(self) -> dict:
        kinds = {k: {"requests": len(v), **latency_summary(v)} for k, v in sorted(self.latencies.items())}
        total = sum(len(v) for v in self.latencies.values())
        return {"clients": self.clients, "seconds": self.seconds, "requests": total, "errors": len(self.errors),
                "error_examples": self.errors[:5], "uploads": len(self.uploads), "by_kind": kinds}


def wait_jobs(url: str, job_ids: list[str], timeout: float, headers=None) -> dict[str, dict]:
    import httpx

    out: dict[str, dict] = {}
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=url, timeout=60, headers=headers or {}) as c:
        while len(out) < len(job_ids) and time.monotonic() < deadline:
            for jid in job_ids:
                if jid not in out:
                    job = c.get(f"/v1/jobs/{jid}").json()
                    if job.get("status") in ("succeeded", "failed"):
                        out[jid] = job
            time.sleep(0.5)
    return out


def lost_uploads(url: str, uploads: list[dict], jobs: dict[str, dict], headers=None) -> list[str]:
    """Uploads whose job did not succeed, whose document is not listed, or whose marker word does not find it."""
    import httpx

    lost = []
    with httpx.Client(base_url=url, timeout=60, headers=headers or {}) as c:
        for u in uploads:
            job = jobs.get(u["job_id"])
            if not job or job["status"] != "succeeded":
                lost.append(f"{u['name']}: job {job and job['status']}: {job and job.get('error')}")
                continue
            docs = c.get("/v1/documents", params={"source": "upload:" + u["name"]}).json()["documents"]
            hits = c.get("/v1/search", params={"q": u["word"], "k": 3, "mode": "keyword"}).json()["results"]
            if len(docs) != 1 or not any(h["metadata"].get("file") == u["name"] for h in hits):
                lost.append(f"{u['name']}: listed {len(docs)}, found by its word: {bool(hits)}")
    return lost


class MemorySampler:
    """RSS of a process, and of its child processes (the server's ingest worker, ingest/worker.py), every 0.5 s."""

    def __init__(self, pid: int):
        self.pid, self.samples = pid, []  # (monotonic time, VmRSS bytes, children's VmRSS bytes)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        from bench.bench_api import proc_status

        while not self._stop.is_set():
            rss = proc_status(self.pid).get("VmRSS")
            if rss:
                kids = sum(proc_status(c).get("VmRSS", 0) for c in child_pids(self.pid))
                self.samples.append((time.monotonic(), rss, kids))
            self._stop.wait(0.5)

    def start(self) -> "MemorySampler":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def median(self, t0: float, t1: float, children: bool = False) -> float | None:
        """Median RSS between t0 and t1: of the process, or (`children`) of it and its children together."""
        vals = [r + (k if children else 0) for t, r, k in self.samples if t0 <= t <= t1]
        return statistics.median(vals) if vals else None

    def peak(self, children: bool = False) -> int:
        return max((r + (k if children else 0) for _, r, k in self.samples), default=0)


def child_pids(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


def upload_big(url: str, path: Path, headers=None) -> str:
    import httpx

    with httpx.Client(base_url=url, timeout=300, headers=headers or {}) as c:
        r = c.post("/v1/documents", files=[("files", (path.name, path.read_bytes(), "text/csv"))])
    if r.status_code != 202:
        raise RuntimeError(f"large upload refused: HTTP {r.status_code}: {r.text[:300]}")
    return r.json()["job_id"]


def store_check(home: Path) -> dict:
    from bench.bench_api import server_env

    p = subprocess.run([sys.executable, "-m", "api.cli", "check", "--json"], cwd=ROOT, env=server_env(home),
                       capture_output=True, text=True, timeout=600)
    return json.loads(p.stdout) if p.stdout.strip().startswith("{") else {"ok": False, "stderr": p.stderr[-2000:]}


def sdn_slice(rows: int) -> Path:
    if not rows:
        return SDN_2024
    path = TMP / f"sdn_2024-05-03_first{rows}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(SDN_2024.read_bytes().splitlines(keepends=True)[:rows]))
    return path


def _watch_job(url: str, job_id: str, done: threading.Event) -> None:
    """Sets `done` when the job has finished (the soak phase then ends)."""
    import httpx

    with httpx.Client(base_url=url, timeout=60) as c:
        while not done.is_set():
            try:
                if c.get(f"/v1/jobs/{job_id}").json().get("status") in ("succeeded", "failed"):
                    done.set()
            except httpx.HTTPError:
                pass
            done.wait(1.0)


def soak(home: Path, *, baseline_s: float, soak_max_s: float, steady_s: float, warmup_s: float,
         sdn_rows: int = 0, upload_every: float = 20.0, clients: int = CLIENTS, seed: int = 7) -> dict:
    """Build a fresh store, start `regbrief serve`, run the phases, check; returns the figures.

    baseline: traffic alone for `baseline_s`; soak: traffic while the large file is ingested (until it is
    done, at most `soak_max_s`); steady: traffic on the grown store for `steady_s`, where memory is
    judged (the median RSS of the minute after `warmup_s` against the median of the last minute):
    growth there is what a leak looks like, while growth during the soak is mostly the store itself."""
    from bench.bench_api import Server, server_env

    fresh_dir(home)
    p = subprocess.run([sys.executable, "-m", "api.cli", "ingest", "-q", "--json", str(DEMO / "articles"),
                        str(DEMO / "lists")], cwd=ROOT, env=server_env(home), capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"ingest of the demo corpus failed: {p.stderr[-2000:]}")
    big = sdn_slice(sdn_rows)

    # Uploads queue as background jobs; with room for all of them, none is refused with 429.
    server = Server(home, env={"REGBRIEF_MAX_CONCURRENT_JOBS": "64"}, log_name="soak-server.log")
    mem = None
    marks: dict[str, float] = {}
    try:
        server.wait_ready()
        mem = MemorySampler(server.proc.pid).start()
        phases: dict[str, Traffic] = {}
        marks["start"] = time.monotonic()
        if baseline_s > 0:
            log(f"baseline: {clients} clients, {baseline_s:.0f} s, no ingest")
            phases["baseline"] = Traffic(server.url, clients, baseline_s, upload_every, seed).run()
        log(f"soak: {clients} clients while {big.name} is ingested (at most {soak_max_s:.0f} s)")
        marks["soak"] = time.monotonic()
        big_job = upload_big(server.url, big)
        done = threading.Event()
        watcher = threading.Thread(target=_watch_job, args=(server.url, big_job, done), daemon=True)
        watcher.start()
        phases["soak"] = Traffic(server.url, clients, soak_max_s, upload_every, seed + 1, stop=done).run()
        done.set()
        if steady_s > 0:
            log(f"steady: {clients} clients, {steady_s:.0f} s on the grown store")
            marks["steady"] = time.monotonic()
            phases["steady"] = Traffic(server.url, clients, steady_s, upload_every, seed + 2).run()
        marks["end"] = time.monotonic()
        uploads = [u for t in phases.values() for u in t.uploads]
        jobs = wait_jobs(server.url, [big_job] + [u["job_id"] for u in uploads], timeout=3600)
        big_status = jobs.get(big_job, {})
        lost = lost_uploads(server.url, uploads, jobs)
        mem.stop()
    finally:
        if mem:
            mem.stop()
        server.stop()
    check = store_check(home)
    summaries = {k: v.summary() for k, v in phases.items()}
    first = marks.get("steady", marks["soak"]) + warmup_s
    rss_after_warmup, rss_end = mem.median(first, first + 60), mem.median(marks["end"] - 60, marks["end"])
    rss_start = mem.median(marks["start"], marks["start"] + 60)
    growth = (rss_end - rss_after_warmup) / rss_after_warmup if rss_after_warmup and rss_end else None
    ratios = {}
    for phase in ("soak", "steady"):
        if "baseline" in summaries and phase in summaries:
            for kind, x in summaries[phase]["by_kind"].items():
                b = summaries["baseline"]["by_kind"].get(kind)
                if b and b["p95_ms"]:
                    ratios.setdefault(phase, {})[kind] = round(x["p95_ms"] / b["p95_ms"], 2)
    big_result = (big_status.get("result") or {}).get("files", [{}])[0]
    return {
        "clients": clients, "phases": summaries, "p95_ratio_over_baseline": ratios,
        "large_ingest": {"file": big.name, "status": big_status.get("status"), "error": big_status.get("error"),
                         "documents": big_result.get("added"), "chunks": big_result.get("chunks"),
                         "seconds": big_result.get("seconds")},
        "uploads": len(uploads), "lost_uploads": lost,
        "memory": {"rss_mb_first_minute": _mb(rss_start), "rss_mb_after_warmup": _mb(rss_after_warmup),
                   "rss_mb_end": _mb(rss_end), "growth": growth and round(growth, 4),
                   "peak_mb": round(server.peak_rss / 2**20, 1),
                   "ingest_worker_peak_mb": _mb(max((k for _, _, k in mem.samples), default=0)),
                   "warmup_seconds": warmup_s,
                   "judged_over": "steady" if "steady" in marks else "soak"},
        "store_check": check,
        "errors": sum(s["errors"] for s in summaries.values()),
    }


def _mb(nbytes: float | None) -> float | None:
    return round(nbytes / 2**20, 1) if nbytes else None


def run(args) -> int:
    home = TMP / "soak-home"
    fig = soak(home, baseline_s=args.soak_baseline_minutes * 60, soak_max_s=args.soak_max_minutes * 60,
               steady_s=args.soak_steady_minutes * 60, warmup_s=args.soak_warmup_seconds,
               sdn_rows=args.soak_sdn_rows, upload_every=args.soak_upload_every)
    growth = fig["memory"]["growth"]
    fig["targets"] = {
        "zero errors": fig["errors"] == 0,
        "no lost uploads": not fig["lost_uploads"] and fig["large_ingest"]["status"] == "succeeded",
        "store consistent": bool(fig["store_check"].get("ok")),
        "memory growth < 10% after warm-up": growth is not None and growth < 0.10,
    }
    path = write_result(NAME, fig)
    rows = []
    for phase, s in fig["phases"].items():
        for kind, k in s["by_kind"].items():
            rows.append([phase, s["seconds"], kind, k["requests"], k["p50_ms"], k["p95_ms"],
                         fig["p95_ratio_over_baseline"].get(phase, {}).get(kind, "-")])
    print(table(rows, ["phase", "s", "request", "n", "p50 ms", "p95 ms", "p95 / baseline"]))
    li, m = fig["large_ingest"], fig["memory"]
    print(f"large ingest {li['file']}: {li['status']}, {li['documents']} documents, {li['chunks']} chunks in "
          f"{li['seconds']} s; uploads {fig['uploads']}, lost {len(fig['lost_uploads'])}; errors {fig['errors']}; "
          f"RSS first minute {m['rss_mb_first_minute']} MB, {m['judged_over']} after warm-up {m['rss_mb_after_warmup']}"
          f" -> end {m['rss_mb_end']} MB, peak {m['peak_mb']} MB")
    for k, v in fig["targets"].items():
        print(f"  {'PASS' if v else 'FAIL'}  {k}")
    print(f"wrote {path}")
    return 0 if all(fig["targets"].values()) else 1


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--soak-baseline-minutes", type=float, default=1.5, help="soak: traffic alone first (0 = skip)")
    p.add_argument("--soak-max-minutes", type=float, default=8.0,
                   help="soak: traffic while the large file is ingested, until it is done or this long")
    p.add_argument("--soak-steady-minutes", type=float, default=4.0,
                   help="soak: traffic on the grown store afterwards, where memory growth is judged")
    p.add_argument("--soak-warmup-seconds", type=float, default=30.0,
                   help="soak: memory baseline is the minute after this warm-up of the steady phase")
    p.add_argument("--soak-sdn-rows", type=int, default=10000,
                   help="soak: first N rows of the 2024 SDN CSV (0 = all 14,965)")
    p.add_argument("--soak-upload-every", type=float, default=20.0, help="soak: seconds between a client's uploads")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(ap)
    sys.exit(run(ap.parse_args()))
