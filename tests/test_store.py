"""Ingest, store and retrieval on real files: idempotency, change, removal, crash safety, server mode,
filters, name spelling and bad input."""
from __future__ import annotations

import datetime as dt
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rag.core.models import Filters
from ingest.pipeline import source_key
from tests.conftest import BACKENDS, CONSOLIDATED_XML, DATA, DEMO, ROOT, backend_overrides, make_rb

REGBRIEF = [sys.executable, "-m", "api.cli"]


def run_cli(args, home: Path, **env):
    e = {**os.environ, "REGBRIEF_HOME": str(home), **env}
    return subprocess.run([*REGBRIEF, *args], cwd=ROOT, env=e, capture_output=True, text=True, timeout=600)


def stats(rb):
    s = rb.store.stats()
    return s["documents"], s["chunks"], rb.store.vectors.count()


@pytest.fixture(params=BACKENDS)
def rb(request, tmp_path, embedder):
    """An empty store, embedded (SQLite + embedded Chroma) and on PostgreSQL + a Chroma server."""
    return make_rb(tmp_path / "home", **backend_overrides(request, request.param))


@pytest.fixture
def xml_rb(rb):
    report = rb.ingestor.ingest([CONSOLIDATED_XML])
    assert report.ok
    return rb


def test_consolidated_list_is_one_chunk_per_entry_and_searchable_by_any_spelling(xml_rb):
    docs, chunks, vectors = stats(xml_rb)
    assert docs == chunks == vectors == 443
    for query in ["Sensetime", "SenseTime Group Ltd", "SENSETIME GROUP LIMITED", "sensetime group"]:
        top = xml_rb.search(query, k=3).results[0]
        assert top.metadata["uid"] == "33114", query
        assert "CMIC-EO13959" in top.metadata["programs"]
        assert top.date == dt.date(2021, 12, 10)
    assert xml_rb.store.check()["ok"]


def test_reingest_unchanged_adds_and_embeds_nothing(xml_rb):
    before = stats(xml_rb)
    report = xml_rb.ingestor.ingest([CONSOLIDATED_XML])
    t = report.totals()
    assert (t["added"], t["updated"], t["chunks"], t["unchanged"]) == (0, 0, 0, 443)
    assert report.files[0].status == "unchanged"
    assert stats(xml_rb) == before


def test_changed_file_replaces_exactly_its_own_chunks(rb, tmp_path):
    art = tmp_path / "note.md"
    art.write_text("---\ntitle: Test note\ndate: 2022-01-05\n---\nAcme Widgets Ltd supplies sprockets to Globex.\n"
                   "Globex is based in Springfield.\n", encoding="utf-8")
    other = tmp_path / "other.md"
    other.write_text("---\ntitle: Other\n---\nInitech makes staplers in Ohio.\n", encoding="utf-8")
    rb.ingestor.ingest([art, other])
    old = rb.store.documents(source=source_key(art))[0]
    art.write_text("---\ntitle: Test note\ndate: 2022-01-06\n---\nAcme Widgets Ltd now supplies gears to Hooli.\n",
                   encoding="utf-8")
    report = rb.ingestor.ingest([art, other])
    t = report.totals()
    assert (t["added"], t["updated"], t["unchanged"]) == (0, 1, 1)
    hits = rb.search("sprockets", k=5, mode="keyword").results
    assert not any("sprockets" in h.text for h in hits), "old chunk still searchable"
    assert any("gears" in h.text for h in rb.search("Acme gears Hooli", k=3).results)
    new = rb.store.document(old["doc_id"])
    assert new["date"] == "2022-01-06"
    check = rb.store.check()
    assert check["ok"] and check["chunks"] == check["vectors"]


def test_remove_by_source_removes_from_every_index(xml_rb):
    result = xml_rb.ingestor.remove(source=str(CONSOLIDATED_XML))
    assert len(result["removed_documents"]) == 443
    assert stats(xml_rb) == (0, 0, 0)
    assert xml_rb.search("SenseTime", k=5).results == []
    # and the file can come back in full
    assert xml_rb.ingestor.ingest([CONSOLIDATED_XML]).totals()["added"] == 443


