"""Documents: upload (ingested in a background job), list, show, delete."""
from __future__ import annotations

import re
import shutil
import unicodedata
import uuid
from pathlib import Path

from fastapi import APIRouter, Depends, File, Form, Query, UploadFile

from api.errors import ApiError
from api.jobs import JobFailed, JobState, TooManyJobs
from api.schemas import ERRORS, NOT_FOUND, DocumentDetail, DocumentList, JobAccepted, RemoveResult
from api.workspaces import AppState, get_state

router = APIRouter(tags=["documents"])

MAX_FILES = 50


def safe_name(given: str | None) -> str:
    """A file name that cannot leave its folder: last path component, ASCII letters, digits, . _ -"""
    name = (given or "").replace("\\", "/").split("/")[-1]
    name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", name).lstrip(".-_")[:120]
    return name or "upload"


def display_name(given: str | None) -> str:
    """The original name as the user knows it, for the document's source: no folders, no control chars."""
    name = (given or "").replace("\\", "/").split("/")[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    return name[:200] or "upload"


def save_uploads(files: list[UploadFile], folder: Path) -> dict[str, str]:
    """Save the uploaded files under `folder` with safe, distinct names: {saved path: the user's name}.
    Nothing is left behind when one of them cannot be saved."""
    folder.mkdir(parents=True, exist_ok=True)
    names: dict[str, str] = {}
    try:
        used: set[str] = set()
        for f in files:
            name = safe_name(f.filename)
            stem, dot, ext = name.rpartition(".")
            n = 1
            while name in used:  # two files with the same name in one upload
                n += 1
                name = f"{stem}-{n}.{ext}" if dot else f"{ext}-{n}"
            used.add(name)
            target = folder / name
            with open(target, "wb") as out:
                shutil.copyfileobj(f.file, out, 1 << 20)
            names[str(target)] = display_name(f.filename)
    except Exception:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return names


def ingest_result(state: AppState, report, names: dict[str, str]) -> dict:
    """The job's result: the ingest report with files named as the user named them (never by their place
    on the server), the documents they hold, and the ingest counters updated."""
    result = report.to_dict()
    for f in result["files"]:
        for saved, original in names.items():
            if f.get("error"):
                f["error"] = f["error"].replace(saved, original)
    t = report.totals()
    for op in ("added", "updated", "removed"):
        state.metrics.ingest_documents.labels(op=op).inc(t[op])
    for fr in report.files:
        state.metrics.ingest_files.labels(status=fr.status).inc()
    result["doc_ids"] = [d["doc_id"] for s in {f.source for f in report.files}
                         for d in state.rb.store.documents(source=s)][:1000]
    return result


@router.post("/v1/documents", status_code=202, response_model=JobAccepted,
             responses={**ERRORS, 413: ERRORS[400] | {"description": "Upload too large"}},
             summary="Upload one or more files; they are ingested in a background job")
def upload(
    files: list[UploadFile] = File(..., description="one or more files (any supported format)"),
    format: str | None = Form(None, max_length=50, description="force a format (see `regbrief formats`)"),
    state: AppState = Depends(get_state),
) -> JobAccepted:
    if not files:
        raise ApiError(422, "validation_error", "files: at least one file is required")
    if len(files) > MAX_FILES:
        raise ApiError(422, "validation_error", f"files: at most {MAX_FILES} files per upload")
    if format:
        from ingest.formats import formats

        known = sorted(formats())
        if format not in known:
            raise ApiError(422, "validation_error", f"format: unknown format {format!r}; known: {', '.join(known)}")
    folder = state.settings.home / "uploads" / uuid.uuid4().hex
    names = save_uploads(files, folder)
    paths = list(names)

    def run(job: JobState) -> dict:
        job.progress(0, len(paths), "ingesting")
        # The store takes its write lock per batch: other uploads interleave with this one. The watchlist
        # is refreshed below, so the job can report it.
        report = state.rb.ingest(paths, fmt=format or None, refresh=False,
                                 on_progress=lambda done, total: job.progress(done, total, "ingesting"),
                                 source_name=lambda p: "upload:" + names.get(str(p), Path(p).name))
        job.result = result = ingest_result(state, report, names)
        changed = report.changed_doc_ids
        if changed:
            job.stage = "refreshing watched briefings"
        result["watchlist"] = state.rb.refresh_affected(changed, trigger="ingest") if changed else \
            {"regenerated": [], "unchanged": []}
        if not report.ok:
            failed = [f["error"] for f in result["files"] if f["status"] == "failed"]
            raise JobFailed("some files could not be ingested: " + "; ".join(failed))
        return result

    try:
        job = state.jobs.submit("ingest", run)
    except TooManyJobs:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return JobAccepted(job_id=job.id, status=job.status, url=f"/v1/jobs/{job.id}")


@router.get("/v1/documents", response_model=DocumentList, responses=ERRORS, summary="Documents in the store")
def list_documents(
    source: str | None = Query(None, max_length=2000, description="only documents of this source key (exact, as `source_key` shows it)"),
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=100_000_000),
    state: AppState = Depends(get_state),
) -> DocumentList:
    store = state.rb.store
    docs = store.documents(source=source, limit=limit, offset=offset)
    total = store.count_documents(source)
    return DocumentList(documents=docs, total=total, limit=limit, offset=offset)


@router.get("/v1/documents/{doc_id:path}", response_model=DocumentDetail, responses={**ERRORS, **NOT_FOUND},
            summary="One document with its text and chunks")
def get_document(doc_id: str, state: AppState = Depends(get_state)) -> DocumentDetail:
    doc = state.rb.store.document(doc_id)
    if doc is None:
        raise ApiError(404, "not_found", f"no document with id {doc_id!r}")
    doc["chunks"] = state.rb.store.document_chunks(doc_id)
    return DocumentDetail.model_validate(doc)


@router.delete("/v1/documents/{doc_id:path}", response_model=RemoveResult, responses={**ERRORS, **NOT_FOUND},
               summary="Remove a document (watched entities' briefings are refreshed in the background)")
def delete_document(doc_id: str, state: AppState = Depends(get_state)) -> RemoveResult:
    if state.rb.document(doc_id) is None:
        raise ApiError(404, "not_found", f"no document with id {doc_id!r}")
    res = state.rb.remove([doc_id], refresh=False)  # watched entities are refreshed in a job, below
    state.metrics.ingest_documents.labels(op="removed").inc(len(res["removed_documents"]))
    out = RemoveResult(**res)
    removed = res["removed_documents"]
    if removed and state.rb.watched():
        def run(job: JobState | None) -> dict:
            return state.rb.refresh_affected(removed, trigger="remove")
        try:
            out.watchlist_job_id = state.jobs.submit("watchlist", run).id
        except TooManyJobs:  # the removal is done; refresh inline rather than skip it
            run(None)
    return out
