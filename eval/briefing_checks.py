"""Briefing checks on fixtures of our own (eval/datasets/briefing_fixtures.jsonl): supersession (a later
note ends a stake), as-of briefings, and the 50 percent rule computed on ownership chains; plus the checks
run on every briefing case (`relations_once`, `rules_misapplied`).

The fixture store is built afresh in a temporary folder for each run (a few demo articles, the demo lists,
and the files of tests/fixtures/briefings/): the supersession case ingests its later note in the middle.
"""
from __future__ import annotations

import datetime as dt
import re
import tempfile
from pathlib import Path

from eval import ROOT
from eval.corpora import DATASETS, log, read_jsonl
from rag.entities.names import fold

DEMO = ROOT / "ingest" / "demo_corpus"
FIXTURES = ROOT / "tests" / "fixtures" / "briefings"
_NEGATED_RULE = re.compile(r"\b(?:does|do|did)\s+not\s+(?:apply|extend)|\bnot\s+applicable\b|\bnot\s+cover", re.I)


def rules_misapplied(b) -> list[str]:
    """Fact sentences of a briefing that state a rule (not saying it does not apply) where the briefing's
    own sources say the rule does not apply to the lists concerned: the sentence names such a list, or no
    list the briefing concerns is one the rule applies to (a blocking list it is not excluded from). The 50
    percent rule cited for an NS-CMIC listing is one; cited for a linked party on the SDN list it is not."""
    excluded: dict[str, set[str]] = {}
    for r in b.rules:
        for rule in _rule_names(r.not_applicable):
            excluded.setdefault(_rule_key(rule), set()).add(fold(r.list))
    out = []
    for sec in b.sections:
        for s in sec.sentences:
            if s.kind != "fact" or s.verdict == "removed" or _NEGATED_RULE.search(s.text):
                continue
            for rule in _rule_names([s.text]):
                lists = excluded.get(_rule_key(rule), set())
                applies = [r for r in b.rules if r.effect_kind == "blocking" and fold(r.list) not in lists]
                names_excluded = any(re.search(rf"\b{re.escape(l)}\b", fold(s.text)) for l in lists)
                if lists and (names_excluded or not applies):
                    out.append(s.text)
    return out


def _rule_key(rule: str) -> str:
    return re.sub(r"\s+", " ", fold(rule).replace("%", " percent"))


def _rule_names(sentences) -> list[str]:
    return [m.group(1) for t in sentences for m in [re.search(r"\b(\d+\s*(?:percent|%)\s+rule)\b", t, re.I)] if m]


def relations_once(b, items: list[dict]) -> list[dict]:
    """Each required relation stated once and cited: an exposure matching `entity`/`party`/`relation`/
    `percentage` (exactly one, with citations), or a cited sentence of "Links to other parties" holding
    one of `text` (exactly one)."""
    links = [s for sec in b.sections if sec.title == "Links to other parties" for s in sec.sentences
             if s.kind == "fact" and s.citations and s.verdict != "removed"]
    out = []
    for it in items:
        if "text" in it:
            hits = [s.text for s in links if any(fold(t) in fold(s.text) for t in it["text"])]
        else:
            hits = [x.sentence for x in b.exposure if x.citations
                    and (not it.get("entity") or fold(it["entity"]) == fold(x.entity))
                    and (not it.get("party") or fold(it["party"]) in fold(x.party))
                    and (not it.get("relation") or x.relation in it["relation"])
                    and (not it.get("percentage") or x.percentage == it["percentage"])]
        out.append({"label": it["label"], "count": len(hits), "ok": len(hits) == 1, "hits": hits})
    return out


def _store(base_settings, home: Path):
    from rag.service import Regbrief

    settings = base_settings.model_copy(update={"home": home, "chroma_url": None, "collection": "eval_briefing_fixtures",
                                                "database_url": None})
    return Regbrief(settings)


def _paths(names: list[str]) -> list[Path]:
    out = []
    for n in names:
        kind, _, rest = n.partition(":")
        out.append({"demo": DEMO, "fixture": FIXTURES}[kind] / rest)
    return out


