"""The HTTP service through real HTTP: uvicorn on a free port, a real store in tmp, real data.

One process-wide server per configuration (`main_server()`, `guarded_server()`), started in a thread
with uvicorn.Server, so the embedding model is loaded once for the whole session and the browser test
(tests/test_browser.py) reuses the same server.
"""
from __future__ import annotations

import json
import logging
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
CONSOLIDATED = DATA / "ofac" / "consolidated_nonSDN_2025-06-30.xml"
DEMO_ARTICLE = ROOT / "ingest" / "demo_corpus" / "articles" / "2021-12-10_sensetime_ns_cmic_listing.md"
KEYS = ("test-key-one", "test-key-two", "test-key-three")

pytestmark = pytest.mark.slow

# --- servers ----------------------------------------------------------------------------------------

_servers: dict[str, "LiveServer"] = {}
_lock = threading.Lock()


class LogCapture(logging.Handler):
    """Every log record the server writes, to check that keys never appear in them."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record):
        try:
            self.lines.append(record.getMessage() + " " + repr(record.args))
        except Exception:
            self.lines.append(str(record.msg))


LOGS = LogCapture()


class LiveServer:
    def __init__(self, name: str, home: Path, **settings):
        import uvicorn

        from api.app import create_app
        from rag.core.settings import Settings

        self.home = home
        self.settings = Settings(home=home, **settings)
        self.app = create_app(self.settings)
        self.state = self.app.state.workspaces.default
        self.rb = self.state.rb
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_config=None, access_log=True,
                                log_level="info", timeout_keep_alive=30)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name=f"uvicorn-{name}", daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 120
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"server {name} did not start")
            time.sleep(0.05)

    def client(self, key: str | None = None, **kw) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=120, **kw)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def _install_log_capture() -> None:
    for name in ("", "uvicorn", "uvicorn.error", "uvicorn.access", "regbrief"):
        lg = logging.getLogger(name)
        if LOGS not in lg.handlers:
            lg.addHandler(LOGS)
    logging.getLogger("uvicorn.access").setLevel(logging.INFO)
    logging.getLogger("regbrief").setLevel(logging.INFO)


def xml_slice(src: Path, dest: Path, uids: set[str], extra: int = 10) -> Path:
    """A small, valid slice of an OFAC consolidated XML file: the given uids plus the first `extra` entries."""
    text = src.read_text(encoding="utf-8")
    head, _, rest = text.partition("<sdnEntry>")
    entries = re.findall(r"<sdnEntry>.*?</sdnEntry>", "<sdnEntry>" + rest, flags=re.S)
    keep = [e for i, e in enumerate(entries)
            if i < extra or re.search(r"^\s*<uid>(\d+)</uid>", e[len("<sdnEntry>"):]).group(1) in uids]
    head = re.sub(r"<Record_Count>\d+</Record_Count>", f"<Record_Count>{len(keep)}</Record_Count>", head)
    dest.write_text(head + "\n  ".join(keep) + "\n</sdnList>\n", encoding="utf-8")
    return dest


def wait_job(client: httpx.Client, job_id: str, timeout: float = 180) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = client.get(f"/v1/jobs/{job_id}")
        assert r.status_code == 200, r.text
        job = r.json()
        if job["status"] in ("succeeded", "failed"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish")


def main_server(tmp_root: Path) -> LiveServer:
    """The main server: no keys, generous limits, a small real corpus."""
    with _lock:
        if "main" not in _servers:
            _install_log_capture()
            home = tmp_root / "main-home"
            corpus = tmp_root / "main-corpus"
            corpus.mkdir(parents=True, exist_ok=True)
            (corpus / DEMO_ARTICLE.name).write_text(DEMO_ARTICLE.read_text(encoding="utf-8"), encoding="utf-8")
            xml_slice(CONSOLIDATED, corpus / "consolidated_nonSDN_2025-06-30_slice.xml", {"33114"}, extra=8)
            srv = LiveServer("main", home, rate_limit_per_minute=100000, max_concurrent_jobs=4)
            report = srv.rb.ingestor.ingest([corpus])
            assert report.ok, report.to_dict()
            _servers["main"] = srv
        return _servers["main"]


def guarded_server(tmp_root: Path) -> LiveServer:
    """Keys on, tight limits, an empty store."""
    with _lock:
        if "guarded" not in _servers:
            _install_log_capture()
            _servers["guarded"] = LiveServer(
                "guarded", tmp_root / "guarded-home", api_keys=",".join(KEYS), rate_limit_per_minute=30,
                max_upload_bytes=4000, max_question_chars=100, max_concurrent_jobs=1)
        return _servers["guarded"]


@pytest.fixture(scope="session")
def api_tmp(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("api")


@pytest.fixture(scope="session")
def server(api_tmp) -> LiveServer:
    return main_server(api_tmp)


@pytest.fixture(scope="session")
def guarded(api_tmp) -> LiveServer:
    return guarded_server(api_tmp)


@pytest.fixture()
def client(server):
    with server.client() as c:
        yield c


def ask_sensetime(client, **extra) -> dict:
    r = client.post("/v1/ask", json={"question": "Is SenseTime sanctioned, and on which list?", **extra})
    assert r.status_code == 200, r.text
    return r.json()


def check_citations(answer: dict) -> None:
    assert answer["citations"], answer
    for c in answer["citations"]:
        assert c["chunk_text"][c["start"]:c["end"]] == c["quote"], c


# --- health, metrics ----------------------------------------------------------------------------------

def test_health_ready_metrics(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    r = client.get("/readyz")
    assert r.status_code == 200 and r.json()["status"] == "ready", r.text
    assert r.json()["checks"]["model"]["ok"] and r.json()["checks"]["store"]["ok"]
    client.get("/v1/search", params={"q": "SenseTime"})
    m = client.get("/metrics")
    assert m.status_code == 200 and m.headers["content-type"].startswith("text/plain")
    text = m.text
    assert 'regbrief_http_requests_total{method="GET",route="/v1/search",status="200"}' in text
    assert "regbrief_http_request_duration_seconds_bucket" in text
    assert re.search(r"^regbrief_store_documents \d+", text, re.M)
    assert re.search(r"^regbrief_store_chunks \d+", text, re.M)
    assert re.search(r"^process_resident_memory_bytes \d+", text, re.M)


def test_page_and_docs(client):
    r = client.get("/")
    assert r.status_code == 200 and "<textarea" in r.text
    for asset in ("/static/app.js", "/static/style.css"):
        assert client.get(asset).status_code == 200
    # Document text goes in with textContent only: no HTML-parsing sinks in the page's scripts.
    for script in ("app.js", "screen.js", "briefings.js"):
        js = client.get(f"/static/{script}").text
        assert js and not re.search(r"\.(innerHTML|outerHTML)\s*\+?=|insertAdjacentHTML|document\.write", js), script
    assert client.get("/docs").status_code == 200
    spec = client.get("/openapi.json").json()
    for path in ("/v1/ask", "/v1/chat", "/v1/chat/completions", "/v1/models", "/v1/search", "/v1/documents",
                 "/v1/jobs/{job_id}", "/v1/briefings", "/v1/watchlist", "/v1/history", "/healthz", "/readyz"):
        assert path in spec["paths"], path


# --- search, ask, chat ----------------------------------------------------------------------------------

def test_search_with_filters(client):
    r = client.get("/v1/search", params={"q": "SenseTime Group", "k": 5})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["query"] == "SenseTime Group" and 0 < len(body["results"]) <= 5
    first = body["results"][0]
    for key in ("chunk_id", "doc_id", "text", "score", "title", "source", "date", "doc_type", "metadata"):
        assert key in first
    uids = {str(x["metadata"].get("uid")) for x in body["results"]}
    assert "33114" in uids
    lists = client.get("/v1/search", params={"q": "SenseTime", "doc_type": "list_entry"}).json()["results"]
    assert lists and all(x["doc_type"] == "list_entry" for x in lists)
    assert client.get("/v1/search", params={"q": "SenseTime", "jurisdiction": "EU"}).json()["results"] == []
    old = client.get("/v1/search", params={"q": "SenseTime", "until": "2020-01-01"}).json()["results"]
    assert all(x["date"] is None or x["date"] <= "2020-01-01" for x in old)


def test_ask_returns_cited_answer(client):
    a = ask_sensetime(client)
    for key in ("id", "question", "answer", "refused", "citations", "sentences", "backend", "model",
                "prompt_version", "created_at"):
        assert key in a
    assert not a["refused"]
    assert "NS-CMIC" in a["answer"] and "[1]" in a["answer"]
    check_citations(a)


def test_ask_refuses_when_sources_are_silent(client):
    r = client.post("/v1/ask", json={"question": "What is the boiling point of mercury on Mars?"})
    assert r.status_code == 200
    assert r.json()["refused"] is True


def test_chat_follow_up(client):
    r = client.post("/v1/chat", json={"message": "Is SenseTime on the NS-CMIC list?"})
    assert r.status_code == 200, r.text
    first = r.json()
    conv = first["conversation_id"]
    assert conv and not first["refused"]
    r = client.post("/v1/chat", json={"message": "When was it listed?", "conversation_id": conv})
    assert r.status_code == 200, r.text
    second = r.json()
    assert second["conversation_id"] == conv
    assert "sensetime" in (second["standalone_question"] or "").lower()
    assert not second["refused"]
    assert "2021" in second["answer"]
    turns = client.get("/v1/history", params={"kind": "answer", "limit": 50}).json()["items"]
    assert sum(t["conversation_id"] == conv for t in turns) == 2


def test_chat_unknown_conversation_is_404(client):
    r = client.post("/v1/chat", json={"message": "When was it listed?", "conversation_id": "no-such-conversation"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found", r.text
    assert client.get("/v1/conversations/no-such-conversation").status_code == 404
    # Nothing was started under that id.
    listed = client.get("/v1/conversations", params={"limit": 500}).json()["conversations"]
    assert "no-such-conversation" not in [c["conversation_id"] for c in listed]


def test_conversations_listed_and_reopened(client):
    first = client.post("/v1/chat", json={"message": "Is SenseTime on the NS-CMIC list?"}).json()
    conv = first["conversation_id"]
    second = client.post("/v1/chat", json={"message": "When was it listed?", "conversation_id": conv}).json()
    other = client.post("/v1/chat", json={"message": "What is SenseTime's OFAC uid?"}).json()
    listed = client.get("/v1/conversations").json()["conversations"]
    mine = {c["conversation_id"]: c for c in listed}
    assert mine[conv]["question"] == "Is SenseTime on the NS-CMIC list?" and mine[conv]["turns"] == 2
    assert mine[conv]["started_at"] <= mine[conv]["updated_at"]
    order = [c["conversation_id"] for c in listed]
    assert order.index(other["conversation_id"]) < order.index(conv)  # latest activity first
    turns = client.get(f"/v1/conversations/{conv}").json()["turns"]
    assert [t["question"] for t in turns] == ["Is SenseTime on the NS-CMIC list?", "When was it listed?"]
    assert [t["answer"]["id"] for t in turns] == [first["id"], second["id"]]
    assert turns[1]["answer"]["answer"] == second["answer"] and turns[1]["answer"]["citations"]


def test_questions_nobody_should_ask_get_a_clear_answer_or_a_422(client):
    """Empty, blank, 5,000 characters, another language, gibberish: a 422 naming the field, or an answer
    that says what it can do; never a 500."""
    for q in ("", "   "):
        r = client.post("/v1/ask", json={"question": q})
        assert r.status_code == 422 and "question" in r.text, r.text
    r = client.post("/v1/ask", json={"question": "Is SenseTime sanctioned? " * 200})  # 5,000 characters
    assert r.status_code == 422 and r.json()["error"]["code"] == "question_too_long", r.text
    for q in ("Est-ce que la société SenseTime est sanctionnée ?", "Санкции против Сбербанка?"):
        r = client.post("/v1/ask", json={"question": q})
        assert r.status_code == 200, r.text
        assert r.json()["refused"] or "SENSETIME" in r.json()["answer"].upper()
        if r.json()["refused"]:
            assert "does not look like English" in r.json()["answer"], r.json()["answer"]
    r = client.post("/v1/ask", json={"question": "?!?"})
    assert r.status_code in (200, 422), r.text


def test_inverted_date_range_is_422(client):
    """as_of (or until) before since: the client's mistake in words, on each way in, never a 500."""
    r = client.get("/v1/search", params={"q": "SenseTime", "since": "2000-01-01", "as_of": "1970-01-01"})
    assert r.status_code == 422 and "inverted" in r.json()["error"]["message"], r.text
    r = client.get("/v1/search", params={"q": "SenseTime", "since": "2000-01-01", "until": "1999-01-01"})
    assert r.status_code == 422 and "since (2000-01-01) is after until (1999-01-01)" in r.json()["error"]["message"]
    body = {"as_of": "1970-01-01", "filters": {"since": "2000-01-01"}}
    for path, field in (("/v1/ask", "question"), ("/v1/chat", "message")):
        r = client.post(path, json={field: "Is SenseTime sanctioned?", **body})
        assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error", (path, r.text)
        assert "as_of (1970-01-01) is before since (2000-01-01)" in r.json()["error"]["message"]


