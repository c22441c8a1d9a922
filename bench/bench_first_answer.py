"""The first answer after a server starts against the answers after it: is the service warm when it opens?

A store of the demo corpus is built once (CLI ingest into a temp dir). Then, for each mode, the API is
started in a fresh process (uvicorn on a loopback port) and POST /v1/ask is timed for a first question and
for the later ones, in turn with each question asked first (so no question's own cost decides the ratio):

  warm   create_app() as `regbrief serve` builds it: the lifespan warm-up (model, answering imports, a search
         that opens the vector store and the keyword index, a screening that builds the entity indexes)
  cold   create_app(warm=False): nothing warmed, every first use paid by the first request (the plain
         alternative)

Ratio = first answer / median of the later answers in the same server; the target is warm ratio <= 2.

    .venv/bin/python -m bench first_answer [--starts 2]
"""
from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench import DEMO, ROOT, log, table, write_result

NAME = "bench_first_answer"
QUESTIONS = ["Is SenseTime sanctioned, and on which list?",
             "Which SoftBank subsidiary uses SenseTime technology?",
             "When was SenseTime listed?",
             "What is the program for Huawei?"]
SERVER = ("import sys, uvicorn; from api.app import create_app; "
          "uvicorn.run(create_app(warm=sys.argv[2] == 'warm'), host='127.0.0.1', port=int(sys.argv[1]), "
          "log_level='warning')")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--starts", type=int, default=2, help="server starts per mode (each asks a different question first)")


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def one_start(home: Path, mode: str, order: list[str]) -> dict:
    port = _port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGBRIEF_")}
    env.update(REGBRIEF_HOME=str(home), REGBRIEF_FEED_SCHEDULE="false")
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", SERVER, str(port), mode], cwd=ROOT, env=env)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=300) as c:
            while True:
                try:
                    if c.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if proc.poll() is not None:
                    raise RuntimeError(f"the {mode} server exited with {proc.returncode}")
                time.sleep(0.1)
            ready = time.perf_counter() - t0
            times = []
            for q in order:
                t = time.perf_counter()
                r = c.post("/v1/ask", json={"question": q})
                r.raise_for_status()
                times.append(time.perf_counter() - t)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    later = statistics.median(times[1:])
    return {"mode": mode, "first_question": order[0], "ready_s": round(ready, 2), "first_s": round(times[0], 3),
            "later_median_s": round(later, 3), "later_s": [round(x, 3) for x in times[1:]],
            "ratio": round(times[0] / later, 2)}


def run(args) -> dict:
    starts = max(1, getattr(args, "starts", 2))
    tmp = Path(tempfile.mkdtemp(prefix="regbrief-first-answer-"))
    try:
        home = tmp / "home"
        env = {k: v for k, v in os.environ.items() if not k.startswith("REGBRIEF_")}
        env["REGBRIEF_HOME"] = str(home)
        log("building the demo store")
        # the demo corpus holds one malformed file on purpose (exit status 1): the rest goes in
        done = subprocess.run([sys.executable, "-m", "api.cli", "ingest", "-q", str(DEMO)], cwd=ROOT, env=env,
                              capture_output=True, text=True)
        if done.returncode not in (0, 1) or "documents added" not in done.stdout:
            raise RuntimeError(f"ingest failed: {done.stderr[-2000:]}")
        runs = []
        for i in range(starts):
            order = QUESTIONS[i % len(QUESTIONS):] + QUESTIONS[:i % len(QUESTIONS)]
            for mode in ("warm", "cold"):
                log(f"start {i + 1}/{starts}, {mode}")
                runs.append(one_start(home, mode, order))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    summary = {}
    for mode in ("warm", "cold"):
        rs = [r for r in runs if r["mode"] == mode]
        summary[mode] = {"ready_s": round(statistics.median(r["ready_s"] for r in rs), 2),
                         "first_s": round(statistics.median(r["first_s"] for r in rs), 3),
                         "later_median_s": round(statistics.median(r["later_median_s"] for r in rs), 3),
                         "ratio_worst": max(r["ratio"] for r in rs)}
    result = {"runs": runs, "summary": summary, "target": {"warm ratio_worst <=": 2.0},
              "met": summary["warm"]["ratio_worst"] <= 2.0}
    path = write_result(NAME, result)
    print(table([[m, s["ready_s"], s["first_s"], s["later_median_s"], s["ratio_worst"]] for m, s in summary.items()],
                ["mode", "ready (s)", "first answer (s)", "later answers, median (s)", "first / later (worst)"]))
    print(f"written to {path}")
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(p)
    run(p.parse_args(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
