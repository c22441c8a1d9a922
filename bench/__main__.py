"""`python -m bench [name ...] [options]`: run the benchmarks in turn (all of them by default).

Names: ingest, search, quality, ask, and api / screen when bench/bench_api.py / bench_screen.py exist
(the `bench_` prefix is optional). Each writes bench/results/bench_<name>.json and prints its table.
A benchmark that fails is reported and the others still run; the exit code is 1 if any failed.
Options of the selected benchmarks (e.g. --sdn-rows, --questions, --llm-questions) are accepted here.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import inspect
import os
import subprocess
import sys
import time
import traceback

from bench import ROOT, log, table

ORDER = ["bench_ingest", "bench_search", "bench_quality", "bench_ask", "bench_api", "bench_screen"]


def available() -> list[str]:
    return [n for n in ORDER if (ROOT / "bench" / f"{n}.py").exists()]


def _name(arg: str) -> str:
    return arg if arg.startswith("bench_") else f"bench_{arg}"


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    names = [a for a in argv if not a.startswith("-") and _name(a) in ORDER]
    rest = [a for a in argv if a not in names]
    have = available()
    selected = [_name(n) for n in names] or have
    unknown = [n for n in selected if n not in have]
    if unknown:
        print(f"unknown or missing benchmark(s): {', '.join(unknown)}; available: "
              f"{', '.join(n.removeprefix('bench_') for n in have)}", file=sys.stderr)
        return 2

    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    parser.add_argument("--torch-threads", type=int, default=0,
                        help="torch threads (default: torch's own, or 1 when the machine is oversubscribed)")
    modules = {}
    for n in selected:
        modules[n] = importlib.import_module(f"bench.{n}")
        add = getattr(modules[n], "add_arguments", None)
        if add:
            try:
                add(parser)
            except argparse.ArgumentError:
                pass  # an option two modules share
    args = parser.parse_args(names + rest)
    if args.torch_threads:
        os.environ["REGBRIEF_BENCH_TORCH_THREADS"] = str(args.torch_threads)

    summary = []
    for n in selected:
        mod = modules[n]
        log(f"=== {n}")
        t0 = time.perf_counter()
        try:
            runner = getattr(mod, "run", None) or getattr(mod, "main", None)
            if runner is None:  # a module with only a __main__ block
                rc = subprocess.call([sys.executable, "-m", f"bench.{n}"], cwd=ROOT)
                status = "ok" if rc == 0 else f"exit {rc}"
            else:
                params = inspect.signature(runner).parameters
                out = runner(args) if params else runner()
                status = "ok" if out is None or not isinstance(out, int) or out == 0 else f"exit {out}"
        except Exception as e:  # report, go on with the others
            traceback.print_exc()
            status = f"failed: {type(e).__name__}: {str(e)[:120]}"
        summary.append([n, status, round(time.perf_counter() - t0, 1)])
    print("\n" + table(summary, ["benchmark", "status", "seconds"]))
    return 0 if all(s[1] == "ok" for s in summary) else 1


if __name__ == "__main__":
    sys.exit(main())
