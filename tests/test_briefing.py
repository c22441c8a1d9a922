"""Briefings an analyst can forward (issue 13), on the demo corpus: each fact once with all its citations,
the exposure facts the relations store holds (with their strength and the right legal entity), a timeline
of the entity's own dated events in date order, "unrated" when the store knows nothing, the lists checked
with their publication dates, and an HTML briefing that prints (and a PDF)."""
from __future__ import annotations

import datetime as dt

import pytest

from rag.entities.names import fold


def _section(b, title):
    return next(s for s in b.sections if s.title == title)


def _facts(b, *, timeline: bool = False):
    return [s for sec in b.sections if (sec.title == "Timeline") == timeline for s in sec.sentences
            if s.kind == "fact"]


@pytest.fixture(scope="module")
def softbank(demo_rb):
    return demo_rb.brief("SoftBank", record=False)


def test_softbank_states_each_fact_once_with_all_its_citations(softbank):
    texts = [fold(s.text) for s in _facts(softbank)]
    assert len(texts) == len(set(texts)), texts
    # JCV's parent is stated by several sentences of two articles: one fact, citing them.
    jcv = [s for s in _facts(softbank) if "subsidiary of softbank corp" in fold(s.text)]
    assert len(jcv) == 1 and len(jcv[0].citations) >= 2
    listing = [s for s in _facts(softbank) if "is on the NS-CMIC list" in s.text]
    assert len(listing) == 1


def test_softbank_exposure_facts_have_their_strength_and_the_right_legal_entity(softbank):
    links = " ".join(s.text for s in _section(softbank, "Links to other parties").sentences if s.citations)
    assert "second-largest shareholder" in links and "14.9 percent" in links
    by_party = {(x.entity, x.strength, x.party) for x in softbank.exposure}
    assert ("SoftBank Group Corp.", "shareholder", "SENSETIME GROUP LIMITED") in by_party
    assert ("SoftBank Vision Fund", "shareholder", "SENSETIME GROUP LIMITED") in by_party
    # The group's shareholding is never pinned on SoftBank Corp., the wireless unit.
    assert not any(x.entity == "SoftBank Corp." and x.party == "SENSETIME GROUP LIMITED" and x.via is None
                   for x in softbank.exposure)
    vf = next(x for x in softbank.exposure if x.entity == "SoftBank Vision Fund")
    assert vf.percentage == "14.9" and vf.listed and "NS-CMIC" in vf.lists and vf.citations
    assert softbank.rating == "medium"


def test_the_alias_softbank_stands_for_the_group_in_exposure_paths(demo_rb):
    paths = demo_rb.exposure("SoftBank", depth=1).paths
    holders = {p.nodes[0].name for p in paths if "second-largest" in p.edges[0].citation.quote}
    assert holders == {"SoftBank Group Corp."}


def test_sensetime_timeline_is_its_own_events_in_date_order(demo_rb):
    b = demo_rb.brief("SenseTime", record=False)
    events = _facts(b, timeline=True)
    dates = [s.date for s in events]
    assert len(events) >= 4 and all(dates) and dates == sorted(dates)
    assert all("sensetime" in fold(s.text) for s in events)
    assert not any("do not appear" in s.text for s in events)
    # another company's events only where the sentence tells SenseTime's too (the 2019 Entity List additions)
    assert all("Entity List" in s.text for s in events if "iFlytek" in s.text)
    listed = [s for s in events if s.date == dt.date(2021, 12, 10)]
    assert len(listed) == 1 and len(listed[0].citations) >= 2  # the listing once, citing its sources
    texts = [fold(s.text) for s in events]
    assert len(texts) == len(set(texts))


def test_an_entity_the_store_knows_nothing_about_is_unrated(demo_rb):
    b = demo_rb.brief("Acme Widgets GmbH", record=False)
    assert b.rating == "unrated"
    summary = " ".join(s.text for s in _section(b, "Summary").sentences)
    assert "unrated: no information in the store" in summary
    assert not any(s.kind == "fact" for sec in b.sections for s in sec.sentences)
    checked = {(x["list"], x["published"]) for x in b.lists_checked}
    assert ("NS-CMIC", "2025-06-30") in checked
    shown = " ".join(s.text for s in _section(b, "Lists checked").sentences)
    assert "NS-CMIC" in shown and "30 June 2025" in shown


def test_html_briefing_prints_cleanly_and_exports_to_pdf(softbank):
    from rag.briefing import render, render_pdf

    page = render(softbank, "html")
    assert "@media print" in page and "@page" in page and "break-inside:avoid" in page
    assert "<time datetime=" in page and "class='strength'" in page and "shareholder" in page
    md = render(softbank, "md")
    assert "## Lists checked" in md and "SoftBank Group Corp.: shareholder of SENSETIME GROUP LIMITED" in md
    pytest.importorskip("weasyprint")
    pdf = render_pdf(softbank)
    assert pdf.startswith(b"%PDF") and len(pdf) > 5000


