"""The PostgreSQL backend against the SQLite one, in the same run (`--backend postgres` of bench_quality
and bench_search).

  quality   ObliQA dev Recall@10 / MAP@10 of the keyword side and of hybrid search on a SQLite-backed and a
            PostgreSQL-backed store of the same 40 documents (same chunks, same cached vectors).
  search    warm search latency (hybrid and keyword, k=10, query vectors from the cache for both so the
            model's time does not blur the difference) at ~50,000 chunks, the two backends interleaved.

Both stores use embedded Chroma for the vectors, so the difference measured is the registry backend's.
PostgreSQL: a cluster of our own kept under bench/results/tmp/pg_NAME (tests/pg.py starts it on a free loopback
port; fsync off, as in the tests), or the server REGBRIEF_BENCH_DATABASE_URL names.
"""
from __future__ import annotations

import contextlib
import json
import os
import time

from bench import TMP, CachedEmbedder, build_store, latency_summary, log, real_embedder, table, write_result


@contextlib.contextmanager
def database_url(name: str):
    if os.environ.get("REGBRIEF_BENCH_DATABASE_URL"):
        yield os.environ["REGBRIEF_BENCH_DATABASE_URL"]
        return
    from tests.pg import PgServer

    pg = PgServer(root=TMP / f"pg_{name}").start()  # one cluster per bench: they may run at once
    try:
        yield pg.url()
    finally:
        pg.close()


def quality(args) -> dict:
    from bench.bench_quality import HOME, OBLIQA_DEV, OBLIQA_DOCS, evaluate, pairs
    from rag.retrieval.retrieve import Retriever

    n = getattr(args, "questions", 0) or 0
    dev = json.loads(OBLIQA_DEV.read_text())
    questions = dev[:n] if n else dev
    embedder = CachedEmbedder(real_embedder())
    with database_url("quality") as url:
        stores = {"sqlite": build_store(HOME, [OBLIQA_DOCS], embedder, "obliqa")[0],
                  "postgres": build_store(TMP / "obliqa_store_pg", [OBLIQA_DOCS], embedder, "obliqa-pg",
                                          database_url=url, collection="obliqa")[0]}
        embedder.prefetch([q["Question"] for q in questions], label="questions ")
        results: dict[str, dict] = {}
        for backend, rb in stores.items():
            r = Retriever(rb.store, embedder, rb.settings)
            for mode in ("keyword", "hybrid"):
                results[f"{mode} {backend}"] = evaluate(lambda q, r=r, m=mode: pairs(r.search(q, k=10, mode=m)),
                                                        questions)
                log(f"  {mode} {backend}: {results[f'{mode} {backend}']}")
        chunks = {b: rb.store.stats()["chunks"] for b, rb in stores.items()}
    delta = {mode: {m: round(results[f"{mode} postgres"][m] - results[f"{mode} sqlite"][m], 4)
                    for m in ("recall@10", "map@10")} for mode in ("keyword", "hybrid")}
    out = {"questions": len(questions), "chunks": chunks, "results": results, "postgres_minus_sqlite": delta,
           "within_0.01": all(abs(v) <= 0.01 for d in delta.values() for v in d.values())}
    print(table([[k, v["recall@10"], v["map@10"]] for k, v in results.items()], ["side", "Recall@10", "MAP@10"]))
    write_result("bench_quality_postgres", out)
    return out


def search(args) -> dict:
    from bench.bench_search import FILES, HOME, queries
    from rag.retrieval.retrieve import Retriever

    embedder = real_embedder()
    cached = CachedEmbedder(embedder)
    texts = [q["q"] for q in queries()]
    with database_url("search") as url:
        stores = {"sqlite": build_store(HOME, FILES, cached, "search")[0],
                  "postgres": build_store(TMP / "search_store_pg", FILES, cached, "search-pg",
                                          database_url=url, collection="search")[0]}
        cached.prefetch(texts, label="queries ")
        retrievers = {b: Retriever(rb.store, cached, rb.settings) for b, rb in stores.items()}
        for q in texts[:10]:
            for r in retrievers.values():
                r.search(q, k=10)
        lat: dict[str, list[float]] = {f"{m} {b}": [] for b in stores for m in ("hybrid", "keyword")}
        same = 0
        log(f"timing {len(texts)} queries per backend, interleaved")
        for q in texts:
            tops = {}
            for b, r in retrievers.items():
                for m in ("hybrid", "keyword"):
                    t0 = time.perf_counter()
                    res = r.search(q, k=10, mode=m)
                    lat[f"{m} {b}"].append(time.perf_counter() - t0)
                    if m == "keyword":
                        tops[b] = [x.chunk_id for x in res.results]
            same += tops["sqlite"] == tops["postgres"]
        chunks = {b: rb.store.stats()["chunks"] for b, rb in stores.items()}
    summary = {k: latency_summary(v) for k, v in lat.items()}
    ratio = {m: round(summary[f"{m} postgres"]["p95_ms"] / summary[f"{m} sqlite"]["p95_ms"], 2)
             for m in ("hybrid", "keyword")}
    out = {"chunks": chunks, "queries": len(texts), "latency": summary, "p95_ratio_postgres_to_sqlite": ratio,
           "keyword_top10_identical": f"{same}/{len(texts)}", "within_1.5x": all(v <= 1.5 for v in ratio.values())}
    print(table([[k, v["p50_ms"], v["p95_ms"]] for k, v in summary.items()], ["search", "p50 ms", "p95 ms"]))
    log(f"p95 postgres/sqlite: {ratio}; keyword top 10 identical for {same}/{len(texts)} queries")
    write_result("bench_search_postgres", out)
    return out
