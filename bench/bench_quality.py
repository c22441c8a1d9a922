"""Retrieval quality on ObliQA dev: Recall@10 and MAP@10, keyword-only, dense-only and hybrid, then a
grid over the fusion settings.

Store: all 40 documents of obliqa/StructuredRegulatoryDocuments ingested by regbrief's Ingestor (cached
under bench/results/tmp/obliqa_store; vectors from the embedding cache). Questions: obliqa/ObliQA_dev.json,
all 2,788 by default (--questions N takes the first N in file order). Gold: each question's
(DocumentID, PassageID) pairs; a retrieved chunk's metadata carries both.

Metrics (as trec_eval's recall_10 and map_cut_10): Recall@10 = gold passages in the top 10 / gold
passages; AP@10 = sum over the ranks i <= 10 holding a gold passage of precision@i, divided by the number
of gold passages; MAP@10 is its mean over questions.

Rows:
  regbrief keyword   Retriever.search(mode='keyword')  SQLite FTS5 bm25(), porter stemmer, OR of keywords
  regbrief dense     Retriever.search(mode='dense')    all-MiniLM-L6-v2 in Chroma (cosine)
  regbrief hybrid    Retriever.search(mode='hybrid')   weighted reciprocal rank fusion of the two
  plain BM25         rank_bm25.BM25Okapi over the same passage texts, lower-cased \\w+ tokens: the plain
                     alternative the published BM25 baseline resembles, run on the same questions

Grid: Settings(rrf_k in 10/30/60, dense_weight/keyword_weight, retrieve_candidates 50/100), each through
Retriever.search. Each side's ranked candidates are computed once per (question, candidate count) and
reused across the grid (the store is read-only; only the fusion changes), so the grid costs fusion only.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import re
import statistics

from bench import (
    database_url,
    OBLIQA_DEV,
    OBLIQA_DOCS,
    TMP,
    CachedEmbedder,
    Timer,
    build_store,
    log,
    real_embedder,
    table,
    write_result,
)

NAME = "bench_quality"
HOME = TMP / "obliqa_store"
PUBLISHED = {"bm25_test": {"recall@10": 0.7611, "map@10": 0.6237},
             "best_hybrid_test": {"recall@10": 0.8333, "map@10": 0.7016}}

GRID_RRF_K = (10, 30, 60)
GRID_WEIGHTS = ((1.0, 0.5), (1.0, 1.0), (1.0, 1.5), (1.0, 2.0), (1.0, 3.0))  # (dense, keyword)
GRID_CANDIDATES = (50, 100)


# --- caching proxies: the same store, each side's answer remembered --------------------------------

class _Vectors:
    def __init__(self, real):
        self.real = real
        self.memo: dict = {}

    def __getattr__(self, name):
        return getattr(self.real, name)

    def query(self, embedding, filters, limit):
        key = (hashlib.sha1(embedding.tobytes()).hexdigest(), limit, filters.model_dump_json())
        if key not in self.memo:
            self.memo[key] = self.real.query(embedding, filters, limit)
        return self.memo[key]


class _Keyword:
    def __init__(self, real):
        self.real = real
        self.memo: dict = {}
        self.rows: dict = {}

    def __getattr__(self, name):
        return getattr(self.real, name)

    def search(self, query, filters, limit):
        key = (query, limit, filters.model_dump_json())
        if key not in self.memo:
            self.memo[key] = self.real.keyword_search(query, filters, limit)
        return self.memo[key]

    def chunk_rows(self, chunk_ids, filters=None):
        assert filters is None or filters.is_empty()
        missing = [c for c in chunk_ids if c not in self.rows]
        if missing:
            self.rows.update(self.real.chunk_rows(missing))
        return {c: self.rows[c] for c in chunk_ids if c in self.rows}


class _Entities:
    """The entity index behind the "names" side; answers depend only on the text (read-only store)."""

    def __init__(self, real):
        self.real = real
        self.memo: dict = {}

    def __getattr__(self, name):
        return getattr(self.real, name)

    def find_in_text(self, text, allowed=None):
        if allowed is not None:
            return self.real.find_in_text(text, allowed)
        if text not in self.memo:
            self.memo[text] = self.real.find_in_text(text)
        return self.memo[text]


class _Store:
    def __init__(self, real):
        self.real = real
        self.vectors = _Vectors(real.vectors)
        self.keyword = _Keyword(real)
        if hasattr(real, "entities"):
            self.entities = _Entities(real.entities)

    def __getattr__(self, name):  # e.g. the entity index behind the "names" side
        return getattr(self.real, name)

    def keyword_search(self, query, filters, limit):
        return self.keyword.search(query, filters, limit)

    def dense_search(self, embedding, filters, limit, signature=None):
        if signature:
            self.real.require_embedder(signature)
        return self.vectors.query(embedding, filters, limit)

    def chunk_rows(self, chunk_ids, filters=None):
        return self.keyword.chunk_rows(chunk_ids, filters)


# --- metrics ---------------------------------------------------------------------------------------

def gold_of(item: dict) -> set[tuple[str, str]]:
    return {(str(p["DocumentID"]).strip(), str(p["PassageID"]).strip()) for p in item["Passages"]}


def score(ranked: list[tuple[str, str]], gold: set[tuple[str, str]], k: int = 10) -> tuple[float, float]:
    seen: set = set()
    hits, ap = 0, 0.0
    for i, pair in enumerate(ranked[:k], start=1):
        if pair in gold and pair not in seen:
            hits += 1
            ap += hits / i
        seen.add(pair)
    return hits / len(gold), ap / len(gold)


def evaluate(run_one, questions: list[dict]) -> dict:
    recalls, aps = [], []
    for item in questions:
        r, ap = score(run_one(item["Question"]), gold_of(item))
        recalls.append(r)
        aps.append(ap)
    return {"recall@10": round(statistics.fmean(recalls), 4), "map@10": round(statistics.fmean(aps), 4)}


def pairs(response) -> list[tuple[str, str]]:
    return [(str(r.metadata.get("DocumentID")).strip(), str(r.metadata.get("PassageID")).strip())
            for r in response.results]


# --- the plain BM25 baseline -----------------------------------------------------------------------

_TOKEN = re.compile(r"\w+")


def plain_bm25(store_rows: list[tuple[str, str, str]]):
    """rank_bm25's BM25Okapi (its k1, b, idf and length normalisation), scored through a sparse
    term-document matrix: the same scores as BM25Okapi.get_scores (checked on the first questions),
    without its per-query Python loop over every document (0.8 s a query here)."""
    import numpy as np
    from rank_bm25 import BM25Okapi
    from scipy.sparse import csc_matrix

    bm25 = BM25Okapi([_TOKEN.findall(text.lower()) for _, _, text in store_rows])
    ids = [(d, p) for d, p, _ in store_rows]
    vocab: dict[str, int] = {}
    rows, cols, vals = [], [], []
    dl = np.asarray(bm25.doc_len, dtype=float)
    norm = bm25.k1 * (1 - bm25.b + bm25.b * dl / bm25.avgdl)
    for d, freqs in enumerate(bm25.doc_freqs):
        for term, tf in freqs.items():
            t = vocab.setdefault(term, len(vocab))
            rows.append(d)
            cols.append(t)
            vals.append(bm25.idf.get(term, 0.0) * tf * (bm25.k1 + 1) / (tf + norm[d]))
    matrix = csc_matrix((vals, (rows, cols)), shape=(len(ids), len(vocab)))

    def scores(question: str):
        out = np.zeros(len(ids))
        for term in _TOKEN.findall(question.lower()):  # repeats count, as in get_scores
            if term in vocab:
                out += matrix[:, vocab[term]].toarray().ravel()
        return out

    def run_one(question: str) -> list[tuple[str, str]]:
        top = np.argsort(-scores(question), kind="stable")[:10]
        return [ids[i] for i in top]

    run_one.check = lambda q: float(np.max(np.abs(scores(q) - bm25.get_scores(_TOKEN.findall(q.lower())))))
    return run_one


def fts5_variants(db_path, questions: list[dict]) -> dict:
    """Diagnostics for the keyword side: the store's own query construction (rag.core.text.keywords joined
    with OR, bm25() order) over in-memory FTS5 copies of the passages, with and without the document
    title that the store indexes in front of each document's first chunk, and with an AND-first query."""
    import sqlite3

    from rag.core.text import keywords

    src = sqlite3.connect(db_path)
    rows = src.execute(
        "SELECT c.text, d.title, d.metadata FROM chunks c JOIN documents d ON d.doc_id = c.doc_id ORDER BY c.rowid"
    ).fetchall()
    ids = []
    mem = sqlite3.connect(":memory:")
    for name in ("titled", "plain"):
        mem.execute(f"CREATE VIRTUAL TABLE {name} USING fts5(text, tokenize = 'porter unicode61 remove_diacritics 2')")
    for i, (text, title, meta) in enumerate(rows, start=1):
        m = json.loads(meta)
        ids.append((str(m.get("DocumentID")).strip(), str(m.get("PassageID")).strip()))
        mem.execute("INSERT INTO titled (rowid, text) VALUES (?, ?)",
                    (i, text if title in text else f"{title}\n{text}"))
        mem.execute("INSERT INTO plain (rowid, text) VALUES (?, ?)", (i, text))

    def runner(table: str, and_first: bool = False):
        def run_one(question: str) -> list[tuple[str, str]]:
            terms = ['"' + t.replace('"', "") + '"' for t in keywords(question)]
            if not terms:
                return []
            got: list[int] = []
            queries = ([" AND ".join(terms)] if and_first else []) + [" OR ".join(terms)]
            for match in queries:
                for (rowid,) in mem.execute(
                    f"SELECT rowid FROM {table} WHERE {table} MATCH ? ORDER BY bm25({table}) LIMIT 10", [match]
                ):
                    if rowid not in got:
                        got.append(rowid)
                if len(got) >= 10:
                    break
            return [ids[r - 1] for r in got[:10]]
        return run_one

    return {
        "as stored (title + text, OR)": evaluate(runner("titled"), questions),
        "text only, OR": evaluate(runner("plain"), questions),
        "title + text, AND first then OR": evaluate(runner("titled", and_first=True), questions),
    }


