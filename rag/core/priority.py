"""Queries first: background work in this process steps aside while a query runs.

Python runs one thread at a time. The serving process still writes what an ingest prepared (SQLite, embedded
Chroma) and rebuilds the entity index after it; a query beside such a thread gives up the interpreter around
every SQLite step and waits to get it back, many times per search. Background work therefore calls
`step_aside()` between small steps, which waits while any query of another thread runs (at most `longest`
seconds, so a steady stream of queries slows an ingest down but never stops it); query entry points run
inside `query()`, and the HTTP service marks each query request whole (`request()`, api/app.py).

`python -m bench ingest_load` measures what this buys (the tail of search latency over HTTP during an
ingest; bench/results/ingest_load_ablation.json) and `python -m bench priority` what a step costs.
"""
from __future__ import annotations

import functools
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")

_cv = threading.Condition()
_active = 0  # queries running, all threads
_local = threading.local()  # this thread's query depth (nested entry points count once)


def _begin() -> None:
    global _active
    with _cv:
        _active += 1


def _end() -> None:
    global _active
    with _cv:
        _active -= 1
        if _active == 0:
            _cv.notify_all()


@contextmanager
def query():
    """Marks the current thread as running a query for as long as the block lasts."""
    depth = getattr(_local, "depth", 0)
    _local.depth = depth + 1
    if depth == 0:
        _begin()
    try:
        yield
    finally:
        _local.depth = depth
        if depth == 0:
            _end()


@contextmanager
def request():
    """A query being served, not tied to a thread (an HTTP request, from its first byte to its last, on
    the event loop and in the worker thread that computes it)."""
    _begin()
    try:
        yield
    finally:
        _end()


def query_entry(fn):
    """Decorator: `fn` runs as a query (see `query`)."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with query():
            return fn(*args, **kwargs)
    return wrapper


def step_aside(longest: float = 0.1) -> None:
    """Called by background work between steps: waits while queries of other threads run, at most `longest`
    seconds. A no-op in a query's own thread."""
    if _active == 0 or getattr(_local, "depth", 0):
        return
    with _cv:
        _cv.wait_for(lambda: _active == 0, timeout=longest)


def stepping(items: Iterable[T], every: int = 256) -> Iterator[T]:
    """`items`, stepping aside for queries every `every` of them (long loops of background work)."""
    for i, item in enumerate(items):
        if i % every == every - 1:
            step_aside()
        yield item
