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
    assert not any("do not appear" in s.text or "iFlytek" in s.text for s in events)
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
