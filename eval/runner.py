"""Builds the eval corpora, runs the suites, scores them, and checks the gate.

Corpora (each its own store under eval_home(), so one suite never changes another's numbers):
  facts        the demo corpus; OFAC's consolidated non-SDN list of 2025-06-30 (all 443 entries); fixed
               slices of the SDN lists of 2021-12-09 and 2021-12-10 (SDN_SLICE_PROGRAMS: the programs of
               the 25 additions of 10 Dec 2021, 707 rows per file); a slice of the Federal Register
               abstracts (FR_SLICE: published in 2021, or titled as OFAC sanctions regulations, Chinese
               military, Magnitsky or Burma: 234 notices); the EU global human rights regime annex
               (eu/consolidated/32020R1998.csv, 177 listings); and eval/datasets/injection/ (documents with
               injected instructions, written for the eval).
  prose        the public-domain US government press releases of eval/datasets/prose_corpus/ and a slice of
               the Federal Register abstracts (the notices the prose cases cite, every notice published in
               2021 or 2022 and every Entity List rule), for the prose suite (eval/prose_suite.py).
  obliqa_aml   ObliQA document 1 (ADGM AML and Sanctions Rules), for the gate's retrieval subset.
  obliqa_all   all 40 ObliQA documents, for the full dev split and ObliQA-MP validation.

The slices are written on the fly from ../shared/data into the store's folder (never into the repository),
byte for byte, so the same data gives the same file, the same hash and the same doc ids.

Suites: facts (fact cases, the verifier's error rate, the planner's reading of questions), prose (questions about
what press releases and notices say), briefings, retrieval, gate (facts + planner + briefings + verifier + prose +
the ObliQA AML subset), all (everything).
"""
from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from eval import ROOT, data_dir
from eval import metrics as M

from eval.corpora import (K, OBLIQA_AML, OBLIQA_DEV, OBLIQA_MP, OBLIQA_MP_QRELS, RETRIEVAL_MODES, Stores,
                          dataset_hashes, load_briefings, load_verifier_labels, log)
from eval.briefing_checks import relations_once, rules_misapplied, run_briefing_fixtures
from eval.facts_suite import Judge, _citation_dict, run_facts, run_injection, statements_of

SUITES = {
    "facts": ("facts", "verifier", "plan"),
    "injection": ("injection",),
    "prose": ("prose",),
    "briefings": ("briefings", "briefing_fixtures"),
    "retrieval": ("retrieval_aml", "retrieval_dev", "retrieval_mp"),
    "gate": ("facts", "verifier", "plan", "injection", "briefings", "briefing_fixtures", "prose", "retrieval_aml"),
    "all": ("facts", "verifier", "plan", "injection", "briefings", "briefing_fixtures", "prose", "retrieval_aml",
            "retrieval_dev", "retrieval_mp"),
}


def configure_torch() -> dict:
    """Torch threads for this eval process, recorded in the report: REGBRIEF_EVAL_TORCH_THREADS=N forces N,
    else rag.embeddings.threads_for_load decides."""
    import torch

    from rag.embeddings import threads_for_load

    n, reason = threads_for_load(os.environ.get("REGBRIEF_EVAL_TORCH_THREADS", ""))
    if n:
        torch.set_num_threads(n)
    return {"threads": torch.get_num_threads(), "reason": reason}


# --- verifier -----------------------------------------------------------------------------------------


def run_verifier(stores: Stores) -> tuple[dict, list[dict]]:
    from rag.embeddings import get_embedder
    from rag.answering.verify import Verifier

    settings = stores.base
    verifier = Verifier(get_embedder(settings.embedding_model, settings.embedding_batch_size))
    rows = []
    for lab in load_verifier_labels():
        check = verifier.check(lab["sentence"], {1: lab["passage"]})
        rows.append({"id": lab["id"], "kind": lab.get("kind"), "label": bool(lab["supported"]),
                     "predicted": check.ok, "support": check.support, "missing": check.missing,
                     "sentence": lab["sentence"]})
    out = M.verifier_error_rates([r["label"] for r in rows], [r["predicted"] for r in rows])
    kinds = sorted({r["kind"] or "" for r in rows})
    out["by_kind"] = {k: {"n": sum(r["kind"] == k for r in rows),
                          "accuracy": M.mean_or_none(r["label"] == r["predicted"] for r in rows if r["kind"] == k)}
                      for k in kinds}
    return out, rows


# --- briefings ----------------------------------------------------------------------------------------


