"""`python -m bench [name ...] [options]`: run the benchmarks in turn.

Default: ingest, search, quality, ask, and api / screen when bench/bench_api.py / bench_screen.py exist.
Any other bench/bench_*.py (e.g. kill, fuzz: long robustness runs) runs only when named. The `bench_`
prefix is optional. Each benchmark writes its JSON under bench/results/ and prints its table. A benchmark
that fails is reported and the others still run; the exit code is 1 if any failed. Options of the selected
benchmarks (e.g. --sdn-rows, --questions, --llm-questions) are accepted here.
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

DEFAULT = ["bench_ingest", "bench_search", "bench_quality", "bench_ask", "bench_api", "bench_screen"]


def available() -> list[str]:
    """Every bench module present: the default ones in their order, then the others by name."""
    present = sorted(p.stem for p in (ROOT / "bench").glob("bench_*.py"))
    return [n for n in DEFAULT if n in present] + [n for n in present if n not in DEFAULT]


def _runner(mod):
    """(callable, takes_args) for a module: run(args) with add_arguments, else main() / main(argv),
    else None (then it runs as `python -m bench.<name>`)."""
    run = getattr(mod, "run", None)
    if run is not None and len(inspect.signature(run).parameters) <= 1:
        return run, bool(inspect.signature(run).parameters)
    main = getattr(mod, "main", None)
    if main is not None:
        params = inspect.signature(main).parameters
        return (lambda: main([])) if params else main, False
    return None, False


def _name(arg: str) -> str:
    return arg if arg.startswith("bench_") else f"bench_{arg}"


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    have = available()
    names = [a for a in argv if not a.startswith("-") and _name(a) in have]
    rest = [a for a in argv if a not in names]
    selected = [_name(n) for n in names] or [n for n in have if n in DEFAULT]
    unknown = [n for n in selected if n not in have]
    if unknown:
        print(f"unknown or missing benchmark(s): {', '.join(unknown)}; available: "
              f"{', '.join(n.removeprefix('bench_') for n in have)}", file=sys.stderr)
        return 2

    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__, conflict_handler="resolve",
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
            runner, takes_args = _runner(mod)
            if runner is None:  # a module with only a __main__ block
                rc = subprocess.call([sys.executable, "-m", f"bench.{n}"], cwd=ROOT)
                status = "ok" if rc == 0 else f"exit {rc}"
            else:
                out = runner(args) if takes_args else runner()
                status = "ok" if out is None or not isinstance(out, int) or out == 0 else f"exit {out}"
        except Exception as e:  # report, go on with the others
            traceback.print_exc()
            status = f"failed: {type(e).__name__}: {str(e)[:120]}"
        summary.append([n, status, round(time.perf_counter() - t0, 1)])
    print("\n" + table(summary, ["benchmark", "status", "seconds"]))
    return 0 if all(s[1] == "ok" for s in summary) else 1


if __name__ == "__main__":
    sys.exit(main())
