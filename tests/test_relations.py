"""The learned relation extractor on public-domain text nobody here wrote (the held-out split of
eval/datasets/relations, never used to train or tune it) and on sentences written for these tests."""
from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HELD_OUT = ROOT / "eval" / "datasets" / "relations" / "held_out.jsonl"


def _held_out(doc: str) -> list[dict]:
    return [r for r in map(json.loads, HELD_OUT.read_text().splitlines()) if r["doc"] == doc]


@pytest.fixture(autouse=True)
def relation_model_on(monkeypatch):
    """These tests are about the learned extractor, which the `relation_model` setting turns on."""
    from rag.core.settings import get_settings

    monkeypatch.setenv("REGBRIEF_RELATION_MODEL", "true")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_every_marked_document_is_public_domain_government_text():
    """The dataset keeps only US government works; each sentence belongs to a listed document."""
    docs = {d["doc"]: d for d in map(json.loads, (HELD_OUT.parent / "documents.jsonl").read_text().splitlines())}
    assert docs and all(d["public_domain"] for d in docs.values())
    assert all(re.search(r"US |U\.S\.|Federal Register|Voice of America", d["publisher"]) for d in docs.values())
    for split in ("dev", "held_out"):
        rows = list(map(json.loads, (HELD_OUT.parent / f"{split}.jsonl").read_text().splitlines()))
        assert {r["doc"] for r in rows} <= {k for k, d in docs.items() if d["split"] == split}


@pytest.mark.parametrize("sentence,company", [
    pytest.param("Kiyomi Pay's checkout terminals are built on SenseTime technology.", "Kiyomi Pay",
                 marks=pytest.mark.xfail(reason="the model's probability for this phrasing is below its precision-first "
                                                "threshold (learned.THRESHOLD): left unsaid rather than risk saying it "
                                                "wrongly", strict=False)),
    pytest.param("Tokyo-based Japan Computer Vision, a SoftBank unit, offers a payment system whose face recognition "
                 "is built on technology from SenseTime.", "Japan Computer Vision",
                 marks=pytest.mark.xfail(reason="scored just below the threshold the dev curve chose (learned.THRESHOLD): "
                                                "left unsaid rather than risk saying it wrongly", strict=False)),
    ("The kiosks Harbor Retail installed run on face recognition software developed by SenseTime.", "Harbor Retail"),
])
def test_a_product_built_on_sensetime_technology_makes_sensetime_its_makers_supplier(sentence, company):
    from rag.relations.extract import sentence_relations

    found = [(r.relation, r.subject, r.object, r.status) for r in sentence_relations(sentence)]
    assert ("supplier", "SenseTime", company, "stated") in found, found


def test_a_product_said_not_to_be_built_on_sensetime_gives_no_supplier():
    from rag.relations.extract import sentence_relations

    assert sentence_relations("Harbor Retail says its cameras are not built on SenseTime technology.") == []


@pytest.mark.parametrize("sentence,parties", [
    ("PTC Aerospace, a division of B/E Aerospace, paid the penalty.", ["PTC Aerospace", "B/E Aerospace"]),
    ("The Department of the Treasury's Office of Foreign Assets Control acted today.",
     ["Department of the Treasury", "Office of Foreign Assets Control"]),
    ("The measures were announced by Deputy Secretary of the Interior Lena Marsh.", ["Interior", "Lena Marsh"]),
    ("Treasury Secretary Steven Mnuchin said so.", ["Treasury", "Steven Mnuchin"]),
    # an official's title that names an area of work between the institution and the person
    ("“We act today,” said Under Secretary of Agriculture for Food Safety and Inspection Mara J. Ellison.",
     ["Agriculture", "Mara J. Ellison"]),
    ("Energy Acting Assistant Secretary for Nuclear Security Tomas Brenner announced the order.", ["Energy", "Tomas Brenner"]),
    ("“We act today,” said Under Secretary for Arms Control and International Security Dana Whitcombe.",
     ["Dana Whitcombe"]),
    # an institution "of" two fields of everyday words is one name; a company after "and" is another party
    ("The Department of Health and Human Services issued the notice.", ["Department of Health and Human Services"]),
    ("The Ministry of Defense and Vostrek supplied the parts.", ["Ministry of Defense", "Vostrek"]),
    # a numeral that opens a name, a company followed by where it is registered, a state's military
    ("The order names 4-K Tooling, a unit of Harlow Machine Co. of Canada.", ["4-K Tooling", "Harlow Machine Co."]),
    ("Cortavia is controlled by the Venezuelan military.", ["Cortavia", "Venezuelan military"]),
    # a title naming its institution after "of", inside one capitalised run
    ("“We act today,” U.S. Secretary of State Dana Whitcombe said.", ["State", "Dana Whitcombe"]),
])
def test_party_mentions_keep_whole_names_and_separate_an_institution_from_its_officer(sentence, parties):
    from rag.relations.learned import party_mentions

    assert [p.text for p in party_mentions(sentence)] == parties


