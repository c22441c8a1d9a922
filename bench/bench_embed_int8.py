"""Float against int8 embeddings (rag/embeddings/backends.py): what int8 buys per passage and what it moves.

  speed      CPU seconds to embed a fixed random sample of ObliQA passages through `Embedder.encode` (an
             ingest's call), onnx and onnx-int8 in alternating rounds; CPU seconds count every thread and
             move far less than wall seconds with the load of the shared machine.
  vectors    cosine of each passage's int8 vector to its float one (mean, 1st percentile, minimum), and
             whether a text's vector depends on the texts beside it (alone against inside a bulk call).
  retrieval  the eval gate's ObliQA figures (dev questions whose gold passage is in document 1, over
             document 1: eval.runner.run_retrieval, hybrid and dense) on a fresh store per backend.

    nice -n 10 .venv/bin/python -m bench embed_int8
    nice -n 10 .venv/bin/python -m bench embed_int8 --int8-sample 400 --int8-rounds 1 --int8-no-retrieval
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from bench import OBLIQA_DOCS, log, table, write_result

NAME = "bench_embed_int8"
BACKENDS = ("onnx", "onnx-int8")


def sample_passages(n: int, seed: int = 7) -> list[str]:
    """n distinct non-empty ObliQA passages drawn at random (fixed seed) from all 40 documents."""
    texts = sorted({str(p.get("Passage", "")) for f in OBLIQA_DOCS.glob("*.json")
                    for p in json.loads(f.read_text(encoding="utf-8")) if str(p.get("Passage", "")).strip()})
    return random.Random(seed).sample(texts, min(n, len(texts)))


def retrieval(backend: str) -> dict:
    """The gate's ObliQA retrieval figures with a fresh store embedded by `backend`."""
    from eval.corpora import Stores
    from eval.runner import run_retrieval
    from rag.core.settings import Settings

    with tempfile.TemporaryDirectory(prefix=f"regbrief-bench-int8-{backend}-") as home:
        stores = Stores(Settings(embedding_backend=backend), Path(home))
        metrics, _ = run_retrieval(stores, "retrieval_aml", None, ("hybrid", "dense"))
        ingest = stores.ingest_info["obliqa_aml"]
    out = {mode: {k: round(v, 4) for k, v in m.items() if k != "latency"}
           for mode, m in metrics.items() if isinstance(m, dict)}
    out["questions"] = metrics["n"]
    out["ingest_cpu_s"] = ingest["cpu_seconds"]
    return out


def run(args: argparse.Namespace | None = None) -> dict:
    from rag.embeddings import get_embedder

    n = getattr(args, "int8_sample", 0) or 800
    rounds = max(1, getattr(args, "int8_rounds", 0) or 2)
    texts = sample_passages(n)
    embedders = {b: get_embedder(backend=b) for b in BACKENDS}
    for e in embedders.values():
        e.encode(texts[:300])  # warm: first calls allocate onnxruntime's arena
    cpu: dict[str, list[float]] = {b: [] for b in BACKENDS}
    vectors: dict[str, np.ndarray] = {}
    rows = []
    for k in range(rounds):
        order = BACKENDS if k % 2 == 0 else BACKENDS[::-1]
        load = round(os.getloadavg()[0], 2)
        for b in order:
            c0 = time.process_time()
            vectors[b] = embedders[b].encode(texts)
            cpu[b].append(round(time.process_time() - c0, 2))
        rows.append({"round": k + 1, "order": list(order), "load_at_start": load,
                     **{f"{b}_cpu_s": cpu[b][-1] for b in BACKENDS}})
        log(f"round {k + 1}: " + ", ".join(f"{b} {cpu[b][-1]} CPU s" for b in BACKENDS) + f" (load {load})")
    cos = (vectors["onnx"] * vectors["onnx-int8"]).sum(axis=1)
    # a question alone, beside a long passage, and last in a bulk call of other texts
    q = "Which persons must a relevant person screen against sanctions lists?"
    batch_free = {}
    for b, e in embedders.items():
        alone = e.model.run([q])[0]
        bulk = e.encode(texts[:300] + [q])[-1]
        batch_free[b] = round(float(alone @ bulk), 6)
    figures = {
        "sample": {"passages": len(texts), "seed": 7, "rounds": rounds},
        "rounds": rows,
        "cpu_s_median": {b: statistics.median(cpu[b]) for b in BACKENDS},
        "passages_per_cpu_s": {b: round(len(texts) / statistics.median(cpu[b]), 1) for b in BACKENDS},
        "int8_speedup_cpu": round(statistics.median(cpu["onnx"]) / statistics.median(cpu["onnx-int8"]), 3),
        "cosine_int8_to_float": {"mean": round(float(cos.mean()), 5), "p1": round(float(np.percentile(cos, 1)), 5),
                                 "min": round(float(cos.min()), 5)},
        "question_alone_vs_in_bulk_cosine": batch_free,
        "signatures": {b: e.signature for b, e in embedders.items()},
    }
    if not getattr(args, "int8_no_retrieval", False):
        figures["retrieval_obliqa_aml_doc1"] = {b: retrieval(b) for b in BACKENDS}
    write_result(NAME, figures)
    print(f"\n{NAME}: {len(texts)} ObliQA passages, {rounds} rounds")
    print(table([[r["round"], " then ".join(r["order"]), r["load_at_start"], r["onnx_cpu_s"], r["onnx-int8_cpu_s"]]
                 for r in rows], ["round", "order", "load", "onnx CPU s", "onnx-int8 CPU s"]))
    print(f"int8 {figures['int8_speedup_cpu']}x float per CPU second; cosine to float mean "
          f"{figures['cosine_int8_to_float']['mean']}, p1 {figures['cosine_int8_to_float']['p1']}, min "
          f"{figures['cosine_int8_to_float']['min']}; a question alone vs in a bulk call: {batch_free}")
    if "retrieval_obliqa_aml_doc1" in figures:
        r = figures["retrieval_obliqa_aml_doc1"]
        print(table([[b, mode, r[b][mode]["recall@10"], r[b][mode]["map@10"], r[b][mode]["mrr@10"]]
                     for b in BACKENDS for mode in ("hybrid", "dense")],
                    ["backend", "mode", "R@10", "MAP@10", "MRR@10"]))
    return figures


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--int8-sample", type=int, default=800, help="ObliQA passages to embed (default 800)")
    p.add_argument("--int8-rounds", type=int, default=2, help="rounds of both backends, order alternating")
    p.add_argument("--int8-no-retrieval", action="store_true",
                   help="skip the ObliQA retrieval figures (two fresh stores of document 1)")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(ap)
    run(ap.parse_args())
