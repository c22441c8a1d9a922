"""The ingest worker: a process at the lowest CPU priority that prepares big ingests (parse, chunk, embed,
extract relations: `ingest.prepare.prepare`) and sends back the batches that the serving process writes.

Why a process: the HTTP server answers queries from the same process that ingests uploads. While a thread of
the server parses or embeds a big list, searches in another thread wait, not for the CPU but for the
interpreter lock: a search gives it up around every SQLite step and waits up to the switch interval to get it
back from a busy thread, many times per search. The same work in a process of its own at nice 19 leaves
searches about as fast as idle (`python -m bench ingest_load`; bench/README.md). nice 19, not SCHED_IDLE:
SCHED_IDLE never runs while other work keeps the CPUs busy, so an ingest on a loaded machine could stall for
good.

One worker per serving process, started at the first big input and kept; it loads the same model with the
same backend (its vectors are the local embedder's) and uses the same embedding cache. It takes one input
at a time, so small inputs are prepared in the serving process (ingest.pipeline.WORKER_MIN_BYTES) rather
than wait behind a big list. It exits when its parent does (its end of the socket closes).
"""
from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path

from ingest.formats import FormatError
from ingest.prepare import Batch, parse_file, prepare, prepare_file
from rag.core.priority import step_aside
from rag.core.settings import Settings
from rag.embeddings import Embedder
from rag.store.embedding_cache import EmbeddingCache

log = logging.getLogger("regbrief.ingest")

NICENESS = 19
# Documents per message. Unpickling a whole batch of list entries holds the interpreter lock that queries
# need for as long as it takes; sent in small parts, the serving process steps aside between them.
PART_DOCUMENTS = 64


class WorkerFailed(RuntimeError):
    """The worker process stopped or failed while preparing an input (batches already written stay)."""


