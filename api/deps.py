"""What every router shares: the app state, JSON errors, and the guard in front of every request
(API keys, rate limit, upload size limit, request metrics)."""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPBearer
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.jobs import JobManager, TooManyJobs, WorkspaceJobs
from api.metrics import Metrics
from rag.settings import DEFAULT_WORKSPACE, Settings, check_workspace
from rag.store import StoreUnavailable

log = logging.getLogger("regbrief.api")

# Declares the bearer scheme in the OpenAPI document (so /docs has an "Authorize" button); the check
# itself is done by GuardMiddleware, before any body is read.
bearer = HTTPBearer(auto_error=False, description="REGBRIEF_API_KEYS: one of the configured keys")

# Paths served without a key: the health probes and the static page (the page holds no data; it asks
# for a key when the API answers 401). The OpenAPI document describes the API and holds no data either.
PUBLIC = {"/healthz", "/readyz", "/", "/favicon.ico", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"}
PUBLIC_PREFIXES = ("/static/",)
UPLOAD_PATH = "/v1/documents"

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


@dataclass
class AppState:
    """What a request may touch: its workspace's settings, store, pipelines, watchlist and jobs."""
    workspace: str
    settings: Settings
    rb: object  # rag.service.Regbrief
    jobs: WorkspaceJobs
    metrics: Metrics
    watchlist: object  # rag.watchlist.Watchlist


class Workspaces:
    """Every workspace's AppState, opened on first use. They share the embedding model, the job pool
    and the metrics; each has its own data directory and collection (Settings.for_workspace)."""

    def __init__(self, settings: Settings, metrics: Metrics):
        self.settings, self.metrics = settings, metrics
        self.jobs = JobManager(settings.max_concurrent_jobs, metrics)
        self._states: dict[str, AppState] = {}
        self._lock = threading.Lock()
        self.default = self.get(DEFAULT_WORKSPACE)

    def get(self, name: str) -> AppState:
        with self._lock:
            state = self._states.get(name)
            if state is None:
                from rag.service import Regbrief
                from rag.watchlist import get_watchlist

                ws = self.settings.for_workspace(name)
                ws.home.mkdir(parents=True, exist_ok=True)
                rb = Regbrief(ws)
                if name != DEFAULT_WORKSPACE and not ws.chroma_url:
                    rb.store.recover()  # this process is the embedded store's one writer (see app.py)
                state = AppState(workspace=name, settings=ws, rb=rb, jobs=self.jobs.scoped(name),
                                 metrics=self.metrics, watchlist=get_watchlist(ws))
                self._states[name] = state
            return state


def get_state(request: Request) -> AppState:
    """The calling key's workspace (set by GuardMiddleware; the default one when auth is off)."""
    workspaces: Workspaces = request.app.state.workspaces
    return workspaces.get(request.scope.get("state", {}).get("workspace", DEFAULT_WORKSPACE))


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
        details = []
        for e in exc.errors():
            details.append({"loc": [str(x) for x in e.get("loc", ())], "msg": str(e.get("msg", "")),
                            "type": str(e.get("type", ""))})
        first = details[0] if details else {"loc": [], "msg": "invalid request"}
        where = ".".join(x for x in first["loc"] if x not in ("body", "query", "path")) or "request"
        return error_json(422, "validation_error", f"{where}: {first['msg']}", details=details)

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


class RateLimiter:
    """A sliding one-minute window per caller (the API key's hash, or the client address)."""

    def __init__(self, per_minute: int):
        self.per_minute = per_minute
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, who: str) -> float | None:
        """None when allowed; else seconds until the next request would be allowed."""
        if self.per_minute <= 0:
            return None
        now = time.monotonic()
        with self._lock:
            q = self._hits.setdefault(who, deque())
            while q and q[0] <= now - 60.0:
                q.popleft()
            if len(q) >= self.per_minute:
                return max(0.0, q[0] + 60.0 - now)
            q.append(now)
            if len(self._hits) > 10000:  # forget idle callers
                for k in [k for k, v in self._hits.items() if not v or v[-1] <= now - 60.0]:
                    del self._hits[k]
            return None


def _key_id(key: str) -> str:
    return "key:" + hashlib.sha256(key.encode()).hexdigest()[:12]