def compare_backends(backends: list[str], n_questions: int = 0) -> dict:
    """Dense and hybrid Recall@10 / MAP@10 with the default settings, one store per embedding backend
    (each embedded by that backend, vectors cached per backend), the questions embedded by the same
    backend. The default backend is the fastest within 0.01 of torch on both (issue 14)."""
    from rag.embeddings import get_embedder
    from rag.retrieval.retrieve import Retriever
    from rag.core.settings import Settings

    dev = json.loads(OBLIQA_DEV.read_text())
    questions = dev[:n_questions] if n_questions else dev
    rows: dict[str, dict] = {}
    for backend in backends:
        embedder = get_embedder(Settings().embedding_model, Settings().embedding_batch_size, backend)
        cached = CachedEmbedder(embedder)
        home = TMP / f"obliqa_store@{backend}"
        rb, build_s, totals, failed = build_store(home, [OBLIQA_DOCS], cached, f"obliqa ({backend})",
                                                  embedding_backend=backend)
        cached.prefetch([q["Question"] for q in questions], label=f"questions ({backend}) ")
        proxy = _Store(rb.store)
        r = Retriever(proxy, cached, Settings(home=home, embedding_backend=backend))
        rows[backend] = {"signature": embedder.signature, "chunks": totals,
                         "embedding": cached.stats(), "failed_files": failed}
        for mode in ("dense", "hybrid"):
            rows[backend][mode] = evaluate(lambda q, mode=mode: pairs(r.search(q, k=10, mode=mode)), questions)
        log(f"  {backend}: dense {rows[backend]['dense']}, hybrid {rows[backend]['hybrid']}")
    ref = rows.get("torch")
    for backend, row in rows.items():
        if ref:
            row["hybrid_within_0.01_of_torch"] = all(
                abs(row["hybrid"][m] - ref["hybrid"][m]) <= 0.01 for m in ("recall@10", "map@10"))
    figures = {"questions": len(questions), "rows": rows}
    write_result(f"{NAME}_backends", figures)
    print(f"\n{NAME} by embedding backend: ObliQA dev, {len(questions)} questions")
    print(table([[b, r["dense"]["recall@10"], r["dense"]["map@10"], r["hybrid"]["recall@10"], r["hybrid"]["map@10"],
                  r.get("hybrid_within_0.01_of_torch", "")] for b, r in rows.items()],
                ["backend", "dense R@10", "dense MAP@10", "hybrid R@10", "hybrid MAP@10", "within 0.01"]))
    return figures


