"""The reader (rag/answering/reader.py): does it rank a sentence that answers the question first, on cases
it never trained on, against the cosine baseline and a plain BM25 overlap in the same run; and what one
score() call costs.

Quality (eval/reader_train.py builds the cases):
- ObliQA dev, split by DocumentID: `heldout` (even DocumentIDs, never trained or tuned on) and `dev`
  (DocumentID 3 mod 4: used to choose the model's form, then fitted on). Each question's candidates are
  the sentences of its gold passages mixed with those of the 5 BM25-nearest other passages and 2 random
  ones; a hit is a gold-passage sentence ranked first (P@1); MRR of the first gold-passage sentence.
- own sanctions cases (eval/datasets/reader/sanctions_cases.jsonl), their `dev` and `heldout` splits.
The held-out parts are measured twice: with each sentence's passage key (Candidate.passage) and without
(`_no_passage_keys`: each sentence on its own).
Rows: reader (the shipped weights), cosine (all-MiniLM-L6-v2 vectors, the fallback), bm25 (idf-weighted
word overlap over the candidate set).

Speed: Reader.score on 40 candidate sentences of held-out ObliQA questions: cold (the question and
sentences new to the reader and the embedder, embedded in the call: the cost at ask time when nothing is
remembered), vectors remembered (the features computed afresh), warm (features remembered too).

`python -m bench reader` writes bench/results/reader.json.
"""
from __future__ import annotations

import argparse
import time

from bench import latency_summary, log, real_embedder, table, write_result

NAME = "reader"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--reader-speed-questions", type=int, default=60,
                        help="held-out ObliQA questions timed at 40 candidates each")


def run(args=None) -> dict:
    from rag.answering.reader import Reader, load_model
    from eval.reader_train import VectorCache, compare, load_parts, prepare

    n_speed = getattr(args, "reader_speed_questions", 60)
    embedder = real_embedder()
    model = load_model()
    t0 = time.perf_counter()
    parts = load_parts(embedder)
    log(f"cases ready in {time.perf_counter() - t0:.0f} s: " + ", ".join(f"{k} {len(v)}" for k, v in parts.items()))
    shown = {k: v for k, v in parts.items() if k.endswith(("_dev", "_heldout"))}
    # our held-out cases by kind: questions on prose (our passages, Federal Register abstracts) and on
    # one field of a list entry
    for k in ("own_dev", "own_heldout"):
        shown[f"{k}_prose"] = [p for p in parts[k] if not p.group.qid.startswith("sdn:")]
        shown[f"{k}_list_entries"] = [p for p in parts[k] if p.group.qid.startswith("sdn:")]
    # the same held-out questions with no passage keys (a caller that passes sentences alone)
    cache = VectorCache(embedder)
    for k in [k for k in shown if k.endswith("_heldout")]:
        shown[f"{k}_no_passage_keys"] = prepare([p.group for p in parts[k]], cache, drop_passages=1.0)
    quality = compare(shown, model)

    # speed: 40 candidates per question, cold (embedded in the call) and warm (remembered)
    from rag.answering.reader import _sentence_types, content_terms

    reader = Reader(embedder, model)
    cold, features_cold, warm = [], [], []
    for p in parts["obliqa_heldout"][:n_speed]:
        cands = (p.group.candidates * 3)[:40]
        reader._vectors.clear()
        for t in [p.group.question] + [c.text for c in cands]:
            embedder._recent.pop(t, None) if hasattr(embedder, "_recent") else None
        t1 = time.perf_counter()
        reader.score(p.group.question, cands)
        cold.append(time.perf_counter() - t1)
        _sentence_types.cache_clear()
        content_terms.cache_clear()
        t1 = time.perf_counter()
        reader.score(p.group.question, cands)
        features_cold.append(time.perf_counter() - t1)
        t1 = time.perf_counter()
        reader.score(p.group.question, cands)
        warm.append(time.perf_counter() - t1)
    # cold: question and sentences embedded in the call; vectors_remembered: features computed afresh;
    # warm: both remembered (the model alone)
    speed = {"candidates": 40, "cold": latency_summary(cold), "vectors_remembered": latency_summary(features_cold),
             "warm": latency_summary(warm)}

    rows = []
    for part, r in quality.items():
        for scorer, m in r.items():
            rows.append([part, scorer, m["p@1"], m["mrr"], m["questions"], m["mean_candidates"]])
    print(table(rows, ["part", "scorer", "P@1", "MRR", "questions", "candidates"]))
    print(table([[k, v["p50_ms"], v["p95_ms"]] for k, v in speed.items() if isinstance(v, dict)],
                ["score(40)", "p50 ms", "p95 ms"]))
    result = {"quality": quality, "speed": speed, "weights_loaded": model is not None,
              "sizes": {k: len(v) for k, v in parts.items()},
              "notes": "trained on obliqa_train/own_train then refitted with the dev parts; heldout never used"}
    path = write_result(NAME, result)
    log(f"wrote {path}")
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    add_arguments(ap)
    run(ap.parse_args(argv))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
