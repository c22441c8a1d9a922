"""Health and readiness probes, and Prometheus metrics."""
from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response

from api.metrics import CONTENT_TYPE, LiveGauges
from api.schemas import Health, Ready
from api.workspaces import AppState, get_state

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, summary="The process is up")
def healthz() -> Health:
    return Health(status="ok")


@router.get("/readyz", response_model=Ready, summary="Ready to serve: store reachable, embedding model loaded",
            responses={503: {"model": Ready, "description": "Not ready"}})
def readyz(state: AppState = Depends(get_state)):
    checks: dict = {}
    ok = True
    rb = state.rb
    try:
        rb.store.vectors.ping()
        checks["store"] = {"ok": True, "vectors": rb.store.vectors.describe()}
    except Exception as e:  # StoreUnavailable or anything else: not ready, with the reason
        ok = False
        checks["store"] = {"ok": False, "error": str(e)}
    loaded = "embedder" in rb.__dict__
    checks["model"] = {"ok": loaded, "name": rb.embedder.name if loaded else None}
    ok = ok and loaded
    if rb.store.has_feeds():  # details only: a failed feed leaves the last good data to serve
        checks["feeds"] = feed_checks(rb)
    body = Ready(status="ready" if ok else "not ready", checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)


def feed_checks(rb) -> dict:
    try:
        return {f.name: {"status": f.last_status, "last_success": f.last_success, "last_failure": f.last_failure,
                         "error": f.last_error, "version": f.version, "next_due": f.next_due} for f in rb.feeds()}
    except Exception as e:
        return {"error": str(e)}


def feed_gauges(rb) -> dict:
    """Per feed: last success and last failure (Unix time) and the age of its data in seconds."""
    import datetime as dt

    def ts(value):
        return dt.datetime.fromisoformat(value).timestamp() if value else 0.0

    now = dt.datetime.now(dt.timezone.utc).timestamp()
    feeds = rb.store.feeds.list()
    return {
        "regbrief_feed_last_success_timestamp_seconds": (
            "When each feed last synced successfully (0: never).", [({"feed": f["name"]}, ts(f["last_success"])) for f in feeds]),
        "regbrief_feed_last_failure_timestamp_seconds": (
            "When each feed last failed (0: never).", [({"feed": f["name"]}, ts(f["last_failure"])) for f in feeds]),
        "regbrief_feed_data_age_seconds": (
            "Seconds since each feed's data was last confirmed current (a successful sync).",
            [({"feed": f["name"]}, now - ts(f["last_success"])) for f in feeds if f["last_success"]]),
    }


def store_gauges(state: AppState) -> dict:
    """What the workspace's store holds, its jobs and watched entities, read when scraped."""
    gauges: dict = {}
    try:
        stats = state.rb.sources()
        gauges["regbrief_store_documents"] = ("Documents in the store.", [({}, stats["documents"])])
        gauges["regbrief_store_chunks"] = ("Chunks in the store.", [({}, stats["chunks"])])
        gauges["regbrief_store_documents_by_format"] = (
            "Documents in the store by format.",
            [({"format": f["format"], "doc_type": f["doc_type"]}, f["documents"]) for f in stats["formats"]],
        )
    except Exception:  # a store that cannot be reached must not take the metrics down with it
        pass
    try:
        if state.rb.store.has_feeds():
            gauges.update(feed_gauges(state.rb))
    except Exception:
        pass
    gauges["regbrief_jobs_active"] = ("Background jobs queued or running.", [({}, state.jobs.active)])
    try:
        gauges["regbrief_watchlist_entities"] = ("Watched entities.", [({}, len(state.rb.watched()))])
    except Exception:
        pass
    return gauges


@router.get("/metrics", response_class=Response, summary="Prometheus metrics",
            responses={200: {"content": {"text/plain": {}}}})
def metrics(state: AppState = Depends(get_state)):
    return Response(state.metrics.render(LiveGauges(lambda: store_gauges(state))), media_type=CONTENT_TYPE)
