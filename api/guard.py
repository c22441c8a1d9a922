"""The guard in front of every request: request metrics, API key (which also names the workspace), rate
limit, upload size. Pure ASGI, so streamed responses (SSE, MCP) pass straight through."""
from __future__ import annotations

import time

from starlette.exceptions import HTTPException as StarletteHTTPException

from api.errors import error_json
from api.jobs import shared_tables
from api.keys import key_id, parse_api_keys, workspace_of
from api.metrics import Metrics
from api.ratelimit import RateLimiter
from rag.core.settings import DEFAULT_WORKSPACE, Settings
from rag.store import StoreUnavailable

# Paths served without a key: the health probes and the static page (the page holds no data; it asks
# for a key when the API answers 401). The OpenAPI document describes the API and holds no data either.
PUBLIC = {"/healthz", "/readyz", "/", "/favicon.ico", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"}
PUBLIC_PREFIXES = ("/static/",)
UPLOAD_PATH = "/v1/documents"
SCREENING_UPLOAD_PATH = "/v1/screenings"  # a file of names: the same upload size limit


def route_template(scope) -> str:
    """The route's template, never the raw path, so the number of metric series stays bounded."""
    route = scope.get("route")
    return getattr(route, "path", None) or ("static" if scope["path"].startswith("/static/") else "other")


class GuardMiddleware:
    """In order: metrics timing, API key, rate limit, upload size. Keys are never logged."""

    def __init__(self, app, settings: Settings, metrics: Metrics):
        self.app = app
        self.keys = parse_api_keys(settings.api_keys)
        self.limiter = RateLimiter(settings.rate_limit_per_minute, shared_tables(settings)[1])
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
            self.metrics.observe_request(scope["method"], route_template(scope), status_holder["status"],
                                         time.perf_counter() - t0)

    async def _guarded(self, scope, receive, send):
        path = scope["path"]
        if path in PUBLIC or path.startswith(PUBLIC_PREFIXES):
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        who, workspace = None, DEFAULT_WORKSPACE
        if self.keys:
            auth = headers.get("authorization", "")
            scheme, _, given = auth.partition(" ")
            given = given.strip()
            workspace = workspace_of(given, self.keys) if scheme.lower() == "bearer" and given else None
            if workspace is None:
                resp = error_json(401, "unauthorized",
                                  "a valid API key is required: send 'Authorization: Bearer <key>'"
                                  if not auth else "the API key is not valid",
                                  {"WWW-Authenticate": "Bearer"})
                return await resp(scope, receive, send)
            who = key_id(given)
        scope.setdefault("state", {})["workspace"] = workspace
        if who is None:
            client = scope.get("client")
            who = "addr:" + (client[0] if client else "unknown")
        scope["state"]["caller"] = who  # who acted, as the audit trail records it (a key's short hash)
        try:
            wait = await self.limiter.acheck(who)
        except StoreUnavailable as e:  # the shared rate-limit table is in the database
            return await error_json(503, "store_unavailable", str(e), {"Retry-After": "5"})(scope, receive, send)
        if wait is not None:
            resp = error_json(429, "rate_limited",
                              f"rate limit of {self.limiter.per_minute} requests per minute reached; "
                              f"retry in {int(wait) + 1} s", {"Retry-After": str(int(wait) + 1)})
            return await resp(scope, receive, send)
        if scope["method"] == "POST" and path in (UPLOAD_PATH, SCREENING_UPLOAD_PATH):
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
