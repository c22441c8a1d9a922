"""Screening records through every way in: a file of names screened over real HTTP (uvicorn), its record
retrieved by id and printed, exported as CSV, decisions on its hits kept with the analyst's key (its hash,
never the key); bad files refused naming file, row and column; the CLI (`screen --file`, `screening show`)
and MCP (`screen` with per-query details, `screening`) giving the same records."""
from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys

import anyio
import pytest

from api.keys import key_id
from tests.conftest import DEMO, ROOT
from tests.test_api import LiveServer

pytestmark = pytest.mark.slow

KEY, OTHER, ELSEWHERE = "screen-analyst-a1", "screen-analyst-b2", "screen-analyst-c3"
SENSETIME = "ofac-ns-cmic-extract"  # the NS-CMIC demo list's entries' doc ids start with its file's name
NAMES_CSV = ("name,type,birth_date,country,identifiers,customer_ref\n"
             "SenseTime,company,,,,C-001\n"
             "\"Wiley, Jonas\",person,1970,,,C-002\n"
             "Shenzhen DJI Sciences and Technologies,company,,,,C-003\n")


@pytest.fixture(scope="module")
def server(tmp_path_factory, embedder):
    srv = LiveServer("screenings", tmp_path_factory.mktemp("screenings") / "home", api_keys=f"{KEY},{OTHER},{ELSEWHERE}:elsewhere",
                     rate_limit_per_minute=100000)
    assert srv.rb.ingest([DEMO / "lists"]).ok
    yield srv
    srv.stop()


def upload(c, name: str, body: bytes, **form):
    return c.post("/v1/screenings", files={"file": (name, body, "text/csv")}, data=form)


def test_a_file_is_screened_recorded_decided_and_exported(server):
    with server.client(KEY) as c:
        r = upload(c, "customers.csv", NAMES_CSV.encode())
        assert r.status_code == 201, r.text
        rec = r.json()
        # the screening contract, in file order, plus the record's proof
        assert [x["query"] for x in rec["results"]] == ["SenseTime", "Wiley, Jonas",
                                                         "Shenzhen DJI Sciences and Technologies"]
        hit = next(m for m in rec["results"][0]["matches"] if m["match"])
        assert hit["name"] == "SENSETIME GROUP LIMITED" and hit["explanation"]
        assert rec["input"]["name"] == "customers.csv" and rec["input"]["rows"] == 3
        assert len(rec["input"]["sha256"]) == 64
        assert rec["analyst"] == key_id(KEY) and KEY not in r.text
        assert rec["queries"][1]["schema"] == "person" and rec["queries"][1]["birth_date"] == "1970"
        assert rec["references"][2] == {"customer_ref": "C-003"}  # the file's own columns are kept
        versions = {v["list"]: v for v in rec["list_versions"]}
        assert versions["NS-CMIC"]["published"] == "2025-06-30" and len(versions["NS-CMIC"]["content_hash"]) == 64
        assert versions["NS-CMIC"]["files"][0]["source"] == "ofac_ns_cmic_extract.xml"
        assert len(versions["NS-CMIC"]["files"][0]["sha256"]) == 64
        assert "/" not in json.dumps(versions["NS-CMIC"]["files"])  # file names, never server paths

        got = c.get(f"/v1/screenings/{rec['id']}").json()
        assert got["digest"] == rec["digest"] and got["results"] == rec["results"] and got["decisions"] == []

        # decisions: recorded with the caller's key hash; a later one on the same hit is current, both kept
        d = c.post(f"/v1/screenings/{rec['id']}/decisions", json={
            "query_index": 0, "entity_id": hit["entity_id"], "decision": "needs_review", "note": "check the HK entity"})
        assert d.status_code == 201, d.text
        assert d.json()["analyst"] == key_id(KEY)
    with server.client(OTHER) as c:
        d2 = c.post(f"/v1/screenings/{rec['id']}/decisions", json={
            "query_index": 0, "entity_id": hit["entity_id"], "decision": "true_match", "note": "same entity"})
        assert d2.status_code == 201 and d2.json()["analyst"] == key_id(OTHER)
        bad = c.post(f"/v1/screenings/{rec['id']}/decisions", json={
            "query_index": 1, "entity_id": hit["entity_id"], "decision": "true_match"})
        assert bad.status_code == 422 and "entity_id" in bad.json()["error"]["message"]
        assert c.post("/v1/screenings/scr_nope/decisions", json={
            "query_index": 0, "entity_id": "x", "decision": "true_match"}).status_code == 404

        got = c.get(f"/v1/screenings/{rec['id']}").json()
        assert [x["decision"] for x in got["decisions"]] == ["needs_review", "true_match"]
        assert got["digest"] == rec["digest"]  # decisions do not change what was screened

        rows = list(csv.DictReader(io.StringIO(c.get(f"/v1/screenings/{rec['id']}", params={"format": "csv"}).text)))
        assert {r["query"] for r in rows} == {"SenseTime", "Wiley, Jonas", "Shenzhen DJI Sciences and Technologies"}
        row = next(r for r in rows if r["entity_id"] == hit["entity_id"])
        assert row["decision"] == "true match" and row["note"] == "same entity" and row["customer_ref"] == "C-001"

        page = c.get(f"/v1/screenings/{rec['id']}", params={"format": "html"})
        assert page.headers["content-type"].startswith("text/html")
        for text in (rec["id"], "customers.csv", rec["input"]["sha256"], "NS-CMIC", "2025-06-30",
                     versions["NS-CMIC"]["content_hash"], "SENSETIME GROUP LIMITED", "true match", "same entity"):
            assert text in page.text
        assert rec["id"] in {s["id"] for s in c.get("/v1/screenings").json()["screenings"]}
    with server.client(ELSEWHERE) as c:  # another workspace's key sees none of it
        assert c.get(f"/v1/screenings/{rec['id']}").status_code == 404
        assert c.get("/v1/screenings").json()["screenings"] == []
        assert c.post(f"/v1/screenings/{rec['id']}/decisions", json={
            "query_index": 0, "entity_id": hit["entity_id"], "decision": "true_match"}).status_code == 404


