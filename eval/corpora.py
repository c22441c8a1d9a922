"""The eval's datasets and corpora: the fact cases and labels, the slices of ../shared/data written into
each corpus's store folder, and the stores built from them (`Stores`). See eval/runner.py for the corpora.
"""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import re
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from eval import DATASETS, ROOT, VERIFIER_LABELS, data_dir, eval_home
from ingest.pipeline import file_hash


SDN_SLICE_PROGRAMS = ("GLOMAG", "BURMA-EO14014", "DPRK2", "DPRK3")
SDN_FILES = ("sdn_2021-12-09.csv", "sdn_2021-12-10.csv")
FR_FILE = "federal_register/fr_sanctions_export_controls_abstracts.jsonl"
FR_SLICE_NAME = "fr_abstracts_slice.jsonl"
FR_TITLE = re.compile(r"Sanctions Regulations|Chinese Military|Magnitsky|Burma")
EU_FILES = ("eu/consolidated/32020R1998.csv",)
CONSOLIDATED = "ofac/consolidated_nonSDN_2025-06-30.xml"
PROSE_CORPUS = "prose_corpus"  # under eval/datasets: public-domain US government press releases and statements
PROSE_FACTS = "facts_prose.jsonl"
FR_PROSE_SLICE_NAME = "fr_prose_slice.jsonl"
FR_PROSE_YEARS = ("2021", "2022")
OBLIQA_DOCS = "obliqa/StructuredRegulatoryDocuments"
OBLIQA_DEV = "obliqa/ObliQA_dev.json"
OBLIQA_AML = "obliqa/derived_ObliQA_dev_AMLdoc1_subset.json"
OBLIQA_MP = "obliqa_mp/ObliQA_MultiPassage_val.json"
OBLIQA_MP_QRELS = "obliqa_mp/qrels_val.txt"
RETRIEVAL_MODES = ("hybrid", "keyword", "dense")
K = 10


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


def load_prose(split: str | None = None) -> list[dict]:
    """The prose cases (facts_prose.jsonl): questions about what the press releases of
    datasets/prose_corpus and the Federal Register abstracts say, each with its `split`. With a split,
    only that split's cases: a trained component (the reader) may learn from split="dev" and never from
    "heldout"."""
    cases = sorted(read_jsonl(DATASETS / PROSE_FACTS), key=lambda c: c["id"])
    return [c for c in cases if split is None or c["split"] == split]


def load_briefings() -> list[dict]:
    return sorted(read_jsonl(DATASETS / "briefings.jsonl"), key=lambda c: c["id"])


def load_verifier_labels() -> list[dict]:
    return sorted(read_jsonl(VERIFIER_LABELS), key=lambda c: c["id"])


def dataset_hashes() -> dict[str, str]:
    files = (sorted(DATASETS.rglob("*.jsonl")) + sorted((DATASETS / "injection").glob("*"))
             + sorted((DATASETS / PROSE_CORPUS).glob("*.md")) + [VERIFIER_LABELS])
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


def write_fr_prose_slice(src: Path, dest: Path, cited: set[str]) -> int:
    """Copy the Federal Register records the prose cases cite (`cited` document numbers), every record
    published in FR_PROSE_YEARS and every Entity List rule (look-alike notices the answers must tell
    apart), byte for byte."""
    kept = 0
    tmp = dest.with_suffix(".tmp")
    with open(src, "rb") as fin, open(tmp, "wb") as fout:
        for raw in fin:
            if not raw.strip():
                continue
            rec = json.loads(raw)
            if (rec.get("document_number") in cited or str(rec.get("publication_date", ""))[:4] in FR_PROSE_YEARS
                    or "Entity List" in (rec.get("title") or "")):
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
    if name == "prose":
        slices = home / "slices"
        slices.mkdir(parents=True, exist_ok=True)
        cited = {spec["doc"] for c in load_prose() for spec in c.get("must_cite") or [] if spec.get("doc")}
        info[FR_PROSE_SLICE_NAME] = write_fr_prose_slice(data / FR_FILE, slices / FR_PROSE_SLICE_NAME, cited)
        # the press releases one by one: the folder's README.md is about them, not one of them
        releases = [f for f in sorted((DATASETS / PROSE_CORPUS).glob("*.md")) if f.name != "README.md"]
        return releases + [slices / FR_PROSE_SLICE_NAME], info
    if name == "obliqa_aml":
        return [data / OBLIQA_DOCS / "1.json"], info
    if name == "obliqa_all":
        return [data / OBLIQA_DOCS / f"{i}.json" for i in range(1, 41)], info
    raise ValueError(f"unknown corpus {name!r}")


# The code that decides what a store holds: its schema, parsing (dates read by rag/core/dates.py), chunking,
# what ingest flags (rag/core/text.py holds the prompt-injection detector) and the relations it extracts
# (rag/relations/links.py, with the names of rag/entities/names.py), and the typed list entry it stores (rag/core/models.py, and
# rag/core/legacy_entry.py for migrated stores), and the vectors a new store gets (rag/embeddings/backends.py
# picks the backend, rag/embeddings/export.py builds its model file).
STORE_CODE = ("rag/store", "rag/core/text.py", "rag/core/dates.py", "rag/entities/names.py", "rag/relations/extract.py", "ingest/pipeline.py",
              "ingest/prepare.py", "ingest/chunking.py", "ingest/formats", "rag/core/models.py", "rag/core/legacy_entry.py",
              "rag/embeddings/backends.py", "rag/embeddings/export.py")


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
        from rag.core.settings import Settings

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


