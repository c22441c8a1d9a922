"""Relations and exposure paths (rag/relations/links.py): the demo corpus (SoftBank -> Japan Computer Vision ->
SenseTime), the real FollowTheMoney ZALA Aero cluster, extraction checks, and table upkeep."""
from __future__ import annotations

import json
from collections import defaultdict

import pytest

from tests.conftest import DATA, make_rb

ZALA = DATA / "opensanctions" / "yente_fixtures" / "zala" / "entities.ftm.json"


def _check_cited(rb, edge_or_relation, names: list[str]) -> None:
    """The citation's quote is exactly the chunk's text at [start:end], and it names the parties."""
    c = edge_or_relation.citation
    row = rb.store.chunk_rows([c.chunk_id])[c.chunk_id]
    assert row["text"][c.start:c.end] == c.quote
    folded = c.quote.lower()
    for n in names:
        assert any(part.lower() in folded for part in n.replace(".", "").split()[:1]), (n, c.quote)


# --- the demo corpus ------------------------------------------------------------------------------

def test_softbank_reaches_sensetime_through_jcv(demo_rb):
    from rag.relations.links import exposure

    res = exposure(demo_rb, "SoftBank", depth=3)
    assert any(n.name.startswith("SoftBank") for n in res.start)
    via_jcv = [p for p in res.paths if any(n.name == "Japan Computer Vision Corp." for n in p.nodes)]
    assert via_jcv, [[n.name for n in p.nodes] for p in res.paths]
    path = via_jcv[0]
    assert path.nodes[0].name.startswith("SoftBank")
    assert path.nodes[-1].name == "SENSETIME GROUP LIMITED" and path.nodes[-1].listed
    assert [e.relation for e in path.edges] == ["ownership", "supplier"]
    assert path.edges[0].direction == "forward"  # SoftBank ... owns JCV
    assert path.edges[1].direction == "backward"  # SenseTime supplies JCV
    for e, (a, b) in zip(path.edges, zip(path.nodes, path.nodes[1:])):
        assert e.citation.chunk_id and e.citation.quote and e.citation.end > e.citation.start
        _check_cited(demo_rb, e, ["Japan Computer Vision"])
        assert e.citation.date is not None  # the article's date
    assert "SenseTime" in path.edges[1].citation.quote
    end = path.end
    assert end.list == "NS-CMIC" and end.programs == ["CMIC-EO13959"]
    assert end.listed_on == "2021-12-10" and end.effective_date == "2022-02-08" and end.divestment_date == "2022-12-10"


def test_links_lists_cited_relations(demo_rb):
    from rag.relations.links import links

    res = links(demo_rb, "SoftBank")
    assert {e.name for e in res.entities} >= {"SoftBank Group Corp.", "SoftBank Vision Fund"}
    owns_jcv = [r for r in res.relations if r.relation == "ownership" and r.object == "Japan Computer Vision Corp."]
    assert owns_jcv and all(r.subject.startswith("SoftBank") for r in owns_jcv)
    for r in res.relations:
        _check_cited(demo_rb, r, [])
    sense = links(demo_rb, "SenseTime Group Limited")
    assert any(e.listed and e.listings[0].list == "NS-CMIC" for e in sense.entities)
    assert any(r.relation == "ownership" and r.object.startswith("Shenzhen SenseTime") for r in sense.relations)


def test_negated_statements_are_not_relations(demo_rb):
    from rag.relations.links import links

    rels = links(demo_rb, "Japan Computer Vision").relations
    # "Mastercard and Visa are not direct customers of Japan Computer Vision Corp." states no relation.
    assert not [r for r in rels if r.relation == "customer"]
    # "... the system that Japan Computer Vision Corp. offers to Mastercard and Visa uses SenseTime technology":
    # Visa is not SenseTime's customer by that sentence.
    assert not [r for r in rels if "Visa" in (r.subject, r.object)]


# --- extraction checks ----------------------------------------------------------------------------

