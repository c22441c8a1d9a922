"""Ingest throughput: regbrief's Ingestor against a stock LangChain pipeline, same texts, same model object.

Corpus (fixed): the 2024 SDN list (ofac/sdn_2024-05-03.csv; by default its first --sdn-rows rows, written
to a temp file, see README) plus all 1,002 Federal Register records (federal_register/*.jsonl).

  regbrief   Ingestor.ingest(files) into a fresh store: parse, chunk (tokenizer-measured), embed, write
             Chroma + SQLite FTS5 + registry, per-document atomic. Timed from opening the store.
  langchain  the same parsed documents (regbrief's parser output: text + flat metadata; parsing is NOT
             counted for LangChain) -> RecursiveCharacterTextSplitter(chunk_size=1000, overlap=200) ->
             langchain_chroma.Chroma.from_documents(embedding=<the same Embedder object>) into a fresh
             persistent directory.
  embedding  the time inside Embedder.encode during each pipeline (the same model call on the same chunk
             texts), measured by wrapping the method on the shared object. A pipeline's overhead is
             (total time - embedding time) / embedding time.
  re-ingest  Ingestor.ingest of the unchanged files again (file-hash skip); speed-up vs the first ingest.
  warm-up    one untimed encode of every document text first: without it, whichever pipeline ran second
             was 25-30% faster at the same model work (measured both ways; --no-warmup, --langchain-first).
  model work word pieces the model processes in each pipeline's encode calls (sentence-transformers
             sorts each call by length and pads each batch of 64): load-independent, it says whether a
             throughput gap is the pipeline's batching or the machine.
"""
from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from bench import (
    FR_JSONL,
    OBLIQA_DOCS,
    SDN_2024,
    EmbeddingCache,
    TimedEncode,
    Timer,
    configure_torch,
    log,
    real_embedder,
    table,
    write_result,
)

NAME = "bench_ingest"
DEFAULT_SDN_ROWS = 2000


def corpus(tmp: Path, sdn_rows: int | None) -> list[Path]:
    """The fixed corpus: the first `sdn_rows` rows of the 2024 SDN CSV (all when None) and the FR JSONL."""
    if sdn_rows is None:
        return [SDN_2024, FR_JSONL]
    lines = SDN_2024.read_bytes().splitlines(keepends=True)[:sdn_rows]
    sub = tmp / f"sdn_2024-05-03_first{sdn_rows}.csv"
    sub.write_bytes(b"".join(lines))
    return [sub, FR_JSONL]


def run_regbrief(home: Path, files: list[Path], embedder) -> dict:
    from ingest.pipeline import Ingestor
    from rag.service import Regbrief
    from rag.core.settings import Settings

    with TimedEncode(embedder, keep=True) as timed, Timer() as t:
        rb = Regbrief(Settings(home=home, embedding_backend=getattr(embedder, "backend", "torch")))
        report = Ingestor(rb.store, embedder, rb.settings).ingest(files)
    totals = report.totals()
    assert report.ok, report.to_dict()
    with Timer() as again:
        report2 = Ingestor(rb.store, embedder, rb.settings).ingest(files)
    totals2 = report2.totals()
    check = rb.store.check()
    return {
        "rb": rb,
        "timed": timed,
        "seconds": t.seconds,
        "embed_seconds": timed.seconds,
        "embedded_texts": timed.texts,
        "documents": totals["added"],
        "chunks": totals["chunks"],
        "reingest_seconds": again.seconds,
        "reingest_totals": totals2,
        "store_check": check,
    }


def padded_tokens(calls: list[list[str]], embedder, batch_size: int = 64) -> dict:
    """Word pieces the model actually processes for these encode calls: sentence-transformers sorts each
    call's texts by length and pads every batch of `batch_size` to its longest text (capped at the
    model's window). Independent of the machine's load, so it explains throughput differences."""
    cap = embedder.max_tokens
    real = padded = quadratic = 0
    for texts in calls:
        lengths = sorted((min(n + 2, cap) for n in embedder.count_tokens(list(texts))), reverse=True)
        real += sum(lengths)
        for i in range(0, len(lengths), batch_size):
            batch = lengths[i : i + batch_size]
            padded += batch[0] * len(batch)
            quadratic += batch[0] ** 2 * len(batch)
    return {"calls": len(calls), "real_tokens": real, "padded_tokens": padded,
            "padding_share": round(1 - real / padded, 4) if padded else 0.0, "attention_units": quadratic}


