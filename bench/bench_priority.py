"""What a background step costs (rag/core/priority.py `step_aside`), the figures the tests no longer bound:
a step with no query running and no serving loop, with an idle serving loop registered (the loop's two
turns), and in a query's own thread; and a step beside a query that never ends (it waits its `longest`).

    .venv/bin/python -m bench priority [--steps 2000]
"""
from __future__ import annotations

import argparse
import asyncio
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
    rows: dict[str, float] = {"no query, no serving loop": per_step_us(steps)}

    loop = asyncio.new_event_loop()
    runner = threading.Thread(target=loop.run_forever)
    runner.start()
    registration = priority.serving_loop(loop)
    entered = threading.Event()
    loop.call_soon_threadsafe(lambda: (registration.__enter__(), entered.set()))
    entered.wait(5)
    try:
        rows["idle serving loop registered"] = per_step_us(max(steps // 10, 50))
    finally:
        done = threading.Event()
        loop.call_soon_threadsafe(lambda: (registration.__exit__(None, None, None), done.set()))
        done.wait(5)
        loop.call_soon_threadsafe(loop.stop)
        runner.join(5)
        loop.close()

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
