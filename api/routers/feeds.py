"""Feeds of official lists and news (ingest/feeds/), their syncs, and the changes the syncs found."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from api.errors import ApiError
from api.schemas import ERRORS, NOT_FOUND
from api.workspaces import AppState, get_state
from ingest.feeds.models import Changes, Feed, FeedList, FeedRequest, SyncResult

router = APIRouter(tags=["feeds"])


@router.get("/v1/feeds", response_model=FeedList, responses=ERRORS, summary="Feeds with their sync state")
def list_feeds(state: AppState = Depends(get_state)) -> FeedList:
    return FeedList(feeds=state.rb.feeds())


@router.post("/v1/feeds", status_code=201, response_model=Feed, responses=ERRORS,
             summary="Add (or redefine) a feed; loopback, link-local and private addresses are refused "
                     "unless the server allows them (REGBRIEF_FEEDS_ALLOW_PRIVATE)")
def add_feed(req: FeedRequest, state: AppState = Depends(get_state)) -> Feed:
    try:
        return state.rb.add_feed(req.name, req.url, req.format, req.every, guarded=True)
    except ValueError as e:
        raise ApiError(422, "validation_error", str(e))


@router.delete("/v1/feeds/{name}", response_model=FeedList, responses={**ERRORS, **NOT_FOUND},
               summary="Stop syncing a feed (its documents and notices stay)")
def remove_feed(name: str, state: AppState = Depends(get_state)) -> FeedList:
    try:
        gone = state.rb.remove_feed(name)
    except ValueError:
        gone = False
    if not gone:
        raise ApiError(404, "not_found", f"no feed named {name!r}")
    return list_feeds(state)


@router.post("/v1/feeds/{name}/sync", response_model=SyncResult, responses={**ERRORS, **NOT_FOUND},
             summary="Sync a feed now (waits for the sync; syncs run one at a time)")
def sync_feed(name: str, state: AppState = Depends(get_state)) -> SyncResult:
    try:
        return state.rb.sync_feeds([name])[0]
    except KeyError:
        raise ApiError(404, "not_found", f"no feed named {name!r}")


@router.get("/v1/changes", response_model=Changes, responses=ERRORS,
            summary="What the feeds' syncs found: entries added, removed and changed (oldest first)")
def changes(since: str | None = Query(None, description="YYYY-MM-DD (or an ISO time): changes dated on or after"),
            feed: str | None = Query(None, max_length=64),
            limit: int = Query(1000, ge=1, le=10000),
            state: AppState = Depends(get_state)) -> Changes:
    return Changes(changes=state.rb.changes(since, feed, limit))
