"""Answers planned from typed facts (issue 12), as an analyst meets them on the demo corpus plus the real
2025-06-30 OFAC consolidated list: the one fact asked for comes first, from the list entry, cited to the
span that states it; a negative only when the entity resolved has no entry on the lists asked about, and
never beside a positive for it; a question back for a pronoun with nothing to refer to."""
from __future__ import annotations

import pytest

from eval.metrics import self_contradictions
from rag.answering.answer import answer_question
from rag.core.models import Filters


def shown(a):
    return [s for s in a.sentences if s.verdict != "removed"]


def first(a):
    return shown(a)[0].text


def cited_uids(a):
    return {c.metadata.get("uid") for c in a.citations}


def test_short_name_is_resolved_like_the_screener_and_answered_yes_first(demo_rb):
    a = demo_rb.ask("Is DJI sanctioned?", record=False)
    assert first(a).startswith("Yes")
    assert "SZ DJI TECHNOLOGY" in first(a) and "16 December 2021" in first(a)
    assert "33111" in cited_uids(a)
    assert "does not appear" not in a.answer
    assert a.plan["entities"][0]["names"] == ["SZ DJI TECHNOLOGY CO., LTD."]


def test_typo_is_resolved_and_never_answered_with_a_negative(demo_rb):
    a = demo_rb.ask("Is Sensetme on any sanctions list?", record=False)
    assert first(a).startswith("Yes") and "SENSETIME GROUP LIMITED" in first(a)
    assert "does not appear" not in a.answer and not self_contradictions([s.text for s in shown(a)])


def test_no_on_the_list_asked_about_comes_first_and_names_it(demo_rb):
    a = demo_rb.ask("Is SenseTime on the SDN list?", record=False)
    assert first(a).startswith("No:") and "SDN" in first(a)
    assert not self_contradictions([s.text for s in shown(a)])
    # What it is on instead is stated after the answer, cited to its entry.
    assert any("NS-CMIC" in s.text and s.citations for s in shown(a)[1:])


def test_a_filter_that_leaves_no_list_says_so_instead_of_naming_other_lists(demo_rb):
    # No EU list is loaded: not "No", which would need a list that could have said yes.
    a = demo_rb.ask("Is SenseTime sanctioned?", Filters(jurisdiction=["EU"]), record=False)
    assert first(a).startswith("Cannot say whether SenseTime is sanctioned: no EU list is loaded")
    assert "jurisdiction EU" in first(a)
    assert "CMIC-EO13959" not in a.answer


def test_a_list_name_is_never_taken_for_an_entity(demo_rb):
    a = demo_rb.ask("What does the NS-CMIC list restrict?", record=False)
    assert a.plan["entities"] == []
    assert "does not appear" not in a.answer and "no entry" not in a.answer


def test_a_field_is_answered_from_the_entry_and_cited_to_its_span(demo_rb):
    a = demo_rb.ask("What's the divestment deadline for SenseTime?", record=False)
    assert "10 December 2022" in first(a)
    cited = [c for c in a.citations if c.n in shown(a)[0].citations]
    assert cited and cited[0].metadata.get("uid") == "33114"
    assert "10 Dec 2022" in cited[0].quote and cited[0].chunk_text[cited[0].start:cited[0].end] == cited[0].quote
    assert a.plan["asks"][0]["field"] == "divestment_date"


def test_an_asked_fact_the_entry_lacks_is_not_stated_and_says_what_was_looked_at(demo_rb):
    a = demo_rb.ask("What is SenseTime's passport number?", record=False)
    assert a.refused
    assert "do not say" in a.answer and "SENSETIME GROUP LIMITED" in a.answer


def test_a_pronoun_with_nothing_to_refer_to_gets_a_question_back(demo_rb):
    a = demo_rb.ask("When was it listed?", record=False)
    assert "Which entity do you mean?" in a.answer
    assert not a.citations


def test_inverted_date_range_is_an_error_naming_both_fields():
    with pytest.raises(ValueError, match="since .* is after until"):
        Filters(since="2022-12-31", until="2022-01-01")


def test_each_sentence_is_handed_over_as_soon_as_it_is_verified(demo_rb):
    seen = []
    a = answer_question(demo_rb, "Is Huawei on the SDN list?", record=False,
                        on_sentence=lambda s, cited: seen.append((s.text, [c.n for c in cited])))
    assert [t for t, _ in seen] == [s.text for s in shown(a)]
    assert all(set(s.citations) == set(n) for s, (_, n) in zip(shown(a), seen))