def run_briefings(stores: Stores, backend: str, limit: int | None) -> tuple[dict, list[dict]]:
    from rag.core.dates import find_dates

    rb = stores.get("facts")
    judge = Judge(rb.embedder)
    cases = load_briefings()[:limit] if limit else load_briefings()
    results = []
    for case in cases:
        as_of = dt.date.fromisoformat(case["as_of"]) if case.get("as_of") else None
        t0 = time.perf_counter()
        b = rb.brief(case["entity"], as_of=as_of, backend=backend, record=False)
        latency = time.perf_counter() - t0
        sentences = [s for sec in b.sections for s in sec.sentences]
        cited = [s.text for s in sentences if s.kind == "fact" and s.citations and s.verdict != "removed"]
        every = [s.text for s in sentences if s.verdict != "removed"]
        facts = case.get("facts") or []
        found = [M.fact_present(f, "\n".join(cited)) for f in facts]
        cits = [_citation_dict(c) for c in b.citations]
        nl = case.get("not_listed")
        invented = M.invented_listing_claims(cited, nl["names"], nl.get("lists", [])) if nl else []
        alce = M.alce_citation_scores(statements_of(sentences, b.citations), judge)
        rating_ok = None if not case.get("rating") else b.rating == case["rating"]
        cite_ok = M.cites_required(cits, case.get("must_cite"))
        # What an analyst notices: a fact stated twice (the Timeline indexes dated facts, checked on its
        # own), the exposure facts the case requires among the cited links, the timeline's order.
        body = [s.text for sec in b.sections if sec.title != "Timeline" for s in sec.sentences
                if s.kind == "fact" and s.verdict != "removed"]
        events = [s for sec in b.sections if sec.title == "Timeline" for s in sec.sentences if s.kind == "fact"]
        repeated = M.repeated_facts(body) + M.repeated_facts([s.text for s in events])
        link_text = "\n".join(s.text for sec in b.sections if sec.title == "Links to other parties"
                              for s in sec.sentences if s.kind == "fact" and s.citations)
        exposure = case.get("exposure") or []
        exposure_found = [M.fact_present(f, link_text) for f in exposure]
        sorted_ok = M.timeline_sorted([s.date or min(find_dates(s.text), default=None) for s in events])
        why = [f"missing cited fact {f}" for f, ok in zip(facts, found) if not ok]
        if not cite_ok:
            why.append(f"no citation matching {case.get('must_cite')}")
        if rating_ok is False:
            why.append(f"rating {b.rating}, expected {case['rating']}")
        why += [f"invented listing: {s}" for s in invented]
        why += [f"fact repeated: {b_!r} (first: {a_!r})" for a_, b_ in repeated]
        why += [f"missing exposure fact {f}" for f, ok in zip(exposure, exposure_found) if not ok]
        if not sorted_ok:
            why.append("timeline out of date order")
        once = relations_once(b, case.get("once") or [])
        misapplied = rules_misapplied(b)
        why += [f"stated {o['count']} times, not once and cited: {o['label']}" for o in once if not o["ok"]]
        why += [f"rule cited for a list it does not apply to: {t}" for t in misapplied]
        results.append({
            "id": case["id"], "entity": case["entity"], "as_of": case.get("as_of"), "expected": facts,
            "found": found, "must_cite": case.get("must_cite"), "coverage": M.briefing_fact_coverage(facts, cited),
            "coverage_any_sentence": M.fact_recall(facts, "\n".join(every)), "cite_ok": cite_ok,
            "rating": b.rating, "expected_rating": case.get("rating"), "rating_ok": rating_ok,
            "invented": invented, "citation": alce, "why": why, "resolved": b.resolved,
            "repeated": [list(x) for x in repeated], "exposure": exposure, "exposure_found": exposure_found,
            "timeline_sorted": sorted_ok, "timeline_events": len(events), "once": once, "misapplied": misapplied,
            "complete": not why, "latency_s": round(latency, 4), "backend": b.backend, "model": b.model,
            "prompt_version": b.prompt_version,
            "text": "\n".join(f"[{sec.title}] " + " ".join(s.text for s in sec.sentences) for sec in b.sections),
        })
    totals = {k: sum(r["citation"][k] for r in results) for k in ("statements", "covered", "citations", "precise")}
    agg = {
        "n": len(results),
        "fact_coverage": M.mean_or_none(r["coverage"] for r in results),
        "fact_coverage_any_sentence": M.mean_or_none(r["coverage_any_sentence"] for r in results),
        "complete": M.mean_or_none(r["complete"] for r in results),
        "cite_ok": M.mean_or_none(r["cite_ok"] for r in results if r["must_cite"]),
        "rating_accuracy": M.mean_or_none(r["rating_ok"] for r in results if r["rating_ok"] is not None),
        "citation_recall": M.mean_or_none(r["citation"]["recall"] for r in results),
        "citation_precision": M.mean_or_none(r["citation"]["precision"] for r in results),
        "citation_recall_micro": totals["covered"] / totals["statements"] if totals["statements"] else None,
        "citation_precision_micro": totals["precise"] / totals["citations"] if totals["citations"] else None,
        "citation_counts": totals,
        "invented_listings": sum(len(r["invented"]) for r in results),
        "repeated_facts": sum(len(r["repeated"]) for r in results),
        "exposure_recall": M.mean_or_none(ok for r in results for ok in r["exposure_found"]),
        "timeline_sorted": M.mean_or_none(r["timeline_sorted"] for r in results),
        # issue 25: the relations a case requires, each once and cited; rules cited for lists they do not apply to
        "relations_once": M.mean_or_none(o["ok"] for r in results for o in r["once"]),
        "rules_misapplied": sum(len(r["misapplied"]) for r in results),
        "unrated_accuracy": M.mean_or_none(r["rating"] == r["expected_rating"] for r in results
                                           if "unrated" in (r["rating"], r["expected_rating"])),
        "latency": M.latency_summary([r["latency_s"] for r in results]),
    }
    return agg, results


