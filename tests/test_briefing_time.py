"""Briefings that hold over time, through real HTTP (uvicorn on a free port, a real store): after a later
note saying SoftBank no longer holds a stake in SenseTime is uploaded, the regenerated SoftBank briefing
shows the stake as ended with both citations, stops counting it in the rating's reasons, and the
comparison of the two briefings says so; the CLI prints the same comparison."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import DEMO
from tests.test_api import LiveServer, wait_job

ROOT = Path(__file__).resolve().parents[1]
NOTE = ROOT / "tests" / "fixtures" / "briefings" / "2026-03-02_softbank_exits_sensetime.md"
ARTICLES = ["2021-12-16_softbank_jcv_sensetime_face_payments.md", "2022-07-08_softbank_jcv_sensetime_mastercard_visa.md",
            "2025-06-30_ofac_faq_857_ns_cmic_subsidiaries.md"]


@pytest.fixture(scope="module")
def server(tmp_path_factory, embedder):
    srv = LiveServer("briefing-time", tmp_path_factory.mktemp("briefing-time") / "home",
                     rate_limit_per_minute=100000)
    report = srv.rb.ingestor.ingest([DEMO / "articles" / a for a in ARTICLES] + [DEMO / "lists"])
    assert report.ok, report.to_dict()
    yield srv
    srv.stop()


def _brief(client, entity: str, **extra) -> dict:
    r = client.post("/v1/briefings", json={"entity": entity, **extra})
    assert r.status_code == 202, r.text
    job = wait_job(client, r.json()["job_id"])
    assert job["status"] == "succeeded", job
    return client.get(f"/v1/briefings/{job['result']['briefing_id']}").json()


def test_a_later_note_ends_the_stake_with_both_citations_and_the_comparison_says_so(server):
    client = server.client()
    before = _brief(client, "SoftBank")
    stake = next(x for x in before["exposure"] if x["percentage"] == "14.9")
    assert stake["status"] == "current" and stake["stated_on"] == "2021-12-16"

    r = client.post("/v1/documents", files=[("files", (NOTE.name, NOTE.read_bytes(), "text/markdown"))])
    assert r.status_code == 202, r.text
    assert wait_job(client, r.json()["job_id"])["status"] == "succeeded"

    after = _brief(client, "SoftBank")
    by_n = {c["n"]: c for c in after["citations"]}
    stake = next(x for x in after["exposure"] if x["percentage"] == "14.9")
    assert stake["status"] == "ended" and stake["ended_on"] == "2026-03-02"
    assert stake["citations"] and stake["ended_citations"]  # both: the statement and the end
    assert "14.9 percent" in by_n[stake["citations"][0]]["quote"]
    assert "no longer holds a stake" in by_n[stake["ended_citations"][0]]["quote"]
    assert by_n[stake["ended_citations"][0]]["date"] == "2026-03-02"
    # every SoftBank -> SenseTime holding ended; the rating's reasons count only current links
    assert all(x["status"] == "ended" for x in after["exposure"]
               if x["relation"] == "ownership" and x["party"] == "SENSETIME GROUP LIMITED" and not x["via"])
    risk = next(s for s in after["sections"] if s["title"] == "Risk assessment")
    notes = " ".join(s["text"] for s in risk["sentences"] if s["kind"] == "note")
    assert "later source says ended are not counted" in notes and "SoftBank Vision Fund - SENSETIME" in notes
    md = client.get(f"/v1/briefings/{after['id']}", params={"format": "md"}).text
    assert "shareholder (14.9%) of SENSETIME GROUP LIMITED (listed: NS-CMIC) · ended (a source of 2 March 2026" in md
    timeline = next(s for s in after["sections"] if s["title"] == "Timeline")
    assert any(s["date"] == "2026-03-02" and "no longer" in s["text"] for s in timeline["sentences"])

    cmp = client.get(f"/v1/briefings/{before['id']}/compare/{after['id']}")
    assert cmp.status_code == 200, cmp.text
    changes = cmp.json()["changes"]
    ended = [c for c in changes if c["kind"] == "ended" and c["what"] == "relation"]
    assert any("14.9%" in c["text"] and "no longer holds a stake" in c["text"] for c in ended), changes
    assert not [c for c in changes if c["kind"] == "added" and "14.9" in c["text"]]
    # the other way round is the same comparison (older first)
    assert client.get(f"/v1/briefings/{after['id']}/compare/{before['id']}").json()["changes"] == changes
    assert client.get(f"/v1/briefings/{after['id']}/compare/nope").status_code == 404

    other = _brief(client, "SenseTime")
    r = client.get(f"/v1/briefings/{after['id']}/compare/{other['id']}")
    assert r.status_code == 422 and "different subjects" in r.text

    # as of a day before the note, the stake is current again
    past = _brief(client, "SoftBank", as_of="2025-12-31")
    assert next(x for x in past["exposure"] if x["percentage"] == "14.9")["status"] == "current"

    # the CLI prints the same comparison
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGBRIEF_")}
    env["REGBRIEF_HOME"] = str(server.home)
    out = subprocess.run([sys.executable, "-m", "api.cli", "compare", before["id"], after["id"]], cwd=ROOT,
                         capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "ended relation" in out.stdout and "14.9%" in out.stdout


def test_the_50_percent_rule_computed_in_briefings_through_http(server):
    """Two fictional SDN entries (a list fixture) and a fictional register note: Vorlane (SDN) 30% and
    Kestrel Bay (SDN) 25% of Halvorsen Optics, which owns 60% of Brightwater Lens; Vorlane 20% and Kestrel
    Bay a share of unknown size of Sorrel Marine."""
    client = server.client()
    fixtures = ROOT / "tests" / "fixtures" / "briefings"
    files = [fixtures / "sdn_2026-04-01.csv", fixtures / "2026-04-10_halvorsen_ownership.md",
             DEMO / "articles" / "2014-08-13_ofac_50_percent_rule.md"]
    r = client.post("/v1/documents", files=[("files", (p.name, p.read_bytes(), "text/plain")) for p in files])
    assert r.status_code == 202, r.text
    assert wait_job(client, r.json()["job_id"])["status"] == "succeeded"

    b = _brief(client, "Brightwater Lens Company")
    assert b["rating"] == "high"
    by_n = {c["n"]: c for c in b["citations"]}
    found = {f["entity"]: f for f in b["ownership"]}
    bright, halv = found["Brightwater Lens Company"], found["Halvorsen Optics Ltd."]
    assert bright["status"] == halv["status"] == "blocked"
    assert halv["total"] == 55 and {c["percentage"] for c in halv["contributions"]} == {30, 25}
    assert [(h["owner"], h["asset"], h["percentage"]) for h in bright["path"]] == [
        ("Vorlane Holdings Ltd.", "Halvorsen Optics Ltd.", 30), ("Halvorsen Optics Ltd.", "Brightwater Lens Company", 60)]
    quotes = {by_n[n]["quote"] for n in bright["citations"]}
    assert "Halvorsen Optics Ltd. owns 60 percent of Brightwater Lens Company." in quotes
    assert "Vorlane Holdings Ltd. owns 30 percent of Halvorsen Optics Ltd." in quotes
    section = next(s for s in b["sections"] if s["title"] == "Ownership and the 50 percent rule")
    assert any("55% in total" in s["text"] and s["citations"] for s in section["sentences"])
    sdn = next(r for r in b["rules"] if r["list"] == "SDN")
    assert sdn["effect_kind"] == "blocking" and sdn["citations"]

    s = _brief(client, "Sorrel Marine")
    (f,) = [f for f in s["ownership"] if f["entity"] == "Sorrel Marine Ltd."]
    assert f["status"] == "undetermined" and f["total"] == 20
    assert [u["owner"] for u in f["unknown"]] == ["Kestrel Bay Trading LLC"] and f["unknown"][0]["percentage"] is None
    assert s["rating"] != "high"
    assert "not assumed" in f["sentence"]


def test_as_of_briefing_through_http_uses_what_was_dated_by_that_day(server):
    client = server.client()
    doc = DEMO / "articles" / "2019-10-07_entity_list_iflytek_dahua.md"
    r = client.post("/v1/documents", files=[("files", (doc.name, doc.read_bytes(), "text/markdown"))])
    assert r.status_code == 202 and wait_job(client, r.json()["job_id"])["status"] == "succeeded"
    b = _brief(client, "SenseTime", as_of="2021-12-01")
    assert b["rating"] == "medium" and b["as_of"] == "2021-12-01"
    timeline = next(s for s in b["sections"] if s["title"] == "Timeline")["sentences"]
    assert any(s["date"] == "2019-10-07" and "Entity List" in s["text"] and s["citations"] for s in timeline)
    assert all(c["date"] is None or c["date"] <= "2021-12-01" for c in b["citations"])
    rule = next(r for r in b["rules"] if r["list"] == "Entity List")
    assert rule["effect_kind"] == "export" and rule["citations"]
    risk = next(s for s in b["sections"] if s["title"] == "Risk assessment")["sentences"]
    assert any("Entity List" in s["text"] and "licence" in s["text"] for s in risk if s["kind"] == "fact")

