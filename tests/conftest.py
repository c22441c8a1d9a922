"""Shared fixtures: the real data folder, fresh stores in temp dirs, one model load per session."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
DEMO = ROOT / "ingest" / "demo_corpus"
CONSOLIDATED_XML = DATA / "ofac" / "consolidated_nonSDN_2025-06-30.xml"

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def make_rb(home: Path, **overrides):
    from rag.service import Regbrief
    from rag.settings import Settings

    return Regbrief(Settings(home=home, **overrides))


@pytest.fixture(scope="session")
def embedder():
    from rag.embeddings import get_embedder

    return get_embedder()


@pytest.fixture
def rb(tmp_path, embedder):
    """An empty store in a temp dir."""
    return make_rb(tmp_path / "home")


@pytest.fixture(scope="session")
def demo_rb(tmp_path_factory, embedder):
    """The demo corpus plus the real 2025-06-30 consolidated list, ingested once per session.
    Tests must not write to it."""
    rb = make_rb(tmp_path_factory.mktemp("demo") / "home")
    report = rb.ingestor.ingest([DEMO / "articles", DEMO / "lists", CONSOLIDATED_XML])
    assert report.ok, report.to_dict()
    return rb