# --- retrieval ----------------------------------------------------------------------------------------


def _obliqa_questions(path: Path, key: str = "passage") -> list[tuple[str, str, set[str]]]:
    items = json.loads(path.read_text(encoding="utf-8"))
    out = []
    for q in items:
        if key == "passage":
            gold = {f"{p['DocumentID']}|{p['PassageID']}" for p in q["Passages"]}
        else:
            gold = {p["ID"] for p in q["Passages"]}
        out.append((q["QuestionID"], q["Question"], gold))
    return sorted(out, key=lambda x: x[0])


def _qrels(path: Path) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) >= 4 and int(parts[3]) > 0:
            out.setdefault(parts[0], set()).add(parts[2])
    return out


def run_retrieval(stores: Stores, dataset: str, limit: int | None, modes=RETRIEVAL_MODES) -> tuple[dict, list[dict]]:
    data = data_dir()
    if dataset == "retrieval_aml":
        rb, questions, key = stores.get("obliqa_aml"), _obliqa_questions(data / OBLIQA_AML), "passage"
    elif dataset == "retrieval_dev":
        rb, questions, key = stores.get("obliqa_all"), _obliqa_questions(data / OBLIQA_DEV), "passage"
    elif dataset == "retrieval_mp":
        rb, key = stores.get("obliqa_all"), "id"
        qrels = _qrels(data / OBLIQA_MP_QRELS)
        questions = [(qid, q, qrels.get(qid) or gold) for qid, q, gold in _obliqa_questions(data / OBLIQA_MP, "id")]
    else:
        raise ValueError(dataset)
    if limit:
        questions = questions[:limit]
    questions = [q for q in questions if q[2]]
    out: dict[str, Any] = {"n": len(questions), "k": K}
    rows = []
    for mode in modes:
        runs, lat = [], []
        for qid, q, gold in questions:
            t0 = time.perf_counter()
            res = rb.search(q, k=K, mode=mode).results
            lat.append(time.perf_counter() - t0)
            if key == "passage":
                ranked = [f"{r.metadata.get('DocumentID')}|{r.metadata.get('PassageID')}" for r in res]
            else:
                ranked = [str(r.metadata.get("ID")) for r in res]
            runs.append((ranked, gold))
            if mode == modes[0]:
                rows.append({"id": qid, "question": q, "gold": sorted(gold), "ranked": ranked,
                             "recall": M.recall_at_k(ranked, gold, K)})
        out[mode] = {"recall@10": M.mean_recall_at_k(runs, K), "map@10": M.map_at_k(runs, K),
                     "mrr@10": M.mrr(runs, K), "latency": M.latency_summary(lat)}
        log(f"{dataset} {mode}: R@10 {out[mode]['recall@10']:.4f} MAP@10 {out[mode]['map@10']:.4f} "
            f"MRR {out[mode]['mrr@10']:.4f} ({len(runs)} questions)")
    return out, rows


# --- a run --------------------------------------------------------------------------------------------


def code_version() -> dict:
    def git(*args):
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=20).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    commit = git("rev-parse", "HEAD") or None
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(status) if commit else None}


def prompt_versions() -> dict:
    import prompts

    out = {}
    for name in ("answer", "briefing", "condense"):
        try:
            out[name] = prompts.version(name)
        except (OSError, ValueError):
            out[name] = None
    return out


