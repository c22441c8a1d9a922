"""Queries first (rag/priority.py): background work of a process steps aside while a query runs, never
waits in the query's own thread, and waits a bounded time, so a stream of queries cannot stop an ingest."""
from __future__ import annotations

import threading
import time

from rag import priority


def _background_steps(n: int, out: list) -> None:
    for _ in range(n):
        priority.step_aside(longest=5)
        out.append(time.monotonic())


def test_background_work_waits_for_a_running_query_and_goes_on_after_it():
    steps: list[float] = []
    with priority.query():
        worker = threading.Thread(target=_background_steps, args=(3, steps))
        worker.start()
        time.sleep(0.3)
        assert steps == []  # held back while the query runs
        t = time.monotonic()
        priority.step_aside(longest=5)  # in the query's own thread: no wait (it would wait its 5 s)
        assert time.monotonic() - t < 2.5
        ended = time.monotonic()
    worker.join(5)
    assert len(steps) == 3 and steps[0] >= ended


def test_a_query_that_never_ends_slows_background_work_but_does_not_stop_it():
    with priority.query():
        t0 = time.monotonic()
        done = threading.Event()
        threading.Thread(target=lambda: ([priority.step_aside(longest=0.05) for _ in range(4)], done.set())).start()
        assert done.wait(5)
        assert time.monotonic() - t0 >= 0.2  # each step waited its longest, then went on


def test_without_queries_background_work_does_not_wait():
    t0 = time.monotonic()
    for _ in range(1000):
        priority.step_aside(longest=1)
    assert time.monotonic() - t0 < 0.5
    assert list(priority.stepping(range(600), every=256)) == list(range(600))
