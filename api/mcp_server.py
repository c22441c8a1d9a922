"""The third way in: an MCP server (the official `mcp` SDK) with the tools search, ask, brief, screen,
screening and exposure. Each tool calls one `Regbrief` method and returns the model the HTTP API returns, so a tool's
structured result is the API's JSON (its text content is the same JSON, indented).

Two transports: `regbrief mcp` serves one workspace over stdio; the HTTP service mounts streamable HTTP at
/mcp (`mount`), behind the same API-key guard, each call answered in the caller's key's workspace.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Literal

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.transport_security import TransportSecuritySettings

from rag.core.models import (
    Answer, Briefing, DocType, ExposureResponse, Filters, Jurisdiction, ScreenQuery, ScreenResponse, SearchResponse,
)
from rag.entities.screenings import ScreeningRecord
from rag.service import Regbrief
from rag.core.settings import Settings
from rag.store import StoreUnavailable

INSTRUCTIONS = ("regbrief answers questions about sanctions and regulation from the documents it holds. "
                "Every sentence of an answer or briefing cites the passage it came from; 'the sources do not "
                "say' is an answer too. Use search for passages, ask for a cited answer, brief for a risk "
                "briefing on an entity, screen to match names against the sanctions lists, exposure for "
                "cited paths from an entity to listed entities.")

# Which Regbrief serves a call: one fixed instance over stdio, the caller's workspace over HTTP.
Resolver = Callable[[Context], Regbrief]


def _filters(doc_type, jurisdiction, source, since, until, as_of) -> Filters:
    if as_of and (until is None or as_of < until):
        until = as_of
    return Filters(doc_type=doc_type or None, jurisdiction=jurisdiction or None, source=source or None,
                   since=since, until=until)


def _text(value: str, field: str, limit: int) -> str:
    """A ToolError's message reaches the client (any other exception's text stays on the server)."""
    value = " ".join(value.split())
    if not value:
        raise ToolError(f"{field}: must not be blank")
    if len(value) > limit:
        raise ToolError(f"{field}: {len(value)} characters is over the limit of {limit}")
    return value


async def _run(fn, *args, **kwargs):
    """Regbrief's methods block (model, store): run them in a worker thread, off the event loop."""
    try:
        return await anyio.to_thread.run_sync(lambda: fn(*args, **kwargs))
    except StoreUnavailable as e:
        raise ToolError(f"store_unavailable: {e}") from e


