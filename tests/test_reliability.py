"""Faults with real processes: killed ingest, a Chroma server that goes away and comes back, an LLM endpoint
that is down, slow or returns garbage, and backup/restore while the service runs.

The 20-kill run is `python -m bench.bench_kill --kills 20`; here the same loop runs with 3 kills.
"""
from __future__ import annotations

import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import DEMO, ROOT, make_rb

REGBRIEF = [sys.executable, "-m", "api.cli"]
QUESTIONS = [
    "Is SenseTime sanctioned?",
    "Which SoftBank subsidiary uses SenseTime technology?",
    "What is the program for Huawei?",
    "Who owns the Zorbian Widget Company?",
]
QUERIES = ["SenseTime", "facial recognition surveillance", "Chinese military companies", "Huawei"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answer_key(a: dict) -> tuple:
    return (a["answer"], a["refused"], [(c["chunk_id"], c["start"], c["end"]) for c in a["citations"]])


def _search_key(client: httpx.Client, q: str) -> list:
    r = client.get("/v1/search", params={"q": q, "k": 5})
    assert r.status_code == 200, r.text
    return [(x["chunk_id"], round(x["score"], 4)) for x in r.json()["results"]]


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory, embedder) -> Path:
    """The demo corpus (articles + lists) in an embedded store; tests copy it through backup/restore."""
    home = tmp_path_factory.mktemp("rel") / "home"
    rb = make_rb(home)
    assert rb.ingestor.ingest([DEMO / "articles", DEMO / "lists"]).ok
    return home


# --- (a) killed ingest ---------------------------------------------------------------------------------

def test_ingest_killed_three_times_recovers_to_identical_results(tmp_path):
    """Real `regbrief ingest` processes SIGKILLed at random moments (3 kills; the bench does 20): after each,
    recovery leaves a consistent store, the re-run completes it, and search results equal an
    uninterrupted ingest's."""
    from bench.bench_kill import run_cycles

    res = run_cycles(tmp_path, kills=3, lines_n=60, seed=11, max_delay=2.0, log=lambda m: None)
    assert res["kills"] == 3, res["cycles"]
    assert not res["failures"], json.dumps(res["failures"], indent=1)[:4000]
    assert res["answers_identical"] == len(res["cycles"]), res["cycles"]  # the same answers as before the kills
    assert all(n > 0 for n in res["reference_relations"].values())  # the corpus states relations to lose
    assert all(c["relations_consistent_after_kill"] and c["same_relations_as_reference"] for c in res["cycles"])


# --- (b) Chroma server goes away and comes back ----------------------------------------------------------

