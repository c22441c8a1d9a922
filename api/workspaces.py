"""Workspaces: each API key's team has its own `Regbrief` (data directory, collection, history,
watchlist) and its own view of the job pool. Routers get theirs with `Depends(get_state)`."""
from __future__ import annotations

import threading
from dataclasses import dataclass

from fastapi import Request

from api.jobs import JobManager, WorkspaceJobs, shared_tables
from api.metrics import Metrics
from rag.service import Regbrief
from rag.core.settings import DEFAULT_WORKSPACE, Settings


@dataclass
class AppState:
    """What a request may touch: its workspace's settings and service, its jobs, the metrics."""
    workspace: str
    settings: Settings
    rb: Regbrief
    jobs: WorkspaceJobs
    metrics: Metrics


class Workspaces:
    """Every workspace's AppState, opened on first use. They share the embedding model, the job pool
    and the metrics; each has its own data directory and collection (Settings.for_workspace)."""

    def __init__(self, settings: Settings, metrics: Metrics):
        self.settings, self.metrics = settings, metrics
        self.jobs = JobManager(settings.max_concurrent_jobs, metrics, shared_tables(settings)[0])
        self._states: dict[str, AppState] = {}
        self._lock = threading.Lock()
        self.default = self.get(DEFAULT_WORKSPACE)

    def get(self, name: str) -> AppState:
        with self._lock:
            state = self._states.get(name)
            if state is None:
                ws = self.settings.for_workspace(name)
                ws.home.mkdir(parents=True, exist_ok=True)
                rb = Regbrief(ws)
                if name != DEFAULT_WORKSPACE and not ws.chroma_url:
                    rb.store.recover()  # this process is the embedded store's one writer (see app.py)
                state = AppState(workspace=name, settings=ws, rb=rb, jobs=self.jobs.scoped(name),
                                 metrics=self.metrics)
                self._states[name] = state
            return state

    def opened(self) -> list[AppState]:
        """The workspaces opened so far (the feed scheduler syncs theirs)."""
        with self._lock:
            return list(self._states.values())

    def of_scope(self, scope) -> AppState:
        """The workspace GuardMiddleware found for this request's key (the default one when auth is off)."""
        return self.get(scope.get("state", {}).get("workspace", DEFAULT_WORKSPACE))


def get_state(request: Request) -> AppState:
    """The calling key's workspace: the dependency every router uses."""
    return request.app.state.workspaces.of_scope(request.scope)
