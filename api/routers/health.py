"""Health and readiness probes, and Prometheus metrics."""
from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, PlainTextResponse

from api.deps import AppState, get_state
from api.metrics import rss_bytes
from api.schemas import Health, Ready

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
    body = Ready(status="ready" if ok else "not ready", checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)


@router.get("/metrics", response_class=PlainTextResponse, summary="Prometheus metrics",
            responses={200: {"content": {"text/plain": {}}}})
def metrics(state: AppState = Depends(get_state)):
    gauges: dict = {}
    try:
        stats = state.rb.store.keyword.stats()
        gauges["regbrief_store_documents"] = ("Documents in the store.", [({}, stats["documents"])])
        gauges["regbrief_store_chunks"] = ("Chunks in the store.", [({}, stats["chunks"])])
        gauges["regbrief_store_documents_by_format"] = (
            "Documents in the store by format.",
            [({"format": f["format"], "doc_type": f["doc_type"]}, f["documents"]) for f in stats["formats"]],
        )
    except Exception:
        pass
    gauges["regbrief_jobs_active"] = ("Background jobs queued or running.", [({}, state.jobs.active)])
    try:
        gauges["regbrief_watchlist_entities"] = ("Watched entities.", [({}, len(state.watchlist.list()))])
    except Exception:
        pass
    gauges["process_resident_memory_bytes"] = ("Resident memory of the API process.", [({}, rss_bytes())])
    return PlainTextResponse(state.metrics.render(gauges), media_type="text/plain; version=0.0.4")