def test_limits(client, guarded):
    assert client.get("/v1/limits").json()["max_question_chars"] == 2000
    with guarded.client(KEYS[0]) as g:
        limits = g.get("/v1/limits").json()
    assert limits == {"max_question_chars": 100, "max_upload_bytes": 4000, "max_files": 50}


def read_sse(resp) -> list[tuple[str, dict, float]]:
    events, event, data = [], "message", []
    t0 = time.perf_counter()
    for line in resp.iter_lines():
        if line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())
        elif not line and data:
            events.append((event, json.loads("\n".join(data)), time.perf_counter() - t0))
            event, data = "message", []
    return events


def test_chat_stream_sse(client):
    with client.stream("POST", "/v1/chat", json={"message": "Is SenseTime sanctioned?", "stream": True}) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        events = read_sse(r)
    names = [e for e, _, _ in events]
    assert names[0] == "start" and names[-2:] == ["citations", "done"], names
    assert "sentence" in names
    sentences = [d for e, d, _ in events if e == "sentence"]
    done = events[-1][1]
    cites = events[-2][1]["citations"]
    assert done["conversation_id"] == events[0][1]["conversation_id"]
    assert [c["n"] for c in cites] == [c["n"] for c in done["citations"]]
    assert all(set(s["citations"]) <= {c["n"] for c in cites} for s in sentences)
    assert " ".join(s["text"] for s in sentences)[:40] == done["answer"][:40]
    check_citations(done)
    first_sentence_at = next(t for e, _, t in events if e == "sentence")
    assert first_sentence_at < 10  # the bench measures this properly (target < 1 s)


