"""Errors as JSON: `{"error": {"code", "message"}}` for every failure, whatever raised it."""
from __future__ import annotations

import json
import logging

from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.jobs import TooManyJobs
from rag.store import StoreUnavailable

log = logging.getLogger("regbrief.api")

STATUS_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
    409: "conflict", 413: "payload_too_large", 415: "unsupported_media_type", 422: "validation_error",
    429: "rate_limited", 500: "internal", 503: "unavailable",
}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers


def error_json(status: int, code: str, message: str, headers: dict[str, str] | None = None,
               details: list | None = None) -> JSONResponse:
    body: dict = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    return JSONResponse({"error": body}, status_code=status, headers=headers)


def validation_error(exc: RequestValidationError) -> JSONResponse:
    details = [{"loc": [str(x) for x in e.get("loc", ())], "msg": str(e.get("msg", "")),
                "type": str(e.get("type", ""))} for e in exc.errors()]
    first = details[0] if details else {"loc": [], "msg": "invalid request"}
    where = ".".join(x for x in first["loc"] if x not in ("body", "query", "path")) or "request"
    return error_json(422, "validation_error", f"{where}: {first['msg']}", details=details)


def install_error_handlers(app) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request, exc: ApiError):
        return error_json(exc.status, exc.code, exc.message, exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request, exc: StarletteHTTPException):
        msg = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail, default=str)
        return error_json(exc.status_code, STATUS_CODES.get(exc.status_code, "error"), msg,
                          getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request, exc: RequestValidationError):
        return validation_error(exc)

    @app.exception_handler(TooManyJobs)
    async def _too_many_jobs(request, exc: TooManyJobs):
        return error_json(429, "too_many_jobs", str(exc), {"Retry-After": "5"})

    @app.exception_handler(StoreUnavailable)
    async def _store_unavailable(request, exc: StoreUnavailable):
        return error_json(503, "store_unavailable", str(exc), {"Retry-After": "5"})

    @app.exception_handler(Exception)
    async def _internal(request, exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_json(500, "internal", f"internal error ({type(exc).__name__}); see the server log")
