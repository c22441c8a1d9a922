"""Workspaces: a key given as KEY:WORKSPACE sees only its workspace. Each path a passage could leak
through is tried with the other team's key against a real uvicorn server: search (results and scores),
ask, chat (history and follow-up rewriting), the OpenAI-compatible endpoint, documents, jobs, briefings,
history, the watchlist, screening and entities; then the CLI and a bad key configuration."""
from __future__ import annotations

import pytest

from tests.conftest import BACKENDS, backend_overrides
from tests.test_api import CONSOLIDATED, LiveServer, wait_job, xml_slice

ALPHA, BETA, PLAIN = "alpha-key-7f3a", "beta-key-91c2", "plain-key-55d0"

# Fictional test fixtures, one per team. Alpha's has words beta's questions will ask about.
ALPHA_DOC = """---
title: "Test fixture: Corvane Maritime Trading and the Silver Orrery charter"
date: 2026-03-14
---

# Test fixture: Corvane Maritime Trading and the Silver Orrery charter

Corvane Maritime Trading LLC chartered the tanker Silver Orrery in February 2026.
The Silver Orrery loaded cargo at Harrowgate Quay before sailing for the Gulf.
Corvane Maritime Trading LLC was fined 2.4 million dollars by its flag registry on 14 March 2026.
"""

BETA_DOC = """---
title: "Test fixture: Halvorsen Grain Cooperative charters a tanker"
date: 2026-02-02
---

# Test fixture: Halvorsen Grain Cooperative charters a tanker

Halvorsen Grain Cooperative chartered a tanker to carry rapeseed oil from Bergen in January 2026.
The cooperative said the charter was approved by its board of directors.
"""

QUESTION = "Which tanker did Corvane Maritime Trading charter, and where did it load cargo?"
SECRET_WORDS = ("Silver Orrery", "Harrowgate", "2.4 million")


def _upload(client, name: str, data: bytes, mime: str = "text/markdown") -> dict:
    r = client.post("/v1/documents", files=[("files", (name, data, mime))])
    assert r.status_code == 202, r.text
    job = wait_job(client, r.json()["job_id"])
    assert job["status"] == "succeeded", job
    return job


def _no_secret(text: str) -> None:
    for w in SECRET_WORDS:
        assert w not in text, f"alpha's {w!r} reached beta: {text[:400]}"


@pytest.fixture(scope="module", params=BACKENDS)
def teams(request, tmp_path_factory):
    """Every test runs on the embedded store and on PostgreSQL + a Chroma server (workspaces as schemas)."""
    root = tmp_path_factory.mktemp("workspaces")
    srv = LiveServer("workspaces", root / "home", api_keys=f"{ALPHA}:alpha,{BETA}:beta,{PLAIN}",
                     rate_limit_per_minute=100000, **backend_overrides(request, request.param))
    alpha, beta, plain = srv.client(ALPHA), srv.client(BETA), srv.client(PLAIN)
    state = {"srv": srv, "alpha": alpha, "beta": beta, "plain": plain}

    state["beta_job"] = _upload(beta, "halvorsen.md", BETA_DOC.encode())
    # Beta's search before alpha has any documents: the same query must score the same afterwards.
    state["beta_before"] = beta.get("/v1/search", params={"q": QUESTION, "k": 10}).json()

    state["alpha_job"] = _upload(alpha, "corvane.md", ALPHA_DOC.encode())
    lists = xml_slice(CONSOLIDATED, root / "consolidated_slice.xml", {"33114"}, extra=3)
    _upload(alpha, "consolidated_slice.xml", lists.read_bytes(), "application/xml")
    state["alpha_docs"] = {d["doc_id"] for d in alpha.get("/v1/documents", params={"limit": 1000}).json()["documents"]}
    yield state
    for c in (alpha, beta, plain):
        c.close()
    srv.stop()