class IngestWorker:
    def __init__(self, embedder):
        self.embedder = embedder
        self._lock = threading.Lock()  # one input at a time
        self._proc: subprocess.Popen | None = None
        self._conn: Connection | None = None
        self.inputs = 0  # inputs sent to the worker (tests read it)

    def prepare_file(self, path: Path, fmt: str, source: str, existing: dict[str, str], settings) -> Iterator:
        """`ingest.prepare.prepare_file`, run by the worker: the same items, in order."""
        return self._stream(("file", str(path), fmt, source, existing, settings.model_dump(mode="json")))

    def prepare(self, docs: list, source: str, existing: dict[str, str], settings) -> Iterator:
        """`ingest.prepare.prepare`, run by the worker. The documents go in parts too: pickling a whole
        list in one message would hold the interpreter for as long as that takes."""
        parts = [docs[i:i + PART_DOCUMENTS] for i in range(0, len(docs), PART_DOCUMENTS)]
        return self._stream(("documents", source, existing, len(parts), settings.model_dump(mode="json")), parts)

    def parse_file(self, path: Path, fmt: str, settings) -> list:
        """`ingest.prepare.parse_file`, run by the worker (FormatError as there): a feed parses a whole list
        to diff it with the stored one, seconds of pure Python for a big list."""
        docs = []
        for part in self._stream(("parse", str(path), fmt, settings.model_dump(mode="json"))):
            docs.extend(part)
        return docs

    def _stream(self, request, outgoing: list = ()) -> Iterator:
        with self._lock:
            self.inputs += 1
            finished = False
            try:
                conn, (kind, value) = self._first_reply(request, outgoing)
                parts = []
                while True:
                    if kind == "part":
                        parts.append(value)
                        step_aside()
                    elif kind == "batch":
                        yield Batch.joined(parts)
                        parts = []
                    elif kind == "item":
                        yield value
                        step_aside()
                    elif kind == "format_error":  # the worker goes on with the next input
                        finished = True
                        raise FormatError(*value)
                    elif kind == "end":
                        finished = True
                        return
                    else:  # the worker reported an error and waits for the next input
                        finished = True
                        raise WorkerFailed(f"the ingest worker failed: {value}")
                    try:
                        kind, value = conn.recv()
                    except (EOFError, OSError) as e:
                        raise WorkerFailed(f"the ingest worker process stopped ({e or 'it exited'})") from e
            finally:
                if not finished:  # abandoned or failed mid-input: the worker may still be sending
                    self._stop()

    def _first_reply(self, request, outgoing: list = ()) -> tuple[Connection, tuple]:
        """Send an input (the request, then its `outgoing` parts) and read the first reply; a worker that died
        since its last input (killed, out of memory) is replaced once."""
        for attempt in (1, 2):
            try:
                conn = self._start()
                conn.send(request)
                for part in outgoing:
                    step_aside()
                    conn.send(part)
                return conn, conn.recv()
            except (EOFError, OSError) as e:
                self._stop()
                if attempt == 2:
                    raise WorkerFailed(f"the ingest worker process stopped ({e or 'it exited'})") from e
                log.warning("ingest worker stopped (%s); starting another", e or "it exited")

    def _start(self) -> Connection:
        if self._conn is not None and self._proc is not None and self._proc.poll() is None:
            return self._conn
        self._stop()
        mine, theirs = socket.socketpair()
        # started under `nice`, so that even its start-up (interpreter, imports, model) yields to queries
        nice = [shutil.which("nice"), "-n", str(NICENESS)] if shutil.which("nice") else []
        self._proc = subprocess.Popen([*nice, sys.executable, "-m", "ingest.worker", str(theirs.fileno())],
                                      pass_fds=[theirs.fileno()], cwd=Path(__file__).resolve().parents[1])
        theirs.close()
        self._conn = Connection(mine.detach())
        e = self.embedder
        self._conn.send({"embedder": {"model": e.model_path, "batch_size": e.requested_batch_size,
                                      "backend": e.backend, "device": e.device, "cache_dir": e.cache_dir}})
        status, value = self._conn.recv()
        if status != "ready" or value != e.signature:
            raise WorkerFailed(f"the ingest worker did not start: {value}")
        log.info("ingest worker started (pid %s, %s, nice %d)", self._proc.pid, value, NICENESS)
        return self._conn

    def _stop(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.kill()
            self._proc.wait()
            self._proc = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    def close(self) -> None:
        with self._lock:
            self._stop()


_workers: dict[int, IngestWorker] = {}  # by id() of the embedder
_workers_lock = threading.Lock()


def ingest_worker(embedder) -> IngestWorker:
    """This process's worker for an embedder (one for all workspaces: each input carries its settings)."""
    with _workers_lock:
        worker = _workers.get(id(embedder))
        if worker is None:
            worker = _workers[id(embedder)] = IngestWorker(embedder)
        return worker


def close_workers() -> None:
    """Stop this process's ingest workers (the server's shutdown; they would also exit with it)."""
    with _workers_lock:
        for worker in _workers.values():
            worker.close()
        _workers.clear()


def _serve(fd: int) -> None:
    conn = Connection(fd)
    os.nice(max(0, NICENESS - os.nice(0)))  # (without `nice`) before the model starts its threads
    try:
        start = conn.recv()
        embedder = Embedder(**start["embedder"])
    except Exception as e:
        conn.send(("error", f"{type(e).__name__}: {e}"))
        return
    conn.send(("ready", embedder.signature))
    caches: dict[str, EmbeddingCache] = {}
    while True:
        try:
            request = conn.recv()
            # A documents input's parts follow it at once: read them before anything can fail, so that a
            # failed input never leaves a part to be read as the next input.
            docs = [d for _ in range(request[3]) for d in conn.recv()] if request[0] == "documents" else None
        except (EOFError, OSError):  # the parent closed its end or exited
            return
        try:
            settings = Settings(**request[-1])  # the workspace's: its data directory holds its embedding cache
            if request[0] == "parse":  # the documents, in parts; nothing embedded
                _, file, fmt, _ = request
                try:
                    docs = parse_file(Path(file), fmt)
                except FormatError as e:
                    conn.send(("format_error", (e.path, e.reason)))
                    continue
                for i in range(0, len(docs), PART_DOCUMENTS):
                    conn.send(("item", docs[i:i + PART_DOCUMENTS]))
                conn.send(("end", None))
                continue
            path = str(settings.home / "embeddings.sqlite3")
            cache = caches.get(path) or caches.setdefault(path, EmbeddingCache(Path(path)))
            if request[0] == "file":
                _, file, fmt, source, existing, _ = request
                items = prepare_file(Path(file), fmt, source, existing, embedder, cache, settings)
            else:
                _, source, existing, _, _ = request
                items = prepare(docs, source, existing, embedder, cache, settings)
            for item in items:
                if isinstance(item, Batch):  # in parts: the serving process unpickles each in a few ms
                    for part in item.parts(PART_DOCUMENTS):
                        conn.send(("part", part))
                    conn.send(("batch", None))
                else:
                    conn.send(("item", item))
            conn.send(("end", None))
        except (BrokenPipeError, ConnectionResetError):
            return
        except Exception as e:  # reported to the caller, which fails that input; the worker goes on
            conn.send(("error", f"{type(e).__name__}: {e}"))


if __name__ == "__main__":
    _serve(int(sys.argv[1]))
