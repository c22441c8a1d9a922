"""Queries first (rag/core/priority.py): background work of a process steps aside while a query runs, never
waits in the query's own thread, and waits a bounded time, so a stream of queries cannot stop an ingest."""
from __future__ import annotations

import threading
import time

from rag.core import priority


# A step that should not wait is given a longest wait far beyond any test run (FOREVER): if it waited, the test
# would hang and fail on `finishes`, whatever the machine's load. The speed of a step is measured by
# `python -m bench priority`, not here.
FOREVER = 3600.0


def finishes(fn, within: float = 60.0) -> bool:
    """Whether `fn` returns (in another thread) before `within` seconds: a hang detector, not a speed bound."""
    t = threading.Thread(target=fn, daemon=True)
    t.start()
    t.join(within)
    return not t.is_alive()


def _background_steps(n: int, out: list) -> None:
    for _ in range(n):
        priority.step_aside(longest=FOREVER)
        out.append(time.monotonic())


def test_background_work_waits_for_a_running_query_and_goes_on_after_it():
    steps: list[float] = []
    with priority.query():
        worker = threading.Thread(target=_background_steps, args=(3, steps))
        worker.start()
        time.sleep(0.3)
        assert steps == []  # held back while the query runs
        ended = time.monotonic()
    worker.join(60)
    assert len(steps) == 3 and steps[0] >= ended


def test_a_step_in_the_querys_own_thread_does_not_wait():
    def query_that_steps():
        with priority.query():
            priority.step_aside(longest=FOREVER)  # it would wait FOREVER for itself

    assert finishes(query_that_steps)


def test_a_query_that_never_ends_slows_background_work_but_does_not_stop_it():
    with priority.query():
        t0 = time.monotonic()
        done = threading.Event()
        threading.Thread(target=lambda: ([priority.step_aside(longest=0.05) for _ in range(4)], done.set())).start()
        assert done.wait(60)
        assert time.monotonic() - t0 >= 0.2  # each step waited its longest, then went on


def test_without_queries_background_work_does_not_wait():
    assert finishes(lambda: [priority.step_aside(longest=FOREVER) for _ in range(1000)])
    assert list(priority.stepping(range(600), every=256)) == list(range(600))