def run(suite: str = "all", backend: str | None = None, limit: int | None = None, base_settings=None,
        home: Path | None = None) -> dict:
    """Run a suite and return the report (a dict, JSON-ready)."""
    if suite not in SUITES:
        raise ValueError(f"unknown suite {suite!r}; one of {', '.join(SUITES)}")
    from rag.core.settings import Settings

    base = base_settings or Settings()
    backend = backend or base.llm
    torch_info = configure_torch()
    log(f"torch threads: {torch_info}")
    stores = Stores(base, home)
    t_start, cpu_start = time.perf_counter(), time.process_time()
    report: dict[str, Any] = {
        "meta": {
            "suite": suite, "backend": backend, "limit": limit,
            "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "code": code_version(), "prompt_versions": prompt_versions(),
            "embedding_model": base.embedding_model or "all-MiniLM-L6-v2",
            "llm_model": {"openai": base.openai_model, "llamacpp": base.llamacpp_model_path}.get(backend),
            "datasets": dataset_hashes(), "python": sys.version.split()[0], "cpus": os.cpu_count(),
            "torch": torch_info,
        },
        "metrics": {}, "cases": {}, "timings": {}, "cpu_seconds": {},
    }
    for part in SUITES[suite]:
        t0, c0 = time.perf_counter(), time.process_time()
        if part == "facts":
            report["metrics"]["facts"], report["cases"]["facts"] = run_facts(stores, backend, limit)
        elif part == "injection":
            report["metrics"]["injection"], report["cases"]["injection"] = run_injection(stores, backend, limit)
        elif part == "prose":  # what press releases and notices say (eval/prose_suite.py)
            from eval.prose_suite import run_prose

            report["metrics"]["prose"], report["cases"]["prose"] = run_prose(stores, backend, limit)
        elif part == "verifier":
            report["metrics"]["verifier"], report["cases"]["verifier"] = run_verifier(stores)
        elif part == "plan":  # how the planner reads what is asked (eval/plan_eval.py)
            from eval.plan_eval import run_plan

            report["metrics"]["plan"], report["cases"]["plan"] = run_plan(stores.get("facts"))
        elif part == "briefings":
            report["metrics"]["briefings"], report["cases"]["briefings"] = run_briefings(stores, backend, limit)
        elif part == "briefing_fixtures":  # supersession, as-of and 50 percent cases on fixtures of our own
            fixtures, report["cases"]["briefing_fixtures"] = run_briefing_fixtures(base)
            report["metrics"].setdefault("briefings", {})["fixtures"] = fixtures
        else:
            name = {"retrieval_aml": "obliqa_aml_doc1", "retrieval_dev": "obliqa_dev",
                    "retrieval_mp": "obliqa_mp_val"}[part]
            # The gate scores hybrid retrieval only (what answers use); the full suites compare all three modes.
            modes = ("hybrid",) if suite == "gate" else RETRIEVAL_MODES
            report["metrics"].setdefault("retrieval", {})[name], report["cases"][name] = run_retrieval(
                stores, part, limit, modes)
        report["timings"][part] = round(time.perf_counter() - t0, 2)
        report["cpu_seconds"][part] = round(time.process_time() - c0, 2)
        log(f"{part} done in {report['timings'][part]}s (cpu {report['cpu_seconds'][part]}s, includes ingest)")
    report["timings"]["total"] = round(time.perf_counter() - t_start, 2)
    report["cpu_seconds"]["total"] = round(time.process_time() - cpu_start, 2)
    try:
        report["meta"]["load_average"] = os.getloadavg()
    except OSError:
        pass
    report["meta"]["corpora"] = stores.ingest_info
    models = {(r.get("backend"), r.get("model"), r.get("prompt_version"))
              for r in report["cases"].get("facts", []) + report["cases"].get("prose", [])}
    report["meta"]["answer_backends"] = sorted([list(m) for m in models], key=str)
    return report


# --- the gate -----------------------------------------------------------------------------------------


def lookup(metrics: dict, dotted: str):
    """metrics["a"]["b"]["c"] for "a.b.c"; keys may contain '@' (e.g. retrieval.x.hybrid.recall@10)."""
    cur: Any = metrics
    for part in dotted.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur


def check_thresholds(metrics: dict, thresholds: dict) -> list[dict]:
    """Every threshold with its measured value; `ok` False for a value below a [min] or above a [max]
    threshold, or missing."""
    out = []
    for kind in ("min", "max"):
        for key, limit in sorted((thresholds.get(kind) or {}).items()):
            value = lookup(metrics, key)
            ok = value is not None and (value >= limit if kind == "min" else value <= limit)
            out.append({"metric": key, "kind": kind, "threshold": limit, "value": value, "ok": ok})
    return out