def run_langchain(persist: Path, docs, embedder) -> dict:
    from langchain_chroma import Chroma
    from langchain_core.documents import Document as LCDocument
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    lc_docs = [
        LCDocument(
            page_content=d.text,
            metadata={"doc_id": d.doc_id, "title": d.title, "source": d.source,
                      "date": d.date.isoformat() if d.date else "", "doc_type": d.doc_type},
        )
        for d in docs
    ]
    with TimedEncode(embedder, keep=True) as timed, Timer() as t:
        splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
        chunks = splitter.split_documents(lc_docs)
        store = Chroma.from_documents(chunks, embedding=embedder, persist_directory=str(persist),
                                      collection_name="langchain")
    count = store._collection.count()
    return {"seconds": t.seconds, "embed_seconds": timed.seconds, "embedded_texts": timed.texts,
            "documents": len(docs), "chunks": len(chunks), "vectors": count,
            "padding": padded_tokens([texts for texts, _ in timed.kept], embedder)}


def run_lists(args: argparse.Namespace | None = None) -> dict:
    sdn_rows = getattr(args, "sdn_rows", DEFAULT_SDN_ROWS) if args else DEFAULT_SDN_ROWS
    if sdn_rows is not None and sdn_rows <= 0:
        sdn_rows = None
    from ingest.formats import parse

    log(f"{NAME}: loading the embedding model (not timed)")
    embedder = real_embedder()
    embedder.encode(["warm-up sentence for the benchmark"] * 8)

    with tempfile.TemporaryDirectory(prefix="regbrief-bench-ingest-") as tmpdir:
        tmp = Path(tmpdir)
        files = corpus(tmp, sdn_rows)
        with Timer() as tp:
            docs = [d for f in files for d in parse(f)]
        log(f"corpus: {[f.name for f in files]}: {len(docs)} documents (parse alone {tp.seconds:.1f}s)")

        langchain_first = bool(getattr(args, "langchain_first", False)) if args else False
        warmup = not getattr(args, "no_warmup", False) if args else True
        warmup_s = None
        if warmup:
            # Whichever pipeline ran second was 25-30% faster at the same model work (torch warms up per
            # input shape), so both are timed after one untimed pass over the same texts.
            log("warm-up: one untimed encode of every document text")
            with Timer() as tw:
                embedder.encode([d.text for d in docs])
            warmup_s = tw.seconds

        def do_regbrief():
            log("regbrief: first ingest")
            out = run_regbrief(tmp / "regbrief", files, embedder)
            log(f"  {out['documents']} docs, {out['chunks']} chunks in {out['seconds']:.1f}s "
                f"(embedding {out['embed_seconds']:.1f}s); re-ingest {out['reingest_seconds']:.2f}s")
            return out

        def do_langchain():
            log("langchain: split + Chroma.from_documents")
            out = run_langchain(tmp / "langchain", docs, embedder)
            log(f"  {out['documents']} docs, {out['chunks']} chunks in {out['seconds']:.1f}s "
                f"(embedding {out['embed_seconds']:.1f}s)")
            return out

        if langchain_first:
            lc = do_langchain()
            rb = do_regbrief()
        else:
            rb = do_regbrief()
            lc = do_langchain()
        rb["padding"] = padded_tokens([texts for texts, _ in rb["timed"].kept], embedder)
        # The vectors just computed seed the cache the other benchmarks build their stores from.
        rb["timed"].flush(EmbeddingCache(embedder.signature))

    def rate(n, s):
        return n / s if s else float("nan")

    rb_rate = rate(rb["documents"], rb["seconds"])
    lc_rate = rate(lc["documents"], lc["seconds"])
    rb_over = (rb["seconds"] - rb["embed_seconds"]) / rb["embed_seconds"]
    lc_over = (lc["seconds"] - lc["embed_seconds"]) / lc["embed_seconds"]
    speedup = rb["seconds"] / rb["reingest_seconds"]
    figures = {
        "corpus": {
            "files": [f.name for f in files],
            "sdn_rows": sdn_rows or "all",
            "documents": len(docs),
            "parse_seconds": round(tp.seconds, 2),
        },
        "regbrief": {
            "documents": rb["documents"], "chunks": rb["chunks"], "seconds": round(rb["seconds"], 2),
            "embed_seconds": round(rb["embed_seconds"], 2), "embedded_texts": rb["embedded_texts"],
            "docs_per_s": round(rb_rate, 2), "chunks_per_s": round(rate(rb["chunks"], rb["seconds"]), 2),
            "overhead_vs_embedding": round(rb_over, 4),
            "reingest_seconds": round(rb["reingest_seconds"], 3), "reingest_totals": rb["reingest_totals"],
            "reingest_speedup": round(speedup, 1), "store_check": rb["store_check"],
            "model_work": rb["padding"],
        },
        "langchain": {
            "documents": lc["documents"], "chunks": lc["chunks"], "vectors": lc["vectors"],
            "seconds": round(lc["seconds"], 2), "embed_seconds": round(lc["embed_seconds"], 2),
            "embedded_texts": lc["embedded_texts"], "docs_per_s": round(lc_rate, 2),
            "chunks_per_s": round(rate(lc["chunks"], lc["seconds"]), 2),
            "overhead_vs_embedding": round(lc_over, 4),
            "splitter": "RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)",
            "model_work": lc["padding"],
        },
        "throughput_ratio": round(rb_rate / lc_rate, 3),
        "order": "langchain first" if langchain_first else "regbrief first",
        "warmup_seconds": round(warmup_s, 1) if warmup_s is not None else None,
        "targets": {
            "throughput_ratio >= 1.0": rb_rate / lc_rate >= 1.0,
            "overhead <= 0.15": rb_over <= 0.15,
            "reingest_speedup >= 20": speedup >= 20,
        },
    }
    write_result(NAME, figures)
    print(f"\n{NAME}: {len(docs)} documents ({', '.join(f.name for f in files)})")
    print(table(
        [
            ["regbrief", rb["documents"], rb["chunks"], rb["seconds"], rb["embed_seconds"], rb_rate,
             f"{rb_over:.1%}"],
            ["langchain", lc["documents"], lc["chunks"], lc["seconds"], lc["embed_seconds"], lc_rate,
             f"{lc_over:.1%}"],
        ],
        ["pipeline", "docs", "chunks", "total s", "embed s", "docs/s", "overhead"],
    ))
    print(f"throughput ratio regbrief/langchain: {rb_rate / lc_rate:.2f}x (target >= 1.0x)")
    print(f"regbrief overhead over embedding: {rb_over:.1%} (target <= 15%)")
    print(f"re-ingest unchanged: {rb['reingest_seconds']:.3f}s, {speedup:.0f}x faster (target >= 20x)")
    print(f"model work (padded word pieces): regbrief {rb['padding']['padded_tokens']} in "
          f"{rb['padding']['calls']} encode calls, langchain {lc['padding']['padded_tokens']} in "
          f"{lc['padding']['calls']} (real: {rb['padding']['real_tokens']} / {lc['padding']['real_tokens']})")
    return figures