def _start_chroma(path: Path, port: int) -> subprocess.Popen:
    chroma = Path(sys.executable).parent / "chroma"
    return subprocess.Popen([str(chroma), "run", "--path", str(path), "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_chroma_server_down_gives_503_and_service_resumes(tmp_path, embedder):
    from rag.store import wait_for
    from tests.test_api import LiveServer

    port = _free_port()
    chroma_dir = tmp_path / "chroma-server"
    server = _start_chroma(chroma_dir, port)
    api = None
    try:
        api = LiveServer("chroma-fault", tmp_path / "home", chroma_url=f"http://127.0.0.1:{port}",
                         collection="fault-test", rate_limit_per_minute=100000)
        wait_for(api.rb.store.vectors.ping, timeout=90)
        assert api.rb.ingestor.ingest([DEMO / "lists", DEMO / "articles"]).ok
        c = api.client()
        before = {q: _search_key(c, q) for q in QUERIES}
        ask_before = c.post("/v1/ask", json={"question": QUESTIONS[0]}).json()
        count = api.rb.store.vectors.count()

        server.terminate()
        server.wait(timeout=30)
        for r in (c.get("/v1/search", params={"q": "SenseTime"}), c.post("/v1/ask", json={"question": QUESTIONS[0]})):
            assert r.status_code == 503, (r.status_code, r.text[:500])
            err = r.json()["error"]
            assert err["code"] == "store_unavailable" and "Chroma server" in err["message"], err
            assert r.headers.get("retry-after")
        r = c.get("/readyz")
        assert r.status_code == 503
        assert r.json()["checks"]["store"]["ok"] is False and "Chroma server" in r.json()["checks"]["store"]["error"]

        server = _start_chroma(chroma_dir, port)  # same port, same path; the API is not restarted
        deadline = time.monotonic() + 90
        while c.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline, "service did not resume"
            time.sleep(0.5)
        assert {q: _search_key(c, q) for q in QUERIES} == before
        assert _answer_key(c.post("/v1/ask", json={"question": QUESTIONS[0]}).json()) == _answer_key(ask_before)
        assert api.rb.store.vectors.count() == count
        assert api.rb.store.check()["ok"]
    finally:
        if api:
            api.stop()
        server.terminate()
        server.wait(timeout=30)


# --- (c) LLM endpoint down, slow, or returning garbage ---------------------------------------------------

class _FakeLLM(http.server.ThreadingHTTPServer):
    """A tiny OpenAI-compatible endpoint used ONLY for the slow and garbage cases: a real llama.cpp server
    cannot be made to sleep past a timeout or answer with garbage. `mode` picks the misbehaviour."""

    daemon_threads = True
    mode = "empty"


class _Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_POST(self):
        request = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
        mode = self.server.mode
        if mode == "stream" and request.get("stream"):
            return self.stream_two_sentences()
        if mode == "slow":
            time.sleep(3)
        if mode == "not-json":
            body = b"\x00\xffthis is not json{{{"
        elif mode == "http-500":
            self.send_response(500)
            self.end_headers()
            return
        else:
            content = {"empty": "", "slow": "SenseTime is sanctioned [1].",
                       "no-citations": "SenseTime is a well known bakery in Paris. It sells bread.",
                       "invented": "SenseTime is listed [7]. It is also listed on the moon [42]."}[mode]
            body = json.dumps({"id": "x", "object": "chat.completion", "created": 0, "model": "fake",
                               "choices": [{"index": 0, "finish_reason": "stop",
                                            "message": {"role": "assistant", "content": content}}],
                               "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


    def stream_two_sentences(self):
        """A streamed reply as a model writes it: a sentence the entry supports, word by word, then after a
        pause one that cites a passage that does not exist. The time the second one starts is kept."""
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.end_headers()

        def send(content: str, finish=None) -> None:
            chunk = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "fake",
                     "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": finish}]}
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.flush()

        for word in "SENSETIME GROUP LIMITED was added to the NS-CMIC list on 10 December 2021 [1]. ".split(" "):
            send(word + " ")
        time.sleep(STREAM_PAUSE)
        self.server.second_sent = time.monotonic()
        send("It is also listed on the moon [42].", finish="stop")
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()


STREAM_PAUSE = 2.0


@pytest.fixture(scope="module")
def fake_llm():
    srv = _FakeLLM(("127.0.0.1", 0), _Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield srv
    srv.shutdown()


@pytest.mark.parametrize("mode", ["down", "slow", "empty", "no-citations", "invented", "not-json", "http-500"])
def test_llm_faults_fall_back_to_extractive_with_a_note(demo_home, fake_llm, mode):
    url = f"http://127.0.0.1:{_free_port()}/v1" if mode == "down" else \
        f"http://127.0.0.1:{fake_llm.server_address[1]}/v1"
    fake_llm.mode = mode
    rb = make_rb(demo_home, llm="openai", openai_base_url=url, openai_model="fake", llm_timeout_s=1.0)
    extractive = make_rb(demo_home).ask(QUESTIONS[0], record=False)
    t0 = time.monotonic()
    a = rb.ask(QUESTIONS[0], record=False)
    assert time.monotonic() - t0 < 30
    assert a.backend.startswith("extractive"), a.backend
    assert any("extractive answer" in n for n in a.notes), a.notes
    assert a.answer == extractive.answer and not a.refused
    assert [c.chunk_id for c in a.citations] == [c.chunk_id for c in extractive.citations]


def test_model_sentences_are_verified_and_streamed_as_the_model_writes_them(demo_home, fake_llm):
    """The fake endpoint stands in for a model that writes verifiable sentences (SmolLM2, the only model
    that runs here, writes none). Its first sentence is verified and handed to the stream before the model
    has written the second; the second, citing a passage that does not exist, is removed."""
    from rag.answering.answer import answer_question

    fake_llm.mode = "stream"
    rb = make_rb(demo_home, llm="openai", openai_base_url=f"http://127.0.0.1:{fake_llm.server_address[1]}/v1",
                 openai_model="fake", llm_timeout_s=30.0)
    seen: list[tuple[float, object]] = []
    a = answer_question(rb, QUESTIONS[0], record=False,
                        on_sentence=lambda s, cites: seen.append((time.monotonic(), s)))
    assert a.backend == "openai", (a.backend, a.notes)
    at, first = next((t, s) for t, s in seen if s.kind == "fact")
    assert first.text.startswith("SENSETIME GROUP LIMITED was added to the NS-CMIC list") and first.citations
    assert at < fake_llm.second_sent, "the first sentence waited for the rest of the reply"
    assert "moon" not in a.answer
    assert any("moon" in s.text and s.verdict == "removed" for s in a.sentences)


def test_llm_down_through_the_api_is_never_a_500(demo_home, fake_llm, tmp_path):
    from tests.test_api import LiveServer

    fake_llm.mode = "invented"
    api = LiveServer("llm-fault", demo_home, llm="openai", openai_model="fake", llm_timeout_s=1.0,
                     openai_base_url=f"http://127.0.0.1:{fake_llm.server_address[1]}/v1",
                     rate_limit_per_minute=100000)
    try:
        c = api.client()
        for mode in ("invented", "slow", "not-json"):
            fake_llm.mode = mode
            r = c.post("/v1/ask", json={"question": QUESTIONS[0]})
            assert r.status_code == 200, r.text
            assert r.json()["backend"].startswith("extractive") and r.json()["citations"]
            r = c.post("/v1/chat/completions", json={"model": "regbrief", "messages": [
                {"role": "user", "content": QUESTIONS[0]}]})
            assert r.status_code == 200, r.text
    finally:
        api.stop()


# --- (d) backup while serving, restore into an empty directory -------------------------------------------

def test_backup_while_serving_and_restore_gives_identical_results(demo_home, tmp_path):
    """`regbrief backup` (a separate process) runs while the API serves search traffic; the
    archive restored by `regbrief restore` into an empty dir answers and searches identically."""
    from tests.test_api import LiveServer

    # A second workspace with a document of its own goes into the same archive.
    env = {**os.environ, "REGBRIEF_HOME": str(demo_home)}
    p = subprocess.run([*REGBRIEF, "ingest", "--workspace", "teamb", "-q", str(DEMO / "articles" / TEAMB_ARTICLE)],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    teamb_search = _cli_search(demo_home, "teamb", TEAMB_QUERY)
    assert teamb_search and _cli_search(demo_home, "teamc", TEAMB_QUERY) == []

    api = LiveServer("backup", demo_home, rate_limit_per_minute=100000)
    archive = tmp_path / "backup.tar.gz"
    try:
        c = api.client()
        expected_search = {q: _search_key(c, q) for q in QUERIES}
        expected_answers = {q: _answer_key(c.post("/v1/ask", json={"question": q}).json()) for q in QUESTIONS}
        stop = threading.Event()
        errors: list = []

        def traffic():
            with api.client() as tc:
                while not stop.is_set():
                    r = tc.get("/v1/search", params={"q": "SenseTime", "k": 5})
                    if r.status_code != 200:
                        errors.append(r.status_code)

        t = threading.Thread(target=traffic, daemon=True)
        t.start()
        env = {**os.environ, "REGBRIEF_HOME": str(demo_home)}
        p = subprocess.run([*REGBRIEF, "backup", "--json", str(archive)], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=300)
        stop.set()
        t.join(timeout=30)
        assert p.returncode == 0, p.stderr[-3000:]
        assert not errors
        manifest = json.loads(p.stdout)
        assert manifest["homes"][0]["chunks"] == api.rb.store.stats()["chunks"]
    finally:
        api.stop()

    restored = tmp_path / "restored"
    restored.mkdir()
    env = {**os.environ, "REGBRIEF_HOME": str(restored)}
    p = subprocess.run([*REGBRIEF, "restore", str(archive)], cwd=ROOT, env=env, capture_output=True, text=True,
                       timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    # Restoring over a non-empty directory is refused.
    p2 = subprocess.run([*REGBRIEF, "restore", str(archive)], cwd=ROOT, env=env, capture_output=True, text=True,
                        timeout=300)
    assert p2.returncode == 2 and "not empty" in p2.stderr

    api2 = LiveServer("restored", restored, rate_limit_per_minute=100000)
    try:
        c = api2.client()
        assert api2.rb.store.check()["ok"]
        assert {q: _search_key(c, q) for q in QUERIES} == expected_search
        assert {q: _answer_key(c.post("/v1/ask", json={"question": q}).json()) for q in QUESTIONS} == expected_answers
        assert c.get("/v1/history").json()  # the audit trail came along
    finally:
        api2.stop()
    assert _cli_search(restored, "teamb", TEAMB_QUERY) == teamb_search


TEAMB_ARTICLE = "2021-12-10_sensetime_ns_cmic_listing.md"
TEAMB_QUERY = "SenseTime investment ban"


def _cli_search(home: Path, workspace: str, q: str) -> list:
    p = subprocess.run([*REGBRIEF, "search", "--workspace", workspace, "--json", "--k", "5", q], cwd=ROOT,
                       env={**os.environ, "REGBRIEF_HOME": str(home)}, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    return [(x["chunk_id"], round(x["score"], 4)) for x in json.loads(p.stdout)["results"]]