def build_server(resolve: Resolver) -> MCPServer:
    mcp = MCPServer(name="regbrief", instructions=INSTRUCTIONS, version="0.1.0", log_level="WARNING")

    @mcp.tool(description="Ranked passages for a query (hybrid dense + keyword search), with filters.")
    async def search(query: str, ctx: Context, k: int = 10, mode: Literal["hybrid", "dense", "keyword"] = "hybrid",
                     doc_type: list[DocType] | None = None, jurisdiction: list[Jurisdiction] | None = None,
                     source: str | None = None, since: dt.date | None = None, until: dt.date | None = None,
                     as_of: dt.date | None = None) -> SearchResponse:
        rb = resolve(ctx)
        return await _run(rb.search, _text(query, "query", 2000), k=max(1, min(k, 100)), mode=mode,
                          filters=_filters(doc_type, jurisdiction, source, since, until, as_of))

    @mcp.tool(description="A cited, verified answer to a question about sanctions or regulation. Each "
                          "sentence carries [n] markers for its citations; refused=true means the sources "
                          "do not say.")
    async def ask(question: str, ctx: Context, conversation_id: str | None = None,
                  doc_type: list[DocType] | None = None, jurisdiction: list[Jurisdiction] | None = None,
                  source: str | None = None, since: dt.date | None = None, until: dt.date | None = None,
                  as_of: dt.date | None = None) -> Answer:
        rb = resolve(ctx)
        return await _run(rb.ask, _text(question, "question", rb.settings.max_question_chars),
                          _filters(doc_type, jurisdiction, source, since, until, as_of),
                          conversation_id=conversation_id)

    @mcp.tool(description="A cited risk briefing on an entity (a company or a person), as known on as_of.")
    async def brief(entity: str, ctx: Context, as_of: dt.date | None = None) -> Briefing:
        rb = resolve(ctx)
        return await _run(rb.brief, _text(entity, "entity", 300), as_of=as_of)

    @mcp.tool(description="Screen names against every list entry in the store, as POST /v1/screen: `names` "
                          "(plain names) and/or `queries` (a name with what else is known: schema, birth_date, "
                          "country, identifiers), at most 100 in all. Matches best first, with score, list, "
                          "programs, listing date and why each matched.")
    async def screen(ctx: Context, names: list[str] | None = None, queries: list[ScreenQuery] | None = None,
                     type: Literal["company", "person", "vessel", "aircraft"] | None = None,
                     threshold: float | None = None, limit: int = 10) -> ScreenResponse:
        from rag.entities.screen import schema_type

        rb = resolve(ctx)
        names, queries = names or [], queries or []
        if not 1 <= len(names) + len(queries) <= 100:
            raise ToolError("names, queries: give 1 to 100 names and queries in all")
        names = [_text(n, f"names.{i}", 500) for i, n in enumerate(names)]
        for i, q in enumerate(queries):
            q.name = _text(q.name, f"queries.{i}.name", 500)
            try:
                schema_type(q.schema_)
            except ValueError as e:
                raise ToolError(f"queries.{i}.schema: {e}") from None
        if threshold is not None and not 0 <= threshold <= 1:
            raise ToolError("threshold: must be between 0 and 1")
        return await _run(rb.screen, [*names, *queries], type=type, threshold=threshold,
                          limit=max(1, min(limit, 50)))

    @mcp.tool(description="A screening record kept by POST /v1/screenings or `regbrief screen --file`: what "
                          "was screened, when, by whom, against which list versions (publication dates, content "
                          "hashes), every hit and the decisions recorded on them.")
    async def screening(screening_id: str, ctx: Context) -> ScreeningRecord:
        rb = resolve(ctx)
        rec = await _run(rb.screening, _text(screening_id, "screening_id", 100))
        if rec is None:
            raise ToolError(f"not_found: no screening with id {screening_id!r}")
        return rec

    @mcp.tool(description="Cited paths (ownership, supplier, director, ... relations) from an entity to "
                          "listed entities, up to `depth` relations long.")
    async def exposure(entity: str, ctx: Context, depth: int = 3, max_paths: int = 50,
                       relations: list[str] | None = None) -> ExposureResponse:
        rb = resolve(ctx)
        return await _run(rb.exposure, _text(entity, "entity", 500), depth=max(1, min(depth, 5)),
                          max_paths=max(1, min(max_paths, 200)), relations=relations or None)

    return mcp


def stdio_server(rb: Regbrief) -> MCPServer:
    """`regbrief mcp`: one workspace's Regbrief, over stdin/stdout."""
    return build_server(lambda ctx: rb)


def mount(app, workspaces, settings: Settings) -> MCPServer:
    """Streamable HTTP at /mcp on the FastAPI app. Stateless (no session held between requests), so any
    API worker can answer any call; GuardMiddleware has already checked the key and named its workspace
    in the request scope. The caller runs `server.session_manager.run()` in the app's lifespan."""
    server = build_server(lambda ctx: workspaces.of_scope(ctx.request_context.request.scope).rb)
    # DNS-rebinding protection guards a keyless server on loopback from web pages; with API keys the
    # bearer key is that guard (a page cannot send it), and the service may sit behind any host name.
    security = TransportSecuritySettings(enable_dns_rebinding_protection=not settings.api_keys,
                                         allowed_hosts=["127.0.0.1:*", "localhost:*", "[::1]:*"],
                                         allowed_origins=["http://127.0.0.1:*", "http://localhost:*",
                                                          "http://[::1]:*"])
    asgi = server.streamable_http_app(streamable_http_path="/mcp", stateless_http=True, json_response=True,
                                      transport_security=security)
    app.router.routes.extend(asgi.routes)  # the /mcp route itself, not a sub-app: no /mcp/ redirect
    return server
