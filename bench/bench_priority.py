"""What a background step costs (rag/core/priority.py `step_aside`), the figures the tests no longer bound:
a step with no query running, and in a query's own thread; and a step beside a query that never ends (it
waits its `longest`).

    .venv/bin/python -m bench priority [--steps 2000]
"""
from __future__ import annotations

import argparse
import threading
import time

from bench import log, table, write_result
from rag.core import priority

NAME = "bench_priority"


def per_step_us(steps: int, longest: float = 5.0) -> float:
    t0 = time.perf_counter()
    for _ in range(steps):
        priority.step_aside(longest=longest)
    return (time.perf_counter() - t0) / steps * 1e6


def run(args: argparse.Namespace | None = None) -> dict:
    steps = getattr(args, "steps", 2000) if args else 2000
    rows: dict[str, float] = {"no query": per_step_us(steps)}

    with priority.query():
        rows["in the query's own thread"] = per_step_us(steps)
        out: list[float] = []
        t = threading.Thread(target=lambda: out.append(per_step_us(10, longest=0.05)))
        t.start()
        t.join(30)
        rows["beside a query that never ends (longest 50 ms)"] = out[0] if out else float("nan")

    result = {"steps": steps, "microseconds_per_step": {k: round(v, 1) for k, v in rows.items()}}
    write_result(NAME, result)
    log("\n" + table([[k, round(v, 1)] for k, v in rows.items()], ["background step", "us per step"]))
    return result


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--steps", type=int, default=2000, help="steps timed with no query running")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    add_arguments(parser)
    run(parser.parse_args())
