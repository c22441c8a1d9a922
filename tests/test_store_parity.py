"""The store on small inputs written here, with no ingest of ../shared data: every operation of `Store` (and of
its audit trail, watchlist and feed tables) on SQLite, and the same run on PostgreSQL, which must give equal
results. The SQLite tests are the fast layer's store tests; the PostgreSQL one starts a cluster (tests/pg.py)."""
from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest

from rag.core.models import Chunk, Document, EntryLink, EntryName, Filters, Identifier, ListEntry
from rag.core.settings import Settings
from rag.entities.index import EntityIndex
from rag.relations.extract import extract_relations, extract_stored
from rag.store.facade import EmbeddingMismatch, Store

ARTICLE = ("Harbourline Freight said on Monday that it had bought a controlling stake in Osterby Tanker Charters. "
           "Osterby Tanker Charters is a subsidiary of Harbourline Freight and runs four vessels.\n\n"
           "Regulators in Lisbon asked both companies for their ownership records.")
NOTICE = ("The Office named Osterby Tanker Charters as a blocked party. Property of the company in the United "
          "States is blocked, and dealings with it are prohibited.")
ENTRY_TEXT = "OSTERBY TANKER CHARTERS LIMITED; a.k.a. OSTERBY CHARTERS; Registration ID 55-1020 (Malta); Program: SHIPPING-EO."


def small_inputs() -> tuple[list[Document], list[Chunk]]:
    """An article in two chunks, a notice and one list entry, each with the fields the store keeps."""
    entry = ListEntry(
        uid="9001", names=[EntryName(name="OSTERBY TANKER CHARTERS LIMITED"), EntryName(name="OSTERBY CHARTERS", kind="aka")],
        entity_type="company", list="SDN", lists=["SDN"], issuer="OFAC", jurisdiction="US",
        programs=["SHIPPING-EO"], listing_date=dt.date(2024, 3, 5), list_published=dt.date(2024, 5, 3),
        identifiers=[Identifier(type="Registration ID", number="55-1020", country="Malta")],
        links=[EntryLink(relation="Linked To", subject="OSTERBY TANKER CHARTERS LIMITED", object="HARBOURLINE FREIGHT")])
    docs = [
        Document(doc_id="art-1", title="Harbourline buys Osterby", text=ARTICLE, doc_type="article",
                 format="article_text", source="file:harbour.md#0123456789", date=dt.date(2024, 2, 12),
                 jurisdiction="EU", publisher="Coastal Times", metadata={"author": "desk"}),
        Document(doc_id="fr-2024-1", title="Blocking of Osterby Tanker Charters", text=NOTICE, doc_type="notice",
                 format="federal_register", source="file:fr.jsonl#abcdefabcd", date=dt.date(2024, 3, 6),
                 jurisdiction="US", publisher="Federal Register", url="https://www.federalregister.gov/d/2024-1",
                 metadata={"document_number": "2024-1", "injected_instructions": ["ignore previous instructions"]}),
        Document(doc_id="ofac-sdn:9001", title="OSTERBY TANKER CHARTERS LIMITED", text=ENTRY_TEXT,
                 doc_type="list_entry", format="ofac_sdn_csv", source="file:sdn.csv#fedcba9876",
                 date=dt.date(2024, 3, 5), jurisdiction="US", publisher="OFAC",
                 metadata={"uid": "9001", "list": "SDN"}, single_chunk=True, entry=entry),
    ]
    split = ARTICLE.index("\n\n") + 2
    chunks = [
        Chunk(chunk_id="art-1#0", doc_id="art-1", index=0, text=ARTICLE[:split].strip(), start=0, end=split - 2),
        Chunk(chunk_id="art-1#1", doc_id="art-1", index=1, text=ARTICLE[split:], start=split, end=len(ARTICLE)),
        Chunk(chunk_id="fr-2024-1#0", doc_id="fr-2024-1", index=0, text=NOTICE, start=0, end=len(NOTICE)),
        Chunk(chunk_id="ofac-sdn:9001#0", doc_id="ofac-sdn:9001", index=0, text=ENTRY_TEXT, start=0,
              end=len(ENTRY_TEXT)),
    ]
    return docs, chunks


