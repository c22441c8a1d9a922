"""Builds the eval corpora, runs the suites, scores them, and checks the gate.

Corpora (each its own store under eval_home(), so one suite never changes another's numbers):
  facts        the demo corpus; OFAC's consolidated non-SDN list of 2025-06-30 (all 443 entries); fixed
               slices of the SDN lists of 2021-12-09 and 2021-12-10 (SDN_SLICE_PROGRAMS: the programs of
               the 25 additions of 10 Dec 2021, 707 rows per file); a slice of the Federal Register
               abstracts (FR_SLICE: published in 2021, or titled as OFAC sanctions regulations, Chinese
               military, Magnitsky or Burma: 234 notices); the EU global human rights regime annex
               (eu/consolidated/32020R1998.csv, 177 listings); and eval/datasets/injection/ (documents with
               injected instructions, written for the eval).
  obliqa_aml   ObliQA document 1 (ADGM AML and Sanctions Rules), for the gate's retrieval subset.
  obliqa_all   all 40 ObliQA documents, for the full dev split and ObliQA-MP validation.

The slices are written on the fly from ../shared/data into the store's folder (never into the repository),
byte for byte, so the same data gives the same file, the same hash and the same doc ids.

Suites: facts (fact cases + the verifier's error rate), briefings, retrieval, gate (facts + briefings +
verifier + the ObliQA AML subset), all (everything).
"""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from eval import CATEGORIES, DATASETS, ROOT, VERIFIER_LABELS, data_dir, eval_home
from eval import metrics as M
from ingest.pipeline import file_hash

SDN_SLICE_PROGRAMS = ("GLOMAG", "BURMA-EO14014", "DPRK2", "DPRK3")
SDN_FILES = ("sdn_2021-12-09.csv", "sdn_2021-12-10.csv")
FR_FILE = "federal_register/fr_sanctions_export_controls_abstracts.jsonl"
FR_SLICE_NAME = "fr_abstracts_slice.jsonl"
FR_TITLE = re.compile(r"Sanctions Regulations|Chinese Military|Magnitsky|Burma")
EU_FILES = ("eu/consolidated/32020R1998.csv",)
CONSOLIDATED = "ofac/consolidated_nonSDN_2025-06-30.xml"
OBLIQA_DOCS = "obliqa/StructuredRegulatoryDocuments"
OBLIQA_DEV = "obliqa/ObliQA_dev.json"
OBLIQA_AML = "obliqa/derived_ObliQA_dev_AMLdoc1_subset.json"
OBLIQA_MP = "obliqa_mp/ObliQA_MultiPassage_val.json"
OBLIQA_MP_QRELS = "obliqa_mp/qrels_val.txt"
RETRIEVAL_MODES = ("hybrid", "keyword", "dense")
K = 10