# --- OpenAI-compatible ------------------------------------------------------------------------------------

def test_openai_client(server):
    from openai import OpenAI

    oai = OpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0)
    assert [m.id for m in oai.models.list().data] == ["regbrief"]
    q = "Is SenseTime sanctioned, and on which list?"
    resp = oai.chat.completions.create(model="regbrief", messages=[{"role": "user", "content": q}])
    content = resp.choices[0].message.content
    assert "[1]" in content and "\n\nSources:\n[1] " in content
    extra = resp.model_extra["regbrief"]
    assert extra["question"] == q and extra["citations"]
    check_citations(extra)

    # A follow-up: earlier turns are the conversation.
    follow = oai.chat.completions.create(model="regbrief", messages=[
        {"role": "system", "content": "You are helpful."},
        {"role": "user", "content": "Is SenseTime on the NS-CMIC list?"},
        {"role": "assistant", "content": content},
        {"role": "user", "content": "When was it listed?"},
    ])
    assert "sensetime" in (follow.model_extra["regbrief"]["standalone_question"] or "").lower()

    stream = oai.chat.completions.create(model="regbrief", messages=[{"role": "user", "content": q}], stream=True)
    parts, final = [], None
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            parts.append(chunk.choices[0].delta.content)
        if chunk.choices and chunk.choices[0].finish_reason == "stop":
            final = chunk
    text = "".join(parts)
    assert "Sources:" in text and "[1]" in text
    assert final is not None and final.model_extra["regbrief"]["citations"]


