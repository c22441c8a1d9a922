"""Watchlist: entities whose briefings regenerate when their evidence changes (see rag/entities/watchlist.py)."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from api.errors import ApiError
from api.workspaces import AppState, get_state
from api.jobs import JobState, TooManyJobs
from api.schemas import ERRORS, NOT_FOUND, WatchEntry, WatchList, WatchRequest

router = APIRouter(tags=["watchlist"])


@router.post("/v1/watchlist", status_code=201, response_model=WatchEntry, responses=ERRORS,
             summary="Watch an entity (and build its first briefing in the background)")
def add(req: WatchRequest, state: AppState = Depends(get_state)) -> WatchEntry:
    try:
        entry = state.rb.watch(req.name, req.aliases, brief=False)
    except ValueError as e:
        raise ApiError(422, "validation_error", f"name: {e}")
    out = WatchEntry.model_validate(entry)
    if req.brief_now:
        def run(job: JobState) -> dict:
            bid = state.rb.watch(entry["name"], brief=True)["briefing_id"]  # already watched: builds the first briefing
            return {"briefing_id": bid, "entity": entry["name"], "url": f"/v1/briefings/{bid}"}
        try:
            out.job_id = state.jobs.submit("briefing", run).id
        except TooManyJobs:  # watched anyway: its first briefing comes with the next relevant change
            out.job_id = None
    return out


@router.get("/v1/watchlist", response_model=WatchList, responses=ERRORS, summary="Watched entities")
def list_watched(state: AppState = Depends(get_state)) -> WatchList:
    return WatchList(entities=[WatchEntry.model_validate(e) for e in state.rb.watched()])


@router.delete("/v1/watchlist/{name}", response_model=WatchList, responses={**ERRORS, **NOT_FOUND},
               summary="Stop watching an entity (its briefings stay in the history)")
def remove(name: str, state: AppState = Depends(get_state)) -> WatchList:
    if not state.rb.unwatch(name):
        raise ApiError(404, "not_found", f"{name!r} is not on the watchlist")
    return list_watched(state)


@router.delete("/v1/watchlist", response_model=WatchList, responses={**ERRORS, **NOT_FOUND},
               summary="Stop watching an entity, named in the query (?name=)")
def remove_by_query(name: str = Query(..., min_length=1, max_length=300),
                    state: AppState = Depends(get_state)) -> WatchList:
    return remove(name, state)
