"""`regbrief ask` as a person runs it: a fresh process (interpreter, imports, model load, the answer) on the
demo corpus, its CPU seconds and wall seconds. The CPU figure depends little on the other processes of a
loaded machine; the wall figure does.

Store: ingest/demo_corpus/articles and lists, ingested once into bench/results/tmp/cli_store by the CLI.

    .venv/bin/python -m bench cli [--runs 3]
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time

from bench import DEMO, ROOT, TMP, log, table, write_result

NAME = "bench_cli"
QUESTION = "Is SenseTime sanctioned, and on which list?"


def _env(home) -> dict:
    return {**os.environ, "REGBRIEF_HOME": str(home), "HF_HUB_OFFLINE": "1"}


def run(args: argparse.Namespace | None = None) -> dict:
    runs = getattr(args, "runs", 3) if args else 3
    home = TMP / "cli_store"
    cli = [sys.executable, "-m", "api.cli"]
    r = subprocess.run([*cli, "ingest", "-q", str(DEMO / "articles"), str(DEMO / "lists")], cwd=ROOT,
                       env=_env(home), capture_output=True, text=True, timeout=900)
    if r.returncode != 0:
        raise RuntimeError(f"ingest of the demo corpus failed: {r.stderr[-500:]}")
    rows = []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        r = subprocess.run([*cli, "ask", QUESTION], cwd=ROOT, env=_env(home), capture_output=True, text=True,
                           timeout=300)
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if r.returncode != 0 or "NS-CMIC" not in r.stdout:
            raise RuntimeError(f"regbrief ask failed: {r.stderr[-500:]}")
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        rows.append({"cpu_s": round(cpu, 2), "wall_s": round(wall, 2), "load": round(os.getloadavg()[0], 1)})
    result = {"question": QUESTION, "runs": rows,
              "cpu_s_median": sorted(x["cpu_s"] for x in rows)[len(rows) // 2],
              "wall_s_median": sorted(x["wall_s"] for x in rows)[len(rows) // 2]}
    write_result(NAME, result)
    log("\n" + table([[x["cpu_s"], x["wall_s"], x["load"]] for x in rows], ["CPU s", "wall s", "load"]))
    return result


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--runs", type=int, default=3, help="fresh `regbrief ask` processes timed")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    add_arguments(parser)
    run(parser.parse_args())