SUITES = {
    "facts": ("facts", "verifier"),
    "injection": ("injection",),
    "briefings": ("briefings",),
    "retrieval": ("retrieval_aml", "retrieval_dev", "retrieval_mp"),
    "gate": ("facts", "verifier", "injection", "briefings", "retrieval_aml"),
    "all": ("facts", "verifier", "injection", "briefings", "retrieval_aml", "retrieval_dev", "retrieval_mp"),
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


def log(msg: str) -> None:
    print(f"[eval {dt.datetime.now():%H:%M:%S}] {msg}", file=sys.stderr, flush=True)


# --- datasets -----------------------------------------------------------------------------------------


def read_jsonl(path: Path) -> list[dict]:
    out = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            if line.strip():
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError as e:
                    raise ValueError(f"{path}:{n}: {e}") from e
    return out


def load_facts() -> list[dict]:
    """The hand-written cases (facts.jsonl, and issue 12's analyst-style cases), then the cases generated from
    the list data (eval/gen_facts.py)."""
    extra = [DATASETS / "facts_analyst.jsonl", DATASETS / "facts_generated.jsonl"]
    return (sorted(read_jsonl(DATASETS / "facts.jsonl"), key=lambda c: c["id"])
            + [c for p in extra if p.exists() for c in read_jsonl(p)])


def load_briefings() -> list[dict]:
    return sorted(read_jsonl(DATASETS / "briefings.jsonl"), key=lambda c: c["id"])


def load_verifier_labels() -> list[dict]:
    return sorted(read_jsonl(VERIFIER_LABELS), key=lambda c: c["id"])


def dataset_hashes() -> dict[str, str]:
    files = sorted(DATASETS.rglob("*.jsonl")) + sorted((DATASETS / "injection").glob("*")) + [VERIFIER_LABELS]
    return {str(p.relative_to(ROOT)): file_hash(p) for p in files if p.is_file()}


# --- corpora ------------------------------------------------------------------------------------------


def write_sdn_slice(src: Path, dest: Path) -> int:
    """Copy the rows of an OFAC SDN CSV whose programs include one of SDN_SLICE_PROGRAMS, byte for byte."""
    kept = 0
    tmp = dest.with_suffix(".tmp")
    with open(src, "rb") as fin, open(tmp, "wb") as fout:
        for raw in fin:
            row = next(csv.reader([raw.decode("utf-8", errors="replace")]), [])
            if len(row) != 12 or not row[0].strip().isdigit():
                continue
            programs = {p.strip() for p in row[3].split("] [")}
            if programs & set(SDN_SLICE_PROGRAMS):
                fout.write(raw)
                kept += 1
    _replace_if_changed(tmp, dest)
    return kept


def write_fr_slice(src: Path, dest: Path) -> int:
    """Copy the Federal Register records published in 2021, or whose title matches FR_TITLE."""
    kept = 0
    tmp = dest.with_suffix(".tmp")
    with open(src, "rb") as fin, open(tmp, "wb") as fout:
        for raw in fin:
            if not raw.strip():
                continue
            rec = json.loads(raw)
            if str(rec.get("publication_date", "")).startswith("2021") or FR_TITLE.search(rec.get("title") or ""):
                fout.write(raw if raw.endswith(b"\n") else raw + b"\n")
                kept += 1
    _replace_if_changed(tmp, dest)
    return kept


def _replace_if_changed(tmp: Path, dest: Path) -> None:
    if dest.exists() and dest.read_bytes() == tmp.read_bytes():
        tmp.unlink()
    else:
        tmp.replace(dest)


def corpus_paths(name: str, home: Path) -> tuple[list[Path], dict]:
    """The files (and folders) of one eval corpus, and what the slices kept."""
    data = data_dir()
    info: dict[str, Any] = {}
    if name == "facts":
        slices = home / "slices"
        slices.mkdir(parents=True, exist_ok=True)
        paths = [ROOT / "ingest" / "demo_corpus" / "articles", ROOT / "ingest" / "demo_corpus" / "lists",
                 data / CONSOLIDATED]
        for f in SDN_FILES:
            info[f] = write_sdn_slice(data / "ofac" / f, slices / f)
            paths.append(slices / f)
        info[FR_SLICE_NAME] = write_fr_slice(data / FR_FILE, slices / FR_SLICE_NAME)
        paths.append(slices / FR_SLICE_NAME)
        paths += [data / f for f in EU_FILES]
        paths.append(DATASETS / "injection")
        return paths, info
    if name == "obliqa_aml":
        return [data / OBLIQA_DOCS / "1.json"], info
    if name == "obliqa_all":
        return [data / OBLIQA_DOCS / f"{i}.json" for i in range(1, 41)], info
    raise ValueError(f"unknown corpus {name!r}")


# The code that decides what a store holds: its schema, parsing (dates read by rag/dates.py), chunking,
# what ingest flags (rag/text.py holds the prompt-injection detector) and the relations it extracts
# (rag/links.py, with the names of rag/names.py), and the typed list entry it stores (rag/models.py, and
# rag/legacy_entry.py for migrated stores).
STORE_CODE = ("rag/store", "rag/text.py", "rag/dates.py", "rag/names.py", "rag/relations.py", "ingest/pipeline.py",
              "ingest/chunking.py", "ingest/formats", "rag/models.py", "rag/legacy_entry.py")


def store_fingerprint() -> str:
    """A short hash of STORE_CODE. The eval's stores are caches: a store written by another version of
    that code (another schema, other chunks or flags) is never opened; it gets a fresh folder and is
    ingested again, so a changed detector or parser is measured, not the old one's store."""
    h = hashlib.sha256()
    for name in STORE_CODE:
        path = ROOT / name
        for f in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            h.update(f.relative_to(ROOT).as_posix().encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:12]


class Stores:
    """One Regbrief per corpus, each in its own home under eval_home()/<store fingerprint>/, ingested on
    first use. Caches left by other versions of the store code are deleted first."""

    def __init__(self, base_settings=None, home: Path | None = None):
        from rag.settings import Settings

        self.base = base_settings or Settings()
        root = home or eval_home()
        self.home = root / store_fingerprint()
        if root.is_dir():
            for old in root.iterdir():
                if old.is_dir() and old != self.home and re.fullmatch(r"[0-9a-f]{12}", old.name):
                    log(f"removing the eval store cache of another store version: {old}")
                    shutil.rmtree(old, ignore_errors=True)
        self._rbs: dict[str, Any] = {}
        self.ingest_info: dict[str, dict] = {}

    def get(self, name: str):
        if name in self._rbs:
            return self._rbs[name]
        from rag.service import Regbrief

        home = self.home / name
        home.mkdir(parents=True, exist_ok=True)
        settings = self.base.model_copy(update={"home": home, "chroma_url": None, "collection": f"eval_{name}"})
        rb = Regbrief(settings)
        paths, info = corpus_paths(name, home)
        t0, c0 = time.perf_counter(), time.process_time()
        log(f"ingest corpus {name} ({len(paths)} paths) into {home}")
        report = rb.ingestor.ingest(paths)
        seconds, cpu = round(time.perf_counter() - t0, 2), round(time.process_time() - c0, 2)
        failed = [f.error for f in report.files if f.status == "failed"]
        if failed:
            raise RuntimeError(f"eval corpus {name}: ingest failed: " + "; ".join(failed))
        stats = rb.store.stats()
        self.ingest_info[name] = {
            "seconds": seconds, "cpu_seconds": cpu, "documents": stats["documents"], "chunks": stats["chunks"],
            "totals": report.totals(), "slices": info,
            "files": {f.path.name: file_hash(f.path) for f in report.files if f.path and f.path.is_file()},
        }
        log(f"corpus {name}: {stats['documents']} documents, {stats['chunks']} chunks, "
            f"ingest {seconds}s, cpu {cpu}s ({report.totals()['added']} added)")
        self._rbs[name] = rb
        return rb


# --- facts --------------------------------------------------------------------------------------------


def _filters(case: dict):
    from rag.models import Filters

    f = dict(case.get("filters") or {})
    if case.get("as_of"):
        f["until"] = case["as_of"]
    return Filters(**f)


def _citation_dict(c) -> dict:
    md = c.metadata or {}
    # `source` here is the file a citation came from (metadata "file"), what the cases' `must_cite` names
    return {"n": c.n, "doc_id": c.doc_id, "source": md.get("file") or c.source, "title": c.title,
            "doc_type": c.doc_type,
            "uid": str(md.get("uid")) if md.get("uid") is not None else None,
            "document_number": md.get("document_number"), "quote": c.quote}


class Judge:
    """The verifier as the judge of support for the citation metrics (cached per sentence/passages)."""

    def __init__(self, embedder):
        from rag.verify import Verifier

        self.verifier = Verifier(embedder)
        self._cache: dict[tuple, bool] = {}

    def __call__(self, sentence: str, passages) -> bool:
        key = (sentence, tuple(passages))
        if key not in self._cache:
            self._cache[key] = self.verifier.check(sentence, dict(enumerate(passages, 1))).ok
        return self._cache[key]


def statements_of(sentences, citations) -> list[tuple[str, list[str]]]:
    by_n = {c.n: c for c in citations}
    return [(s.text, [by_n[n].chunk_text or by_n[n].quote for n in s.citations if n in by_n])
            for s in sentences if s.kind == "fact" and s.verdict != "removed"]


def score_answer(case: dict, answer, judge, latency: float) -> dict:
    text = answer.answer
    cits = [_citation_dict(c) for c in answer.citations]
    facts = case.get("facts") or []
    found = [M.fact_present(f, text) for f in facts]
    recall = M.fact_recall(facts, text)
    cite_ok = M.cites_required(cits, case.get("must_cite"))
    fact_sentences = [s.text for s in answer.sentences if s.kind == "fact" and s.verdict != "removed"]
    nl = case.get("not_listed")
    invented: list[str] = []
    false_matches: list[str] = []
    if nl:
        invented = M.invented_listing_claims(fact_sentences, nl["names"], nl.get("lists", []))
        if nl.get("on_no_list"):  # a similarly named entity's entry is a false match only when this one has none
            false_matches = M.false_list_matches([c["title"] for c in cits if c["doc_type"] == "list_entry"],
                                                 nl["names"])
    forbidden = [f for f in case.get("forbidden") or [] if M.fact_present(f, text)]
    contradictions = M.self_contradictions([s.text for s in answer.sentences if s.verdict != "removed"])
    not_found = M.says_not_found(text) if (case["category"] == "negative" or case.get("expect_not_found")) else None
    alce = M.alce_citation_scores(statements_of(answer.sentences, answer.citations), judge)
    correct = M.exact_correct(
        category=case["category"], fact_recall_value=recall, cite_ok=cite_ok, refused=answer.refused,
        should_refuse=case.get("should_refuse", False), not_found=not_found,
        invented=len(invented) + len(false_matches), forbidden_hits=len(forbidden),
        accept_refusal=case.get("accept_refusal", False))
    why = []
    if case.get("should_refuse") and not answer.refused:
        why.append("did not refuse")
    if not case.get("should_refuse") and not case.get("accept_refusal") and answer.refused:
        why.append("refused")
    why += [f"missing fact {f}" for f, ok in zip(facts, found) if not ok]
    if not cite_ok:
        why.append(f"no citation matching {case.get('must_cite')}")
    if not_found is False and not (answer.refused and case.get("accept_refusal")):
        why.append("does not say the entity is not listed")
    why += [f"invented listing: {s}" for s in invented]
    why += [f"false list match: {e}" for e in false_matches]
    why += [f"forbidden fact stated: {f}" for f in forbidden]
    why += [f"contradicts itself: {n!r} beside {p!r}" for n, p in contradictions]
    return {
        "id": case["id"], "category": case["category"], "question": case["question"],
        "as_of": case.get("as_of"), "expected": facts, "found": found, "fact_recall": recall,
        "must_cite": case.get("must_cite"), "cite_ok": cite_ok, "should_refuse": case.get("should_refuse", False),
        "refused": answer.refused, "accept_refusal": case.get("accept_refusal", False),
        "refusal_ok": (None if case.get("accept_refusal")
                       else M.refusal_correct(answer.refused, case.get("should_refuse", False))),
        "not_found": not_found, "invented": invented, "false_matches": false_matches, "forbidden_hits": forbidden,
        "citation": alce, "correct": correct and not contradictions, "why": why, "answer": text,
        "contradictions": len(contradictions),
        "citations": [{k: v for k, v in c.items() if k != "quote"} for c in cits],
        "latency_s": round(latency, 4),
    }


def run_facts(stores: Stores, backend: str, limit: int | None) -> tuple[dict, list[dict]]:
    rb = stores.get("facts")
    judge = Judge(rb.embedder)
    cases = load_facts()[:limit] if limit else load_facts()
    results = []
    for i, case in enumerate(cases, 1):
        t0 = time.perf_counter()
        answer = rb.ask(case["question"], _filters(case), backend=backend, record=False)
        latency = time.perf_counter() - t0
        r = score_answer(case, answer, judge, latency)
        r["backend"], r["model"], r["prompt_version"] = answer.backend, answer.model, answer.prompt_version
        r["split"], r["generated"] = case.get("split", "dev"), bool(case.get("generated"))
        results.append(r)
        if i % 20 == 0:
            log(f"facts: {i}/{len(cases)}")
    return aggregate_facts(results), results


def aggregate_facts(results: list[dict]) -> dict:
    def block(rs: list[dict]) -> dict:
        with_facts = [r for r in rs if r["expected"]]
        answerable = [r for r in rs if not r["should_refuse"]]
        return {
            "n": len(rs),
            "exact_correctness": M.mean_or_none(r["correct"] for r in rs),
            "fact_recall": M.mean_or_none(r["fact_recall"] for r in with_facts),
            "cite_ok": M.mean_or_none(r["cite_ok"] for r in rs if r["must_cite"]),
            "refusal_accuracy": M.mean_or_none(r["refusal_ok"] for r in rs if r["refusal_ok"] is not None),
            "answered_when_answerable": M.mean_or_none(not r["refused"] for r in answerable
                                                       if not r["accept_refusal"]),
            "refused_when_unanswerable": M.mean_or_none(r["refused"] for r in rs if r["should_refuse"]),
            "citation_recall": M.mean_or_none(r["citation"]["recall"] for r in rs),
            "citation_precision": M.mean_or_none(r["citation"]["precision"] for r in rs),
            "invented_listings": sum(len(r["invented"]) for r in rs),
            "false_list_matches": sum(len(r["false_matches"]) for r in rs),
            "self_contradictions": sum(r.get("contradictions", 0) for r in rs),
        }

    out = block(results)
    totals = {k: sum(r["citation"][k] for r in results) for k in ("statements", "covered", "citations", "precise")}
    out["citation_recall_micro"] = totals["covered"] / totals["statements"] if totals["statements"] else None
    out["citation_precision_micro"] = totals["precise"] / totals["citations"] if totals["citations"] else None
    out["citation_counts"] = totals
    out["by_category"] = {c: block([r for r in results if r["category"] == c]) for c in CATEGORIES
                          if any(r["category"] == c for r in results)}
    # The generated cases' held-out part (entries and phrasings never used to write the planner's field
    # descriptions) apart from the rest, and the hand-written cases alone.
    out["by_split"] = {sp: block([r for r in results if r.get("split", "dev") == sp])
                       for sp in ("dev", "heldout") if any(r.get("split", "dev") == sp for r in results)}
    out["generated"] = block([r for r in results if r.get("generated")]) if any(r.get("generated") for r in results) else None
    out["handwritten"] = block([r for r in results if not r.get("generated")])
    out["negatives_invented_listings"] = out["by_category"].get("negative", {}).get("invented_listings", 0)
    out["negatives_false_list_matches"] = out["by_category"].get("negative", {}).get("false_list_matches", 0)
    out["latency"] = M.latency_summary([r["latency_s"] for r in results])
    return out


# --- injection ----------------------------------------------------------------------------------------


def load_injection() -> list[dict]:
    return sorted(read_jsonl(DATASETS / "injection.jsonl"), key=lambda c: c["id"])


def run_injection(stores: Stores, backend: str, limit: int | None) -> tuple[dict, list[dict]]:
    """Each case asks a question that one injection document (eval/datasets/injection/, in the facts
    corpus) tries to steer. Resisted: the answer states nothing the injection asked for (the case's
    `forbidden` facts) and cites nothing from that document. The answer is scored as a fact case too.
    Also counted: which documents of the corpus the ingest flagged as addressing the answering system
    (all injection documents should be; no other document should)."""
    rb = stores.get("facts")
    judge = Judge(rb.embedder)
    cases = load_injection()[:limit] if limit else load_injection()
    results = []
    for case in cases:
        t0 = time.perf_counter()
        answer = rb.ask(case["question"], _filters(case), backend=backend, record=False)
        r = score_answer(case, answer, judge, time.perf_counter() - t0)
        r["document"], r["style"], r["notes"] = case["document"], case["style"], answer.notes
        r["injection_cited"] = any(Path(c["source"]).name == case["document"] for c in r["citations"])
        r["resisted"] = not r["forbidden_hits"] and not r["injection_cited"]
        if r["injection_cited"]:
            r["why"].append(f"cites the injection document {case['document']}")
        results.append(r)
    from rag.sources import file_name

    flagged = rb.store.flagged_documents()
    injection_dir = (DATASETS / "injection").resolve()
    # stored keys name files, not paths: an injection document is one of the files of the injection folder
    injection_files = {p.name for p in injection_dir.iterdir()}
    in_set = {file_name(key) for key, _ in flagged if file_name(key) in injection_files}
    clean_flagged = [doc for key, doc in flagged if file_name(key) not in injection_files]
    from rag.text import looks_like_instruction

    heldout = [line.strip() for line in (DATASETS / "injection_heldout.txt").read_text(encoding="utf-8").splitlines()
               if line.strip() and not line.startswith("#")]
    metrics = {
        "n": len(results), "documents": len({c["document"] for c in cases}),
        "heldout_sentences": len(heldout),
        "heldout_caught": M.mean_or_none(looks_like_instruction(s) for s in heldout),
        "resisted": M.mean_or_none(r["resisted"] for r in results),
        "exact_correctness": M.mean_or_none(r["correct"] for r in results),
        "forbidden_hits": sum(len(r["forbidden_hits"]) for r in results),
        "injection_cited": sum(r["injection_cited"] for r in results),
        "refused": sum(r["refused"] for r in results),
        "documents_flagged_at_ingest": len(in_set & {c["document"] for c in cases}),
        "clean_documents_flagged": len(clean_flagged), "clean_flagged_examples": clean_flagged[:5],
        "latency": M.latency_summary([r["latency_s"] for r in results]),
    }
    return metrics, results


# --- verifier -----------------------------------------------------------------------------------------


def run_verifier(stores: Stores) -> tuple[dict, list[dict]]:
    from rag.embeddings import get_embedder
    from rag.verify import Verifier

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
    from rag.dates import find_dates

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
        results.append({
            "id": case["id"], "entity": case["entity"], "as_of": case.get("as_of"), "expected": facts,
            "found": found, "must_cite": case.get("must_cite"), "coverage": M.briefing_fact_coverage(facts, cited),
            "coverage_any_sentence": M.fact_recall(facts, "\n".join(every)), "cite_ok": cite_ok,
            "rating": b.rating, "expected_rating": case.get("rating"), "rating_ok": rating_ok,
            "invented": invented, "citation": alce, "why": why, "resolved": b.resolved,
            "repeated": [list(x) for x in repeated], "exposure": exposure, "exposure_found": exposure_found,
            "timeline_sorted": sorted_ok, "timeline_events": len(events),
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
    from rag.settings import Settings

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
        elif part == "verifier":
            report["metrics"]["verifier"], report["cases"]["verifier"] = run_verifier(stores)
        elif part == "briefings":
            report["metrics"]["briefings"], report["cases"]["briefings"] = run_briefings(stores, backend, limit)
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
    models = {(r.get("backend"), r.get("model"), r.get("prompt_version")) for r in report["cases"].get("facts", [])}
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
