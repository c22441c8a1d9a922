"""Screening speed against another tree in the same run: bench_screen's timed steps (the name index, 1,000 names
in process, 2,000 names over real HTTP in batches of 100) run in a fresh process per tree, the trees
alternating, `--rounds` times. On a machine others load too, one tree's figures alone say little; the ratio
of the two trees measured side by side does. CPU over HTTP is the process's: the server's and the bench's
own client's.

Usage: `git archive main | tar -x -C /tmp/main` then `python -m bench screen_speed --against /tmp/main`.
Each child parses the lists with its own tree's parsers (bench_screen.build_registry) and screens the same
queries (bench_screen.positives, seeds 2024 and 7). Writes bench/results/screen_speed.json.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

from bench import CHILD_MARK, ROOT, child_json, log, table, write_result

CHILD = r"""
import json, os, sys, tempfile, time
from pathlib import Path
sys.path.insert(0, os.getcwd())
import bench.bench_screen as bs
import rag.entities.screen as screen
from rag.entities.index import EntityIndex
from rag.entities.names import warm
with tempfile.TemporaryDirectory() as tmp:
    ei = EntityIndex(bs.build_registry(Path(tmp)))
    c0 = time.process_time(); warm(); tables = time.process_time() - c0
    c0 = time.process_time(); idx = screen.name_index(ei); index = time.process_time() - c0
    pos, dev = bs.positives(idx.entries, 1000, 2024), bs.positives(idx.entries, 1000, 7)
    names = [p["query"] for p in pos]

    cpu_now = time.process_time
    c0, w0 = cpu_now(), time.perf_counter()
    screen.screen_names(ei, names)
    cpu, wall = cpu_now() - c0, time.perf_counter() - w0
    c0 = cpu_now()
    http = bs.screen_over_http(ei, [p["query"] for p in pos + dev][:2000])
    http_cpu = (cpu_now() - c0) / http["names"] * 1000
print(MARK + json.dumps({"name_tables_cpu_s": round(tables, 2), "index_cpu_s": round(index, 2),
                         "names_1000_cpu_s": round(cpu, 3), "names_1000_wall_s": round(wall, 3),
                         "http_names_per_s": http["names_per_second"], "http_cpu_s_per_1000": round(http_cpu, 3),
                         "load": round(os.getloadavg()[0], 1)}))
""".replace("MARK", repr(CHILD_MARK))


def measure(tree: Path) -> dict:
    proc = subprocess.run([sys.executable, "-c", CHILD], cwd=tree, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(tree)})
    if proc.returncode:
        raise RuntimeError(f"{tree}: {proc.stderr[-2000:]}")
    return child_json(proc.stdout)


def run(args: argparse.Namespace | None = None) -> dict:
    args = args or argparse.Namespace(against=None, rounds=2)
    if not args.against:
        raise SystemExit("screen_speed: give --against DIR (another tree, e.g. a `git archive main`)")
    trees = {"this": ROOT, "against": Path(args.against).resolve()}
    runs: dict[str, list[dict]] = {k: [] for k in trees}
    for r in range(args.rounds):
        for key, tree in trees.items():
            log(f"round {r + 1}: {key} ({tree})")
            runs[key].append(measure(tree))
    fields = ["index_cpu_s", "names_1000_cpu_s", "names_1000_wall_s", "http_names_per_s", "http_cpu_s_per_1000"]
    median = {k: {f: statistics.median(x[f] for x in v) for f in fields} for k, v in runs.items()}
    ratio = {
        "names_1000_cpu": round(median["against"]["names_1000_cpu_s"] / median["this"]["names_1000_cpu_s"], 2),
        "http_names_per_s": round(median["this"]["http_names_per_s"] / median["against"]["http_names_per_s"], 2),
        "http_cpu": round(median["against"]["http_cpu_s_per_1000"] / median["this"]["http_cpu_s_per_1000"], 2),
    }
    print(table([[k, *(median[k][f] for f in fields)] for k in trees], ["tree", *fields]))
    print(f"this tree / the other: {ratio['names_1000_cpu']}x in process (CPU), {ratio['http_names_per_s']}x "
          f"over HTTP (names/s), {ratio['http_cpu']}x over HTTP (CPU per name)")
    result = {"trees": {k: str(v) for k, v in trees.items()}, "rounds": args.rounds, "runs": runs,
              "median": median, "speedup": ratio}
    write_result("screen_speed", result)
    return result


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--against", help="screen_speed: another tree to measure beside this one")
    p.add_argument("--rounds", type=int, default=2, help="screen_speed: rounds, each tree once per round")
