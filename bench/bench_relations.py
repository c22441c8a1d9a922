"""`python -m bench relations`: relation extraction on real public text, against the relations a person marked.

For each sentence of eval/datasets/relations/{dev,held_out}.jsonl, the relations each extractor finds are
compared with the marked ones: a found relation is right when its type, its direction and both parties
match one marked relation (parties compared after folding case, punctuation, a possessive, a leading "the"
and the legal form, against every name the marker listed for that party; a customer relation counts as the
supplier relation read from the other side). Recall = marked relations found / marked; precision = right /
found. Status ("ended" or "stated") is reported apart, over the relations found right.

Extractors, in the same run:
- phrase list: rag.relations.extract.extract_sentence_patterns (the phrase list written for the demo corpus);
- model: the learned model alone (rag/relations/learned.py, the shipped weights);
- combined: rag.relations.extract.sentence_relations (phrase list, then the model), what ingest stores.
The held-out split was fixed by document before any training and is never read by training or tuning.
"""
from __future__ import annotations

import json
import time

from bench import ROOT, table

DATA = ROOT / "eval" / "datasets" / "relations"
OUT = ROOT / "bench" / "results" / "relations.json"


def _patterns(sentence: str) -> list[tuple[str, str, str, str]]:
    from rag.relations.extract import extract_sentence_patterns

    return [(rel, st, ot, "stated") for rel, st, ot, *_ in extract_sentence_patterns(sentence)]


def _model(sentence: str) -> list[tuple[str, str, str, str]]:
    from rag.relations import learned

    return [(f.relation, f.subject.text, f.object.text, f.status) for f in learned.extract(sentence)]


def _combined(sentence: str) -> list[tuple[str, str, str, str]]:
    from rag.relations.extract import sentence_relations

    return [(r.relation, r.subject_text, r.object_text, r.status) for r in sentence_relations(sentence, use_model=True)]


EXTRACTORS = {"phrase list": _patterns, "model": _model, "combined": _combined}


def score(rows: list[dict], extract) -> dict:
    """Recall, precision and status accuracy of `extract(sentence) -> [(relation, subject, object, status)]`
    against the marked relations, with the misses and wrong finds for reading."""
    from rag.relations.learned import canonical, same_name

    marked = found = right = status_right = 0
    misses, wrong = [], []
    for row in rows:
        gold = []
        for g in row["relations"]:
            rel, subj, obj = g["relation"], g["subject"], g["object"]
            if rel == "customer":
                rel, subj, obj = "supplier", obj, subj
            gold.append((rel, subj, obj, g.get("status", "stated")))
        preds = []
        for rel, st, ot, status in extract(row["sentence"]):
            rel, st, ot = canonical(rel, st, ot)
            preds.append((rel, st, ot, status))
        marked += len(gold)
        found += len(preds)
        used: set[int] = set()
        for p in preds:
            hit = None
            for k, g in enumerate(gold):
                if k in used or g[0] != p[0]:
                    continue
                symmetric = p[0] in ("partner", "family", "associate")
                if (same_name(p[1], g[1]) and same_name(p[2], g[2])) or \
                        (symmetric and same_name(p[1], g[2]) and same_name(p[2], g[1])):
                    hit = k
                    break
            if hit is None:
                wrong.append({"id": row["id"], "found": list(p)})
            else:
                used.add(hit)
                right += 1
                status_right += gold[hit][3] == p[3]
        for k, g in enumerate(gold):
            if k not in used:
                misses.append({"id": row["id"], "marked": [g[0], g[1][0], g[2][0], g[3]]})
    return {"sentences": len(rows), "marked": marked, "found": found, "right": right,
            "recall": round(right / marked, 3) if marked else None,
            "precision": round(right / found, 3) if found else None,
            "f1": f1(right, marked, found),
            "status_accuracy": round(status_right / right, 3) if right else None,
            "misses": misses, "wrong": wrong}


def f1(right: int, marked: int, found: int) -> float | None:
    """The harmonic mean of recall and precision (None when nothing was marked or found)."""
    return round(2 * right / (marked + found), 3) if marked + found else None


def read(split: str) -> list[dict]:
    from rag.relations.learned import read_marked

    return read_marked(DATA / f"{split}.jsonl")


