"""Watchlist: entities whose briefings regenerate when their evidence changes (see rag/watchlist.py)."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from api.deps import ApiError, AppState, get_state
from api.jobs import JobState, TooManyJobs
from api.schemas import ERRORS, NOT_FOUND, WatchEntry, WatchList, WatchRequest

router = APIRouter(tags=["watchlist"])


@router.post("/v1/watchlist", status_code=201, response_model=WatchEntry, responses=ERRORS,
             summary="Watch an entity (and build its first briefing in the background)")
def add(req: WatchRequest, state: AppState = Depends(get_state)) -> WatchEntry:
    from rag import watchlist

    try:
        entry = state.watchlist.add(req.name, req.aliases)
    except ValueError as e:
        raise ApiError(422, "validation_error", f"name: {e}")
    out = WatchEntry.model_validate(entry)
    if req.brief_now:
        def run(job: JobState) -> dict:
            b = watchlist.regenerate(state.rb, state.watchlist, entry["name"], trigger="added")
            return {"briefing_id": b.id, "entity": b.entity, "url": f"/v1/briefings/{b.id}"}
        try:
            out.job_id = state.jobs.submit("briefing", run).id
        except TooManyJobs:  # watched anyway: its first briefing comes with the next relevant change
            out.job_id = None
    return out


@router.get("/v1/watchlist", response_model=WatchList, responses=ERRORS, summary="Watched entities")
def list_watched(state: AppState = Depends(get_state)) -> WatchList:
    return WatchList(entities=[WatchEntry.model_validate(e) for e in state.watchlist.list()])


@router.delete("/v1/watchlist/{name}", response_model=WatchList, responses={**ERRORS, **NOT_FOUND},
               summary="Stop watching an entity (its briefings stay in the history)")
def remove(name: str, state: AppState = Depends(get_state)) -> WatchList:
    if not state.watchlist.remove(name):
        raise ApiError(404, "not_found", f"{name!r} is not on the watchlist")
    return WatchList(entities=[WatchEntry.model_validate(e) for e in state.watchlist.list()])


@router.delete("/v1/watchlist", response_model=WatchList, responses={**ERRORS, **NOT_FOUND},
               summary="Stop watching an entity, named in the query (?name=)")
def remove_by_query(name: str = Query(..., min_length=1, max_length=300),
                    state: AppState = Depends(get_state)) -> WatchList:
    return remove(name, state)