def test_a_word_in_most_passages_neither_ranks_nor_makes_candidates(xml_rb):
    """"list" is in every entry of the consolidated list. BM25 gives a word in over half the passages no
    weight, so it is left out of the match (rag/store/registry.py, weighted_keywords), in SQLite and in
    PostgreSQL alike: the ranking is the rare word's, and passages holding only the common word are not
    candidates; alone, the common word still finds passages."""
    store = xml_rb.store
    n = store.stats()["chunks"]
    assert len(store.keyword_search("list", Filters(), n)) == n  # the common word alone: every passage
    rare = store.keyword_search("CMIC", Filters(), n)
    assert 0 < len(rare) < n / 2
    both = store.keyword_search("CMIC list", Filters(), n)
    assert [c for c, _ in both] == [c for c, _ in rare]
    assert all(abs(a[1] - b[1]) < 1e-5 for a, b in zip(both, rare))


@pytest.mark.e2e
def test_filters_apply_on_both_sides(rb):
    rb.ingestor.ingest([DEMO / "articles", CONSOLIDATED_XML])
    only_lists = rb.search("SenseTime facial recognition", k=10, filters=Filters(doc_type=["list_entry"]))
    assert only_lists.results and all(r.doc_type == "list_entry" for r in only_lists.results)
    articles = rb.search("SenseTime", k=10, filters=Filters(doc_type=["article"]))
    assert articles.results and all(r.doc_type == "article" for r in articles.results)
    window = rb.search("NS-CMIC listing", k=20, filters=Filters(since=dt.date(2021, 12, 1), until=dt.date(2021, 12, 31)))
    assert window.results
    assert all(dt.date(2021, 12, 1) <= r.date <= dt.date(2021, 12, 31) for r in window.results)
    eu = rb.search("SenseTime", k=10, filters=Filters(jurisdiction=["EU"]))
    assert all(r.jurisdiction == "EU" for r in eu.results)
    by_source = rb.search("SenseTime", k=10, filters=Filters(source="consolidated_nonSDN"))
    assert by_source.results and all("consolidated_nonSDN" in r.metadata["file"] for r in by_source.results)


def test_pdf_pages_are_kept_for_citations(rb, tmp_path):
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    for text in ["The first page is about export licences.", "Zorblax Industries was fined on the second page."]:
        page = writer.add_blank_page(612, 792)
        font = DictionaryObject({NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
                                 NameObject("/BaseFont"): NameObject("/Helvetica")})
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(font)})})
        stream = DecodedStreamObject()
        stream.set_data(f"BT /F1 12 Tf 72 700 Td ({text}) Tj ET".encode())
        page[NameObject("/Contents")] = writer._add_object(stream)
    pdf = tmp_path / "report.pdf"
    with open(pdf, "wb") as f:
        writer.write(f)
    assert rb.ingestor.ingest([pdf]).ok
    top = rb.search("Zorblax fined", k=1).results[0]
    assert top.metadata["page"] == 2


BAD_FILES = {
    "malformed.xml": b'<?xml version="1.0"?><sdnList><sdnEntry><uid>1</uid></sdnList>',
    "billion_laughs.xml": b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
                          b"<sdnList><sdnEntry><lastName>&lol2;</lastName></sdnEntry></sdnList>",
    "binary.txt": bytes(range(256)) * 8,
    "empty.md": b"",
    "latin1.txt": "Soci\u00e9t\u00e9 g\u00e9n\u00e9rale sanctions".encode("latin-1"),
    "truncated_sdn.csv": b'36,"AEROCARIBBEAN AIRLINES",-0- ,"CUBA",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \n'
                         b'173,"ANGLO-CARIBBEAN CO., LTD.",-0- ,"CUBA",-0- \n',
    "unknown.bin": b"\x00\x01\x02 not a known format",
}


