"""Queries first: background work in this process steps aside while a query runs.

Python runs one thread at a time. A query gives up the interpreter around every SQLite step and, when a busy
background thread (an ingest's writes, the entity index rebuilt after it) holds it, waits up to the switch
interval to get it back, many times per search, so a search beside background work takes many times longer
than idle. Background work therefore calls `step_aside()` between small steps, which waits while any query of
another thread runs (at most `longest` seconds, so a steady stream of queries slows an ingest down but never
stops it); query entry points run inside `query()`, and the HTTP service marks each query request whole
(`request()`, api/app.py).

A request can only be marked once the event loop has read and parsed it, which takes two turns of the loop,
each needing the interpreter; a background step that holds the interpreter throughout (an embedded Chroma
upsert) can start in between, and the request then waits for it. So when the server has registered its
event loop (`serving_loop`), `step_aside` first lets the loop go round twice (at most LOOP_TURNS_LONGEST):
what it had read is then marked, and the step waits for it.

`python -m bench ingest_load` measures what this buys (search latency over HTTP during an ingest against
idle) and `python -m bench priority` what a step costs; the figures are in bench/results and the README.
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
_serving: tuple | None = None  # (event loop, its thread's ident): the HTTP server's (`serving_loop`)
LOOP_TURNS_LONGEST = 0.02  # seconds a step waits for the loop's two turns (a busy loop: queries first)


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


@contextmanager
def serving_loop(loop):
    """While the block lasts, `loop` (run by the calling thread) serves requests that `step_aside` lets it
    read and mark first. The HTTP server's lifespan holds it."""
    global _serving
    mine = (loop, threading.get_ident())
    _serving = mine
    try:
        yield
    finally:
        if _serving is mine:
            _serving = None


def _loop_turns() -> None:
    """Wait until the serving loop has gone round twice (at most LOOP_TURNS_LONGEST): input it had read
    by now is parsed, and a query request is marked (its ASGI task starts on the turn after the read)."""
    serving = _serving
    if serving is None:
        return
    loop, ident = serving
    if ident == threading.get_ident() or not loop.is_running():
        return  # on the loop's own thread the loop cannot turn while we wait
    done = threading.Event()
    try:
        loop.call_soon_threadsafe(lambda: loop.call_soon(done.set))
    except RuntimeError:  # closed meanwhile
        return
    done.wait(LOOP_TURNS_LONGEST)


def step_aside(longest: float = 0.1) -> None:
    """Called by background work between steps: lets the serving loop mark what it has read (see
    `serving_loop`), then waits while queries of other threads run, at most `longest` seconds. A no-op in a
    query's own thread."""
    if getattr(_local, "depth", 0):
        return
    if _active == 0:
        _loop_turns()
        if _active == 0:
            return
    with _cv:
        _cv.wait_for(lambda: _active == 0, timeout=longest)


@contextmanager
def building():
    """Around the build of a large long-lived structure (the entity index and the indexes derived from it):
    no cyclic garbage collection meanwhile, then every object alive is moved out of the collector's reach
    (gc.freeze), so later full collections, which stop every thread, no longer scan them: with tens of
    thousands of list entries in memory those pauses were long enough for a person to notice. Frozen objects
    are still freed when their last reference goes (the previous index is); only garbage in reference
    cycles at that moment is kept (a little, once per index build)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        # Frozen at once, not collected first: the collector was off, so the young generations hold the
        # whole new index, and collecting them would be one long pause of every thread.
        gc.freeze()
        if enabled:
            gc.enable()


def stepping(items: Iterable[T], every: int = 256) -> Iterator[T]:
    """`items`, stepping aside for queries every `every` of them (long loops of background work)."""
    for i, item in enumerate(items):
        if i % every == every - 1:
            step_aside()
        yield item
