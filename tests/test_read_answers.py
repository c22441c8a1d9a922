"""Questions answered by reading the passages, through the HTTP API (uvicorn on a free port, real store,
real embedding model): the demo corpus, the real 2025-06-30 OFAC consolidated list, and one short news
article written for this test (a day without its year, an executive order, one party's settlement beside
another party's designation)."""
from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.conftest import CONSOLIDATED_XML, DEMO, ROOT, make_rb
from tests.test_api import LiveServer

NEWS = """---
title: "Test fixture: Treasury names Corvane Shipping; Harrow Marine settles"
date: 2024-03-08
publisher: regbrief test suite
---

# Test fixture: Treasury names Corvane Shipping; Harrow Marine settles

This article is test data written for the regbrief test suite.
On Monday, March 4, the Treasury named Corvane Shipping Ltd. a blocked company under Executive Order 14024 for moving Russian crude oil above the price cap.
Corvane Shipping Ltd. chartered two tankers from Harrow Marine Inc. in 2023.
Harrow Marine Inc. agreed to pay 1.2 million US dollars to settle apparent violations of the price cap rules.
The Treasury said the designation freezes any property of Corvane Shipping Ltd. in the United States.
"""

# A second release: a "Today, ..." sentence in a dated document (its date is the answer to "when").
GUIDANCE = """---
title: "Test fixture: Treasury guidance for tanker operators"
date: 2024-05-02
publisher: regbrief test suite
---

This article is test data written for the regbrief test suite.
Today, the Treasury published guidance for tanker operators on price cap attestations.
The guidance asks tanker operators to check every cargo bound for Syria against the price cap rules.
The Treasury issued the guidance for tanker operators under section 231 of the act.
"""

# An indictment with a town and a country in it, neither of them a party to a relation.
INDICTMENT = """---
title: "Test fixture: freight forwarder indicted"
date: 2024-07-10
publisher: regbrief test suite
---

This article is test data written for the regbrief test suite.
Freight forwarders move goods for exporters and are expected to check where those goods end up.
A freight forwarder based in Tamarac was indicted on Tuesday.
Prosecutors say its president exported a gas chromatograph, a controlled laboratory instrument, to Russia without an export licence.
"""

# A listing beside another company's settlement, that company named by its acronym.
SETTLEMENT = """---
title: "Test fixture: an Entity List addition and a settlement"
date: 2024-08-20
publisher: regbrief test suite
---

This article is test data written for the regbrief test suite.
Dunmore Optics Limited was added to the Entity List on Tuesday for supplying lenses to a military end user.
In a separate case, Kestrel Avionics (KA) settled alleged export violations with the State Department.
Under the consent agreement, KA will pay a civil penalty of $400,000.
"""

OPENER = re.compile(r"^(Yes|No)\b")


@pytest.fixture(scope="module")
def reader_server(tmp_path_factory, embedder):
    root = tmp_path_factory.mktemp("read")
    news = root / "news"
    news.mkdir()
    (news / "corvane.md").write_text(NEWS, encoding="utf-8")
    (news / "guidance.md").write_text(GUIDANCE, encoding="utf-8")
    srv = LiveServer("read", root / "home", rate_limit_per_minute=100000)
    report = srv.rb.ingestor.ingest([DEMO / "articles", DEMO / "lists", CONSOLIDATED_XML, news])
    assert report.ok, report.to_dict()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def ask(reader_server):
    client = reader_server.client()

    def ask(question: str) -> dict:
        r = client.post("/v1/ask", json={"question": question})
        assert r.status_code == 200, r.text
        a = r.json()
        for c in a["citations"]:  # every citation is the exact span of its chunk
            assert c["quote"] and c["quote"] in c.get("chunk_text", c["quote"])
        return a

    yield ask
    client.close()


def first(a: dict) -> str:
    return next(s["text"] for s in a["sentences"] if s.get("verdict") != "removed")


def quotes(a: dict) -> str:
    return " ".join(c["quote"] for c in a["citations"])


def test_who_audits_jcv_names_the_auditor(ask):
    a = ask("Who audits JCV?")
    assert not a["refused"]
    assert "CYE" in first(a) and "audited" in first(a)
    assert not OPENER.match(a["answer"])
    assert "CYE" in quotes(a)


def test_a_passage_saying_no_answers_no(ask):
    a = ask("Does the NS-CMIC listing freeze SenseTime's assets?")
    assert not a["refused"]
    assert a["answer"].startswith("No:")
    assert re.search(r"not an asset freeze|does not freeze", quotes(a))


def test_which_subsidiary_names_jcv_first_and_answers_the_second_part(ask):
    a = ask("Which SoftBank subsidiary uses SenseTime technology, and is SenseTime sanctioned?")
    assert not OPENER.match(a["answer"]), a["answer"]
    assert "Japan Computer Vision" in first(a)
    assert "NS-CMIC" in a["answer"] and "10 December 2021" in a["answer"] and "CMIC-EO13959" in a["answer"]
    alone = ask("Which SoftBank subsidiary uses SenseTime technology?")
    assert "Japan Computer Vision" in first(alone) and not OPENER.match(alone["answer"])