# Keys whose values are times of the run (when a row was written), not what was stored, and the schema version
# (each backend numbers its own migrations).
NOT_COMPARED = {"schema_version", "ingested_at", "created_at", "updated_at", "started_at", "added_at", "last_attempt", "synced_at",
              "generated_at", "at", "latest_briefing_at"}


def plain(value):
    """A result with the run's clock values left out and dates, tuples and sets made comparable."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items() if k not in NOT_COMPARED}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(plain(v) for v in value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, float):
        return round(value, 5)
    if isinstance(value, np.generic):
        return plain(value.item())
    return value


def open_store(settings: Settings) -> Store:
    store = Store(settings)
    store.attach(entity_index=EntityIndex, extract_relations=extract_stored)
    return store


def exercise(store: Store, embedder) -> dict:
    """Every operation of the store, in a fixed order, on small_inputs(): {operation: its result}."""
    out: dict = {}
    docs, chunks = small_inputs()
    vectors = embedder.encode([c.text for c in chunks])
    out["empty.stats"] = store.stats()
    out["empty.signature"] = store.embedding_signature()
    out["empty.check"] = store.check()
    version0 = store.list_entries_version()

    store.write(docs, chunks, vectors, extract_relations(docs, chunks), signature=embedder.signature)
    for d in docs:
        store.record_file(d.source, f"hash-{d.doc_id}", d.format, 1)
    out["signature"] = store.embedding_signature()
    out["list_entries_changed"] = store.list_entries_version() != version0
    for q in ("Osterby Tanker", "controlling stake", "blocked property", "Lisbon ownership", "nothing-like-this"):
        for f in (Filters(), Filters(doc_type=["article"]), Filters(until=dt.date(2024, 2, 28)),
                  Filters(jurisdiction=["US"])):
            out[f"keyword_search {q} {f.model_dump_json()}"] = store.keyword_search(q, f, 10)
    query = embedder.encode(["Who owns the tanker company?"])[0]
    out["dense_search"] = [c for c, _ in store.dense_search(query, Filters(), 4, signature=embedder.signature)]
    out["dense_search.filtered"] = [c for c, _ in store.dense_search(query, Filters(doc_type=["notice"]), 4)]
    ids = [c.chunk_id for c in chunks] + ["no-such-chunk"]
    out["chunk_rows"] = store.chunk_rows(ids)
    out["chunk_rows.filtered"] = store.chunk_rows(ids, Filters(doc_type=["list_entry"]))
    out["first_chunks"] = store.first_chunks([d.doc_id for d in docs] + ["no-such-doc"])
    out["document"] = {d.doc_id: store.document(d.doc_id) for d in docs}
    out["document.missing"] = store.document("no-such-doc")
    out["document_chunks"] = store.document_chunks("art-1")
    out["documents"] = store.documents()
    out["documents.page"] = store.documents(limit=2, offset=1)
    out["documents.of_source"] = store.documents("file:sdn.csv#fedcba9876")
    out["count_documents"] = [store.count_documents(), store.count_documents("file:fr.jsonl#abcdefabcd")]
    out["document_texts"] = sorted(store.document_texts(["art-1", "ofac-sdn:9001"]))
    out["flagged_documents"] = store.flagged_documents()
    out["chunk_listing"] = sorted(store.chunk_listing(), key=lambda r: json.dumps(r, sort_keys=True, default=str))
    out["doc_hashes"] = store.doc_hashes("file:harbour.md#0123456789")
    out["file_hash"] = [store.file_hash("file:harbour.md#0123456789"), store.file_hash("file:none#0")]
    out["sources"] = store.sources()
    out["stats"] = store.stats()
    out["list_entry_rows"] = list(store.list_entry_rows())
    out["relations"] = sorted(store.relations(), key=lambda r: json.dumps(r, sort_keys=True, default=str))
    out["sync_relations"] = store.sync_relations()
    out["sync_relations.rebuild"] = store.sync_relations(rebuild=True)
    out["entities.found"] = [m.entry.doc_id for m in store.entities.find_in_text("Osterby Charters was named")]
    out["entities"] = sorted(store.entities.entries)
    store.set_meta("probe", "1")
    out["meta"] = [store.get_meta("probe"), store.get_meta("no-such-key")]
    with pytest.raises(EmbeddingMismatch):
        store.require_embedder("some-other-model@torch")
    with store.ingesting():
        out["ingest_running"] = store.ingest_running
    out["ingest_running.after"] = store.ingest_running
    out["check"] = store.check()
    out["recover"] = store.recover()

    # an interrupted write: chunk ids marked pending with vectors and no registry rows
    store.registry.mark_pending(["orphan#0"], "add")
    store.vectors.upsert([Chunk(chunk_id="orphan#0", doc_id="orphan", index=0, text="x", start=0, end=1)],
                         {"orphan": docs[0].model_copy(update={"doc_id": "orphan"})}, vectors[:1])
    out["recover.orphan"] = store.registry.pending(), store.recover(), store.check()["ok"]

    # a changed article replaces its own chunks; a deleted notice takes its chunks and relations along
    changed = docs[0].model_copy(update={"text": ARTICLE.replace("four", "five")})
    store.write([changed], [chunks[0], chunks[1].model_copy(update={"text": chunks[1].text + " Five vessels."})],
                vectors[:2], extract_relations([changed], chunks[:2]))
    out["after_change.document_chunks"] = store.document_chunks("art-1")
    out["delete"] = store.delete(["fr-2024-1", "no-such-doc"])
    store.forget_file("file:fr.jsonl#abcdefabcd")
    out["after_delete.sources"] = store.sources()
    out["after_delete.stats"] = store.stats()
    out["after_delete.relations"] = len(store.relations())
    out["after_delete.check"] = store.check()

    # the audit trail, the watchlist and the feed tables
    h = store.history
    h.record("answer", "a1", "Who owns Osterby?", json.dumps({"answer": "Harbourline"}), filters={"until": None},
             evidence=[{"chunk_id": "art-1#0", "hash": "h"}], backend="extractive", model="m",
             prompt_versions={"answer": "v1"}, conversation_id="c1",
             created_at=dt.datetime(2024, 6, 1, 12, 0, tzinfo=dt.timezone.utc))
    h.record("briefing", "b1", "Osterby", json.dumps({"entity": "Osterby"}), backend="extractive", model=None,
             prompt_versions={}, created_at=dt.datetime(2024, 6, 2, 12, 0, tzinfo=dt.timezone.utc))
    out["history.list"] = h.list()
    out["history.list.kind"] = h.list(kind="briefing")
    out["history.get"] = [h.get("a1"), h.get("nope")]
    out["history.conversation"] = h.conversation("c1")
    out["history.conversations"] = h.conversations()
    out["history.turns"] = h.turns("c1")
    w = store.watchlist
    out["watchlist.add"] = w.add("Osterby Tanker Charters", ["Osterby Charters"])
    w.record("Osterby Tanker Charters", "b1", "added", ["art-1"], ["art-1#0"])
    out["watchlist"] = [w.get("Osterby Tanker Charters"), w.list(), w.latest("Osterby Tanker Charters"),
                        w.briefings("Osterby Tanker Charters"), w.remove("Osterby Tanker Charters"), w.list()]
    f = store.feeds
    out["feeds.add"] = f.add("sdn", "https://example.org/sdn.csv", "ofac_sdn_csv", 3600, False)
    f.update_state("sdn", last_status="ok", etag="e1")
    f.add_items("sdn", ["https://example.org/a", "https://example.org/b"])
    f.record_changes("sdn", "2024-06-01T00:00:00+00:00", [{"date": "2024-06-01", "change": "added", "key": "9001",
                                                              "name": "OSTERBY TANKER CHARTERS LIMITED", "list": "SDN",
                                                              "fields": {"programs": ["SHIPPING-EO"]}, "notice_id": "n1"}])
    out["feeds"] = [f.get("sdn"), f.list(), f.seen_items("sdn"), f.changes(), f.changes(feed="other"),
                    f.remove("sdn"), f.list()]
    return {k: plain(v) for k, v in out.items()}


@pytest.fixture
def sqlite_store(tmp_path):
    return open_store(Settings(home=tmp_path / "home"))


def test_every_store_operation_on_sqlite(sqlite_store, embedder):
    """What a user of the store would notice, on SQLite: found by keyword and vector, filters, the presented
    source labels (list entries by their list), relations, a crash's orphan undone, a change and a deletion."""
    r = exercise(sqlite_store, embedder)
    assert r["empty.stats"]["documents"] == 0 and r["empty.signature"] is None and r["empty.check"]["ok"]
    assert r["signature"] == embedder.signature and r["list_entries_changed"]
    found = {k: [c for c, _ in v] for k, v in r.items() if k.startswith("keyword_search Osterby Tanker")}
    assert any(set(v) == {"art-1#0", "fr-2024-1#0", "ofac-sdn:9001#0"} for v in found.values()), found
    assert r["dense_search"][0] in {"art-1#0", "ofac-sdn:9001#0", "fr-2024-1#0"}
    assert r["dense_search.filtered"] == ["fr-2024-1#0"]
    assert set(r["chunk_rows"]) == {c.chunk_id for c in small_inputs()[1]}
    assert set(r["chunk_rows.filtered"]) == {"ofac-sdn:9001#0"}
    # list entries are labelled by their list in every listing, not by the file they came from
    entry_label = r["document"]["ofac-sdn:9001"]["source"]
    assert "9001" in entry_label and "sdn.csv" not in entry_label
    assert [d["source"] for d in r["documents.of_source"]] == [entry_label]
    assert {d["doc_id"]: d["source"] for d in r["documents"]}["ofac-sdn:9001"] == entry_label
    assert len(r["documents.page"]) == 2 and r["count_documents"] == [3, 1]
    assert r["flagged_documents"] == [["file:fr.jsonl#abcdefabcd", "fr-2024-1"]]
    assert r["entities"] == ["ofac-sdn:9001"] and r["entities.found"] == ["ofac-sdn:9001"]
    assert r["relations"], "the article's ownership sentence and the entry's link are relations"
    assert r["meta"] == ["1", None]
    assert r["ingest_running"] is True and r["ingest_running.after"] is False
    assert r["check"]["ok"] and r["recover"] == {"undone_adds": 0, "finished_deletes": 0}
    pending, recovered, ok = r["recover.orphan"]
    assert pending["add"] == ["orphan#0"] and recovered["undone_adds"] == 1 and ok
    assert [c["chunk_id"] for c in r["after_change.document_chunks"]] == ["art-1#0", "art-1#1"]
    assert r["delete"] == 1 and "file:fr.jsonl#abcdefabcd" not in r["after_delete.sources"]
    assert r["after_delete.stats"]["documents"] == 2 and r["after_delete.check"]["ok"]
    assert [x["id"] for x in r["history.list"]] == ["b1", "a1"] and r["history.get"][1] is None
    assert r["watchlist"][1][0]["name"] == "Osterby Tanker Charters" and r["watchlist"][-1] == []
    assert r["feeds"][2] == ["https://example.org/a", "https://example.org/b"] and r["feeds"][-1] == []


def test_an_empty_sqlite_store_answers_every_read(sqlite_store):
    s = sqlite_store
    assert s.keyword_search("anything", Filters(), 5) == []
    assert s.chunk_rows(["x"]) == {} and s.documents() == [] and s.document("x") is None
    assert list(s.list_entry_rows()) == [] and s.relations() == [] and s.sources() == []
    assert s.check()["ok"] and s.recover() == {"undone_adds": 0, "finished_deletes": 0}


@pytest.mark.e2e
def test_postgres_gives_what_sqlite_gives(tmp_path, embedder, pg_server):
    """Every operation above, on SQLite and on PostgreSQL (embedded Chroma for both): equal results, except
    the keyword scores' last digits."""
    want = exercise(open_store(Settings(home=tmp_path / "sqlite")), embedder)
    got = exercise(open_store(Settings(home=tmp_path / "pg", database_url=pg_server.create_database())), embedder)
    differ = [k for k in want if want[k] != got.get(k)]
    assert not differ, {k: (want[k], got.get(k)) for k in differ[:5]}