def test_each_team_sees_its_own_documents(teams):
    alpha, beta, plain = teams["alpha"], teams["beta"], teams["plain"]
    alpha_docs = teams["alpha_docs"]
    beta_docs = {d["doc_id"] for d in beta.get("/v1/documents", params={"limit": 1000}).json()["documents"]}
    assert len(alpha_docs) >= 5 and len(beta_docs) == 1 and not alpha_docs & beta_docs
    assert plain.get("/v1/documents").json()["total"] == 0  # the default workspace is a third one

    corvane = next(iter(d["doc_id"] for d in alpha.get("/v1/documents", params={"source": "upload:corvane.md"})
                        .json()["documents"]))
    assert alpha.get(f"/v1/documents/{corvane}").status_code == 200
    assert beta.get(f"/v1/documents/{corvane}").status_code == 404
    assert beta.delete(f"/v1/documents/{corvane}").status_code == 404
    assert alpha.get(f"/v1/documents/{corvane}").status_code == 200  # still there


def test_search_results_and_scores_do_not_depend_on_other_workspaces(teams):
    beta, alpha = teams["beta"], teams["alpha"]
    after = beta.get("/v1/search", params={"q": QUESTION, "k": 10}).json()
    assert [(r["chunk_id"], r["score"]) for r in after["results"]] == \
        [(r["chunk_id"], r["score"]) for r in teams["beta_before"]["results"]]
    assert not {r["doc_id"] for r in after["results"]} & teams["alpha_docs"]
    for mode in ("keyword", "dense", "hybrid"):
        res = beta.get("/v1/search", params={"q": "Silver Orrery Harrowgate Quay", "mode": mode}).json()
        for r in res["results"]:
            _no_secret(r["text"])
    # Alpha, asking the same, finds its passage.
    res = alpha.get("/v1/search", params={"q": QUESTION, "k": 3}).json()
    assert any("Silver Orrery" in r["text"] for r in res["results"])


def test_ask_and_openai_endpoint_answer_from_the_callers_workspace_only(teams):
    alpha, beta = teams["alpha"], teams["beta"]
    a = alpha.post("/v1/ask", json={"question": QUESTION}).json()
    assert not a["refused"] and "Silver Orrery" in a["answer"], a
    b = beta.post("/v1/ask", json={"question": QUESTION}).json()
    _no_secret(b["answer"])
    assert not {c["doc_id"] for c in b["citations"]} & teams["alpha_docs"]
    for c in b["citations"]:
        _no_secret(c["quote"])

    body = {"model": "regbrief", "messages": [{"role": "user", "content": QUESTION}]}
    r = beta.post("/v1/chat/completions", json=body)
    assert r.status_code == 200, r.text
    _no_secret(r.text)
    r = alpha.post("/v1/chat/completions", json=body)
    assert "Silver Orrery" in r.json()["choices"][0]["message"]["content"]
    with beta.stream("POST", "/v1/chat/completions", json={**body, "stream": True}) as resp:
        _no_secret("".join(resp.iter_text()))


def test_chat_history_is_private(teams):
    alpha, beta = teams["alpha"], teams["beta"]
    first = alpha.post("/v1/chat", json={"message": "What did Corvane Maritime Trading charter?"}).json()
    conv = first["conversation_id"]
    alpha_ids = {h["id"] for h in alpha.get("/v1/history", params={"limit": 200}).json()["items"]}
    assert first["id"] in alpha_ids and "Silver Orrery" in first["answer"]

    # Beta reuses alpha's conversation id: beta has no such conversation (404), nothing of alpha's shows.
    r = beta.post("/v1/chat", json={"message": "Where did that tanker load cargo?", "conversation_id": conv})
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found", r.text
    _no_secret(r.text)
    assert beta.get(f"/v1/conversations/{conv}").status_code == 404
    assert conv not in [c["conversation_id"] for c in beta.get("/v1/conversations").json()["conversations"]]
    assert conv in [c["conversation_id"] for c in alpha.get("/v1/conversations").json()["conversations"]]

    beta_ids = {h["id"] for h in beta.get("/v1/history", params={"limit": 200}).json()["items"]}
    assert not alpha_ids & beta_ids
    assert beta.get(f"/v1/history/{first['id']}").status_code == 404


