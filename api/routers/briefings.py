"""Briefings: request one (a background job), read it as JSON, Markdown or HTML, list an entity's history."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from api.errors import ApiError
from api.workspaces import AppState, get_state
from api.jobs import JobState
from api.schemas import ERRORS, NOT_FOUND, BriefingFormat, BriefingList, BriefingRequest, BriefingSummary, JobAccepted
from rag.core.models import Briefing, BriefingComparison

router = APIRouter(tags=["briefings"])


def load_briefing(state: AppState, briefing_id: str) -> Briefing:
    rec = state.rb.show(briefing_id)
    if rec is None or rec["kind"] != "briefing":
        raise ApiError(404, "not_found", f"no briefing with id {briefing_id!r}")
    return Briefing.model_validate_json(rec["result"])


@router.post("/v1/briefings", status_code=202, response_model=JobAccepted, responses=ERRORS,
             summary="Build a cited briefing on an entity (a background job; its result names the briefing)")
def create_briefing(req: BriefingRequest, state: AppState = Depends(get_state)) -> JobAccepted:
    entity = " ".join(req.entity.split())
    if not entity:
        raise ApiError(422, "validation_error", "entity: must not be blank")

    def run(job: JobState) -> dict:
        job.progress(0, 1, "building the briefing")
        b = state.rb.brief(entity, as_of=req.as_of, backend=req.backend)
        job.progress(1, 1, "done")
        return {"briefing_id": b.id, "entity": b.entity, "rating": b.rating,
                "url": f"/v1/briefings/{b.id}?format={req.format}"}

    job = state.jobs.submit("briefing", run)
    return JobAccepted(job_id=job.id, status=job.status, url=f"/v1/jobs/{job.id}")


@router.get("/v1/briefings", response_model=BriefingList, responses=ERRORS,
            summary="Briefings, newest first (an entity's history with ?entity=)")
def list_briefings(
    entity: str | None = Query(None, max_length=300, description="exact entity name (case-insensitive)"),
    limit: int = Query(50, ge=1, le=500),
    state: AppState = Depends(get_state),
) -> BriefingList:
    rows = state.rb.past(kind="briefing", limit=limit, subject=" ".join(entity.split()) if entity else None)
    return BriefingList(briefings=[
        BriefingSummary(id=r["id"], entity=r["subject"], backend=r["backend"], model=r["model"],
                        created_at=r["created_at"], url=f"/v1/briefings/{r['id']}", **_rating(state, r["id"]))
        for r in rows])


def _rating(state: AppState, briefing_id: str) -> dict:
    """A listed briefing's rating and as-of day, read from the briefing as it was returned."""
    import json

    rec = state.rb.show(briefing_id)
    try:
        b = json.loads(rec["result"]) if rec else {}
    except ValueError:
        b = {}
    return {"rating": b.get("rating"), "as_of": b.get("as_of")}


@router.get("/v1/briefings/{briefing_id}/compare/{other_id}", response_model=BriefingComparison,
            responses={**ERRORS, **NOT_FOUND},
            summary="What changed between two briefings of one subject (added, ended, changed, removed)")
def compare_briefings(briefing_id: str, other_id: str, state: AppState = Depends(get_state)) -> BriefingComparison:
    from rag.briefing.compare import DifferentSubjects, compare

    try:
        return compare(load_briefing(state, briefing_id), load_briefing(state, other_id))
    except DifferentSubjects as e:
        raise ApiError(422, "validation_error", str(e)) from None


@router.get("/v1/briefings/{briefing_id}", response_model=Briefing,
            responses={**ERRORS, **NOT_FOUND,
                       200: {"content": {"application/json": {}, "text/markdown": {}, "text/html": {},
                                         "application/pdf": {}},
                             "description": "The briefing in the requested format"}},
            summary="One briefing as JSON (default), Markdown (format=md), HTML (format=html) or PDF (format=pdf)")
def get_briefing(
    briefing_id: str,
    request: Request,
    format: BriefingFormat | None = Query(None, description="json, md, html or pdf; else chosen from the Accept "
                                                             "header"),
    state: AppState = Depends(get_state),
):
    b = load_briefing(state, briefing_id)
    if format is None:
        accept = request.headers.get("accept", "")
        format = ("html" if "text/html" in accept and "application/json" not in accept
                  else "md" if "text/markdown" in accept else "json")
    if format == "json":
        return b
    from rag.briefing import render

    if format == "pdf":
        from rag.briefing.render import render_pdf

        try:
            pdf = render_pdf(b)
        except RuntimeError as e:  # WeasyPrint (or its system library) is not installed on this server
            raise ApiError(501, "pdf_unavailable", str(e)) from None
        name = "".join(c if c.isalnum() else "-" for c in b.entity).strip("-")[:60] or "briefing"
        return Response(pdf, media_type="application/pdf",
                        headers={"Content-Disposition": f'attachment; filename="briefing-{name}-{b.id}.pdf"'})
    text = render(b, format)
    if format == "html":
        return HTMLResponse(text)
    return Response(text, media_type="text/markdown; charset=utf-8")
