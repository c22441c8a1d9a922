"""The HTTP service: `create_app(settings)` builds the FastAPI app (run it with `regbrief serve`).

One process owns the store's writes (embedded Chroma allows one writer): uploads, deletions and
watchlist briefings run in this process's background job pool. To run several API workers, point
them all at a Chroma server (REGBRIEF_CHROMA_URL) instead of the embedded store.
"""
from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
from fastapi import Depends, FastAPI
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles

from api.errors import install_error_handlers
from api.guard import UPLOAD_PATH, GuardMiddleware
from api.keys import bearer, parse_api_keys
from api.mcp_server import mount as mount_mcp
from api.metrics import Metrics, worker_exited
from api.routers import (
    ask, briefings, chat, documents, entities, feeds, health, history, jobs, openai_compat, screenings, search,
    watchlist,
)
from api.workspaces import Workspaces
from rag.core import priority
from rag.core.settings import Settings, get_settings

log = logging.getLogger("regbrief.api")
STATIC = Path(__file__).parent / "static"

DESCRIPTION = """Cited answers and risk briefings from sanctions lists, notices and news.

Every endpoint but `/healthz` and `/readyz` needs `Authorization: Bearer <key>` when the server has
API keys configured (REGBRIEF_API_KEYS). A key belongs to one workspace (`KEY:WORKSPACE`) and sees only
that workspace's documents, conversations, briefings, history, watchlist and jobs.
Errors are JSON: `{"error": {"code", "message"}}`. MCP clients connect to `/mcp` (streamable HTTP) with the
same key; its tools (search, ask, brief, screen, exposure) return the same JSON as these endpoints.
"""


class QueriesFirst:
    """Marks each API request but uploads and job polls as a query while it is served (rag/core/priority.py):
    this process's background work (an ingest's writes, the index rebuilt after it) steps aside for it.
    The MCP transport and the page are left out (an MCP stream may stay open for hours)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith("/v1/") or path.startswith("/v1/jobs") or \
                (path == UPLOAD_PATH and scope["method"] == "POST"):
            return await self.app(scope, receive, send)
        with priority.request():
            await self.app(scope, receive, send)


def create_app(settings: Settings | None = None, *, warm: bool = True) -> FastAPI:
    settings = settings or get_settings()
    if settings.ingest_worker is None:  # a server's big ingests are prepared in a worker process (ingest/worker.py)
        settings = settings.model_copy(update={"ingest_worker": True})
    parse_api_keys(settings.api_keys)  # a bad key setting stops the start, not a later request
    settings.home.mkdir(parents=True, exist_ok=True)
    metrics = Metrics()
    workspaces = Workspaces(settings, metrics)
    rb = workspaces.default.rb

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        async with serving():
            yield

    @asynccontextmanager
    async def serving():
        """Start-up (warm-up, feed scheduler, MCP sessions) and shutdown (jobs, ingest workers). The warm-up
        runs before the server accepts requests, so the first answer is as quick as later ones."""
        if warm:
            def warm_up():
                if not settings.chroma_url:
                    # Embedded store: this process is its one writer, so finish writes a crash interrupted.
                    # (With a Chroma server, other API processes may be mid-write: leave it to them.)
                    rb.store.recover()
                rb.embedder.encode(["warm-up"])
                from rag.entities.names import warm as warm_names

                warm_names()  # rigour's name tables: seconds to load, once per process
                try:
                    import rag.answering.answer  # noqa: F401  (import cost off the first request)
                except Exception as e:  # the service still serves search and documents
                    log.warning("answering is not available: %s", e)
                # What the first question would otherwise pay for: the vector store's client and collection,
                # the keyword index, the entity and name indexes, the relation graph, the answer path's own
                # caches. A screening, an extractive answer (no model endpoint called) and an entity's links,
                # recorded nowhere.
                rb.screen(["warm-up"], limit=1)
                rb.ask("Which entities are on a sanctions list?", backend="extractive", record=False)
                rb.links("warm-up")  # the relation graph: every relation's parties resolved against the lists
            try:
                await anyio.to_thread.run_sync(warm_up)
            except Exception as e:  # e.g. the Chroma server is down: start anyway, /readyz says why
                log.warning("warm-up failed: %s", e)
        scheduler = None
        if settings.feed_schedule:  # feeds sync when due, in their own thread (ingest/feeds/schedule.py)
            from ingest.feeds.schedule import Scheduler

            scheduler = Scheduler(lambda: [s.rb for s in workspaces.opened()], settings.feed_tick_s).start()
        async with mcp.session_manager.run():  # the MCP transport's task group lives as long as the app
            yield
        if scheduler:
            scheduler.stop()
        workspaces.jobs.shutdown()
        from ingest.worker import close_workers

        close_workers()
        worker_exited()

    # No redirect from "/v1/conversations/" to "/v1/conversations": a path with a trailing slash is not the
    # resource without it (the redirect answered a conversation id left empty with the list of conversations).
    app = FastAPI(title="regbrief", version="0.1.0", description=DESCRIPTION, lifespan=lifespan, redirect_slashes=False)
    app.state.workspaces = workspaces
    install_error_handlers(app)
    app.add_middleware(GuardMiddleware, settings=settings, metrics=metrics)
    app.add_middleware(QueriesFirst)

    secured = [Depends(bearer)]
    app.include_router(health.router)
    for r in (ask, chat, openai_compat, search, documents, jobs, briefings, watchlist, history, entities, screenings,
              feeds):
        app.include_router(r.router, dependencies=secured)

    mcp = mount_mcp(app, workspaces, settings)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def index():
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon():
        return Response(status_code=204)

    return app


def app_from_env() -> FastAPI:
    """For `uvicorn --factory api.app:app_from_env`."""
    return create_app()