def test_relation_the_sentence_does_not_state_is_rejected():
    from rag.relations.extract import extract_sentence, verify_relation

    stated = "Japan Computer Vision Corp. uses technology from SenseTime."
    assert verify_relation(stated, "supplier", "SenseTime", "Japan Computer Vision Corp.")[0]
    assert extract_sentence(stated)[0][:3] == ("supplier", "SenseTime", "Japan Computer Vision Corp.")

    # Both names, but no supplier cue between them.
    ok, why = verify_relation("Japan Computer Vision Corp. said it keeps SenseTime at arm's length from the card "
                              "companies.", "supplier", "SenseTime", "Japan Computer Vision Corp.")
    assert not ok and "cue" in why
    # The cue, but negated.
    negated = "Mastercard and Visa are not direct customers of Japan Computer Vision Corp."
    ok, why = verify_relation(negated, "customer", "Visa", "Japan Computer Vision Corp.")
    assert not ok and "negates" in why
    assert extract_sentence(negated) == []
    # A name the sentence does not contain.
    ok, why = verify_relation(stated, "ownership", "SoftBank Corp.", "Japan Computer Vision Corp.")
    assert not ok and "SoftBank" in why
    # The wrong relation for the cue.
    assert not verify_relation(stated, "director", "SenseTime", "Japan Computer Vision Corp.")[0]


@pytest.mark.parametrize("sentence,expected", [
    ("Acme Widgets Ltd. is a wholly owned subsidiary of Globex Holdings plc.",
     ("ownership", "Globex Holdings plc", "Acme Widgets Ltd.")),
    ("Globex Holdings plc owns 51 percent of Acme Widgets Ltd.", ("ownership", "Globex Holdings plc", "Acme Widgets Ltd.")),
    ("Acme Widgets Ltd., wholly owned by Globex Holdings plc, makes drones.",
     ("ownership", "Globex Holdings plc", "Acme Widgets Ltd.")),
    ("Initech is a supplier to Acme Widgets Ltd.", ("supplier", "Initech", "Acme Widgets Ltd.")),
    ("Acme Widgets Ltd. is a customer of Initech.", ("customer", "Acme Widgets Ltd.", "Initech")),
    ("Acme Widgets Ltd. partners with Initech.", ("partner", "Acme Widgets Ltd.", "Initech")),
    ("John Smith is the chief executive of Acme Widgets Ltd.", ("director", "John Smith", "Acme Widgets Ltd.")),
])
def test_patterns(sentence, expected):
    from rag.relations.extract import extract_sentence

    assert [r[:3] for r in extract_sentence(sentence)] == [expected]


# --- FollowTheMoney: the ZALA Aero cluster --------------------------------------------------------

@pytest.fixture(scope="module")
def zala_rb(tmp_path_factory, embedder):
    rb = make_rb(tmp_path_factory.mktemp("zala") / "home")
    assert rb.ingestor.ingest([ZALA]).ok
    return rb


def _expected_ends(start_caption: str, depth: int) -> dict[str, set[str]]:
    """From the raw file, independently: entities reachable over Ownership links (either direction) within
    `depth` hops, stopping at sanctioned ones, with their sanction program ids."""
    ents = [json.loads(line) for line in ZALA.read_text().splitlines() if line.strip()]
    caption = {e["id"]: e.get("caption") for e in ents}
    programs: dict[str, set[str]] = defaultdict(set)
    for e in ents:
        if e["schema"] == "Sanction":
            for t in e["properties"].get("entity", []):
                programs[t].update(e["properties"].get("programId", []) or e["properties"].get("program", []))
    sanctioned = {e["id"] for e in ents if programs.get(e["id"]) or "sanction" in e["properties"].get("topics", [])}
    adj = defaultdict(set)
    for e in ents:
        if e["schema"] == "Ownership":
            for o in e["properties"].get("owner", []):
                for a in e["properties"].get("asset", []):
                    adj[o].add(a)
                    adj[a].add(o)
    start = next(i for i, c in caption.items() if c == start_caption)
    ends: dict[str, set[str]] = {}
    frontier, seen = [start], {start}
    for _ in range(depth):
        nxt = []
        for n in frontier:
            for m in adj[n] - seen:
                seen.add(m)
                if m in sanctioned:
                    ends[caption[m]] = programs.get(m, set())
                else:
                    nxt.append(m)
        frontier = nxt
    return ends


