"""Server-Sent Events through sse-starlette, against a real uvicorn server whose model endpoint hangs (a
real socket that accepts and never answers, as a stuck model server does): while the answer waits for the
model's timeout, keep-alive pings keep the stream open; the answer then arrives as the extractive fallback
with the same events as ever; a client that leaves mid-stream stops the answer being worked out for it, for
both streams."""
from __future__ import annotations

import json
import socket
import threading
import time

import pytest

from tests.test_api import LOGS, LiveServer, read_sse

pytestmark = pytest.mark.slow
PING = 0.3


@pytest.fixture(scope="module")
def hung_model():
    """A TCP server that accepts connections and never replies."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept():
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(sock.accept()[0])
            except OSError:
                continue

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    stop.set()
    t.join()
    for c in held:
        c.close()
    sock.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory, embedder, hung_model):
    from tests.conftest import DEMO

    srv = LiveServer("sse", tmp_path_factory.mktemp("sse") / "home", llm="openai", openai_base_url=hung_model,
                     openai_model="stuck", llm_timeout_s=2.5, rate_limit_per_minute=100000)
    assert srv.rb.ingest([DEMO / "lists"]).ok
    yield srv
    srv.stop()


@pytest.fixture(autouse=True)
def fast_pings(monkeypatch):
    from api import sse

    monkeypatch.setattr(sse, "PING_SECONDS", PING)


class Replay:
    """Lines already read, for read_sse (which reads a response's iter_lines)."""

    def __init__(self, lines: list[str]):
        self.lines = lines

    def iter_lines(self):
        return iter(self.lines)


def raw_lines(resp) -> list[str]:
    return list(resp.iter_lines())


def test_pings_keep_the_chat_stream_open_while_the_model_hangs(server):
    with server.client() as c, c.stream("POST", "/v1/chat", json={"message": "Is SenseTime sanctioned?",
                                                                  "stream": True}) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        lines = raw_lines(r)
    first_sentence = next(i for i, ln in enumerate(lines) if ln == "event: sentence")
    pings = [i for i, ln in enumerate(lines) if ln.startswith(": ping")]
    assert len(pings) >= 3 and pings[0] < first_sentence, lines[:12]  # 2.5 s of model timeout, pinged
    events = read_sse(Replay(lines))
    assert [e for e, _, _ in events][0] == "start" and [e for e, _, _ in events][-2:] == ["citations", "done"]
    done = events[-1][1]
    assert any("could not be used" in n for n in done["notes"]) and done["citations"]


def test_openai_stream_is_pinged_too(server):
    body = {"model": "regbrief", "stream": True, "messages": [{"role": "user", "content": "Is SenseTime sanctioned?"}]}
    with server.client() as c, c.stream("POST", "/v1/chat/completions", json=body) as r:
        lines = raw_lines(r)
    data = [ln[6:] for ln in lines if ln.startswith("data: ")]
    assert any(ln.startswith(": ping") for ln in lines)
    assert data[-1] == "[DONE]" and json.loads(data[-2])["choices"][0]["finish_reason"] == "stop"


def test_a_client_that_leaves_stops_the_work(server):
    """The client hangs up while the model is waited for: the stream ends, and the answer stops at its next
    step, so nothing is recorded for it (an answer that is read to the end is recorded, as ever)."""
    def recorded(question: str) -> int:
        with server.client() as c:
            items = c.get("/v1/history", params={"kind": "answer", "subject": question}).json()["items"]
        return len(items)

    before = len(LOGS.lines)
    asked = {"/v1/chat": "Is SenseTime on a sanctions list?", "/v1/chat/completions": "Was SenseTime listed by OFAC?"}
    for path, question in asked.items():
        body = ({"message": question, "stream": True} if path == "/v1/chat" else
                {"model": "regbrief", "stream": True, "messages": [{"role": "user", "content": question}]})
        with server.client() as c, c.stream("POST", path, json=body) as r:
            next(r.iter_lines())  # the first event, then the client hangs up while the model is waited for
    time.sleep(5)  # past the model's 2.5 s timeout: an answer that went on would have been recorded by now
    assert [recorded(q) for q in asked.values()] == [0, 0]
    with server.client() as c:  # the server is fine, and nothing failed on its side
        assert c.get("/readyz").status_code == 200
        assert c.post("/v1/chat", json={"message": asked["/v1/chat"]}).status_code == 200
    assert recorded(asked["/v1/chat"]) == 1
    assert not [ln for ln in LOGS.lines[before:] if "stream failed" in ln or "Traceback" in ln or "Error in" in ln]
