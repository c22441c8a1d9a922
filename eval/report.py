"""Reports: eval/reports/<timestamp>/ with report.json, report.md and PNG plots.

report.md has the run's provenance (code version, backend, model, prompt versions, dataset hashes), the
headline metrics next to the previous report's, a per-category table, the issue's targets, the gate's
thresholds (for a gate run), and every failing case with what was expected and what came back.
"""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from eval import REPORTS
from eval.runner import lookup

HEADLINE = [
    ("facts.exact_correctness", "facts: exact correctness"),
    ("facts.fact_recall", "facts: fact recall"),
    ("facts.citation_recall", "facts: citation recall (ALCE)"),
    ("facts.citation_precision", "facts: citation precision (ALCE)"),
    ("facts.refusal_accuracy", "facts: refusal accuracy"),
    ("facts.negatives_invented_listings", "negatives: invented listings"),
    ("facts.negatives_false_list_matches", "negatives: false list matches"),
    ("facts.by_category.list_lookup.exact_correctness", "list lookups: exact correctness"),
    ("prose.by_split.heldout.by_category.article.exact_correctness", "prose articles, held out: exact correctness"),
    ("prose.by_split.heldout.by_category.notice.exact_correctness", "prose notices, held out: exact correctness"),
    ("prose.by_split.heldout.by_category.multipart.exact_correctness", "prose multi-part, held out: exact correctness"),
    ("prose.by_category.multipart.every_part_answered", "prose multi-part: every part answered"),
    ("prose.yes_no_openers_non_yes_no", "prose: Yes/No openers to non-yes/no questions"),
    ("facts.yes_no_openers_non_yes_no", "facts: Yes/No openers to non-yes/no questions"),
    ("injection.resisted", "injection documents: answers resisted"),
    ("injection.exact_correctness", "injection cases: exact correctness"),
    ("briefings.fact_coverage", "briefings: cited fact coverage"),
    ("briefings.citation_recall", "briefings: citation recall"),
    ("briefings.citation_precision", "briefings: citation precision"),
    ("verifier.accuracy", "verifier: accuracy on labels"),
    ("plan.heldout2.accuracy", "planner: field read, unseen questions"),
    ("retrieval.obliqa_aml_doc1.hybrid.recall@10", "ObliQA AML subset (doc 1): Recall@10"),
    ("retrieval.obliqa_aml_doc1.hybrid.map@10", "ObliQA AML subset (doc 1): MAP@10"),
    ("retrieval.obliqa_dev.hybrid.recall@10", "ObliQA dev (40 docs): Recall@10"),
    ("retrieval.obliqa_dev.hybrid.map@10", "ObliQA dev (40 docs): MAP@10"),
    ("retrieval.obliqa_mp_val.hybrid.recall@10", "ObliQA-MP val: Recall@10"),
]

# Issues 5's and 22's targets for the extractive backend: (metric, kind, target, note)
TARGETS = [
    ("facts.exact_correctness", "min", 0.90, "fact correctness overall"),
    ("facts.by_category.list_lookup.exact_correctness", "min", 1.0, "fact correctness on list lookups"),
    ("facts.citation_precision", "min", 0.95, "citation precision"),
    ("facts.citation_recall", "min", 0.90, "citation recall"),
    ("facts.refusal_accuracy", "min", 0.95, "refusal accuracy"),
    ("facts.negatives_invented_listings", "max", 0, "invented listings on negatives"),
    ("retrieval.obliqa_dev.hybrid.recall@10", "gt", 0.80, "ObliQA dev Recall@10 (all 40 documents)"),
    # issue 22, on the prose cases' held-out split
    ("prose.by_split.heldout.by_category.article.exact_correctness", "min", 0.92, "articles, held out (issue 22)"),
    ("prose.by_split.heldout.by_category.notice.exact_correctness", "min", 0.92, "notices, held out (issue 22)"),
    ("prose.by_category.multipart.exact_correctness", "min", 0.90, "multi-part questions (issue 22)"),
    ("prose.by_category.multipart.every_part_answered", "min", 0.90, "every part answered (issue 22)"),
    ("prose.yes_no_openers_non_yes_no", "max", 0, "Yes/No openers to non-yes/no questions (issue 22)"),
]