def parse_api_keys(spec: str) -> list[tuple[str, str]]:
    """REGBRIEF_API_KEYS -> [(key, workspace)]: `KEY` is the default workspace, `KEY:NAME` workspace NAME.
    A bad workspace name stops the server at start-up rather than locking a team out later."""
    out = []
    for item in spec.split(","):
        item = item.strip()
        if not item:
            continue
        key, sep, name = item.rpartition(":")
        if not sep:
            key, name = item, DEFAULT_WORKSPACE
        try:
            out.append((key.strip(), check_workspace(name.strip())))
        except ValueError as e:
            raise ValueError(f"REGBRIEF_API_KEYS: {e}") from None
    return out


class GuardMiddleware:
    """Pure ASGI (streaming responses pass straight through). In order: metrics timing, API key,
    rate limit, upload size. Keys are compared in constant time and never logged."""

    def __init__(self, app, settings: Settings, metrics: Metrics):
        self.app = app
        self.keys = parse_api_keys(settings.api_keys)
        self.limiter = RateLimiter(settings.rate_limit_per_minute)
        self.max_upload = settings.max_upload_bytes
        self.metrics = metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        t0 = time.perf_counter()
        status_holder = {"status": 500}

        async def send_wrapper(message):
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
            await send(message)

        try:
            await self._guarded(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or ("static" if scope["path"].startswith("/static/") else "other")
            self.metrics.observe_request(scope["method"], template, status_holder["status"], time.perf_counter() - t0)

    async def _guarded(self, scope, receive, send):
        path = scope["path"]
        public = path in PUBLIC or path.startswith(PUBLIC_PREFIXES)
        if public:
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        who, workspace = None, DEFAULT_WORKSPACE
        if self.keys:
            auth = headers.get("authorization", "")
            scheme, _, given = auth.partition(" ")
            given = given.strip()
            workspace = None
            if scheme.lower() == "bearer" and given:
                for key, name in self.keys:  # every key is compared, so the time says nothing of which
                    if hmac.compare_digest(given.encode(), key.encode()):
                        workspace = name
            if workspace is None:
                resp = error_json(401, "unauthorized",
                                  "a valid API key is required: send 'Authorization: Bearer <key>'"
                                  if not auth else "the API key is not valid",
                                  {"WWW-Authenticate": "Bearer"})
                return await resp(scope, receive, send)
            who = _key_id(given)
        scope.setdefault("state", {})["workspace"] = workspace
        if who is None:
            client = scope.get("client")
            who = "addr:" + (client[0] if client else "unknown")
        wait = self.limiter.check(who)
        if wait is not None:
            resp = error_json(429, "rate_limited",
                              f"rate limit of {self.limiter.per_minute} requests per minute reached; "
                              f"retry in {int(wait) + 1} s", {"Retry-After": str(int(wait) + 1)})
            return await resp(scope, receive, send)
        if scope["method"] == "POST" and path == UPLOAD_PATH:
            return await self._limited_upload(scope, receive, send, headers)
        return await self.app(scope, receive, send)

    async def _limited_upload(self, scope, receive, send, headers):
        limit = self.max_upload
        too_big_msg = f"the upload is larger than the limit of {limit} bytes (REGBRIEF_MAX_UPLOAD_BYTES)"
        too_big = error_json(413, "payload_too_large", too_big_msg)
        try:
            declared = int(headers.get("content-length", "-1"))
        except ValueError:
            declared = -1
        if declared > limit:
            await _drain(receive, limit * 4)
            return await too_big(scope, receive, send)
        seen = 0

        async def counting_receive():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    if message.get("more_body"):
                        await _drain(receive, limit * 4)
                    raise StarletteHTTPException(413, too_big_msg)
            return message

        return await self.app(scope, counting_receive, send)


async def _drain(receive, cap: int) -> None:
    """Read and discard the rest of a refused body (up to `cap` bytes), so the client sees the answer
    instead of a reset connection."""
    seen = 0
    while seen <= cap:
        message = await receive()
        if message["type"] != "http.request":
            return
        seen += len(message.get("body", b""))
        if not message.get("more_body"):
            return
