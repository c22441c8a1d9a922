"""Entities: screening names against the lists, an entity's cited relations, exposure paths.

POST /v1/screen          {"names": [...up to 100], "type": "company"|"person", "threshold": 0.86}, or per query
                         {"queries": [{"name", "schema", "birth_date", "country", "identifiers": [...]}]}
GET  /v1/entities/{id}   an entity (list entry id, graph node id such as "name:softbank", or a name):
                         its names, listings and cited relations
GET  /v1/exposure?q=...  cited paths from an entity to listed entities
"""
from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from api.errors import ApiError
from api.schemas import ERRORS, NOT_FOUND
from api.workspaces import AppState, get_state
from rag.core.models import EntityLinks, ExposureResponse, ScreenQuery, ScreenResponse

router = APIRouter(tags=["entities"])


class ScreenRequest(BaseModel):
    names: list[str] = Field(default_factory=list, max_length=100, description="names to screen (at most 100)")
    queries: list[ScreenQuery] = Field(default_factory=list, max_length=100,
                                       description="names with what else is known: schema, birth date, country, "
                                                   "identifiers (screened after `names`)")
    type: Literal["company", "person", "vessel", "aircraft"] | None = Field(
        None, description="only companies, persons, vessels or aircraft")
    threshold: float | None = Field(None, ge=0.0, le=1.0, description="match threshold (default 0.86)")
    limit: int = Field(10, ge=1, le=50, description="candidates returned per name")


def check_screen_request(req: ScreenRequest, limit: int = 100) -> list[str | ScreenQuery]:
    """The names and queries of a request, in order; ApiError naming the field for a bad one."""
    from rag.entities.screen import schema_type

    if not req.names and not req.queries:
        raise ApiError(422, "validation_error", "give names or queries to screen")
    if len(req.names) + len(req.queries) > limit:
        raise ApiError(422, "validation_error", f"at most {limit} names and queries in all")
    for i, n in enumerate(req.names):
        if not n.strip() or len(n) > 500:
            raise ApiError(422, "validation_error", f"names.{i}: a name must have 1 to 500 characters")
    for i, q in enumerate(req.queries):
        if not q.name.strip():
            raise ApiError(422, "validation_error", f"queries.{i}.name: a name must have 1 to 500 characters")
        try:
            schema_type(q.schema_)
        except ValueError as e:
            raise ApiError(422, "validation_error", f"queries.{i}.schema: {e}") from None
    return [*req.names, *req.queries]


@router.post("/v1/screen", response_model=ScreenResponse, responses=ERRORS,
             summary="Screen names against every list entry in the store")
def screen(req: ScreenRequest, state: AppState = Depends(get_state)) -> ScreenResponse:
    return state.rb.screen(check_screen_request(req), type=req.type, threshold=req.threshold, limit=req.limit)


@router.get("/v1/entities/{entity_id:path}", response_model=EntityLinks, responses={**ERRORS, **NOT_FOUND},
            summary="An entity: its names, listings and cited relations")
def entity(entity_id: str, state: AppState = Depends(get_state)) -> EntityLinks:
    rb = state.rb
    doc = None if entity_id.startswith(("entry:", "name:")) else rb.document(entity_id)
    res = rb.links(f"entry:{entity_id}" if doc is not None else entity_id)
    if not res.entities and doc is not None:
        res = rb.links(doc["title"])  # a list entry that no relation names: found by its name
    if not res.entities:
        raise ApiError(404, "not_found", f"no entity {entity_id!r} in the store's lists or relations")
    return res


@router.get("/v1/exposure", response_model=ExposureResponse, responses=ERRORS,
            summary="Cited paths from an entity to listed entities")
def exposure(
    q: str = Query(..., min_length=1, max_length=500, description="the entity (a name or an entity id)"),
    depth: int = Query(3, ge=1, le=5),
    max_paths: int = Query(50, ge=1, le=200),
    relation: list[str] | None = Query(None, description="only these relation types (repeatable)"),
    state: AppState = Depends(get_state),
) -> ExposureResponse:
    return state.rb.exposure(q, depth=depth, max_paths=max_paths, relations=relation or None)
