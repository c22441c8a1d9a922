"""How well the planner reads what a question asks (rag/answering/plan.py), on eval/datasets/plan_fields.jsonl.

Each line is a question and the field (or relation kind, or "other") a reader would say it asks about.
The `dev` lines were looked at while the field descriptions were written; the `heldout` lines were
written before measuring and never used to change a description: their accuracy is the figure that says
whether the mapping holds for phrasings nobody wrote a rule for. The `heldout` lines have since been looked
at (their failures were read while the planner was changed); `heldout2` (plan_fields_heldout2.jsonl, 64
questions) was written by someone who had seen neither the planner nor its descriptions, and is only ever
measured, never read for tuning: it is the figure to quote.
"""
from __future__ import annotations

from eval import DATASETS
from eval.corpora import read_jsonl
from eval import metrics as M


def planned_field(plan) -> str:
    """The field the answer is drafted for: a yes/no question about a listing fact asks whether it is listed."""
    if not plan.asks:
        return "other"
    a = plan.asks[0]
    if a.kind == "yes_no" and a.field in ("listing_date", "effective_date", "programs"):
        return "listed"
    return a.field


def run_plan(rb) -> tuple[dict, list[dict]]:
    from rag.answering.plan import make_plan

    rows = []
    cases = [*read_jsonl(DATASETS / "plan_fields.jsonl"), *read_jsonl(DATASETS / "plan_fields_heldout2.jsonl")]
    for case in cases:
        plan = make_plan(rb, case["question"])
        got = planned_field(plan)
        rows.append({"question": case["question"], "split": case["split"], "expected": case["field"], "got": got,
                     "score": plan.asks[0].score if plan.asks else None, "ok": got == case["field"]})
    out = {sp: {"n": sum(r["split"] == sp for r in rows),
                "accuracy": M.mean_or_none(r["ok"] for r in rows if r["split"] == sp)}
           for sp in ("dev", "heldout", "heldout2")}
    return out, rows


if __name__ == "__main__":
    import sys

    from eval.corpora import Stores

    if len(sys.argv) > 1:  # an existing store's home, e.g. a copy of the eval's facts store
        from pathlib import Path

        from rag.service import Regbrief
        from rag.core.settings import Settings

        rb = Regbrief(Settings().model_copy(update={"home": Path(sys.argv[1]), "chroma_url": None,
                                                     "collection": "eval_facts"}))
    else:
        rb = Stores().get("facts")
    out, rows = run_plan(rb)
    for r in rows:
        if not r["ok"]:
            print(f"  {r['split']:8} expected {r['expected']:16} got {r['got']:16} ({r['score']}) {r['question']}")
    print(out)
