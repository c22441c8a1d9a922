"""The prose cases (issue 22): their shape, their split, their corpus, and the metrics that judge how an
answer opens and whether every part of a question is answered, on small hand-made answers.

No model and no store; the suite itself runs in `python -m eval run --suite prose` and in the gate.
"""
from __future__ import annotations

import json
from collections import Counter

from eval import DATASETS
from eval import metrics as M
from eval.corpora import load_facts, load_prose, write_fr_prose_slice
from eval.facts_suite import _filters
from eval.prose_suite import PROSE_CATEGORIES, aggregate_prose, score_prose

CORPUS = DATASETS / "prose_corpus"


def _fact_list_ok(facts):
    return isinstance(facts, list) and all(
        isinstance(f, list) and f and all(isinstance(a, str) and a.strip() for a in f) for f in facts)


# --- the cases --------------------------------------------------------------------------------------


def test_prose_cases_load_and_each_names_its_split_and_category():
    cases = load_prose()
    assert len({c["id"] for c in cases}) == len(cases), "duplicate ids"
    for c in cases:
        assert c["split"] in ("dev", "heldout"), c["id"]
        assert c["category"] in PROSE_CATEGORIES, c["id"]
        assert c["source_kind"] in ("article", "notice"), c["id"]
        assert c["question"].strip() and c["provenance"].strip(), c["id"]
        assert isinstance(c["yes_no"], bool) and isinstance(c["should_refuse"], bool), c["id"]
        assert _fact_list_ok(c["facts"]), c["id"]
        assert c.get("opens_with") in (None, "yes", "no"), c["id"]
        if c.get("opens_with"):
            assert c["yes_no"], f"{c['id']}: only a yes/no question can require a Yes/No opener"
        if c["should_refuse"]:
            assert not c["facts"] and c["must_cite"] is None, c["id"]
        else:
            assert c["facts"] and c["must_cite"], f"{c['id']}: answerable cases name facts and a source"
        _filters(c)  # the runner can build its filters


def test_there_are_at_least_as_many_prose_cases_as_hand_written_fact_cases():
    handwritten = [c for c in load_facts() if not c.get("generated")]
    assert len(load_prose()) >= len(handwritten)


def test_the_held_out_split_is_at_least_40_percent_overall_and_per_category():
    cases = load_prose()
    assert sum(c["split"] == "heldout" for c in cases) / len(cases) >= 0.4
    for cat in PROSE_CATEGORIES:
        in_cat = [c for c in cases if c["category"] == cat]
        assert in_cat, cat
        assert sum(c["split"] == "heldout" for c in in_cat) / len(in_cat) >= 0.4, cat
    assert {c["id"] for c in load_prose("dev")}.isdisjoint({c["id"] for c in load_prose("heldout")})


def test_the_split_is_by_document():
    # one document's questions are all dev or all held out, so training on dev never sees a held-out text
    split_of: dict[str, set] = {}
    for c in load_prose():
        for spec in c["must_cite"] or []:
            if spec.get("doc") or spec["source"] != "fr_prose_slice":  # "any notice of the slice" names no document
                split_of.setdefault(spec.get("doc") or spec["source"], set()).add(c["split"])
    assert split_of and all(len(s) == 1 for s in split_of.values()), {k: s for k, s in split_of.items() if len(s) > 1}


def test_the_cases_cover_the_kinds_of_question_the_issue_names():
    cases = load_prose()
    kinds = Counter(c["category"] for c in cases)
    assert kinds["article"] and kinds["notice"] and kinds["multipart"] >= 20
    assert sum(c["should_refuse"] for c in cases) >= 10, "questions the sources do not answer"
    assert sum(c.get("opens_with") == "no" for c in cases) >= 8, "yes/no questions whose answer is No"
    assert sum(not c["yes_no"] for c in cases) > len(cases) / 2
    assert any(p.get("not_in_sources") for c in cases for p in c.get("parts") or [])
    for c in cases:
        if c["category"] == "multipart":
            assert len(c["parts"]) >= 2, c["id"]
            assert c["facts"] == [f for p in c["parts"] for f in p.get("facts", [])], c["id"]


def test_every_cited_press_release_is_in_the_corpus_with_its_front_matter():
    files = {p.stem: p for p in CORPUS.glob("*.md") if p.name != "README.md"}
    assert 12 <= len(files) <= 25
    for p in files.values():
        head = p.read_text(encoding="utf-8").split("---")[1]
        for key in ("title:", "publisher:", "url:"):
            assert key in head, f"{p.name} has no {key}"
    for c in load_prose():
        for spec in c["must_cite"] or []:
            if spec["source"] != "fr_prose_slice":
                assert spec["source"] in files, f"{c['id']}: no press release {spec['source']!r}"
    assert "public domain" in (CORPUS / "README.md").read_text(encoding="utf-8")


def test_fr_prose_slice_keeps_cited_dated_and_entity_list_records(tmp_path):
    src = tmp_path / "fr.jsonl"
    recs = [{"document_number": "A", "title": "Somalia Sanctions Regulations", "publication_date": "2021-04-28"},
            {"document_number": "B", "title": "Additions to the Entity List", "publication_date": "2024-11-21"},
            {"document_number": "C", "title": "Notice of OFAC Sanctions Actions", "publication_date": "2025-02-01"},
            {"document_number": "D", "title": "Notice of OFAC Sanctions Actions", "publication_date": "2025-03-01"}]
    src.write_text("".join(json.dumps(r) + "\n" for r in recs))
    dest = tmp_path / "slice.jsonl"
    assert write_fr_prose_slice(src, dest, cited={"C"}) == 3
    assert [json.loads(x)["document_number"] for x in dest.read_text().splitlines()] == ["A", "B", "C"]