def compare_postgres(args) -> dict:
    """`--backend postgres`: ObliQA dev Recall@10 / MAP@10 of the keyword side and of hybrid search on a
    SQLite-backed and a PostgreSQL-backed store of the same 40 documents (same chunks, same cached vectors;
    both with embedded Chroma, so the difference is the registry backend's)."""
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


def run(args: argparse.Namespace | None = None) -> dict:
    if getattr(args, "embedding_backends", ""):
        return compare_backends(args.embedding_backends.split(","), getattr(args, "questions", 0))
    if getattr(args, "backend", "sqlite") == "postgres":
        return compare_postgres(args)
    from rag.retrieval.retrieve import Retriever
    from rag.core.settings import Settings

    n_questions = getattr(args, "questions", 0) if args else 0
    dev = json.loads(OBLIQA_DEV.read_text())
    questions = dev[:n_questions] if n_questions else dev

    log(f"{NAME}: loading the embedding model (not timed)")
    embedder = real_embedder()
    cached = CachedEmbedder(embedder)
    rb, build_s, totals, failed = build_store(HOME, [OBLIQA_DOCS], cached, "obliqa")
    store_rows = []
    listing = rb.store.chunk_listing()
    meta = {r["chunk_id"]: r["metadata"] for r in rb.store.chunk_rows([c["chunk_id"] for c in listing]).values()}
    for c in listing:
        m = meta[c["chunk_id"]]
        store_rows.append((str(m.get("DocumentID")).strip(), str(m.get("PassageID")).strip(), c["text"]))
    indexed = {(d, p) for d, p, _ in store_rows}
    gold_all = [g for item in questions for g in gold_of(item)]
    coverage = sum(g in indexed for g in gold_all) / len(gold_all)
    log(f"store: {len(store_rows)} chunks; {len(questions)} questions; gold passages indexed: {coverage:.1%}")

    log("embedding the questions (cached)")
    cached.prefetch([q["Question"] for q in questions], label="questions ")
    proxy = _Store(rb.store)

    def retriever(**overrides) -> Retriever:
        return Retriever(proxy, cached, Settings(home=HOME, **overrides))

    results: dict[str, dict] = {}
    with Timer() as t_modes:
        for cand in GRID_CANDIDATES:
            for mode in ("keyword", "dense"):
                r = retriever(retrieve_candidates=cand)
                results[f"{mode} (candidates {cand})"] = evaluate(
                    lambda q, r=r, mode=mode: pairs(r.search(q, k=10, mode=mode)), questions)
                log(f"  {mode} candidates={cand}: {results[f'{mode} (candidates {cand})']}")
    default = Settings(home=HOME)
    log("plain BM25 (rank_bm25) on the same passages")
    with Timer() as t_plain:
        plain_run = plain_bm25(store_rows)
        plain_check = max(plain_run.check(item["Question"]) for item in questions[:3])
        assert plain_check < 1e-6, f"sparse BM25 differs from rank_bm25 by {plain_check}"
        plain = evaluate(plain_run, questions)

    grid = []
    log(f"fusion grid: {len(GRID_RRF_K) * len(GRID_WEIGHTS) * len(GRID_CANDIDATES)} settings")
    with Timer() as t_grid:
        for cand in GRID_CANDIDATES:
            for rrf_k in GRID_RRF_K:
                for dw, kw in GRID_WEIGHTS:
                    r = retriever(retrieve_candidates=cand, rrf_k=rrf_k, dense_weight=dw, keyword_weight=kw)
                    m = evaluate(lambda q, r=r: pairs(r.search(q, k=10)), questions)
                    grid.append({"retrieve_candidates": cand, "rrf_k": rrf_k, "dense_weight": dw,
                                 "keyword_weight": kw, **m})
                    log(f"  cand={cand} rrf_k={rrf_k} w=({dw},{kw}): {m}")
    is_default = lambda g: (g["retrieve_candidates"], g["rrf_k"], g["dense_weight"], g["keyword_weight"]) == (  # noqa: E731
        default.retrieve_candidates, default.rrf_k, default.dense_weight, default.keyword_weight)
    current = next((g for g in grid if is_default(g)), None)
    if current is None:  # the defaults are outside the grid: run them too
        r = retriever()
        current = {"retrieve_candidates": default.retrieve_candidates, "rrf_k": default.rrf_k,
                   "dense_weight": default.dense_weight, "keyword_weight": default.keyword_weight,
                   **evaluate(lambda q: pairs(r.search(q, k=10)), questions)}
    best = max(grid, key=lambda g: (g["recall@10"], g["map@10"]))
    best_map = max(grid, key=lambda g: (g["map@10"], g["recall@10"]))
    kw_row = results[f"keyword (candidates {default.retrieve_candidates})"] \
        if f"keyword (candidates {default.retrieve_candidates})" in results else results["keyword (candidates 50)"]
    dn_row = results[f"dense (candidates {default.retrieve_candidates})"] \
        if f"dense (candidates {default.retrieve_candidates})" in results else results["dense (candidates 50)"]

    # How often each side's candidate list holds the gold passages at all (what fusion can work with).
    cand_recall = _candidate_recall(proxy, cached, questions)
    variants = {}
    if getattr(args, "keyword_variants", False):
        log("keyword-side diagnostics (in-memory FTS5 variants)")
        variants = fts5_variants(rb.settings.db_path, questions)

    figures = {
        "store": {"chunks": len(store_rows), "build_seconds": round(build_s, 1), "ingest_totals": totals,
                  "failed_files": failed, "embedding": cached.stats()},
        "questions": {"n": len(questions), "of": len(dev), "subset": "all" if not n_questions else
                      f"first {n_questions} in file order", "gold_passages": len(gold_all),
                      "gold_indexed_share": round(coverage, 4)},
        "default_settings": {"retrieve_candidates": default.retrieve_candidates, "rrf_k": default.rrf_k,
                             "dense_weight": default.dense_weight, "keyword_weight": default.keyword_weight},
        "rows": {"regbrief keyword": kw_row, "regbrief dense": dn_row, "regbrief hybrid (defaults)":
                 {k: current[k] for k in ("recall@10", "map@10")}, "plain BM25 (rank_bm25)": plain},
        "modes_by_candidates": results,
        "candidate_recall@100": cand_recall,
        "keyword_variants": variants,
        "grid": grid,
        "best_by_recall": best,
        "best_by_map": best_map,
        "published_test_split": PUBLISHED,
        "seconds": {"modes": round(t_modes.seconds, 1), "plain_bm25": round(t_plain.seconds, 1),
                    "grid": round(t_grid.seconds, 1)},
        "targets": {"hybrid (defaults) recall@10 > 0.80": current["recall@10"] > 0.80,
                    "hybrid (best) recall@10 > 0.80": best["recall@10"] > 0.80},
    }
    write_result(NAME, figures)
    print(f"\n{NAME}: ObliQA dev, {len(questions)} questions, {len(store_rows)} passages")
    print(table(
        [["regbrief keyword (FTS5)", kw_row["recall@10"], kw_row["map@10"]],
         ["regbrief dense", dn_row["recall@10"], dn_row["map@10"]],
         ["regbrief hybrid (defaults)", current["recall@10"], current["map@10"]],
         ["regbrief hybrid (best of grid)", best["recall@10"], best["map@10"]],
         ["plain BM25 (rank_bm25, same run)", plain["recall@10"], plain["map@10"]],
         ["published BM25 (test split)", 0.7611, 0.6237],
         ["published best hybrid (test split)", 0.8333, 0.7016]],
        ["retriever", "Recall@10", "MAP@10"],
    ))
    if variants:
        print("keyword side, diagnostics (in-memory FTS5 copies, Recall@10 / MAP@10): " + "; ".join(
            f"{k}: {v['recall@10']:.3f} / {v['map@10']:.3f}" for k, v in variants.items()))
    print(f"gold passages among each side's top 100: keyword {cand_recall['keyword']:.3f}, "
          f"dense {cand_recall['dense']:.3f}")
    print(f"best setting: retrieve_candidates={best['retrieve_candidates']} rrf_k={best['rrf_k']} "
          f"dense_weight={best['dense_weight']} keyword_weight={best['keyword_weight']}")
    print("grid (Recall@10 / MAP@10):")
    print(table(
        [[g["retrieve_candidates"], g["rrf_k"], g["dense_weight"], g["keyword_weight"], g["recall@10"],
          g["map@10"]] for g in grid],
        ["candidates", "rrf_k", "dense_w", "keyword_w", "Recall@10", "MAP@10"],
    ))
    return figures