def test_openai_errors(client):
    r = client.post("/v1/chat/completions", json={"model": "gpt-4", "messages": [{"role": "user", "content": "x"}]})
    assert r.status_code == 404 and r.json()["error"]["code"] == "model_not_found"
    r = client.post("/v1/chat/completions", json={"model": "regbrief", "messages": []})
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error"
    r = client.post("/v1/chat/completions",
                    json={"model": "regbrief", "messages": [{"role": "system", "content": "only a system turn"}]})
    assert r.status_code == 422


# --- documents, jobs --------------------------------------------------------------------------------------

UPLOAD_ARTICLE = """---
title: "Test fixture: Quillmere Logistics GmbH and the Harbour Lantern shipment"
date: 2025-03-04
jurisdiction: EU
publisher: regbrief test suite
---

# Test fixture: Quillmere Logistics GmbH and the Harbour Lantern shipment

This article is test data written for the regbrief test suite.
Quillmere Logistics GmbH operated the cargo vessel Harbour Lantern between Rotterdam and Gdansk in 2024.
The Harbour Lantern carried 4,200 tonnes of grain on its last recorded voyage.
"""


def test_upload_then_ask(server, client):
    files = [
        ("files", ("quillmere.md", UPLOAD_ARTICLE.encode(), "text/markdown")),
        ("files", ("../../../etc/evil name.md", b"# Evil\n\nThis test file must land inside the uploads folder.\n",
                   "text/markdown")),
    ]
    r = client.post("/v1/documents", files=files)
    assert r.status_code == 202, r.text
    job = wait_job(client, r.json()["job_id"])
    assert job["status"] == "succeeded", job
    assert job["progress"]["done"] == job["progress"]["total"] == 2
    sources = {f["source"] for f in job["result"]["files"]}
    assert sources == {"upload:quillmere.md", "upload:evil name.md"}
    # Saved under REGBRIEF_HOME/uploads/<uuid>/ with sanitised names, never the given path.
    saved = sorted(p.relative_to(server.home).as_posix() for p in (server.home / "uploads").rglob("*") if p.is_file())
    assert any(re.fullmatch(r"uploads/[0-9a-f]{32}/quillmere\.md", s) for s in saved), saved
    assert any(re.fullmatch(r"uploads/[0-9a-f]{32}/evil_name\.md", s) for s in saved), saved
    assert not (server.home.parent / "etc").exists()

    a = client.post("/v1/ask", json={"question": "Which vessel did Quillmere Logistics operate?"}).json()
    assert not a["refused"], a
    assert "Harbour Lantern" in a["answer"]
    # the source shown is the file's own name, and a citation says which file it came from
    assert any(c["source"].startswith("quillmere.md") and c["metadata"]["file"] == "quillmere.md"
               for c in a["citations"])

    docs = client.get("/v1/documents", params={"source": "upload:quillmere.md"}).json()
    assert docs["total"] == 1
    doc_id = docs["documents"][0]["doc_id"]
    detail = client.get(f"/v1/documents/{doc_id}").json()
    assert detail["title"].startswith("Test fixture: Quillmere") and detail["chunks"]
    assert "Harbour Lantern" in detail["text"]

    # Remove the second file's document; it is gone afterwards.
    evil = client.get("/v1/documents", params={"source": "upload:evil name.md"}).json()["documents"][0]["doc_id"]
    r = client.delete(f"/v1/documents/{evil}")
    assert r.status_code == 200 and r.json()["removed_documents"] == [evil]
    assert client.get(f"/v1/documents/{evil}").status_code == 404
    assert client.delete(f"/v1/documents/{evil}").status_code == 404


