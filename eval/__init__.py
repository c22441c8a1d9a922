"""regbrief's evaluation suite: datasets of known facts, metrics, the runner and its reports.

    regbrief eval --suite facts|retrieval|briefings|all [--backend B] [--limit N]
    python -m eval run --suite prose   # questions about what press releases and notices say (issue 22)
    python -m eval gate          # the CI subset; exits non-zero below eval/thresholds.toml

Layout:
  datasets/facts.jsonl         question cases with the facts an answer must contain (written by us)
  datasets/facts_prose.jsonl   questions about what press releases and notices say, split dev/heldout by document
  datasets/prose_corpus/       the public-domain US government press releases those questions are about
  datasets/briefings.jsonl     entities with the facts each briefing must contain
  datasets/injection/*.md      documents with injected instructions, ingested into the eval corpus
  verifier_labels.jsonl        hand-labelled (sentence, passage, supported) pairs for the verifier
  thresholds.toml              the gate's floors (and ceilings), measured, minus a small margin
  metrics.py                   every metric, defined exactly in its docstring
  runner.py                    builds the eval corpora, runs the suites (facts_suite.py, prose_suite.py)
  report.py                    report.json, report.md and PNG plots under eval/reports/<timestamp>/

The eval reads the real data in ../shared/data (override with REGBRIEF_EVAL_DATA) and keeps its stores
under .regbrief/eval/ (override with REGBRIEF_EVAL_HOME): ingest is idempotent, so a second run only
re-ingests what changed.
"""
from __future__ import annotations

import os
from pathlib import Path

EVAL_DIR = Path(__file__).resolve().parent
ROOT = EVAL_DIR.parent
DATASETS = EVAL_DIR / "datasets"
REPORTS = EVAL_DIR / "reports"
THRESHOLDS = EVAL_DIR / "thresholds.toml"
VERIFIER_LABELS = EVAL_DIR / "verifier_labels.jsonl"

CATEGORIES = ("list_lookup", "change_over_time", "notice", "article", "multi_hop", "negative", "unanswerable",
              "adversarial")


def data_dir() -> Path:
    return Path(os.environ.get("REGBRIEF_EVAL_DATA") or ROOT.parent / "shared" / "data")


def eval_home() -> Path:
    return Path(os.environ.get("REGBRIEF_EVAL_HOME") or ROOT / ".regbrief" / "eval")