# --- issue 25: the rule that applies, time, labels, citations ---------------------------------------

def _cited_quotes(b, sentence):
    by_n = {c.n: c for c in b.citations}
    return [by_n[n].quote for n in sentence.citations]


def test_softbank_cites_no_rule_for_a_list_it_does_not_apply_to(softbank):
    risk = [s for s in _section(softbank, "Risk assessment").sentences if s.kind == "fact"]
    for s in risk:  # the 50 percent rule is stated only as not applying (FAQ 857), never as applying
        if "50 percent rule" in s.text:
            assert "does not apply" in s.text, s.text
    assert any("does not apply" in s.text and "50 percent rule" in s.text and s.citations for s in risk)
    cmic = next(r for r in softbank.rules if r.list == "NS-CMIC")
    assert cmic.effect_kind == "securities" and cmic.citations and "SENSETIME GROUP LIMITED" in cmic.parties
    assert any("50 percent rule" in t for t in cmic.not_applicable) and cmic.not_applicable_citations
    notes = " ".join(s.text for s in _section(softbank, "Risk assessment").sentences if s.kind == "note")
    assert "NS-CMIC list, which restricts trading in the securities" in notes


def test_softbank_citations_are_sorted_unique_and_never_headlines(demo_rb, softbank):
    for sec in softbank.sections:
        for s in sec.sentences:
            assert s.citations == sorted(set(s.citations)), (sec.title, s.text, s.citations)
    assert [c.n for c in softbank.citations] == list(range(1, len(softbank.citations) + 1))
    keys = [(c.title, c.quote, c.date) for c in softbank.citations]
    assert len(keys) == len(set(keys))
    titles = {fold(c.title) for c in softbank.citations}
    assert not any(fold(c.quote.lstrip("# ")) in titles for c in softbank.citations)
    # the first citation markers appear in reading order: 1 first, then 2 ...
    seen = [n for sec in softbank.sections for s in sec.sentences for n in s.citations]
    firsts = list(dict.fromkeys(seen))
    assert firsts == sorted(firsts)


def test_softbank_links_each_once_with_jcv_ownership_and_its_use_of_sensetime(softbank):
    jcv_owned = [x for x in softbank.exposure if x.entity == "SoftBank Corp." and x.relation == "ownership"
                 and x.party == "Japan Computer Vision Corp."]
    uses = [x for x in softbank.exposure if x.entity == "Japan Computer Vision Corp."
            and x.party == "SENSETIME GROUP LIMITED" and x.relation in ("supplier", "customer")]
    assert len(jcv_owned) == 1 and jcv_owned[0].citations and jcv_owned[0].strength == "owner"
    # the group's indirect ownership is its own relation, with its own sentence
    assert any(x.entity == "SoftBank Group Corp." and x.party == "Japan Computer Vision Corp." and
               "through its wireless unit" in x.sentence for x in softbank.exposure)
    amounts = [s for s in _section(softbank, "Links to other parties").sentences if "235 million" in s.text]
    assert len(amounts) == 1 and amounts[0].citations
    assert len(uses) == 1 and uses[0].citations and uses[0].strength == "customer"
    stake = [x for x in softbank.exposure if x.percentage == "14.9"]
    assert len(stake) == 1 and stake[0].status == "current" and stake[0].stated_on == dt.date(2021, 12, 16)


def test_labels_read_from_the_subjects_side(demo_rb):
    from rag.briefing import render

    md = render(demo_rb.brief("SenseTime", record=False), "md")
    assert "investee of SoftBank Vision Fund (listed" not in md
    assert "investee of SoftBank Vision Fund, which holds 14.9%" in md
    assert "investee, 14.9% of" not in md and "investee (14.9%) of" not in md


def test_sensetime_as_of_2021_12_01_holds_the_2019_entity_list_event_and_is_not_rated_low(demo_rb):
    b = demo_rb.brief("SenseTime", as_of=dt.date(2021, 12, 1), record=False)
    events = _facts(b, timeline=True)
    assert any(s.date == dt.date(2019, 10, 7) and "Entity List" in s.text and s.citations for s in events)
    assert all(s.date <= dt.date(2021, 12, 1) for s in events)
    assert b.rating == "medium"
    entity_list = next(r for r in b.rules if r.list == "Entity List")
    assert entity_list.effect_kind == "export" and entity_list.citations
    assert not any(c.date and c.date > dt.date(2021, 12, 1) for c in b.citations)
    # the current briefing keeps that history
    now = demo_rb.brief("SenseTime", record=False)
    assert any(s.date == dt.date(2019, 10, 7) for s in _facts(now, timeline=True))
    assert {"NS-CMIC", "Entity List"} <= {r.list for r in now.rules}