def run_briefing_fixtures(base_settings) -> tuple[dict, list[dict]]:
    cases = sorted(read_jsonl(DATASETS / "briefing_fixtures.jsonl"), key=lambda c: c["id"])
    results = []
    with tempfile.TemporaryDirectory(prefix="regbrief-eval-briefings-") as tmp:
        rb = _store(base_settings, Path(tmp) / "home")
        files = sorted({f for c in cases for f in c.get("files", [])})
        log(f"briefing fixtures: ingest {len(files)} files")
        report = rb.ingestor.ingest(_paths(files))
        if not report.ok:
            raise RuntimeError(f"briefing fixtures: ingest failed: {report.to_dict()}")
        for case in cases:  # supersession cases ingest their later files between the two briefings
            results.append(_run(rb, case))
    agg = {"n": len(results), "correct": sum(r["ok"] for r in results) / len(results) if results else None,
           "by_kind": {k: sum(r["ok"] for r in results if r["kind"] == k) / n
                       for k in {r["kind"] for r in results}
                       for n in [sum(1 for r in results if r["kind"] == k)]}}
    return agg, results


def _run(rb, case: dict) -> dict:
    as_of = dt.date.fromisoformat(case["as_of"]) if case.get("as_of") else None
    why: list[str] = []
    kind = case["kind"]
    if kind == "supersession":
        before = rb.brief(case["entity"], as_of=as_of, record=False)
        x = next((x for x in before.exposure if x.percentage == case["percentage"]), None)
        if x is None or x.status != "current":
            why.append(f"before the later note: the {case['percentage']}% holding is {x and x.status}, not current")
        rb.ingestor.ingest(_paths(case["later"]))
    b = rb.brief(case["entity"], as_of=as_of, record=False)
    by_n = {c.n: c for c in b.citations}
    if case.get("rating") and b.rating != case["rating"]:
        why.append(f"rating {b.rating}, expected {case['rating']}")
    if case.get("rating_not") and b.rating == case["rating_not"]:
        why.append(f"rating {b.rating}")
    if kind == "supersession":
        ended = [x for x in b.exposure if x.percentage == case["percentage"]]
        if len(ended) != 1 or ended[0].status != "ended":
            why.append(f"the {case['percentage']}% holding is not shown once as ended: {[x.status for x in ended]}")
        else:
            x = ended[0]
            if str(x.ended_on) != case["ended_on"]:
                why.append(f"ended on {x.ended_on}, expected {case['ended_on']}")
            if not x.citations or not x.ended_citations:
                why.append("the stake and its end are not both cited")
            elif case["ended_quote"] not in by_n[x.ended_citations[0]].quote:
                why.append(f"the end cites {by_n[x.ended_citations[0]].quote!r}")
        notes = " ".join(s.text for sec in b.sections if sec.title == "Risk assessment" for s in sec.sentences)
        if case["ended_quote"] and "not counted" not in notes:
            why.append("the rating's reasons still count the ended holding")
    if kind == "as_of":
        events = [s for sec in b.sections if sec.title == "Timeline" for s in sec.sentences if s.kind == "fact"]
        if not any(str(s.date) == case["timeline_date"] and s.citations for s in events):
            why.append(f"no cited timeline event of {case['timeline_date']}")
        late = [c.date for c in b.citations if c.date and as_of and c.date > as_of]
        if late:
            why.append(f"cites sources dated after {as_of}: {late}")
    if kind == "fifty_percent":
        found = {f.entity: f for f in b.ownership}
        for name, total in (case.get("blocked") or {}).items():
            f = found.get(name)
            if f is None or f.status != "blocked" or f.total != total or not f.citations:
                why.append(f"{name}: expected blocked at {total}%, got {f and (f.status, f.total, f.citations)}")
        for name, total in (case.get("undetermined") or {}).items():
            f = found.get(name)
            if f is None or f.status != "undetermined" or f.total != total or not f.unknown:
                why.append(f"{name}: expected undetermined at {total}%, got {f and (f.status, f.total)}")
        for name in case.get("not_blocked") or []:
            if name in found:
                why.append(f"{name}: reported {found[name].status}")
        if case.get("path"):
            got = [[h.owner, h.asset, h.percentage] for h in found[case["path_of"]].path] if case["path_of"] in found else []
            if got != case["path"]:
                why.append(f"path {got}, expected {case['path']}")
    misapplied = rules_misapplied(b)
    why += [f"rule cited for a list it does not apply to: {t}" for t in misapplied]
    return {"id": case["id"], "kind": kind, "entity": case["entity"], "as_of": case.get("as_of"), "rating": b.rating,
            "ok": not why, "why": why}