def leave_one_document_out(dev: list[dict]) -> dict:
    """The model on each dev document when trained on everything else it is trained on except that
    document's sentences: what the dev split can say about text the model has not seen. Every pair's
    likeliest relation is kept with its probability, so that recall and precision can be read at every
    threshold (`curve`) from one set of trainings; the row itself is at the shipped model's threshold."""
    from rag.relations import learned

    others = [r for r in learned.training_rows() if "doc" not in r]  # own words, templates
    scored: list[tuple[dict, list]] = []  # (row, [(relation, subject, object, status, probability)])
    for doc in sorted({r["doc"] for r in dev}):
        m = learned.train(others + [r for r in dev if r["doc"] != doc])
        for row in (r for r in dev if r["doc"] == doc):
            scored.append((row, [(f.relation, f.subject.text, f.object.text, f.status, f.score)
                                 for f in learned.extract(row["sentence"], m, threshold=0.0)]))
    shipped = learned.model()
    cut = shipped.threshold if shipped else 0.2
    out = _at(scored, cut)
    out["threshold"] = cut
    out["curve"] = [{"threshold": t, **{k: v for k, v in _at(scored, t).items() if k in ("found", "right", "recall",
                                                                                        "precision", "f1")}}
                    for t in CURVE]
    for c in out["curve"]:
        c["precision_low"] = round(wilson_low(c["right"], c["found"]), 3) if c["found"] else None
    out["chosen_threshold"] = choose_threshold(out["curve"])
    return out


CURVE = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def _at(scored: list[tuple[dict, list]], threshold: float) -> dict:
    """`score` of the finds whose probability reaches `threshold`."""
    finds = {id(row): [f[:4] for f in fs if f[4] >= threshold] for row, fs in scored}
    rows = [row for row, _ in scored]
    by_sentence = {row["sentence"]: finds[id(row)] for row in rows}
    r = score(rows, lambda s: by_sentence[s])
    r["status_accuracy"] = None
    return r


def choose_threshold(curve: list[dict], precision: float = 0.9) -> float | None:
    """The threshold of a cross-validated curve with the highest F1 among those at which precision reaches
    `precision` (the target the issue sets; of equal F1 the higher threshold), None when none does. The low end of
    the Wilson interval is printed beside it: with some sixty finds no threshold reaches 0.9 there, so a rule on it
    would leave the model without one."""
    ok = [c for c in curve if c["found"] and c["right"] / c["found"] >= precision]
    return max(ok, key=lambda c: (c["f1"] or 0.0, c["threshold"]))["threshold"] if ok else None


def wilson_low(right: int, n: int, z: float = 1.96) -> float:
    """The lower end of the Wilson score interval of right / n."""
    p = right / n
    centre = p + z * z / (2 * n)
    spread = z * ((p * (1 - p) + z * z / (4 * n)) / n) ** 0.5
    return (centre - spread) / (1 + z * z / n)


def add_arguments(parser) -> None:
    parser.add_argument("--dev-only", action="store_true",
                        help="relations: leave the held-out split unread (for work on the model)")


def run(args=None) -> dict:
    """Every split; with --dev-only the held-out split is not read (work on the model looks at dev only)."""
    held_out = not getattr(args, "dev_only", False)
    results = {"dataset": "eval/datasets/relations", "splits": {}}
    rows = []
    t = time.perf_counter()
    r = leave_one_document_out(read("dev"))
    r["seconds"] = round(time.perf_counter() - t, 2)
    results["dev_leave_one_document_out"] = r
    rows.append(["dev (leave one document out)", "model", r["marked"], r["found"], r["right"], r["recall"],
                 r["precision"], r["f1"], r["status_accuracy"]])
    for split in ("dev", "held_out") if held_out else ("dev",):
        data = read(split)
        results["splits"][split] = {}
        for name, fn in EXTRACTORS.items():
            t = time.perf_counter()
            r = score(data, fn)
            r["seconds"] = round(time.perf_counter() - t, 2)
            results["splits"][split][name] = r
            rows.append([split, name, r["marked"], r["found"], r["right"], r["recall"], r["precision"], r["f1"],
                         r["status_accuracy"]])
    results["note"] = ("dev was used for training and tuning (its plain rows are in-sample; the leave-one-"
                       "document-out row is not); held_out was not read by training or tuning (split fixed by "
                       "document before any training)")
    out = OUT if held_out else OUT.parent / "tmp" / "relations_dev.json"  # a dev-only run leaves the results file alone
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(table(rows, ["split", "extractor", "marked", "found", "right", "recall", "precision", "F1", "status acc."]))
    curve = results["dev_leave_one_document_out"]["curve"]
    print("\ndev, leave one document out, by threshold:")
    print(table([[c["threshold"], c["found"], c["right"], c["recall"], c["precision"], c["precision_low"], c["f1"]]
                 for c in curve], ["threshold", "found", "right", "recall", "precision", "precision (95% low)", "F1"]))
    print(f"threshold chosen by this curve (highest F1 at precision >= 0.9): "
          f"{results['dev_leave_one_document_out']['chosen_threshold']}; the shipped model's: "
          f"{results['dev_leave_one_document_out']['threshold']}")
    return results


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m bench.bench_relations")
    add_arguments(ap)
    run(ap.parse_args(argv))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
