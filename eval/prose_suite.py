"""The prose suite: questions about what press releases and Federal Register notices say, written in
phrasings no tuning used (eval/datasets/facts_prose.jsonl over the `prose` corpus: the public-domain US
government texts of eval/datasets/prose_corpus/ and a slice of the Federal Register abstracts).

Each answer is scored as a fact case (eval/facts_suite.score_answer) and, on top of that:
- a yes/no question whose case says `opens_with` must open with that word ("Was X designated in March?"
  -> "No: ... on 11 April 2024");
- an answer to a question that is not a yes/no question must not open with Yes or No
  (metrics.yes_no_opener_on_non_yes_no);
- a multi-part question must have every part answered, or said not to be in the sources
  (metrics.every_part_answered).
The figures are reported per category and per split; the held-out split (whole documents set aside by
hand, listed in eval/datasets/prose_corpus/README.md) is the one that counts, and no component may be
trained or tuned on it.
"""
from __future__ import annotations

import time

from eval import metrics as M
from eval.corpora import Stores, load_prose, log
from eval.facts_suite import Judge, _filters, score_answer

PROSE_CATEGORIES = ("article", "notice", "multipart")
SPLITS = ("dev", "heldout")


def score_prose(case: dict, answer_text: str, base: dict) -> dict:
    """Add the prose checks to a fact-case result `base` (from score_answer) for one case's answer."""
    yes_no = bool(case.get("yes_no"))
    opener = M.opens_with_yes_no(answer_text)
    wrong_opener = base["yes_no_opener_on_non_yes_no"]
    opens_ok = None if not case.get("opens_with") else opener == case["opens_with"]
    parts = case.get("parts") or []
    answered = M.parts_answered(parts, answer_text) if parts else []
    r = dict(base)
    r.update({"split": case["split"], "source_kind": case.get("source_kind"), "yes_no": yes_no,
              "opener": opener, "yes_no_opener_on_non_yes_no": wrong_opener, "opens_with": case.get("opens_with"),
              "opens_ok": opens_ok, "parts": [p["asks"] for p in parts], "parts_answered": answered,
              "every_part_answered": all(answered) if parts else None})
    why = list(base["why"])
    if wrong_opener:
        why.append(f"opens with {opener!r} to a question that is not a yes/no question")
    if opens_ok is False:
        why.append(f"should open with {case['opens_with']!r}, opens with {opener!r}")
    why += [f"part not answered: {p['asks']}" for p, ok in zip(parts, answered) if not ok]
    r["why"] = why
    r["correct"] = (bool(base["correct"]) and not wrong_opener and opens_ok is not False
                    and (not parts or all(answered)))
    return r


def run_prose(stores: Stores, backend: str, limit: int | None) -> tuple[dict, list[dict]]:
    rb = stores.get("prose")
    judge = Judge(rb.embedder)
    cases = load_prose()[:limit] if limit else load_prose()
    results = []
    for i, case in enumerate(cases, 1):
        t0 = time.perf_counter()
        answer = rb.ask(case["question"], _filters(case), backend=backend, record=False)
        base = score_answer(case, answer, judge, time.perf_counter() - t0)
        r = score_prose(case, answer.answer, base)
        r["backend"], r["model"], r["prompt_version"] = answer.backend, answer.model, answer.prompt_version
        results.append(r)
        if i % 20 == 0:
            log(f"prose: {i}/{len(cases)}")
    return aggregate_prose(results), results


def aggregate_prose(results: list[dict]) -> dict:
    """Exact correctness and the prose checks overall, per category, per split, and per split and
    category (`by_split.heldout.by_category.article` is the figure the issue's target names)."""
    def block(rs: list[dict]) -> dict:
        multi = [r for r in rs if r.get("every_part_answered") is not None]
        non_yes_no = [r for r in rs if not r.get("yes_no")]
        return {
            "n": len(rs),
            "exact_correctness": M.mean_or_none(r["correct"] for r in rs),
            "fact_recall": M.mean_or_none(r["fact_recall"] for r in rs if r["expected"]),
            "cite_ok": M.mean_or_none(r["cite_ok"] for r in rs if r["must_cite"]),
            "refusal_accuracy": M.mean_or_none(r["refusal_ok"] for r in rs if r["refusal_ok"] is not None),
            "opens_ok": M.mean_or_none(r["opens_ok"] for r in rs if r.get("opens_ok") is not None),
            "yes_no_openers_non_yes_no": sum(bool(r.get("yes_no_opener_on_non_yes_no")) for r in rs),
            "yes_no_opener_share": M.mean_or_none(bool(r.get("yes_no_opener_on_non_yes_no")) for r in non_yes_no),
            "every_part_answered": M.mean_or_none(r["every_part_answered"] for r in multi),
        }

    def by_category(rs: list[dict]) -> dict:
        return {c: block([r for r in rs if r["category"] == c]) for c in PROSE_CATEGORIES
                if any(r["category"] == c for r in rs)}

    out = block(results)
    out["by_category"] = by_category(results)
    out["by_split"] = {}
    for sp in SPLITS:
        rs = [r for r in results if r["split"] == sp]
        if rs:
            out["by_split"][sp] = block(rs) | {"by_category": by_category(rs)}
    out["latency"] = M.latency_summary([r["latency_s"] for r in results])
    return out