def stock_langchain(persist: Path, docs) -> dict:
    """Stock LangChain, as a user would write it: sentence-transformers on PyTorch behind LangChain's
    Embeddings (what HuggingFaceEmbeddings does; langchain-huggingface itself is not installed here), on
    the same packaged model, RecursiveCharacterTextSplitter, Chroma.from_documents."""
    from langchain_chroma import Chroma
    from langchain_core.documents import Document as LCDocument
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    from bench.stock_langchain_ingest import SentenceTransformerEmbeddings
    from rag.embeddings import default_model_path

    emb = SentenceTransformerEmbeddings(default_model_path())
    emb.embed_documents([d.text for d in docs[:256]])  # warm-up, not timed
    lc_docs = [LCDocument(page_content=d.text, metadata={"doc_id": d.doc_id, "title": d.title}) for d in docs]
    with Timer() as t:
        chunks = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200).split_documents(lc_docs)
        store = Chroma.from_documents(chunks, embedding=emb, persist_directory=str(persist),
                                      collection_name="langchain")
    return {"documents": len(docs), "chunks": len(chunks), "vectors": store._collection.count(),
            "seconds": round(t.seconds, 2), "docs_per_s": round(len(docs) / t.seconds, 2),
            "embeddings": "sentence-transformers (torch) behind langchain_core Embeddings",
            "splitter": "RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)"}