def test_bad_files_get_clear_errors_and_leave_the_store_unchanged(xml_rb, tmp_path):
    before = stats(xml_rb)
    bad_dir = tmp_path / "bad"
    bad_dir.mkdir()
    for name, data in BAD_FILES.items():
        (bad_dir / name).write_bytes(data)
    big = bad_dir / "huge.txt"
    with open(big, "wb") as f:  # 50 MB of text in one "article": refused, not embedded for an hour
        f.write((b"Sanctions notice line with some words in it.\n") * (50 * 1024 * 1024 // 46))
    good = tmp_path / "good.md"
    good.write_text("---\ntitle: Good\n---\nQuuxcorp opened a new office in Lisbon.\n", encoding="utf-8")
    report = xml_rb.ingestor.ingest([bad_dir, good])
    by_name = {f.path.name: f for f in report.files}
    for name in [*BAD_FILES, "huge.txt"]:
        f = by_name[name]
        assert f.status == "failed", name
        assert name in f.error, f"error does not name the file: {f.error}"
    assert by_name["good.md"].status == "ingested"
    assert not report.ok
    assert "limit" in by_name["huge.txt"].error
    docs, chunks, vectors = stats(xml_rb)
    assert docs == before[0] + 1
    assert xml_rb.store.check()["ok"]


@pytest.mark.e2e
def test_cli_reports_failures_with_nonzero_exit_and_json_contract(tmp_path, embedder):
    home = tmp_path / "home"
    bad = tmp_path / "bad.xml"
    bad.write_bytes(BAD_FILES["malformed.xml"])
    res = run_cli(["ingest", "--quiet", str(DEMO / "lists"), str(bad)], home)
    assert res.returncode == 1
    assert "bad.xml" in res.stderr and "1 failed" in res.stdout
    res = run_cli(["search", "--json", "Sensetime", "--k", "3"], home)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["query"] == "Sensetime"
    first = out["results"][0]
    for key in ("chunk_id", "doc_id", "text", "score", "title", "source", "date", "doc_type", "metadata"):
        assert key in first
    assert first["metadata"]["uid"] == "33114"
    res = run_cli(["sources", "--json"], home)
    assert json.loads(res.stdout)["documents"] == 37


@pytest.mark.e2e
def test_killed_ingest_leaves_no_orphans_or_duplicates(tmp_path, embedder):
    """A real subprocess is SIGKILLed mid-ingest; the next run recovers and completes exactly."""
    src = DATA / "federal_register" / "fr_sanctions_export_controls_abstracts.jsonl"
    sliced = tmp_path / "fr_slice.jsonl"
    sliced.write_text("".join(src.read_text(encoding="utf-8").splitlines(keepends=True)[:400]), encoding="utf-8")
    home = tmp_path / "home"
    proc = subprocess.Popen([*REGBRIEF, "ingest", "--quiet", str(sliced)], cwd=ROOT,
                            # small batches, so the kill lands between two of them or inside one
                            env={**os.environ, "REGBRIEF_HOME": str(home), "REGBRIEF_INGEST_BATCH_CHUNKS": "50"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db = home / "regbrief.sqlite3"
    deadline = time.monotonic() + 240
    written = 0
    while time.monotonic() < deadline and proc.poll() is None:
        if db.exists():
            try:
                written = sqlite3.connect(db).execute("SELECT COUNT(*) FROM documents").fetchone()[0]
            except sqlite3.Error:
                written = 0
            if written > 0:
                break
        time.sleep(0.05)
    assert proc.poll() is None, "ingest finished before it could be killed; use a bigger slice"
    time.sleep(0.3)  # land somewhere inside a later batch
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert 0 < written < 400

    rb = make_rb(home)
    rb.store.recover()
    check = rb.store.check()
    assert check["ok"], check
    report = rb.ingestor.ingest([sliced])
    assert report.ok
    check = rb.store.check()
    assert check["ok"] and check["duplicate_chunks"] == 0
    assert rb.store.stats()["documents"] == 400


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.e2e
def test_server_mode_through_a_real_chroma_server(tmp_path, embedder):
    chroma = Path(sys.executable).parent / "chroma"
    port = _free_port()
    server = subprocess.Popen([str(chroma), "run", "--path", str(tmp_path / "chroma"), "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        rb = make_rb(tmp_path / "home", chroma_url=f"http://127.0.0.1:{port}", collection="server-test")
        from rag.store import wait_for

        wait_for(rb.store.vectors.ping, timeout=60)
        assert rb.ingestor.ingest([DEMO / "lists"]).ok
        assert rb.store.vectors.count() == 37
        assert not (tmp_path / "home" / "chroma").exists(), "server mode must not write an embedded store"
        top = rb.search("Sensetime", k=1).results[0]
        assert top.metadata["uid"] == "33114"
        assert rb.store.check()["ok"]
    finally:
        server.terminate()
        server.wait(timeout=30)