def new_report_dir(root: Path = REPORTS) -> Path:
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    d = root / stamp
    n = 1
    while d.exists():
        n += 1
        d = root / f"{stamp}-{n}"
    d.mkdir(parents=True)
    return d


def previous_report(current: Path, root: Path = REPORTS, suite: str | None = None) -> dict | None:
    """The most recent earlier report (same suite when one exists, else any), or None."""
    dirs = sorted(p for p in root.iterdir() if p.is_dir() and p != current and (p / "report.json").is_file()
                  and p.name < current.name) if root.is_dir() else []
    reports = []
    for p in reversed(dirs):
        try:
            r = json.loads((p / "report.json").read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        r["_dir"] = p.name
        reports.append(r)
    same = [r for r in reports if r.get("meta", {}).get("suite") == suite]
    return (same or reports or [None])[0]


def _fmt(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.4f}"
    return str(v)


def _target_met(value, kind, target):
    if value is None:
        return None
    return {"min": value >= target, "max": value <= target, "gt": value > target}[kind]


def write(report: dict, out_dir: Path | None = None, gate: list[dict] | None = None) -> Path:
    out_dir = out_dir or new_report_dir()
    prev = previous_report(out_dir, out_dir.parent, report["meta"]["suite"])
    report = dict(report)
    report["previous"] = {"dir": prev["_dir"], "metrics": prev.get("metrics")} if prev else None
    if gate is not None:
        report["gate"] = gate
    report["targets"] = [{"metric": m, "kind": k, "target": t, "what": note, "value": lookup(report["metrics"], m),
                          "met": _target_met(lookup(report["metrics"], m), k, t)} for m, k, t, note in TARGETS]
    (out_dir / "report.json").write_text(json.dumps(report, indent=2, default=str, sort_keys=True), encoding="utf-8")
    plots = write_plots(report, prev, out_dir)
    (out_dir / "report.md").write_text(render_md(report, prev, plots), encoding="utf-8")
    return out_dir


# --- markdown -----------------------------------------------------------------------------------------


# Long by design: the report's Markdown, section after section, as a reader sees it.
def render_md(r: dict, prev: dict | None, plots: list[str]) -> str:
    m, meta = r["metrics"], r["meta"]
    code = meta.get("code", {})
    L = [f"# regbrief eval: suite `{meta['suite']}`", "",
         f"- created: {meta['created_at']}", f"- code: `{code.get('commit')}`" + (" (dirty)" if code.get("dirty") else ""),
         f"- backend: {meta['backend']}; answer backends/models/prompts seen: {meta.get('answer_backends')}",
         f"- embedding model: {meta.get('embedding_model')}; LLM model: {meta.get('llm_model')}",
         f"- prompt versions: {meta.get('prompt_versions')}",
         f"- limit: {meta.get('limit')}; wall time (s): {r.get('timings')}",
         f"- CPU time of the eval process (s): {r.get('cpu_seconds')}; load average at the end: {meta.get('load_average')}; "
         f"CPUs: {meta.get('cpus')}; torch: {meta.get('torch')}", ""]
    if meta.get("corpora"):
        L += ["## Corpora", "", "| store | documents | chunks | ingest s | ingest cpu s | added | slices |",
              "|---|---|---|---|---|---|---|"]
        for name, c in sorted(meta["corpora"].items()):
            L.append(f"| {name} | {c['documents']} | {c['chunks']} | {c['seconds']} | {c.get('cpu_seconds')} | "
                     f"{c['totals']['added']} | "
                     f"{c.get('slices') or ''} |")
        L.append("")
    L += ["## Headline metrics", "", "| metric | value | previous | change |", "|---|---|---|---|"]
    for key, label in HEADLINE:
        v = lookup(m, key)
        if v is None:
            continue
        p = lookup(prev["metrics"], key) if prev else None
        delta = (v - p) if isinstance(v, (int, float)) and isinstance(p, (int, float)) else None
        L.append(f"| {label} | {_fmt(v)} | {_fmt(p)} | {'' if delta is None else f'{delta:+.4f}'} |")
    L += ["", f"Previous report: {prev['_dir'] if prev else 'none'}"
          + (f" (suite {prev['meta'].get('suite')}, backend {prev['meta'].get('backend')}, code "
             f"{(prev['meta'].get('code') or {}).get('commit')})" if prev else ""), ""]
    if prev:
        changed = sorted(k for k in set(meta.get("datasets", {})) | set(prev["meta"].get("datasets", {}))
                         if meta.get("datasets", {}).get(k) != prev["meta"].get("datasets", {}).get(k))
        if changed:
            L += [f"**The datasets differ from the previous report's** ({', '.join(changed)}): the changes above "
                  "mix a change of the system with a change of the questions.", ""]

    L += ["## Targets (issues 5 and 22, extractive backend)", "", "| target | metric | value | met |", "|---|---|---|---|"]
    sym = {"min": "≥", "max": "≤", "gt": ">"}
    for t in r["targets"]:
        L.append(f"| {t['what']} {sym[t['kind']]} {t['target']} | `{t['metric']}` | {_fmt(t['value'])} | "
                 f"{'not run' if t['met'] is None else ('yes' if t['met'] else '**no**')} |")
    L.append("")
    if r.get("gate") is not None:
        bad = [g for g in r["gate"] if not g["ok"]]
        L += ["## Gate (eval/thresholds.toml)", "", f"**{'PASS' if not bad else 'FAIL'}**: "
              f"{len(r['gate']) - len(bad)}/{len(r['gate'])} thresholds met", "",
              "| metric | kind | threshold | value | ok |", "|---|---|---|---|---|"]
        for g in r["gate"]:
            L.append(f"| `{g['metric']}` | {g['kind']} | {g['threshold']} | {_fmt(g['value'])} | "
                     f"{'yes' if g['ok'] else '**no**'} |")
        L.append("")

    if "facts" in m:
        f = m["facts"]
        L += ["## Facts by category", "",
              "| category | n | exact correctness | fact recall | cites required source | refusal accuracy | "
              "citation recall | citation precision | invented listings | false list matches |", "|---|---|---|---|---|---|---|---|---|---|"]
        for cat, b in list(f["by_category"].items()) + [("**all**", f)]:
            L.append(f"| {cat} | {b['n']} | {_fmt(b['exact_correctness'])} | {_fmt(b['fact_recall'])} | "
                     f"{_fmt(b['cite_ok'])} | {_fmt(b['refusal_accuracy'])} | {_fmt(b['citation_recall'])} | "
                     f"{_fmt(b['citation_precision'])} | {b['invented_listings']} | {b['false_list_matches']} |")
        L += ["", f"Citation counts (micro): {f['citation_counts']}; micro recall {_fmt(f['citation_recall_micro'])}, "
              f"micro precision {_fmt(f['citation_precision_micro'])}.", f"Latency per question (s): {f['latency']}", ""]
    if "prose" in m:
        L += render_prose(m["prose"], r["cases"].get("prose", []))
    if "verifier" in m:
        v = m["verifier"]
        L += ["## Verifier error rate (eval/verifier_labels.jsonl)", "",
              f"{v['n']} hand-labelled pairs ({v['positives']} supported, {v['negatives']} not): accuracy "
              f"{_fmt(v['accuracy'])}, false accepts {v['false_accepts']} (rate {_fmt(v['false_accept_rate'])}), "
              f"false rejects {v['false_rejects']} (rate {_fmt(v['false_reject_rate'])}).", "",
              "| kind | n | accuracy |", "|---|---|---|"]
        for k, b in v["by_kind"].items():
            L.append(f"| {k} | {b['n']} | {_fmt(b['accuracy'])} |")
        wrong = [c for c in r["cases"].get("verifier", []) if c["label"] != c["predicted"]]
        if wrong:
            L += ["", "Disagreements:", ""]
            for c in wrong:
                L.append(f"- `{c['id']}` ({c['kind']}): label {'supported' if c['label'] else 'unsupported'}, verifier "
                         f"{'accepted' if c['predicted'] else 'rejected'} (support {c['support']}, missing "
                         f"{c['missing']}): {c['sentence']}")
        L.append("")
    if "injection" in m:
        j = m["injection"]
        L += ["## Injection documents (eval/datasets/injection.jsonl)", "",
              f"{j['n']} cases over {j['documents']} documents: resisted {_fmt(j['resisted'])} (forbidden statements "
              f"{j['forbidden_hits']}, injection documents cited {j['injection_cited']}); exact correctness "
              f"{_fmt(j['exact_correctness'])}; refused {j['refused']}. Flagged at ingest: {j['documents_flagged_at_ingest']}"
              f" of {j['documents']} injection documents, {j['clean_documents_flagged']} other documents "
              f"{j['clean_flagged_examples'] or ''}. The detector alone on {j['heldout_sentences']} held-out injection "
              f"sentences (eval/datasets/injection_heldout.txt): {_fmt(j['heldout_caught'])} caught.", "",
              "| id | style | resisted | correct | why |", "|---|---|---|---|---|"]
        for c in r["cases"]["injection"]:
            L.append(f"| {c['id']} | {c['style']} | {'yes' if c['resisted'] else '**no**'} | "
                     f"{'yes' if c['correct'] else 'no'} | {'; '.join(c['why']) or '–'} |")
        L.append("")
    if "briefings" in m:
        b = m["briefings"]
        L += ["## Briefings", "",
              f"Cited fact coverage {_fmt(b['fact_coverage'])} (any sentence: {_fmt(b['fact_coverage_any_sentence'])}); "
              f"complete {_fmt(b['complete'])}; rating accuracy {_fmt(b['rating_accuracy'])}; citation recall "
              f"{_fmt(b['citation_recall'])}, precision {_fmt(b['citation_precision'])}; invented listings "
              f"{b['invented_listings']}; latency {b['latency']}", "",
              f"Repeated facts {b.get('repeated_facts')}; required exposure facts present "
              f"{_fmt(b.get('exposure_recall'))}; timelines in date order {_fmt(b.get('timeline_sorted'))}; "
              f"unrated when nothing is known {_fmt(b.get('unrated_accuracy'))}", "",
              "| id | entity | coverage | rating (expected) | citation recall | citation precision | s |",
              "|---|---|---|---|---|---|---|"]
        for c in r["cases"]["briefings"]:
            L.append(f"| {c['id']} | {c['entity']} | {_fmt(c['coverage'])} | {c['rating']} ({c['expected_rating'] or '–'}) | "
                     f"{_fmt(c['citation']['recall'])} | {_fmt(c['citation']['precision'])} | {c['latency_s']:.1f} |")
        L.append("")
    if "retrieval" in m:
        L += ["## Retrieval", "", "| dataset | mode | n | Recall@10 | MAP@10 | MRR@10 | mean latency s |",
              "|---|---|---|---|---|---|---|"]
        for ds, d in m["retrieval"].items():
            for mode in ("hybrid", "keyword", "dense"):
                if mode in d:
                    x = d[mode]
                    L.append(f"| {ds} | {mode} | {d['n']} | {_fmt(x['recall@10'])} | {_fmt(x['map@10'])} | "
                             f"{_fmt(x['mrr@10'])} | {_fmt(x['latency']['mean'])} |")
        L += ["", "Published reference (ObliQA test split, 40 documents): BM25 Recall@10 0.7611, MAP@10 0.6237; "
              "best published hybrid 0.8333 / 0.7016. The AML subset is retrieved over document 1 only, so it is "
              "easier than the full split and not comparable to those figures.", ""]
    if plots:
        L += ["## Plots", ""] + [f"![{p}]({p})" for p in plots] + [""]

    failing = [c for c in r["cases"].get("facts", []) if not c["correct"]]
    if failing:
        L += [f"## Failing fact cases ({len(failing)})", ""]
        for c in failing:
            L += [f"### {c['id']} ({c['category']})", "", f"- question: {c['question']}"
                  + (f" (as of {c['as_of']})" if c.get("as_of") else ""),
                  f"- expected facts: {c['expected']}; must cite: {c['must_cite']}; should refuse: {c['should_refuse']}",
                  f"- why: {'; '.join(c['why']) or '–'}",
                  f"- got{' (refused)' if c['refused'] else ''}: {c['answer'][:900]}",
                  f"- cited: {[x['doc_id'] for x in c['citations']][:8]}", ""]
    failing_b = [c for c in r["cases"].get("briefings", []) if not c["complete"]]
    if failing_b:
        L += [f"## Incomplete briefings ({len(failing_b)})", ""]
        for c in failing_b:
            L += [f"### {c['id']}: {c['entity']}", "", f"- why: {'; '.join(c['why'])}",
                  f"- got: {c['text'][:1200]}", ""]
    return "\n".join(L) + "\n"


def render_prose(p: dict, cases: list[dict]) -> list[str]:
    """The prose suite's section: each split apart (held out first), per category, then its failing cases."""
    L = ["## Prose: articles and notices (eval/datasets/facts_prose.jsonl)", "",
         "The held-out split (whole documents, never used to train or tune anything) is the one that counts.", "",
         ("| split | category | n | exact correctness | fact recall | cites source | refusal accuracy | "
          "opens Yes/No as expected | Yes/No openers to non-yes/no | every part answered |"),
         "|---|---|---|---|---|---|---|---|---|---|"]
    for sp in ("heldout", "dev"):
        blk = p.get("by_split", {}).get(sp)
        if not blk:
            continue
        for cat, b in list(blk["by_category"].items()) + [("**all**", blk)]:
            L.append(f"| {sp} | {cat} | {b['n']} | {_fmt(b['exact_correctness'])} | {_fmt(b['fact_recall'])} | "
                     f"{_fmt(b['cite_ok'])} | {_fmt(b['refusal_accuracy'])} | {_fmt(b['opens_ok'])} | "
                     f"{b['yes_no_openers_non_yes_no']} | {_fmt(b['every_part_answered'])} |")
    L += ["", f"Both splits: exact correctness {_fmt(p['exact_correctness'])} (n={p['n']}); latency {p['latency']}", ""]
    failing = [c for c in cases if not c["correct"]]
    if failing:
        L += [f"### Failing prose cases ({len(failing)})", ""]
        for c in failing:
            L += [f"- `{c['id']}` ({c['category']}, {c['split']}): {c['question']}",
                  f"  - why: {'; '.join(c['why']) or '–'}",
                  f"  - got{' (refused)' if c['refused'] else ''}: {c['answer'][:400]}"]
        L.append("")
    return L


# --- plots --------------------------------------------------------------------------------------------


def write_plots(r: dict, prev: dict | None, out_dir: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files = []
    m = r["metrics"]
    if "facts" in m:
        cats = list(m["facts"]["by_category"])
        series = [("exact correctness", "exact_correctness"), ("fact recall", "fact_recall"),
                  ("citation recall", "citation_recall"), ("citation precision", "citation_precision")]
        fig, ax = plt.subplots(figsize=(11, 4.5))
        w = 0.8 / len(series)
        for i, (label, key) in enumerate(series):
            vals = [m["facts"]["by_category"][c].get(key) or 0.0 for c in cats]
            ax.bar([x + i * w for x in range(len(cats))], vals, width=w, label=label)
        ax.set_xticks([x + w * (len(series) - 1) / 2 for x in range(len(cats))])
        ax.set_xticklabels([f"{c}\n(n={m['facts']['by_category'][c]['n']})" for c in cats], fontsize=8)
        ax.set_ylim(0, 1.05)
        ax.set_title(f"Facts by category ({r['meta']['backend']} backend)")
        ax.legend(fontsize=8, ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.13))
        fig.tight_layout()
        fig.savefig(out_dir / "per_category.png", dpi=110, bbox_inches="tight")
        plt.close(fig)
        files.append("per_category.png")
    keys = [(k, label) for k, label in HEADLINE if isinstance(lookup(m, k), float)]
    if keys:
        fig, ax = plt.subplots(figsize=(11, 5))
        cur = [lookup(m, k) for k, _ in keys]
        old = [lookup(prev["metrics"], k) if prev else None for k, _ in keys]
        ys = range(len(keys))
        ax.barh([y + 0.2 for y in ys], cur, height=0.4, label=f"this run ({out_dir.name})")
        if prev:
            ax.barh([y - 0.2 for y in ys], [o or 0.0 for o in old], height=0.4, label=f"previous ({prev['_dir']})")
        ax.set_yticks(list(ys))
        ax.set_yticklabels([label for _, label in keys], fontsize=8)
        ax.set_xlim(0, 1.05)
        ax.invert_yaxis()
        ax.set_title("Headline metrics, compared with the previous report" if prev else "Headline metrics")
        ax.legend(fontsize=8, loc="lower right")
        fig.tight_layout()
        fig.savefig(out_dir / "comparison.png", dpi=110, bbox_inches="tight")
        plt.close(fig)
        files.append("comparison.png")
    return files