def test_a_question_about_a_time_compares_dates(ask):
    a = ask("Was SenseTime sanctioned in November 2021?")
    assert a["answer"].startswith("No:") and "10 December 2021" in a["answer"]
    a = ask("Was SenseTime sanctioned in December 2021?")
    assert a["answer"].startswith("Yes:") and "10 December 2021" in a["answer"]


def test_a_day_matches_a_passage_that_writes_it_without_the_year(ask):
    a = ask("What happened to Corvane Shipping on 4 March 2024?")
    assert not a["refused"]
    assert "Monday, March 4" in quotes(a)


def test_a_release_that_says_today_answers_when_with_its_date(ask):
    a = ask("When did the Treasury publish guidance for tanker operators?")
    assert not a["refused"] and "2 May 2024" in a["answer"]
    assert "Today, the Treasury published guidance" in quotes(a)
    # A yes/no question about another month compares it with the release's date.
    a = ask("Did the Treasury publish guidance for tanker operators in April 2024?")
    assert a["answer"].startswith("No:") and "2 May 2024" in a["answer"]


def test_yes_no_decided_on_the_time_asked(ask):
    # The release's date is the month asked about: yes, though the question words it otherwise.
    a = ask("Was the Treasury's guidance for tanker operators issued in May 2024?")
    assert a["answer"].startswith("Yes:") and "2 May 2024" in a["answer"]


def test_a_later_part_asking_when_is_answered_from_the_earlier_parts_source(ask):
    a = ask("What did the Treasury publish for tanker operators, and when did it say so?")
    assert "price cap attestations" in a["answer"] and "2 May 2024" in a["answer"], a["answer"]
    assert "do not say" not in a["answer"]


def test_yes_no_on_another_country_or_party_than_the_sentence_names(ask):
    # The sentence says Russian crude oil; the question asks about Iranian oil.
    a = ask("Did the Treasury name Corvane Shipping Ltd. a blocked company for moving Iranian crude oil?")
    assert a["answer"].startswith("No:") and "Russian crude oil" in a["answer"], a["answer"]
    # The sentence names Harrow Marine where the question names another lessor.
    a = ask("Did Corvane Shipping Ltd. charter two tankers from Baltic Freight Inc.?")
    assert a["answer"].startswith("No:") and "Harrow Marine" in a["answer"], a["answer"]
    a = ask("Did Corvane Shipping Ltd. charter two tankers from Harrow Marine Inc.?")
    assert a["answer"].startswith("Yes:") and "Harrow Marine" in a["answer"], a["answer"]


def test_what_a_party_did_is_read_in_the_passages_not_in_its_absence_from_lists(ask):
    # Harrow Marine has no list entry; the question is about what it did, which the article says.
    a = ask("Did Harrow Marine agree to pay to settle the price cap violations?")
    assert "does not appear in any sanctions list entry" not in a["answer"]
    assert "1.2 million" in a["answer"]


def test_relationship_and_misspelt_short_names(ask):
    a = ask("What is the relationship between SoftBank and SenseTime?")
    assert not a["refused"]
    assert "SoftBank" in first(a) and "SenseTime" in first(a)
    a = ask("wen was megvi listd?")
    assert not a["refused"]
    assert "MEGVII" in a["answer"].upper() and "16 December 2021" in a["answer"]


def test_every_part_is_answered(ask):
    a = ask("Wang Junzheng's date and place of birth")
    assert "1963" in a["answer"] and "Linyi" in a["answer"]
    a = ask("When was Tuniyaz sanctioned and under what program")
    assert "10 December 2021" in a["answer"] and "GLOMAG" in a["answer"]
    a = ask("What is Tuniyaz's program and what is his favourite football club?")
    assert "GLOMAG" in a["answer"]
    assert "The sources do not say what his favourite football club is" in a["answer"]


def test_coverage_before_a_negative(ask):
    a = ask("Is SenseTime on an EU list?")
    assert a["answer"].startswith("Cannot say") and "no EU list is loaded" in a["answer"]
    assert "NS-CMIC" in a["answer"] and "SDN" in a["answer"]  # the lists that are loaded
    assert "Yes" not in a["answer"]
    a = ask("Is iFlytek on the NS-CMIC list?")
    assert a["answer"].startswith("No:") and "NS-CMIC" in a["answer"]


def test_refusals_in_plain_words(ask):
    a = ask("Does the Treasury designation freeze Harrow Marine's assets?")
    assert a["refused"], a["answer"]
    assert a["answer"].startswith("The sources do not say whether the Treasury designation freezes Harrow Marine's assets")
    a = ask("What is the boiling point of mercury on Mars?")
    assert a["refused"] and "do not say what the boiling point of mercury on Mars is" in a["answer"]


def test_how_many_and_what_fine_want_a_count_and_a_sum(ask):
    # The article counts no vessels the Treasury blocked and states no fine on Corvane Shipping: the
    # sentences about the designation do not answer either question.
    a = ask("How many vessels did the Treasury block along with Corvane Shipping?")
    assert a["refused"], a["answer"]
    a = ask("What fine did the Treasury impose on Corvane Shipping?")
    assert a["refused"], a["answer"]
    a = ask("How much did Harrow Marine agree to pay?")
    assert "1.2 million US dollars" in first(a), a["answer"]


