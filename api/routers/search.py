"""GET /v1/search: ranked passages with filters."""
from __future__ import annotations

import datetime as dt
from typing import Literal

from fastapi import APIRouter, Depends, Query
from pydantic import ValidationError

from api.errors import ApiError
from api.workspaces import AppState, get_state
from api.schemas import ERRORS
from rag.core.models import DocType, Filters, Jurisdiction, SearchResponse

router = APIRouter(tags=["search"])


def filters_dep(
    doc_type: list[DocType] | None = Query(None, description="document type (repeatable)"),
    jurisdiction: list[Jurisdiction] | None = Query(None, description="repeatable"),
    source: str | None = Query(None, max_length=500, description="substring of the source path or URL"),
    since: dt.date | None = Query(None, description="documents dated on or after"),
    until: dt.date | None = Query(None, description="documents dated on or before"),
    as_of: dt.date | None = Query(None, description="as known on this day (sets until)"),
) -> Filters:
    if as_of and (until is None or as_of < until):
        until = as_of
    try:
        return Filters(doc_type=doc_type or None, jurisdiction=jurisdiction or None, source=source or None,
                       since=since, until=until)
    except ValidationError as e:  # an inverted date range: the client's to fix (422), not a server error
        raise ApiError(422, "validation_error", "; ".join(err["msg"].removeprefix("Value error, ")
                                                          for err in e.errors())) from None


@router.get("/v1/search", response_model=SearchResponse, responses=ERRORS, summary="Ranked passages")
def search(
    q: str = Query(..., min_length=1, max_length=2000, description="the query"),
    k: int = Query(10, ge=1, le=100),
    mode: Literal["hybrid", "dense", "keyword"] = "hybrid",
    filters: Filters = Depends(filters_dep),
    state: AppState = Depends(get_state),
) -> SearchResponse:
    return state.rb.search(q, k=k, filters=filters, mode=mode)
