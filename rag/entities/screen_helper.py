"""A second process that screens half of a large batch, so a batch uses both cores of a small machine.

Screening is pure Python for the most part, and one process runs one thread of Python at a time; a batch of
names (a file, or the API's up to 100) is many independent queries. `ScreenHelper.start(index)` forks this
process once the name index is built: the child shares the index's memory with the parent (copy on write:
only the pages whose objects it touches are copied) and screens what the parent sends it, returning the
results as JSON. One helper per name index: a new index (the lists changed) gets a new one, and the old
one ends with the index that forked it (its pipe closes) or with the parent.

Forking a process that runs threads is safe only for what the child does itself: the child runs screening
code only (no store, no model, no locks of other threads: the index's rigour symbols are made before the
fork), with the cyclic collector off (what it makes, it frees by reference counting).
"""
from __future__ import annotations

import gc
import multiprocessing
import os
import pickle
import signal
import threading
import time
import weakref

from pydantic import TypeAdapter

from rag.core.models import ScreenQuery, ScreenResult

MIN_BATCH = 24  # distinct names in a batch below which it is screened in one process (a fork's round trip costs)
_RESULTS = TypeAdapter(list[ScreenResult])


def enabled() -> bool:
    """Helpers only where there is a second core to run them, and fork to make them (Linux);
    REGBRIEF_SCREEN_HELPER=0 turns them off."""
    return os.environ.get("REGBRIEF_SCREEN_HELPER", "1") != "0" and (os.cpu_count() or 1) > 1 \
        and "fork" in multiprocessing.get_all_start_methods()


class ScreenHelper:
    """The child process and the parent's end of its pipe. `try_screen` sends a part of a batch and returns
    a function that waits for its results; one batch at a time (another thread's batch meanwhile is
    screened by its own thread)."""

    def __init__(self, index) -> None:
        self._conn, child = multiprocessing.Pipe(duplex=True)
        self._lock = threading.Lock()
        self.pid = os.fork()
        if self.pid == 0:  # the child: never returns into the parent's code
            try:
                self._conn.close()
                signal.signal(signal.SIGINT, signal.SIG_IGN)  # a terminal's Ctrl-C is the parent's to handle
                _serve(child, index)
            finally:
                os._exit(0)
        child.close()
        self.alive = True

    def try_screen(self, queries: list[str | ScreenQuery], type_: str | None, threshold: float, limit: int):
        """Send `queries` to the child; a function returning their ScreenResults (in order), or None when
        the helper is busy with another thread's batch or gone (the caller screens them itself)."""
        if not self.alive or not self._lock.acquire(blocking=False):
            return None
        try:
            self._conn.send_bytes(pickle.dumps((queries, type_, threshold, limit)))
        except (OSError, ValueError):
            self.alive = False
            self._lock.release()
            return None

        def results() -> list[ScreenResult] | None:
            try:
                data = self._conn.recv_bytes()
            except (EOFError, OSError):
                self.alive = False
                return None
            finally:
                self._lock.release()
            if data[:1] == b"!":  # the child failed on this batch: the caller screens it itself
                return None
            return _RESULTS.validate_json(data)

        return results

    def close(self) -> None:
        """Close the pipe (the child ends when it reads its end) and reap the child."""
        if self.pid <= 0:
            return
        self.alive = False
        try:
            self._conn.close()
        except OSError:
            pass
        try:
            for _ in range(50):
                if os.waitpid(self.pid, os.WNOHANG)[0]:
                    break
                time.sleep(0.02)
            else:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass
        self.pid = 0

    def cpu_seconds(self) -> float:
        """The child's CPU time so far (user and system, from /proc; 0 where there is none)."""
        try:
            fields = open(f"/proc/{self.pid}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start(index) -> ScreenHelper | None:
    """A helper for `index` (a rag.entities.screen.NameIndex), ended with it; None when helpers are off or
    the fork failed."""
    if not enabled():
        return None
    try:
        helper = ScreenHelper(index)
    except OSError:
        return None
    weakref.finalize(index, helper.close)
    return helper


def _serve(conn, index) -> None:
    """The child: screens each batch it is sent until the parent closes the pipe."""
    gc.disable()
    while True:
        try:
            msg = conn.recv_bytes()
        except (EOFError, OSError):
            return
        try:
            queries, type_, threshold, limit = pickle.loads(msg)
            out = [index.screen_query(q, type_, threshold, limit) for q in queries]
            conn.send_bytes(_RESULTS.dump_json(out))
        except Exception as e:  # noqa: BLE001 - the parent screens the batch itself
            conn.send_bytes(b"!" + repr(e).encode())