def test_jobs_briefings_and_watchlist_are_private(teams):
    alpha, beta = teams["alpha"], teams["beta"]
    alpha_job = teams["alpha_job"]["id"]
    assert alpha.get(f"/v1/jobs/{alpha_job}").status_code == 200
    assert beta.get(f"/v1/jobs/{alpha_job}").status_code == 404
    assert alpha_job not in {j["id"] for j in beta.get("/v1/jobs").json()["jobs"]}

    r = alpha.post("/v1/briefings", json={"entity": "Corvane Maritime Trading LLC"})
    assert r.status_code == 202, r.text
    job = wait_job(alpha, r.json()["job_id"])
    assert job["status"] == "succeeded", job
    bid = job["result"]["briefing_id"]
    assert alpha.get(f"/v1/briefings/{bid}").status_code == 200
    assert beta.get(f"/v1/briefings/{bid}").status_code == 404
    assert bid not in {b["id"] for b in beta.get("/v1/briefings").json()["briefings"]}

    r = alpha.post("/v1/watchlist", json={"name": "Corvane Maritime Trading LLC", "brief_now": False})
    assert r.status_code in (200, 201), r.text
    assert [e["name"] for e in alpha.get("/v1/watchlist").json()["entities"]] == ["Corvane Maritime Trading LLC"]
    assert beta.get("/v1/watchlist").json()["entities"] == []


def test_screening_and_entities_see_only_the_callers_lists(teams):
    alpha, beta = teams["alpha"], teams["beta"]
    names = {"names": ["SenseTime Group Limited"]}
    hits = alpha.post("/v1/screen", json=names).json()["results"][0]["matches"]
    assert hits and hits[0]["match"] and "SENSETIME" in hits[0]["name"].upper()
    assert beta.post("/v1/screen", json=names).json()["results"][0]["matches"] == []
    assert beta.get(f"/v1/entities/{hits[0]['entity_id']}").status_code == 404


def test_wrong_or_missing_key_is_refused(teams):
    srv = teams["srv"]
    with srv.client("alpha") as c:  # a workspace name is not a key
        assert c.get("/v1/documents").status_code == 401
    with srv.client() as c:
        assert c.get("/v1/search", params={"q": "Corvane"}).status_code == 401


def test_cli_uses_the_same_workspace_store(teams, monkeypatch, capsys):
    import json

    from api import cli
    from rag.core.settings import get_settings

    srv = teams["srv"]
    monkeypatch.setenv("REGBRIEF_HOME", str(srv.home))
    for var, value in (("REGBRIEF_DATABASE_URL", srv.settings.database_url),
                       ("REGBRIEF_CHROMA_URL", srv.settings.chroma_url), ("REGBRIEF_COLLECTION", srv.settings.collection)):
        if value:
            monkeypatch.setenv(var, value)
    get_settings.cache_clear()
    try:
        assert cli.main(["search", "--workspace", "alpha", "--json", "Silver Orrery tanker charter"]) == 0
        res = json.loads(capsys.readouterr().out)
        assert any("Silver Orrery" in r["text"] for r in res["results"])
        assert cli.main(["search", "--workspace", "beta", "--json", "Silver Orrery tanker charter"]) == 0
        for r in json.loads(capsys.readouterr().out)["results"]:
            _no_secret(r["text"])
        with pytest.raises(SystemExit):
            cli.main(["search", "--workspace", "../alpha", "x"])
        assert "invalid workspace name" in capsys.readouterr().err
    finally:
        get_settings.cache_clear()


def test_bad_key_configuration_stops_the_server_at_start(tmp_path):
    from api.app import create_app
    from rag.core.settings import Settings

    with pytest.raises(ValueError, match="REGBRIEF_API_KEYS: invalid workspace name 'Team A'"):
        create_app(Settings(home=tmp_path, api_keys="k1:Team A"), warm=False)
