"""GET /v1/jobs/{id}: background job status, progress and result."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from api.errors import ApiError
from api.workspaces import AppState, get_state
from api.schemas import ERRORS, NOT_FOUND, Job, JobList

router = APIRouter(tags=["jobs"])


@router.get("/v1/jobs", response_model=JobList, responses=ERRORS, summary="Recent background jobs")
def list_jobs(limit: int = Query(50, ge=1, le=1000), state: AppState = Depends(get_state)) -> JobList:
    return JobList(jobs=[Job.model_validate(j.to_dict()) for j in state.jobs.list(limit)])


@router.get("/v1/jobs/{job_id}", response_model=Job, responses={**ERRORS, **NOT_FOUND}, summary="One job")
def get_job(job_id: str, state: AppState = Depends(get_state)) -> Job:
    job = state.jobs.get(job_id)
    if job is None:
        raise ApiError(404, "not_found", f"no job with id {job_id!r} (jobs are kept in memory until restart)")
    return Job.model_validate(job.to_dict())