def test_documents_listing(client):
    body = client.get("/v1/documents", params={"limit": 3}).json()
    assert body["total"] >= 9 and len(body["documents"]) == 3
    assert client.get("/v1/documents", params={"limit": 0}).status_code == 422


def test_upload_of_unreadable_file_fails_the_job(client):
    r = client.post("/v1/documents", files=[("files", ("broken.xml", b"<sdnList><sdnEntry>", "application/xml"))])
    assert r.status_code == 202
    job = wait_job(client, r.json()["job_id"])
    assert job["status"] == "failed" and "broken.xml" in job["error"]
    assert job["result"]["files"][0]["status"] == "failed"


# --- briefings, watchlist, history ------------------------------------------------------------------------

def test_briefing_job_and_formats(client):
    r = client.post("/v1/briefings", json={"entity": "SenseTime", "format": "md"})
    assert r.status_code == 202, r.text
    job = wait_job(client, r.json()["job_id"])
    assert job["status"] == "succeeded", job
    bid = job["result"]["briefing_id"]
    b = client.get(f"/v1/briefings/{bid}").json()
    for key in ("id", "entity", "as_of", "rating", "sections", "citations", "created_at"):
        assert key in b
    assert b["entity"] == "SenseTime" and b["sections"]
    md = client.get(f"/v1/briefings/{bid}", params={"format": "md"})
    assert md.headers["content-type"].startswith("text/markdown") and "# " in md.text
    html = client.get(f"/v1/briefings/{bid}", params={"format": "html"})
    assert html.headers["content-type"].startswith("text/html") and "<h1>" in html.text
    assert client.get("/v1/briefings/nope").status_code == 404
    pdf = client.get(f"/v1/briefings/{bid}", params={"format": "pdf"})  # the page's PDF export
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF") and "attachment" in pdf.headers["content-disposition"]
    assert client.get(f"/v1/briefings/{bid}", params={"format": "docx"}).status_code == 422
    listed = client.get("/v1/briefings", params={"entity": "sensetime"}).json()["briefings"]
    assert bid in [x["id"] for x in listed]


def test_watchlist_regenerates_only_on_relevant_change(server, client):
    r = client.post("/v1/watchlist", json={"name": "SenseTime", "aliases": ["SENSETIME GROUP LTD"]})
    assert r.status_code == 201, r.text
    first = wait_job(client, r.json()["job_id"])
    assert first["status"] == "succeeded", first
    assert client.get("/v1/watchlist").json()["entities"][0]["name"] == "SenseTime"

    def count() -> int:
        return len(client.get("/v1/briefings", params={"entity": "SenseTime"}).json()["briefings"])

    before = count()
    irrelevant = "---\ntitle: \"Test fixture: grain prices\"\ndate: 2025-02-01\n---\n\nGrain prices rose in Gdansk in 2025.\n"
    job = wait_job(client, client.post("/v1/documents", files=[("files", ("grain.md", irrelevant.encode()))]).json()["job_id"])
    assert job["status"] == "succeeded", job
    assert job["result"]["watchlist"]["regenerated"] == []
    assert count() == before

    relevant = ("---\ntitle: \"Test fixture: SenseTime opens a research lab\"\ndate: 2025-05-02\n---\n\n"
                "SenseTime Group Limited opened a research laboratory in Shanghai in May 2025.\n")
    job = wait_job(client, client.post("/v1/documents", files=[("files", ("lab.md", relevant.encode()))]).json()["job_id"])
    assert job["status"] == "succeeded", job
    regen = job["result"]["watchlist"]["regenerated"]
    assert [x["entity"] for x in regen] == ["SenseTime"]
    assert count() == before + 1
    latest = client.get(f"/v1/briefings/{regen[0]['briefing_id']}").json()
    changes = [s for s in latest["sections"] if s["title"] == "What changed since the previous briefing"]
    assert changes and any("lab.md" in s["text"] or "research lab" in s["text"] for s in changes[0]["sentences"])

    # Removing that document regenerates the briefing too.
    doc_id = regen[0]["changed_docs"][0]
    r = client.delete(f"/v1/documents/{doc_id}")
    assert r.status_code == 200 and r.json()["watchlist_job_id"]
    job = wait_job(client, r.json()["watchlist_job_id"])
    assert [x["entity"] for x in job["result"]["regenerated"]] == ["SenseTime"]
    assert count() == before + 2

    assert client.delete("/v1/watchlist/SenseTime").status_code == 200
    assert client.delete("/v1/watchlist/SenseTime").status_code == 404
    assert client.delete("/v1/watchlist", params={"name": "SenseTime"}).status_code == 404