def test_news_patterns(ask):
    # A question naming the executive order is answered from the sentence naming it, not from a list entry.
    a = ask("Under which executive order was Corvane Shipping named?")
    assert "14024" in first(a)
    assert all(c["doc_type"] != "list_entry" for c in a["citations"])
    # Not a question about how two parties are related: no relation template.
    a = ask("Which company did the Treasury name under Executive Order 14024?")
    assert "Corvane Shipping" in first(a) and "related" not in a["answer"]
    a = ask("What did Corvane Shipping charter from Harrow Marine?")
    assert "two tankers" in first(a)
    # Another party's settlement is not the asked party's penalty.
    a = ask("What penalty did Corvane Shipping pay?")
    assert "1.2 million" not in a["answer"]
    assert "The sources do not say what penalty Corvane Shipping paid" in a["answer"]


def test_yes_no_opener_only_for_yes_no_questions(ask):
    for q in ("Who audits JCV?", "Which SoftBank subsidiary uses SenseTime technology?",
              "What is the relationship between SoftBank and SenseTime?", "When was Tuniyaz sanctioned?",
              "What happened to Corvane Shipping on 4 March 2024?",
              "Why is SenseTime on the SDN list?", "Why did the EU freeze SenseTime's assets?"):
        assert not OPENER.match(ask(q)["answer"]), q
    # A false premise is corrected without an opener: no SDN entry; no EU list to say either way.
    assert "has no entry on the SDN list" in ask("Why is SenseTime on the SDN list?")["answer"]
    assert ask("Why did the EU freeze SenseTime's assets?")["answer"].startswith("Cannot say why the EU froze")
    assert OPENER.match(ask("Is SenseTime sanctioned?")["answer"])


def test_cli_ask_without_a_store_says_so(tmp_path):
    import os

    env = {**os.environ, "REGBRIEF_HOME": str(tmp_path / "no-store"), "HF_HUB_OFFLINE": "1"}
    r = subprocess.run([sys.executable, "-m", "api.cli", "ask", "Is SenseTime sanctioned?"], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode != 0
    assert "no store" in r.stderr and "ingest" in r.stderr
    assert not (tmp_path / "no-store").exists()  # asking creates no store


def test_a_place_in_the_question_is_no_party_to_look_up_on_the_lists(ask):
    # "Damascus" is where the cargo goes (the passage says "Syria"), not a party the lists could name: the
    # passage answers, and no list's silence about the city is offered as the answer.
    a = ask("Does the Treasury guidance ask tanker operators to check cargoes for US sanctions on Damascus?")
    assert "bound for Syria" in a["answer"], a["answer"]
    assert "does not appear" not in a["answer"] and "no entry" not in a["answer"], a["answer"]
    assert not a["answer"].startswith(("Cannot say", "No:")), a["answer"]


@pytest.fixture(scope="module")
def articles_rb(tmp_path_factory, embedder):
    """The demo articles and the two fixtures above, with no list loaded."""
    root = tmp_path_factory.mktemp("articles")
    (root / "indictment.md").write_text(INDICTMENT, encoding="utf-8")
    (root / "settlement.md").write_text(SETTLEMENT, encoding="utf-8")
    rb = make_rb(root / "home")
    assert rb.ingestor.ingest([DEMO / "articles", root / "indictment.md", root / "settlement.md"]).ok
    return rb


def test_a_place_is_no_party_to_a_relation(articles_rb):
    # "to Russia" says where the goods went and "Tamarac" where the forwarder is: the question asks what was
    # exported, not how Tamarac and Russia are related, and the sentence that says it answers.
    a = articles_rb.ask("What controlled instrument is the Tamarac freight forwarder charged with exporting to "
                        "Russia?", None, backend="extractive", record=False)
    assert "gas chromatograph" in a.answer, a.answer


def test_a_company_named_with_its_legal_form_is_not_answered_by_another_companys_penalty(articles_rb):
    # Dunmore Optics Limited was listed, not fined; KA's penalty is KA's.
    a = articles_rb.ask("How much did Dunmore Optics Limited pay in penalties?", None, backend="extractive",
                        record=False)
    assert "400,000" not in a.answer, a.answer


def test_an_identifier_of_another_kind_is_no_answer(ask):
    # DJI's entry gives a Unified Social Credit Code, no SWIFT/BIC code: that code is not offered as one.
    a = ask("What is DJI's SWIFT code?")
    assert "914403007954257495" not in a["answer"], a["answer"]
    a = ask("What is DJI's Unified Social Credit Code?")
    assert "914403007954257495" in a["answer"], a["answer"]


def test_a_section_number_is_no_count(ask):
    # "section 231" labels the law; it does not count operators.
    a = ask("How many tanker operators did the Treasury guidance name?")
    assert a["answer"].startswith("The sources do not say how many"), a["answer"]