# --- the metrics on hand-made answers ----------------------------------------------------------------


def test_yes_no_questions_are_told_from_wh_questions():
    assert M.is_yes_no_question("Was SenseTime sanctioned in November 2021?")
    assert M.is_yes_no_question("Does the NS-CMIC listing freeze SenseTime's assets?")
    assert not M.is_yes_no_question("Which SoftBank subsidiary uses SenseTime technology, and is SenseTime sanctioned?")
    assert not M.is_yes_no_question("When and under which program was Tuniyaz sanctioned?")


def test_the_opener_is_the_first_word_only():
    assert M.opens_with_yes_no("Yes: Japan Computer Vision Corp. uses it [1].") == "yes"
    assert M.opens_with_yes_no("**No** – listed on 10 December 2021 [1].") == "no"
    assert M.opens_with_yes_no("Notably, no asset freeze applies.") is None
    assert M.opens_with_yes_no("Japan Computer Vision Corp. [1]. Yes, SenseTime is listed.") is None
    assert M.opens_with_yes_no("") is None


def test_a_yes_no_opener_counts_only_on_a_question_that_is_not_yes_no():
    assert M.yes_no_opener_on_non_yes_no(False, "Yes: SenseTime is on the NS-CMIC list.")
    assert not M.yes_no_opener_on_non_yes_no(False, "Japan Computer Vision Corp. uses SenseTime's technology.")
    assert not M.yes_no_opener_on_non_yes_no(True, "No: listed on 10 December 2021.")


def test_every_part_answered_needs_each_part_or_a_plain_not_stated():
    parts = [{"asks": "when", "facts": [["2023-10-31"]]}, {"asks": "which program", "facts": [["14014"]]}]
    assert M.every_part_answered(parts, "On 31 October 2023, under Executive Order 14014 [1].")
    assert M.parts_answered(parts, "Under E.O. 14014 [1].") == [False, True]
    assert not M.every_part_answered(parts, "Under E.O. 14014 [1].")
    unsaid = [{"asks": "how much", "facts": [["1,000,000"]]}, {"asks": "when", "not_in_sources": True}]
    assert M.every_part_answered(unsaid, "A civil penalty of $1,000,000 [1]. The sources do not say when it was signed.")
    assert not M.every_part_answered(unsaid, "A civil penalty of $1,000,000 [1].")
    assert M.every_part_answered([], "anything")


def test_says_not_stated():
    assert M.says_not_stated("The sources do not say whether the listing freezes assets.")
    assert M.says_not_stated("The date is not stated in the release.")
    assert not M.says_not_stated("OFAC stated on 1 May 2012 that listings do not block assets.")


def _base(case, answer, correct=True, refused=False, recall=1.0):
    return {"id": case["id"], "category": case["category"], "question": case["question"], "expected": case["facts"],
            "fact_recall": recall, "must_cite": case.get("must_cite"), "cite_ok": True, "refused": refused,
            "refusal_ok": True, "correct": correct, "why": [], "answer": answer, "latency_s": 0.1,
            "yes_no_opener_on_non_yes_no": M.yes_no_opener_on_non_yes_no(case["yes_no"], answer)}


def test_score_prose_fails_a_wrong_opener_a_missed_no_and_a_missing_part():
    which = {"id": "x1", "category": "article", "split": "heldout", "question": "Which airlines lost export privileges?",
             "yes_no": False, "facts": [["Aeroflot"]], "must_cite": [{"source": "tdo"}]}
    r = score_prose(which, "Yes: Aeroflot [1].", _base(which, "Yes: Aeroflot [1]."))
    assert not r["correct"] and r["yes_no_opener_on_non_yes_no"]
    assert score_prose(which, "Aeroflot [1].", _base(which, "Aeroflot [1]."))["correct"]

    month = {"id": "x2", "category": "article", "split": "dev", "question": "Was it done in March 2024?", "yes_no": True,
             "opens_with": "no", "facts": [["2024-04-11"]], "must_cite": [{"source": "bis"}]}
    assert not score_prose(month, "Yes: on 11 April 2024 [1].", _base(month, "Yes: on 11 April 2024 [1]."))["correct"]
    assert score_prose(month, "No: on 11 April 2024 [1].", _base(month, "No: on 11 April 2024 [1]."))["correct"]

    multi = {"id": "x3", "category": "multipart", "split": "heldout", "question": "When and under which order?",
             "yes_no": False, "facts": [["2023-10-31"], ["14014"]], "must_cite": [{"source": "moge"}],
             "parts": [{"asks": "when", "facts": [["2023-10-31"]]}, {"asks": "which order", "facts": [["14014"]]}]}
    r = score_prose(multi, "Under E.O. 14014 [1].", _base(multi, "Under E.O. 14014 [1].", correct=False, recall=0.5))
    assert r["parts_answered"] == [False, True] and r["every_part_answered"] is False and not r["correct"]

    agg = aggregate_prose([score_prose(which, "Yes: Aeroflot [1].", _base(which, "Yes: Aeroflot [1].")),
                           score_prose(month, "No: on 11 April 2024 [1].", _base(month, "No: on 11 April 2024 [1].")),
                           r])
    assert agg["yes_no_openers_non_yes_no"] == 1 and agg["yes_no_opener_share"] == 0.5
    assert agg["by_category"]["multipart"]["every_part_answered"] == 0.0
    assert agg["by_split"]["heldout"]["by_category"]["article"]["exact_correctness"] == 0.0
    assert agg["by_split"]["dev"]["by_category"]["article"]["exact_correctness"] == 1.0
