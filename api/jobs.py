"""Background jobs: uploads to ingest, briefings to build, watchlist refreshes.

A bounded thread pool in the API process. Embedded Chroma allows one writer process, so every store
write happens here (the store serialises its writes per batch, so jobs interleave and reads go on
meanwhile); a big upload's parsing and embedding run in the ingest worker process (ingest/worker.py), and
the writes step aside for queries (rag/core/priority.py). Submitting more jobs than
REGBRIEF_MAX_CONCURRENT_JOBS (queued + running, all workspaces) is refused with 429. A job belongs to the workspace that submitted it: `JobManager.scoped(name)` is the
only view the routers get.

With a shared job table (REGBRIEF_DATABASE_URL: rag/store/postgres), every state change of a job is also
written there, so a job started through one API worker can be polled through any other; a job whose
worker stopped before it finished is reported as failed.
"""
from __future__ import annotations

import ctypes
import datetime as dt
import logging
import threading
import time
import traceback
import uuid
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

log = logging.getLogger("regbrief.jobs")

KEEP_FINISHED = 1000


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _trim_heap() -> None:
    """Hand freed heap back to the OS after a job: glibc keeps it otherwise, and an ingest's embedding
    batches would stay in the server's resident memory for good."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


def shared_tables(settings) -> tuple:
    """(jobs, rate limits): the tables every API worker shares when the store is in PostgreSQL
    (REGBRIEF_DATABASE_URL), else (None, None): this process's memory, as with one worker."""
    if not getattr(settings, "database_url", None):
        return None, None
    from rag.store.postgres import service_tables

    return service_tables(settings)


class TooManyJobs(RuntimeError):
    pass


class JobFailed(RuntimeError):
    """An expected failure (e.g. a file that cannot be parsed): reported on the job, logged briefly."""


class JobState:
    def __init__(self, kind: str, workspace: str):
        self.id = uuid.uuid4().hex
        self.kind = kind
        self.workspace = workspace
        self.status = "queued"
        self.done = 0
        self.total = 0
        self.stage = "queued"
        self.result: dict[str, Any] | None = None
        self.error: str | None = None
        self.created_at = _now()
        self.started_at: dt.datetime | None = None
        self.finished_at: dt.datetime | None = None
        self.finished = threading.Event()
        self.saved = None  # set by a JobManager with a shared table: writes the state there
        self._saved_at = 0.0

    def progress(self, done: int, total: int, stage: str | None = None) -> None:
        self.done, self.total = done, total
        if stage:
            self.stage = stage
        if self.saved is not None and time.monotonic() - self._saved_at > 0.5:
            self.save()

    def save(self) -> None:
        if self.saved is not None:
            self._saved_at = time.monotonic()
            try:
                self.saved(self)
            except Exception as e:  # the job goes on; its shared copy catches up at the next change
                log.warning("job %s: shared state not written: %s", self.id, e)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "kind": self.kind, "status": self.status,
            "progress": {"done": self.done, "total": self.total, "stage": self.stage},
            "result": self.result, "error": self.error, "created_at": self.created_at,
            "started_at": self.started_at, "finished_at": self.finished_at,
        }


class StoredJob:
    """A job read from the shared table (started by this or another worker)."""

    def __init__(self, state: dict[str, Any]):
        self.state = state
        self.id, self.status = state["id"], state["status"]

    def to_dict(self) -> dict[str, Any]:
        return self.state


class JobManager:
    def __init__(self, max_jobs: int, metrics=None, table=None):
        """`table`: a shared JobTable (rag/store/protocol.py) when several workers serve one store."""
        self.table = table
        self.max_jobs = max(1, max_jobs)
        self.pool = ThreadPoolExecutor(max_workers=self.max_jobs, thread_name_prefix="regbrief-job")
        self.metrics = metrics
        self._jobs: OrderedDict[str, JobState] = OrderedDict()
        self._lock = threading.Lock()
        self._active = 0

    def submit(self, kind: str, fn: Callable[[JobState], dict[str, Any] | None], workspace: str) -> JobState:
        job = JobState(kind, workspace)
        with self._lock:
            if self._active >= self.max_jobs:
                raise TooManyJobs(f"{self._active} background jobs are queued or running (the limit is "
                                  f"{self.max_jobs}); try again when one has finished")
            self._active += 1
            self._jobs[job.id] = job
            self._trim()
        if self.table is not None:
            try:
                self.table.save(job.id, workspace, kind, job.status, job.to_dict())
            except BaseException:
                with self._lock:
                    self._active -= 1
                    self._jobs.pop(job.id, None)
                raise
            job.saved = lambda j: self.table.save(j.id, j.workspace, j.kind, j.status, j.to_dict())
        self.pool.submit(self._run, job, fn)
        return job

    def _run(self, job: JobState, fn) -> None:
        job.status, job.started_at, job.stage = "running", _now(), "running"
        job.save()
        try:
            job.result = fn(job) or {}
            job.status, job.stage = "succeeded", "done"
        except JobFailed as e:
            log.warning("job %s (%s) failed: %s", job.id, job.kind, e)
            job.status, job.stage, job.error = "failed", "failed", str(e)
        except Exception as e:  # a job's failure is reported on the job, never raised into the pool
            log.error("job %s (%s) failed: %s\n%s", job.id, job.kind, e, traceback.format_exc())
            job.status, job.stage, job.error = "failed", "failed", f"{type(e).__name__}: {e}"
        finally:
            job.finished_at = _now()
            with self._lock:
                self._active -= 1
            if self.metrics:
                self.metrics.jobs.labels(kind=job.kind, status=job.status).inc()
            _trim_heap()
            job.save()
            job.finished.set()

    def _trim(self) -> None:
        finished = [k for k, j in self._jobs.items() if j.finished.is_set()]
        for k in finished[: max(0, len(self._jobs) - KEEP_FINISHED)]:
            del self._jobs[k]

    def get(self, job_id: str, workspace: str) -> JobState | StoredJob | None:
        job = self._jobs.get(job_id)
        if job is not None:
            return job if job.workspace == workspace else None
        if self.table is not None:
            state = self.table.get(job_id, workspace)
            return StoredJob(state) if state else None
        return None

    def list(self, workspace: str, limit: int = 50) -> list[JobState | StoredJob]:
        mine = [j for j in reversed(self._jobs.values()) if j.workspace == workspace][:limit]
        if self.table is None:
            return mine
        local = {j.id: j for j in mine}
        return [local.get(s["id"]) or StoredJob(s) for s in self.table.list(workspace, limit)]

    def scoped(self, workspace: str) -> "WorkspaceJobs":
        return WorkspaceJobs(self, workspace)

    @property
    def active(self) -> int:
        return self._active

    def shutdown(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


class WorkspaceJobs:
    """One workspace's view of the job pool: it submits and sees only that workspace's jobs."""

    def __init__(self, manager: JobManager, workspace: str):
        self.manager, self.workspace = manager, workspace

    def submit(self, kind: str, fn: Callable[[JobState], dict[str, Any] | None]) -> JobState:
        return self.manager.submit(kind, fn, self.workspace)

    def get(self, job_id: str) -> JobState | None:
        return self.manager.get(job_id, self.workspace)

    def list(self, limit: int = 50) -> list[JobState]:
        return self.manager.list(self.workspace, limit)

    @property
    def active(self) -> int:
        return self.manager.active
