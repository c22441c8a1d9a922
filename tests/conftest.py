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
    from rag.core.settings import Settings

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


# --- PostgreSQL + Chroma server variants (tests/pg.py starts real servers of our own) ---------------------

@pytest.fixture(scope="session")
def pg_server():
    """A PostgreSQL cluster of the session's own, on a free loopback port."""
    from tests.pg import PgServer

    with PgServer() as pg:
        yield pg


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory):
    """A real `chroma run` for the session."""
    from tests.pg import ChromaServer

    with ChromaServer(tmp_path_factory.mktemp("chroma-server")) as server:
        yield server


@pytest.fixture(scope="session")
def servers(pg_server, chroma_server):
    """servers() -> settings overrides for a new, empty store on the PostgreSQL and Chroma servers (its own
    database and collection): with them a Regbrief keeps nothing of the store under its home."""
    import uuid

    def new() -> dict:
        return {"database_url": pg_server.create_database(), "chroma_url": chroma_server.url,
                "collection": f"t{uuid.uuid4().hex[:10]}"}

    return new


BACKENDS = ["embedded", "servers"]


def backend_overrides(request, backend: str) -> dict:
    """Settings overrides of one backend variant: none (SQLite + embedded Chroma) or the servers'."""
    return request.getfixturevalue("servers")() if backend == "servers" else {}


def assert_implements(pairs) -> None:
    """Each (protocol, implementation): every public operation of the protocol exists on the implementation
    with the same parameters, in the same order."""
    import inspect

    for proto, impl in pairs:
        for name, fn in vars(proto).items():
            if name.startswith("_") or not callable(fn):
                continue
            assert hasattr(impl, name), f"{impl.__name__} lacks {name}"
            want = list(inspect.signature(fn).parameters)
            got = list(inspect.signature(getattr(impl, name)).parameters)
            assert got == want, f"{impl.__name__}.{name}{got} differs from the protocol's {want}"


# --- the fast layer and the end-to-end layer ------------------------------------------------------------------

# Fixtures that make a test end to end: they ingest ../shared data, or start servers of their own (PostgreSQL,
# Chroma, llama.cpp).
E2E_FIXTURES = {"demo_rb", "pg_server", "chroma_server", "servers", "llama_server", "xml_rb", "zala_rb"}
# Modules whose every test is end to end: real lists served and synced over HTTP (test_feeds), the real data
# ingested (test_injection), processes killed and servers stopped (test_reliability), a real server with
# uploads (test_workspaces), a soak (test_soak).
E2E_MODULES = {"test_feeds.py", "test_injection.py", "test_reliability.py", "test_workspaces.py", "test_soak.py"}


def pytest_collection_modifyitems(config, items):
    """Mark end-to-end tests `e2e` so that `make check` (`-m "not e2e"`) runs only the fast layer: those marked
    `slow` (server processes, a browser), those in E2E_MODULES, those that use an end-to-end fixture, and the
    `servers` variant of a test parametrized over BACKENDS; a test may also be marked `e2e` itself."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        on_servers = callspec is not None and "servers" in callspec.params.values()
        if (item.get_closest_marker("slow") or item.path.name in E2E_MODULES or E2E_FIXTURES & set(item.fixturenames)
                or on_servers):
            item.add_marker(pytest.mark.e2e)