def _filters():
    from rag.core.models import Filters

    return Filters()


def _candidate_recall(proxy: _Store, cached, questions: list[dict]) -> dict:
    """Share of gold passages found anywhere in each side's top 100 (the fusion's raw material)."""
    out = {}
    rows = proxy.keyword
    for side in ("keyword", "dense"):
        found, total = 0, 0
        for item in questions:
            q = item["Question"]
            hits = (proxy.keyword.search(q, _filters(), 100) if side == "keyword"
                    else proxy.vectors.query(cached.encode([q])[0], _filters(), 100))
            got = rows.chunk_rows([c for c, _ in hits])
            found_pairs = {(str(r["metadata"].get("DocumentID")).strip(), str(r["metadata"].get("PassageID")).strip())
                           for r in got.values()}
            g = gold_of(item)
            found += len(g & found_pairs)
            total += len(g)
        out[side] = round(found / total, 4)
    return out


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--questions", type=int, default=0, help="first N dev questions (default: all 2,788)")
    p.add_argument("--keyword-variants", action="store_true",
                   help="also score FTS5 variants of the keyword side (title indexed or not, AND-first)")
    p.add_argument("--embedding-backends", default="",
                   help="e.g. torch,onnx,onnx-int8: Recall@10 / MAP@10 per embedding backend, one store each")
    p.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite",
                   help="postgres: the PostgreSQL backend against SQLite in the same run (compare_postgres)")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(ap)
    run(ap.parse_args())