@pytest.mark.parametrize("start", ["JSC Kalashnikov Concern", "Svetlana Nikolaevna Zakharova",
                                   "Limited Liability Company Aeroscan", "Alexander Vyacheslavovich ZAKHAROV"])
def test_zala_ownership_paths_end_at_sanctioned_entities(zala_rb, start):
    from rag.relations.links import exposure

    expected = _expected_ends(start, depth=2)
    assert expected  # the fixture has ownership links to sanctioned parties from each of these
    res = exposure(zala_rb, start, depth=2, relations=["ownership"], max_paths=200)
    assert [n.name for n in res.start] == [start]
    got = {p.end.name for p in res.paths}
    assert got == set(expected), (got, set(expected))
    for p in res.paths:
        assert all(e.relation == "ownership" for e in p.edges)
        for e in p.edges:
            _check_cited(zala_rb, e, [])
            assert e.citation.quote.endswith(".")
        assert set(p.end.programs) >= expected[p.end.name]
        assert p.end.listed


def test_zala_structured_edges_carry_dates_and_shares(zala_rb):
    from rag.relations.links import exposure

    res = exposure(zala_rb, "Limited Liability Company Aeroscan", depth=1, relations=["ownership"])
    (path,) = res.paths
    e = path.edges[0]
    assert path.end.name == "Alexander Vyacheslavovich ZAKHAROV"
    assert e.direction == "backward" and e.date == "2024-03-01" and e.end_date == "2024-03-24"
    assert "100%" in e.phrase and "Aeroscan" in e.citation.quote
    assert path.end.listed_on == "2023-07-01" and "EU-UKR" in path.end.programs


def test_screening_transliterates_and_reorders_persons(zala_rb):
    from rag.entities.screen import screen

    cyr, order = screen(zala_rb, ["Захаров Александр Вячеславович", "ZAKHAROV Alexander Vyacheslavovich"],
                        type="person").results
    assert cyr.matches[0].name == "Alexander Vyacheslavovich ZAKHAROV" and cyr.matches[0].match
    assert "transliteration" in cyr.matches[0].normalisations
    assert order.matches[0].name == "Alexander Vyacheslavovich ZAKHAROV" and order.matches[0].score == 1.0


# --- table upkeep ---------------------------------------------------------------------------------

def test_relations_are_written_and_removed_with_their_documents(tmp_path):
    from rag.relations.extract import extract_relations
    from rag.core.models import Chunk, Document
    from rag.store.registry import SqliteRegistry

    reg = SqliteRegistry(tmp_path / "r.sqlite3")
    text = "Acme Widgets Ltd. is a wholly owned subsidiary of Globex Holdings plc. Acme Widgets Ltd. makes drones."
    doc = Document(doc_id="a1", title="Acme", text=text, doc_type="article", format="article_text", source="x.md")
    chunk = Chunk(chunk_id="a1#0", doc_id="a1", index=0, text=text, start=0, end=len(text))
    reg.replace_documents([doc], [chunk], extract_relations([doc], [chunk]))
    (r,) = reg.relations()
    assert (r["relation"], r["subject"], r["object"]) == ("ownership", "Globex Holdings plc", "Acme Widgets Ltd.")
    assert text[r["start"]:r["end"]] == r["quote"] and r["chunk_id"] == "a1#0"
    assert reg.relations_stale() == ([], [])  # extracted in the same transaction: nothing to redo
    reg.delete_documents(["a1"])
    assert reg.relations() == [] and reg.relations_stale() == ([], [])


def test_sync_catches_up_without_the_pipeline_hooks(rb, tmp_path):
    """Relations come and go with their documents through the pipeline."""
    from rag.relations.links import exposure, links

    art = tmp_path / "note.md"
    art.write_text("# Note\n\nAcme Widgets Ltd. is a wholly owned subsidiary of SenseTime Group Limited.\n", encoding="utf-8")
    assert rb.ingestor.ingest([art]).ok
    rels = links(rb, "Acme Widgets").relations
    assert [(r.relation, r.subject) for r in rels] == [("ownership", "SenseTime Group Limited")]
    assert not exposure(rb, "Acme Widgets").paths  # no list in this store: nothing is listed
    rb.ingestor.remove(source=str(art))
    assert links(rb, "Acme Widgets").relations == []
