"""MCP, the third way in, through the SDK's own client: `regbrief mcp` over stdio (a real subprocess), and
streamable HTTP at /mcp of a real uvicorn server behind the API-key guard. Each answers initialize,
tools/list and a tools/call of ask with a cited answer; the tools return the same JSON as the HTTP API,
and a key sees only its own workspace."""
from __future__ import annotations

import json
import os
import sys

import anyio
import httpx
import pytest

from tests.conftest import DEMO, ROOT
from tests.test_api import LiveServer, check_citations

pytestmark = pytest.mark.slow

KEY, OTHER_KEY = "mcp-key-3b8e", "mcp-other-key-c41d"
TOOLS = {"search", "ask", "brief", "screen", "screening", "exposure"}
QUESTION = "Is SenseTime sanctioned, and on which list?"


@pytest.fixture(scope="module")
def server(tmp_path_factory, embedder):
    """A real uvicorn server on the demo corpus; KEY is the default workspace, OTHER_KEY an empty one."""
    srv = LiveServer("mcp", tmp_path_factory.mktemp("mcp") / "home", api_keys=f"{KEY},{OTHER_KEY}:other",
                     rate_limit_per_minute=100000)
    report = srv.rb.ingest([DEMO / "articles", DEMO / "lists"])
    assert report.ok, report.to_dict()
    yield srv
    srv.stop()


def structured(result) -> dict:
    assert not result.is_error, result.content
    text = json.loads(result.content[0].text)  # the text block is the same JSON, for clients without structure
    assert text == result.structured_content
    return result.structured_content


def without_run_fields(answer: dict) -> dict:
    """An answer minus what differs between two runs of the same question (its id and time)."""
    return {k: v for k, v in answer.items() if k not in ("id", "created_at")}


async def session_calls(session) -> dict:
    """initialize, tools/list and the calls every transport must answer the same way."""
    init = await session.initialize()
    tools = {t.name: t for t in (await session.list_tools()).tools}
    out = {"server": init.server_info.name, "tools": tools}
    out["ask"] = structured(await session.call_tool("ask", {"question": QUESTION}))
    out["search"] = structured(await session.call_tool("search", {"query": "SenseTime NS-CMIC", "k": 5}))
    out["screen"] = structured(await session.call_tool("screen", {"names": ["Sensetime Group Ltd", "Toyota"]}))
    out["exposure"] = structured(await session.call_tool("exposure", {"entity": "SoftBank", "depth": 2}))
    out["blank"] = await session.call_tool("ask", {"question": "   "})
    return out


def check_session(out: dict) -> None:
    assert out["server"] == "regbrief"
    assert set(out["tools"]) == TOOLS
    assert "question" in out["tools"]["ask"].input_schema["properties"]
    assert "citations" in out["tools"]["ask"].output_schema["properties"]
    ans = out["ask"]
    assert not ans["refused"] and ans["question"] == QUESTION
    assert "[1]" in ans["answer"] and "2021" in ans["answer"]
    check_citations(ans)
    assert out["search"]["results"] and "SenseTime" in json.dumps(out["search"])
    assert [r["query"] for r in out["screen"]["results"]] == ["Sensetime Group Ltd", "Toyota"]
    assert any(m["match"] for m in out["screen"]["results"][0]["matches"])
    assert out["exposure"]["query"] == "SoftBank"
    assert out["blank"].is_error and "must not be blank" in out["blank"].content[0].text


def test_stdio(server):
    from mcp import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    env = {k: v for k, v in os.environ.items() if not k.startswith("REGBRIEF_")}
    params = StdioServerParameters(command=sys.executable, args=["-m", "api.cli", "mcp"], cwd=str(ROOT),
                                   env={**env, "REGBRIEF_HOME": str(server.home)})

    async def run():
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            return await session_calls(session)

    out = anyio.run(run)
    check_session(out)
    with server.client(KEY) as c:  # the same JSON as the HTTP API
        api = c.post("/v1/ask", json={"question": QUESTION}).json()
        assert without_run_fields(out["ask"]) == without_run_fields(api)
        assert out["search"] == c.get("/v1/search", params={"q": "SenseTime NS-CMIC", "k": 5}).json()


def mcp_http(server, key: str):
    import httpx2
    from mcp.client.streamable_http import streamable_http_client

    client = httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=120)
    return client, streamable_http_client(server.url + "/mcp", http_client=client)


def test_streamable_http_under_the_service(server):
    from mcp import ClientSession

    async def run(key: str, calls):
        client, transport = mcp_http(server, key)
        async with client, transport as (read, write), ClientSession(read, write) as session:
            return await calls(session)

    out = anyio.run(run, KEY, session_calls)
    check_session(out)
    with server.client(KEY) as c:  # the same JSON as the HTTP API, answer for answer
        api = c.post("/v1/ask", json={"question": QUESTION}).json()
        assert without_run_fields(out["ask"]) == without_run_fields(api)
        assert out["search"] == c.get("/v1/search", params={"q": "SenseTime NS-CMIC", "k": 5}).json()
        screen = c.post("/v1/screen", json={"names": ["Sensetime Group Ltd", "Toyota"]}).json()
        assert out["screen"] == screen
        assert out["exposure"] == c.get("/v1/exposure", params={"q": "SoftBank", "depth": 2}).json()
        history = c.get("/v1/history", params={"kind": "answer"}).json()["items"]
        assert out["ask"]["id"] in {i["id"] for i in history}  # MCP answers join the audit trail

    async def other_workspace(session):
        await session.initialize()
        return structured(await session.call_tool("search", {"query": "SenseTime NS-CMIC"}))

    assert anyio.run(run, OTHER_KEY, other_workspace)["results"] == []  # another key, another workspace


def test_mcp_needs_a_key(server):
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        r = httpx.post(server.url + "/mcp", json=body, headers=headers, timeout=30)
        assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