def test_cli_watch_commands(tmp_path):
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("REGBRIEF_")}
    env["REGBRIEF_HOME"] = str(tmp_path / "home")

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "api.cli", *args], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=120)

    r = cli("watch", "add", "Quillmere Logistics", "--alias", "Quillmere", "--no-brief")
    assert r.returncode == 0 and "watching Quillmere Logistics" in r.stdout, r.stderr
    r = cli("watch", "list", "--json")
    entries = json.loads(r.stdout)
    assert [(e["name"], e["aliases"], e["briefings"]) for e in entries] == [("Quillmere Logistics", ["Quillmere"], 0)]
    assert cli("watch", "remove", "quillmere logistics").returncode == 0
    assert cli("watch", "remove", "Quillmere Logistics").returncode == 1
    assert json.loads(cli("watch", "list", "--json").stdout) == []


def _cli_env(home: Path, **extra) -> dict:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("REGBRIEF_")}
    return {**env, "REGBRIEF_HOME": str(home), **extra}


def test_cli_every_option_has_help_and_its_default():
    import argparse

    from api.cli import build_parser
    from rag.entities.screen import DEFAULT_THRESHOLD

    def walk(p, path):
        yield path, p
        for a in p._actions:
            if isinstance(a, argparse._SubParsersAction):
                for name, sp in a.choices.items():
                    yield from walk(sp, path + [name])

    missing, no_default = [], []
    for path, p in walk(build_parser(), ["regbrief"]):
        text = " ".join(p.format_help().split())
        for a in p._actions:
            if isinstance(a, (argparse._HelpAction, argparse._SubParsersAction)):
                continue
            if not a.help:
                missing.append(f"{' '.join(path)} {a.dest}")
            elif a.default not in (None, False, [], argparse.SUPPRESS) and f"(default: {a.default})" not in text:
                no_default.append(f"{' '.join(path)} {a.dest}={a.default!r}")
    assert not missing, missing
    assert not no_default, no_default

    env = _cli_env(ROOT / ".no-such-home")

    def run(*a):
        return subprocess.run([sys.executable, "-m", "api.cli", *a], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=120)

    screen = " ".join(run("screen", "--help").stdout.split())
    assert f"(default: {DEFAULT_THRESHOLD})" in screen and "DEFAULT_THRESHOLD" not in screen and "rag." not in screen
    assert "(default: extractive)" in " ".join(run("ask", "--help").stdout.split())
    assert "regbrief formats" in run("ingest", "--help").stdout


