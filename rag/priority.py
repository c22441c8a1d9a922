"""Queries first: background work in this process steps aside while a query runs.

Python runs one thread at a time. A query gives up the interpreter around every SQLite step and, when a
busy background thread (an ingest's writes, the entity index rebuilt after it) holds it, waits up to the
switch interval (5 ms) to get it back, dozens of times per search. Measured in process on 2 cores: a search
that takes 6 ms idle took 60-750 ms beside the index rebuild. So background work calls `step_aside()`
between small steps, which waits while any query of another thread runs (at most `longest` seconds, so a
steady stream of queries slows an ingest down but never stops it), query entry points run inside
`query()`, and the HTTP service marks each query request whole (`request()`, api/app.py).
"""
from __future__ import annotations

import functools
import gc
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
    """Called by background work between steps: waits while queries of other threads run, at most
    `longest` seconds. A no-op in a query's own thread and when no query runs."""
    if _active == 0 or getattr(_local, "depth", 0):
        return
    with _cv:
        _cv.wait_for(lambda: _active == 0, timeout=longest)


@contextmanager
def building():
    """Around the build of a large long-lived structure (the entity index and the indexes derived from it):
    no cyclic garbage collection meanwhile, then every object alive is moved out of the collector's reach
    (gc.freeze), so later full collections stop scanning them. Measured in a server holding 20k list
    entries: a full collection stopped every thread for 300-480 ms, several times per ingest and now and
    then when idle; after freezing, 30-100 ms, and up to 300 ms while a new index was being built. Frozen
    objects are still freed when their last reference goes (the previous index is); only garbage in
    reference cycles at that moment is kept (a little, once per index build)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        # Frozen at once, not collected first: the collector was off, so the young generations hold the
        # whole new index, and collecting them took 368 ms (measured), every thread stopped meanwhile.
        gc.freeze()
        if enabled:
            gc.enable()


def stepping(items: Iterable[T], every: int = 256) -> Iterator[T]:
    """`items`, stepping aside for queries every `every` of them (long loops of background work)."""
    for i, item in enumerate(items):
        if i % every == every - 1:
            step_aside()
        yield item