@pytest.mark.parametrize("sentence,parties", [
    ("Perla Marine is owned by Ilya Korsun and Vantor Holdings Limited.", ["Perla Marine", "Ilya Korsun", "Vantor Holdings Limited"]),
    ("Among the firms listed, Perla Marine is a unit of the Director of Vantor Holdings.", ["Perla Marine", "Vantor Holdings"]),
    ("EN+ Group is a holding of Vantor Holdings.", ["EN+ Group", "Vantor Holdings"]),
    # a law, a rule or a form is no party, nor the name that opens one through a possessive
    ("Perla Marine was charged under the Arms Export Control Act and the Export Administration Regulations.",
     ["Perla Marine"]),
    ("Perla Marine filed a Shipper's Export Declaration under the Countering America's Adversaries Act.", ["Perla Marine"]),
])
def test_party_mentions_split_a_person_from_a_company_and_drop_function_words(sentence, parties):
    from rag.relations.learned import party_mentions

    assert [p.text for p in party_mentions(sentence)] == parties


@pytest.mark.parametrize("name,kind", [
    ("Tomas Brenner", "person"), ("Lena Smith", "person"),
    ("Vostrek Machines", "other"), ("Counterterrorism Finance Unit", "other"), ("SEA ORCHID", "other"),
])
def test_a_name_of_capitalised_words_is_a_person_only_when_no_word_says_otherwise(name, kind):
    from rag.relations.learned import party_kind

    assert party_kind(name) == kind


def test_the_kinds_of_the_parties_rule_out_relations_they_cannot_stand_in():
    """A company heads no one, a person is owned by no one, a country as such is no party (a state may own)."""
    from rag.relations.learned import fits_kinds

    assert fits_kinds("director", "person", "org") and not fits_kinds("director", "org", "person")
    assert not fits_kinds("ownership", "org", "person") and fits_kinds("ownership", "person", "org")
    assert not fits_kinds("supplier", "org", "place") and fits_kinds("ownership", "place", "org")
    assert not fits_kinds("family", "org", "person") and fits_kinds("family", "person", "single")


def test_what_a_sentence_says_of_a_list_of_parties_holds_for_each_of_them():
    """"A, B and C are owned by D": each of the three is D's, not only the one next to the verb; the
    notices' qualifier ("directly or indirectly") between the verb and the owner changes nothing."""
    from rag.relations.extract import sentence_relations

    found = {(r.relation, r.subject, r.object) for r in sentence_relations(
        "Cobalt Freight, Delmar Optics and Harrow Systems are being designated for being owned or controlled by, "
        "directly or indirectly, Vantor Holdings.")}
    assert found == {("ownership", "Vantor Holdings", x) for x in ("Cobalt Freight", "Delmar Optics", "Harrow Systems")}
    found = {(r.relation, r.subject, r.object) for r in sentence_relations(
        "Perla Marine is being designated for being owned or controlled, directly or indirectly, by Ilya Korsun "
        "and Vantor Holdings.")}
    assert found == {("ownership", "Ilya Korsun", "Perla Marine"), ("ownership", "Vantor Holdings", "Perla Marine")}