def test_bad_files_are_refused_naming_file_row_and_column(server):
    with server.client(KEY) as c:
        before = len(c.get("/v1/screenings").json()["screenings"])
        r = upload(c, "people.csv", b"name,birth_date,type\nAda Lovelace,1815-12-10,person\n,1990,person\n"
                                    b"Bob,1990-14-01,bank\n")
        assert r.status_code == 422
        msg = r.json()["error"]["message"]
        assert "people.csv, row 3, column 'name'" in msg
        assert "people.csv, row 4, column 'birth_date'" in msg and "people.csv, row 4, column 'type'" in msg
        r = upload(c, "ids.csv", b"customer,country\nAcme,DE\n")
        assert r.status_code == 422 and "ids.csv, row 1: no 'name' column" in r.json()["error"]["message"]
        r = upload(c, "latin.txt", "Société Générale\n".encode("latin-1"))
        assert r.status_code == 422 and "latin.txt, row 1: not UTF-8" in r.json()["error"]["message"]
        assert len(c.get("/v1/screenings").json()["screenings"]) == before  # nothing half-recorded

        # plain text, one name per line, and JSON requests with per-query details
        r = upload(c, "names.txt", "SenseTime\n\nJapan Computer Vision\n".encode(), threshold="0.8")
        assert r.status_code == 201 and [x["query"] for x in r.json()["results"]] == ["SenseTime", "Japan Computer Vision"]
        assert r.json()["threshold"] == 0.8 and r.json()["input"]["format"] == "text"
        r = c.post("/v1/screenings", json={"queries": [{"name": "SenseTime", "schema": "company", "country": "CN"}],
                                           "label": "onboarding batch 7"})
        assert r.status_code == 201 and r.json()["input"]["name"] == "onboarding batch 7"
        assert r.json()["queries"][0]["country"] == "CN"


def test_cli_screens_a_file_and_shows_the_record(server, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGBRIEF_")}
    env["REGBRIEF_HOME"] = str(server.home)
    names = tmp_path / "names.csv"
    names.write_text(NAMES_CSV, encoding="utf-8")

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "api.cli", *args], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=300)

    r = cli("screen", "--file", str(names), "--json")
    assert r.returncode == 0, r.stderr
    rec = json.loads(r.stdout)
    assert rec["id"].startswith("scr_") and rec["input"]["name"] == "names.csv"
    assert any(m["match"] for m in rec["results"][0]["matches"])
    entity = next(m["entity_id"] for m in rec["results"][0]["matches"] if m["match"])
    r = cli("screening", "decide", rec["id"], "1", entity, "false-positive", "--note", "different party")
    assert r.returncode == 0, r.stderr
    shown = cli("screening", "show", rec["id"])
    assert rec["id"] in shown.stdout and "false positive" in shown.stdout and "different party" in shown.stdout
    assert json.loads(cli("screening", "show", rec["id"], "--json").stdout)["digest"] == rec["digest"]
    with server.client(KEY) as c:  # the same record over HTTP
        assert c.get(f"/v1/screenings/{rec['id']}").json()["decisions"][0]["decision"] == "false_positive"
    bad = tmp_path / "bad.csv"
    bad.write_text("name,country\n\"Acme\",DE,extra\n", encoding="utf-8")
    r = cli("screen", "--file", str(bad))
    assert r.returncode == 2 and "bad.csv, row 2" in r.stderr


def test_mcp_screen_takes_the_same_details_as_http(server):
    import httpx2
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    queries = [{"name": "Sensetime Group Ltd", "schema": "company", "identifiers": ["91110108MA00PXXX"]},
               {"name": "Wiley, Jonas", "schema": "person", "birth_date": "1970"}]
    with server.client(KEY) as c:
        rec = upload(c, "one.txt", b"SenseTime\n").json()

    async def run():
        client = httpx2.AsyncClient(headers={"Authorization": f"Bearer {KEY}"}, timeout=120)
        async with client, streamable_http_client(server.url + "/mcp", http_client=client) as (read, write), \
                ClientSession(read, write) as session:
            await session.initialize()
            a = await session.call_tool("screen", {"queries": queries, "names": ["Toyota"]})
            b = await session.call_tool("screening", {"screening_id": rec["id"]})
            bad = await session.call_tool("screen", {"queries": [{"name": "X", "schema": "bank"}]})
            return a, b, bad

    a, b, bad = anyio.run(run)
    assert not a.is_error and not b.is_error
    with server.client(KEY) as c:
        http = c.post("/v1/screen", json={"names": ["Toyota"], "queries": queries}).json()
        assert a.structured_content == http
        assert b.structured_content["digest"] == rec["digest"]
    assert bad.is_error and "queries.0.schema" in bad.content[0].text