def run(args: argparse.Namespace | None = None) -> dict:
    """The ObliQA corpus (40 regulatory documents), regbrief with each embedding backend and stock
    LangChain in the same run; --corpus lists runs the original SDN + Federal Register comparison."""
    if getattr(args, "corpus", "obliqa") == "lists":
        return run_lists(args)
    from ingest.formats import parse
    from rag.embeddings import get_embedder
    from rag.core.settings import Settings

    backends = (getattr(args, "embedding_backends", "") or "torch,onnx,onnx-int8").split(",")
    # torch threads as every benchmark sets them: 2 OpenMP threads on a loaded machine made stock
    # LangChain's torch side many times slower, which would flatter the ratio
    threads = configure_torch()
    files = sorted(OBLIQA_DOCS.glob("*.json"), key=lambda f: int(f.stem))
    n_files = getattr(args, "obliqa_files", 0) or 0
    files = files[:n_files] if n_files > 0 else files
    with Timer() as tp:
        docs = [d for f in files for d in parse(f)]
    log(f"{NAME}: ObliQA, {len(files)} files, {len(docs)} documents (parse {tp.seconds:.1f}s)")
    rows: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="regbrief-bench-ingest-") as tmpdir:
        tmp = Path(tmpdir)
        log("stock LangChain (sentence-transformers on torch)")
        lc = stock_langchain(tmp / "langchain", docs)
        log(f"  {lc['chunks']} chunks in {lc['seconds']}s: {lc['docs_per_s']} docs/s")
        for backend in backends:
            embedder = get_embedder(Settings().embedding_model, Settings().embedding_batch_size, backend)
            embedder.encode([d.text for d in docs[:256]])  # warm-up, not timed
            log(f"regbrief, {backend}")
            out = run_regbrief(tmp / f"regbrief-{backend}", files, embedder)
            rows[backend] = {
                "signature": embedder.signature, "documents": out["documents"], "chunks": out["chunks"],
                "seconds": round(out["seconds"], 2), "embed_seconds": round(out["embed_seconds"], 2),
                "docs_per_s": round(out["documents"] / out["seconds"], 2),
                "ratio_to_stock_langchain": round(out["documents"] / out["seconds"] / lc["docs_per_s"], 3),
                "reingest_seconds": round(out["reingest_seconds"], 3), "store_check": out["store_check"],
            }
            log(f"  {out['chunks']} chunks in {out['seconds']:.1f}s (embedding {out['embed_seconds']:.1f}s): "
                f"{rows[backend]['ratio_to_stock_langchain']}x stock LangChain")
    figures = {"corpus": {"files": len(files), "documents": len(docs), "parse_seconds": round(tp.seconds, 2)},
               "stock_langchain": lc, "regbrief": rows, "torch_threads": threads,
               "load_average": os.getloadavg(),
               "targets": {f"{b} >= 1.3x stock LangChain": r["ratio_to_stock_langchain"] >= 1.3
                           for b, r in rows.items()}}
    write_result(f"{NAME}_obliqa", figures)
    print(f"\n{NAME}: ObliQA, {len(docs)} documents, stock LangChain and regbrief in one run")
    print(table([["stock LangChain (torch)", lc["chunks"], lc["seconds"], lc["docs_per_s"], 1.0]] +
                [[f"regbrief ({b})", r["chunks"], r["seconds"], r["docs_per_s"], r["ratio_to_stock_langchain"]]
                 for b, r in rows.items()],
                ["pipeline", "chunks", "seconds", "docs/s", "ratio"]))
    return figures


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--corpus", choices=["obliqa", "lists"], default="obliqa",
                   help="obliqa: the 40 ObliQA documents, per embedding backend (default); lists: SDN + FR")
    p.add_argument("--embedding-backends", default="",
                   help="backends to ingest with (default torch,onnx,onnx-int8)")
    p.add_argument("--obliqa-files", type=int, default=0,
                   help="only the first N ObliQA documents (default: all 40)")
    p.add_argument("--sdn-rows", type=int, default=DEFAULT_SDN_ROWS,
                   help=f"first N rows of the 2024 SDN CSV (default {DEFAULT_SDN_ROWS}; 0 = all 14,965)")
    p.add_argument("--no-warmup", action="store_true",
                   help="skip the untimed warm-up pass over the corpus texts (then the second pipeline gains)")
    p.add_argument("--langchain-first", action="store_true",
                   help="run the LangChain pipeline before regbrief's (to see the order's effect)")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(ap)
    run(ap.parse_args())