def test_what_ingest_stores_finds_more_held_out_relations_than_the_phrase_list():
    from bench.bench_relations import _combined, _patterns, read, score

    rows = read("held_out")
    combined, phrases = score(rows, _combined), score(rows, _patterns)
    assert combined["right"] > phrases["right"], (combined["right"], phrases["right"])


@pytest.mark.parametrize("sentence", [
    "Nordhavn Capital and Vireo Optics were both designated on the same day.",
    "Treasury designated Nordhavn Capital, Vireo Optics and Tessaly Marine for operating in the technology sector.",
    "Nordhavn Capital is not a shareholder of Vireo Optics.",
])
def test_no_relation_from_mere_co_mention_or_negation(sentence):
    from rag.relations.extract import extract_sentence, sentence_relations

    assert extract_sentence(sentence) == []
    assert sentence_relations(sentence) == []


@pytest.mark.parametrize("sentence", [
    "Nordhavn Capital no longer holds any shares in Vireo Optics.",
    "Nordhavn Capital sold its 30 percent stake in Vireo Optics last year.",
    "Vireo Optics, a former subsidiary of Nordhavn Capital, was renamed in 2023.",
])
def test_ended_relations_are_marked_ended_with_the_owner_as_subject(sentence):
    from rag.relations.extract import extract_sentence, sentence_relations

    rels = sentence_relations(sentence)
    assert [(r.relation, r.subject, r.object, r.status) for r in rels] == \
        [("ownership", "Nordhavn Capital", "Vireo Optics", "ended")]
    # A briefing's links (extract_sentence) hold only what the sentence states as current.
    assert extract_sentence(sentence) == []


def test_stored_relations_carry_the_source_date_status_and_amount():
    from rag.core.models import Chunk, Document
    from rag.relations.extract import extract_relations

    text = ("Japan Computer Vision, which is owned by SoftBank, sells face recognition to card networks. "
            "SoftBank invested $500 million in Vireo Optics in 2021. "
            "Nordhavn Capital sold its 30 percent stake in Vireo Optics last year.")
    doc = Document(doc_id="note-1", doc_type="article", format="text", title="A note", source="note.txt", text=text,
                   date=dt.date(2024, 3, 1))
    chunk = Chunk(chunk_id="note-1:0", doc_id="note-1", index=0, text=text, start=0, end=len(text))
    rels = {(r.relation, r.subject, r.object): r for r in extract_relations([doc], [chunk])["note-1"]}
    jcv = rels[("ownership", "SoftBank", "Japan Computer Vision")]
    assert (jcv.status, jcv.date, jcv.end_date) == ("stated", "2024-03-01", None)
    assert rels[("ownership", "SoftBank", "Vireo Optics")].amount == "$ 500 million"
    sold = rels[("ownership", "Nordhavn Capital", "Vireo Optics")]
    assert (sold.status, sold.percentage, sold.end_date) == ("ended", "30", "2024-03-01")
    assert text[sold.start:sold.end] == sold.quote


def test_a_malformed_marked_sentence_is_an_error_naming_the_file_and_line(tmp_path):
    from rag.relations.learned import read_marked

    path = tmp_path / "marked.jsonl"
    path.write_text('{"sentence": "A owns B.", "relations": []}\n'
                    '{"sentence": "A owns B.", "relations": [{"relation": "owns", "subject": ["A"], "object": ["B"]}]}\n')
    with pytest.raises(ValueError, match=r"marked\.jsonl:2: .*'owns'"):
        read_marked(path)


def test_by_default_only_the_phrase_lists_relations_are_stored(monkeypatch):
    """The learned extractor is opt-in (REGBRIEF_RELATION_MODEL) until its held-out precision reaches the
    phrase list's: a supplier relation only the model finds is not stored by default."""
    from rag.core.settings import get_settings
    from rag.relations.extract import sentence_relations

    sentence = "The kiosks Harbor Retail installed run on face recognition software developed by SenseTime."
    assert ("supplier", "SenseTime", "Harbor Retail") in {(r.relation, r.subject, r.object) for r in sentence_relations(sentence)}
    monkeypatch.setenv("REGBRIEF_RELATION_MODEL", "false")
    get_settings.cache_clear()
    assert all(r.method == "pattern" for r in sentence_relations(sentence))
