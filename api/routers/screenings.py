"""Screenings: a file (or list) of names screened and kept as a record, decisions on its hits, exports.

POST /v1/screenings                    multipart `file` (CSV with a name column and optional type,
                                       birth_date, country, identifiers; or text, one name per line) with
                                       optional form fields type, threshold, limit; or JSON {"names", "queries",
                                       "type", "threshold", "limit", "label"} -> the ScreeningRecord
GET  /v1/screenings                    recent screenings, newest first
GET  /v1/screenings/{id}               the record (JSON), or ?format=csv|html (html: printable)
POST /v1/screenings/{id}/decisions     {"query_index", "entity_id", "decision", "note"}: a decision on a hit,
                                       recorded with the caller's key (its short hash) in the audit trail
"""
from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field, ValidationError

from api.errors import ApiError
from api.routers.entities import ScreenRequest, check_screen_request
from api.schemas import ERRORS, NOT_FOUND
from api.workspaces import AppState, get_state
from rag.core.models import ScreenQuery
from rag.entities.screenings import NamesFileError, ScreeningDecision, ScreeningRecord

router = APIRouter(tags=["entities"])


class ScreeningRequest(ScreenRequest):
    names: list[str] = Field(default_factory=list, max_length=10_000, description="names to screen")
    queries: list[ScreenQuery] = Field(default_factory=list, max_length=10_000,
                          description="names with schema, birth_date, country, identifiers (as POST /v1/screen)")
    label: str = Field("request", max_length=200, description="what the names are, as the record names them")


class DecisionRequest(BaseModel):
    query_index: int = Field(..., ge=0, description="which screened name (0-based, in the order screened)")
    entity_id: str = Field(..., min_length=1, max_length=300, description="the hit's list entry id")
    decision: Literal["true_match", "false_positive", "needs_review"]
    note: str = Field("", max_length=4000)


class ScreeningSummary(BaseModel):
    id: str
    label: str
    created_at: str
    url: str


class ScreeningList(BaseModel):
    screenings: list[ScreeningSummary]


def caller(request: Request) -> str:
    """Who is acting: the API key's short hash (api/keys.py key_id), or the address when keys are off."""
    return request.scope.get("state", {}).get("caller") or "unknown"


def _json_body() -> dict:
    """ScreeningRequest's schema inline (the route reads its body itself, so FastAPI does not list it)."""
    schema = ScreeningRequest.model_json_schema(ref_template="#/components/schemas/{model}")
    schema.pop("$defs", None)
    return schema


BODY = {"requestBody": {"required": True, "content": {
    "multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
        "file": {"type": "string", "format": "binary"},
        "type": {"type": "string", "enum": ["company", "person", "vessel", "aircraft"]},
        "threshold": {"type": "number", "minimum": 0, "maximum": 1},
        "limit": {"type": "integer", "minimum": 1, "maximum": 50}}}},
    "application/json": {"schema": _json_body()}}}}


@router.post("/v1/screenings", response_model=ScreeningRecord, status_code=201, responses=ERRORS,
             openapi_extra=BODY, summary="Screen a file of names and keep the screening record")
async def create_screening(request: Request, state: AppState = Depends(get_state)) -> ScreeningRecord:
    import anyio

    from rag.entities.screenings import names_input, parse_names_file

    ctype = request.headers.get("content-type", "")
    if ctype.startswith("multipart/form-data"):
        form = await request.form(max_files=1)
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise ApiError(422, "validation_error", "file: send the names as a file field named 'file'")
        data = await upload.read(state.settings.max_upload_bytes + 1)
        if len(data) > state.settings.max_upload_bytes:
            raise ApiError(413, "payload_too_large",
                           f"{upload.filename}: over the upload limit of {state.settings.max_upload_bytes} bytes")
        try:
            req = ScreeningRequest.model_validate(
                {k: form[k] for k in ("type", "threshold", "limit") if form.get(k) not in (None, "")})
        except ValidationError as e:
            err = e.errors()[0]
            raise ApiError(422, "validation_error", f"{'.'.join(map(str, err['loc']))}: {err['msg']}") from None
        try:
            names = parse_names_file(upload.filename or "names", data)
        except NamesFileError as e:
            raise ApiError(422, "invalid_names_file", str(e)) from None
    else:
        try:
            req = ScreeningRequest.model_validate_json(await request.body())
        except ValidationError as e:
            err = e.errors()[0]
            raise ApiError(422, "validation_error", f"{'.'.join(map(str, err['loc']))}: {err['msg']}") from None
        queries = check_screen_request(req, limit=10_000)
        names = names_input(queries, req.label)
    who = caller(request)
    rec = await anyio.to_thread.run_sync(
        lambda: state.rb.screen_file(names, type=req.type, threshold=req.threshold, limit=req.limit, analyst=who))
    rec.url = f"/v1/screenings/{rec.id}"
    return rec


@router.get("/v1/screenings", response_model=ScreeningList, responses=ERRORS, summary="Screenings, newest first")
def list_screenings(limit: int = Query(50, ge=1, le=500), state: AppState = Depends(get_state)) -> ScreeningList:
    return ScreeningList(screenings=[
        ScreeningSummary(id=r["id"], label=r["subject"], created_at=r["created_at"], url=f"/v1/screenings/{r['id']}")
        for r in state.rb.past(kind="screening", limit=limit)])


@router.get("/v1/screenings/{screening_id}", response_model=ScreeningRecord, responses={
    **ERRORS, **NOT_FOUND, 200: {"content": {"application/json": {}, "text/csv": {}, "text/html": {}},
                                 "description": "The record as JSON, CSV (one row per candidate) or printable HTML"}},
            summary="A screening record with its decisions (JSON, CSV or printable HTML)")
def get_screening(screening_id: str, format: Literal["json", "csv", "html"] = Query("json"),
                  state: AppState = Depends(get_state)):
    from rag.entities.screenings import to_csv, to_html

    rec = state.rb.screening(screening_id)
    if rec is None:
        raise ApiError(404, "not_found", f"no screening with id {screening_id!r}")
    rec.url = f"/v1/screenings/{rec.id}"
    if format == "csv":
        return Response(to_csv(rec), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="screening-{rec.id}.csv"'})
    if format == "html":
        return HTMLResponse(to_html(rec))
    return rec


@router.post("/v1/screenings/{screening_id}/decisions", response_model=ScreeningDecision, status_code=201,
             responses={**ERRORS, **NOT_FOUND}, summary="Record a decision on one hit of a screening")
def decide(screening_id: str, req: DecisionRequest, request: Request,
           state: AppState = Depends(get_state)) -> ScreeningDecision:
    try:
        return state.rb.decide(screening_id, req.query_index, req.entity_id, req.decision, req.note,
                               analyst=caller(request))
    except KeyError as e:
        raise ApiError(404, "not_found", e.args[0]) from None
    except ValueError as e:
        raise ApiError(422, "validation_error", str(e)) from None