def test_cli_formats_lists_the_registry():
    from ingest.formats import formats

    env = _cli_env(ROOT / ".no-such-home")
    r = subprocess.run([sys.executable, "-m", "api.cli", "formats"], cwd=ROOT, env=env, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0 and not r.stderr, r.stderr
    listed = [ln.split()[0] for ln in r.stdout.splitlines() if ln and not ln.startswith((" ", "`"))]
    assert listed == list(formats())
    assert "ofac_sdn_csv        .csv" in r.stdout and "Federal Register documents" in r.stdout
    r = subprocess.run([sys.executable, "-m", "api.cli", "formats", "--json"], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=120)
    rows = json.loads(r.stdout)["formats"]
    assert {x["name"]: x["extensions"] for x in rows}["article_text"] == [".txt", ".md", ".markdown"]
    assert not (ROOT / ".no-such-home").exists()  # listing formats opens no store


def test_cli_quiet_unless_verbose(tmp_path):
    """The torch backend's "Loading weights" bar and the libraries' logs reach the terminal only with --verbose."""
    env = _cli_env(tmp_path / "home", REGBRIEF_EMBEDDING_BACKEND="torch")
    art = tmp_path / DEMO_ARTICLE.name
    art.write_text(DEMO_ARTICLE.read_text(encoding="utf-8"), encoding="utf-8")

    def run(*a):
        return subprocess.run([sys.executable, "-m", "api.cli", *a], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=300)

    r = run("ingest", "--quiet", str(art))
    assert r.returncode == 0 and r.stderr == "", r.stderr
    r = run("ask", "Is SenseTime sanctioned?")
    assert r.returncode == 0 and "SenseTime" in r.stdout
    assert r.stderr == "", r.stderr
    r = run("search", "--verbose", "SenseTime", "--k", "1")
    assert r.returncode == 0 and "Loading weights" in r.stderr, r.stderr


def test_cli_ask_in_a_fresh_process(tmp_path):
    """`regbrief ask` on the demo corpus, a fresh process end to end, answers with the list and writes nothing
    to stderr (its CPU and wall time: `python -m bench cli`)."""
    import os

    env = _cli_env(tmp_path / "home")
    demo = ROOT / "ingest" / "demo_corpus"
    r = subprocess.run([sys.executable, "-m", "api.cli", "ingest", "-q", str(demo / "articles"), str(demo / "lists")],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([os.path.join(os.path.dirname(sys.executable), "regbrief"), "ask",
                        "Is SenseTime sanctioned, and on which list?"], cwd=ROOT, env=env, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0 and "NS-CMIC" in r.stdout and r.stderr == "", r.stderr


def test_history(client):
    a = ask_sensetime(client)
    items = client.get("/v1/history", params={"kind": "answer"}).json()["items"]
    assert a["id"] in [i["id"] for i in items]
    rec = client.get(f"/v1/history/{a['id']}").json()
    assert rec["kind"] == "answer" and rec["result"]["answer"] == a["answer"] and rec["evidence"]
    r = client.get("/v1/history/does-not-exist")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


# --- errors, auth, limits ---------------------------------------------------------------------------------

def test_error_shapes(client):
    r = client.get("/v1/jobs/nope")
    assert r.status_code == 404 and set(r.json()["error"]) >= {"code", "message"}
    r = client.get("/v1/search", params={"q": "x", "k": 1000})
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error"
    r = client.post("/v1/ask", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and "error" in r.json()
    r = client.post("/v1/ask", json={"question": "   "})
    assert r.status_code == 422
    assert client.get("/v1/nothing-here").status_code == 404


def test_store_unavailable_is_503(server, client, monkeypatch):
    from rag.store import StoreUnavailable

    def down(*a, **k):
        raise StoreUnavailable("vector store unavailable (Chroma server http://127.0.0.1:1): connection refused")

    monkeypatch.setattr(server.rb.store.vectors, "query", down)
    monkeypatch.setattr(server.rb.store.vectors, "ping", down)
    r = client.get("/v1/search", params={"q": "SenseTime"})
    assert r.status_code == 503
    assert r.json()["error"]["code"] == "store_unavailable" and "connection refused" in r.json()["error"]["message"]
    assert client.get("/readyz").status_code == 503


def test_auth(guarded):
    with guarded.client() as anon:
        assert anon.get("/healthz").status_code == 200
        assert anon.get("/readyz").status_code == 200
        for method, path in (("GET", "/v1/search?q=x"), ("GET", "/v1/documents"), ("POST", "/v1/ask"),
                             ("GET", "/v1/history"), ("GET", "/metrics"), ("GET", "/v1/models")):
            r = anon.request(method, path, json={"question": "x"} if method == "POST" else None)
            assert r.status_code == 401, (path, r.text)
            assert r.json()["error"]["code"] == "unauthorized" and r.headers["www-authenticate"] == "Bearer"
    with guarded.client("wrong-key") as bad:
        r = bad.get("/v1/documents")
        assert r.status_code == 401 and "documents" not in r.json()
    with guarded.client(KEYS[0]) as good:
        r = good.get("/v1/documents")
        assert r.status_code == 200 and r.json()["total"] == 0
    from openai import AuthenticationError, OpenAI

    with pytest.raises(AuthenticationError):
        OpenAI(base_url=guarded.url + "/v1", api_key="wrong", max_retries=0).models.list()
    assert [m.id for m in OpenAI(base_url=guarded.url + "/v1", api_key=KEYS[0]).models.list().data] == ["regbrief"]


def test_limits_413_422(guarded):
    with guarded.client(KEYS[0]) as c:
        big = b"x" * 5000
        r = c.post("/v1/documents", files=[("files", ("big.md", big, "text/markdown"))])
        assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
        # Without a Content-Length (chunked), the limit holds too.
        def gen():
            body = (b"--b\r\nContent-Disposition: form-data; name=\"files\"; filename=\"big.md\"\r\n"
                    b"Content-Type: text/markdown\r\n\r\n" + big + b"\r\n--b--\r\n")
            for i in range(0, len(body), 1000):
                yield body[i:i + 1000]
        r = c.post("/v1/documents", content=gen(), headers={"Content-Type": "multipart/form-data; boundary=b"})
        assert r.status_code == 413, r.text
        assert not any((guarded.home / "uploads").rglob("big.md"))
        r = c.post("/v1/ask", json={"question": "Is SenseTime sanctioned? " * 10})
        assert r.status_code == 422 and r.json()["error"]["code"] == "question_too_long"
        assert "100" in r.json()["error"]["message"]
        r = c.post("/v1/chat", json={"message": "y" * 101, "stream": True})
        assert r.status_code == 422


def test_job_limit_429(guarded):
    state = guarded.state
    with guarded.client(KEYS[0]) as c:
        with state.rb.store.write_lock:  # hold the store: the first upload job waits, the second is refused
            r1 = c.post("/v1/documents", files=[("files", ("a.md", b"# A\n\nA test file.\n", "text/markdown"))])
            assert r1.status_code == 202
            r2 = c.post("/v1/documents", files=[("files", ("b.md", b"# B\n\nA test file.\n", "text/markdown"))])
            assert r2.status_code == 429 and r2.json()["error"]["code"] == "too_many_jobs"
        assert wait_job(c, r1.json()["job_id"])["status"] == "succeeded"


def test_rate_limit_429(guarded):
    with guarded.client(KEYS[1]) as c:
        codes = [c.get("/v1/jobs").status_code for _ in range(31)]
        assert codes[:30] == [200] * 30 and codes[30] == 429
        r = c.get("/v1/jobs")
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
        assert r.json()["error"]["code"] == "rate_limited"
    with guarded.client(KEYS[0]) as other:  # the limit is per key
        assert other.get("/v1/jobs").status_code == 200


def test_keys_never_logged(guarded):
    with guarded.client(KEYS[0]) as c:
        c.get("/v1/search", params={"q": "anything"})
    with guarded.client("not-a-real-key-xyz") as c:
        c.get("/v1/search", params={"q": "anything"})
    joined = "\n".join(LOGS.lines)
    assert "/v1/search" in joined  # the access log is captured
    for secret in (*KEYS, "not-a-real-key-xyz"):
        assert secret not in joined


# --- property-based fuzzing over the OpenAPI schema ---------------------------------------------------------

def test_schemathesis_no_server_errors(api_tmp):
    """Generated requests for every operation; no answer may be a 5xx."""
    srv = _servers.get("fuzz")
    if srv is None:
        home = api_tmp / "fuzz-home"
        # Fuzzed requests pick LLM backends too: keep those calls short (an unreachable endpoint for
        # `openai`, a few tokens for the local GGUF) so the run stays within its time budget.
        srv = LiveServer("fuzz", home, rate_limit_per_minute=100000, max_concurrent_jobs=2,
                         max_question_chars=300, openai_base_url="http://127.0.0.1:9/v1", llm_max_tokens=8,
                         llm_timeout_s=5)
        art = api_tmp / "fuzz-article.md"
        art.write_text(DEMO_ARTICLE.read_text(encoding="utf-8"), encoding="utf-8")
        assert srv.rb.ingestor.ingest([art]).ok
        _servers["fuzz"] = srv
    exe = Path(sys.executable).with_name("schemathesis")
    cmd = [str(exe) if exe.exists() else "schemathesis", "run", f"{srv.url}/openapi.json",
           "--checks", "not_a_server_error", "--max-examples", "6", "--max-time", "40", "--seed", "7",
           "--workers", "1", "--request-timeout", "30", "--no-color", "--suppress-health-check", "all",
           "--phases", "examples,coverage,fuzzing"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    tail = (proc.stdout + proc.stderr)[-6000:]
    assert proc.returncode == 0, tail


def test_no_server_path_in_any_response(server, client, api_tmp):
    """Sources read as people know them (a list with its date and uid and a link to the issuer's page, a
    publisher and date), and no response shows where files sit on the server."""
    paths = [str(api_tmp), str(api_tmp.resolve()), str(ROOT)]
    hits = client.get("/v1/search", params={"q": "SenseTime", "k": 10}).json()["results"]
    entry = next(r for r in hits if r["doc_type"] == "list_entry")
    assert re.fullmatch(r"OFAC [\w-]+ list, published \d\d \w{3} \d{4}, uid 33114", entry["source"]), entry["source"]
    assert entry["url"] == "https://sanctionssearch.ofac.treas.gov/Details.aspx?id=33114"
    answer = ask_sensetime(client)
    bodies = [json.dumps(hits), json.dumps(answer),
              client.get("/v1/documents", params={"limit": 50}).text,
              client.get(f"/v1/documents/{entry['doc_id']}").text,
              client.get("/v1/history").text, client.get(f"/v1/history/{answer['id']}").text]
    job = wait_job(client, client.post("/v1/briefings", json={"entity": "SenseTime"}).json()["job_id"])
    bid = job["result"]["briefing_id"]
    bodies += [client.get(f"/v1/briefings/{bid}", params={"format": f}).text for f in ("json", "md", "html")]
    for body in bodies:
        for p in paths:
            assert p not in body, f"{p} appears in a response: ...{body[max(0, body.find(p) - 80):body.find(p) + 80]}..."
