"""The store records which embedder made its vectors: an incompatible one is refused with a clear message,
and `regbrief reembed` converts the store in place, crash-safe (killed, then re-run)."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import DATA, DEMO, ROOT, make_rb

FR = DATA / "federal_register" / "fr_sanctions_export_controls_abstracts.jsonl"


def _env(home, backend: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGBRIEF_")}
    return {**env, "REGBRIEF_HOME": str(home), "REGBRIEF_EMBEDDING_BACKEND": backend, "HF_HUB_OFFLINE": "1"}


def _cli(home, backend: str, *args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "api.cli", *args], cwd=ROOT, env=_env(home, backend),
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.e2e
def test_an_incompatible_embedder_is_refused_until_reembed(tmp_path):
    home = tmp_path / "home"
    assert _cli(home, "torch", "ingest", "-q", str(DEMO / "articles")).returncode == 0
    # onnx computes the same vectors as torch: accepted
    out = _cli(home, "onnx", "search", "SenseTime", "--json")
    assert out.returncode == 0, out.stderr
    # int8 vectors differ: refused, and the message says what to do
    out = _cli(home, "onnx-int8", "search", "SenseTime")
    assert out.returncode == 3
    assert "all-MiniLM-L6-v2@torch" in out.stderr and "regbrief reembed" in out.stderr
    assert "Traceback" not in out.stderr
    assert _cli(home, "onnx-int8", "ingest", "-q", str(DEMO / "lists")).returncode != 0  # no mixed vectors either
    out = _cli(home, "onnx-int8", "reembed", "--json")
    assert out.returncode == 0, out.stderr
    rb = make_rb(home, embedding_backend="onnx-int8")
    assert rb.check()["ok"] and rb.check()["embedding"] == "all-MiniLM-L6-v2@onnx-int8-alone"
    hits = rb.search("SenseTime NS-CMIC listing", k=3, mode="dense").results
    assert hits and "SenseTime" in hits[0].text
    assert _cli(home, "torch", "search", "SenseTime").returncode == 3  # and now torch is the odd one out


@pytest.mark.slow
def test_reembed_killed_then_rerun_leaves_a_consistent_store(tmp_path):
    home = tmp_path / "home"
    corpus = tmp_path / "fr.jsonl"
    corpus.write_text("".join(FR.read_text(encoding="utf-8").splitlines(keepends=True)[:600]), encoding="utf-8")
    assert _cli(home, "torch", "ingest", "-q", str(corpus)).returncode == 0
    before = make_rb(home, embedding_backend="torch").search("export controls semiconductors", k=5, mode="keyword")
    rng = random.Random(3)
    proc = subprocess.Popen([sys.executable, "-m", "api.cli", "reembed"], cwd=ROOT, env=_env(home, "onnx-int8"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(rng.uniform(4, 8))  # model load, then part of the re-embedding
    killed = proc.poll() is None
    if killed:
        proc.send_signal(signal.SIGKILL)
    proc.wait()
    # killed before the switch: the store still answers with its old vectors
    check = _cli(home, "torch", "check", "--json")
    assert check.returncode in (0, 3), check.stderr
    out = _cli(home, "onnx-int8", "reembed", "--json")
    assert out.returncode == 0, out.stderr
    rb = make_rb(home, embedding_backend="onnx-int8")
    report = rb.check()
    assert report["ok"] and report["vectors"] == report["chunks"] == 600 and report["embedding"].endswith("@onnx-int8-alone")
    after = rb.search("export controls semiconductors", k=5, mode="keyword")
    assert [r.chunk_id for r in after.results] == [r.chunk_id for r in before.results]
    assert len(rb.search("export controls semiconductors", k=5, mode="dense").results) == 5
    assert len(rb.store.vectors.siblings()) <= 1  # the replaced collection is gone


def test_auto_backend_follows_a_stores_vectors_and_gives_new_stores_int8_ones(tmp_path, embedder):
    """REGBRIEF_EMBEDDING_BACKEND=auto (the default): a new store gets int8 vectors; a store that already has
    float vectors is queried with float ones, so opening it needs no setting and no `regbrief reembed`."""
    new = make_rb(tmp_path / "new")
    assert new.ingest([DEMO / "lists"]).ok
    assert new.store.embedding_signature() == "all-MiniLM-L6-v2@onnx-int8-alone"
    assert new.embedder.backend == "onnx-int8"
    float_home = tmp_path / "float"
    assert make_rb(float_home, embedding_backend="onnx").ingest([DEMO / "lists"]).ok
    reopened = make_rb(float_home)  # auto
    assert reopened.embedder.backend == "onnx"
    assert reopened.search("SenseTime", k=3).results  # no EmbeddingMismatch


def test_a_store_of_the_earlier_int8_recipe_is_refused_with_what_to_do(tmp_path, embedder):
    """Int8 vectors of the earlier recipe (signature model@onnx-int8) are not the current int8 vectors: auto
    does not mix them in, it refuses with the way out."""
    import json

    from rag.store.facade import EmbeddingMismatch

    home = tmp_path / "old-int8"
    rb = make_rb(home, embedding_backend="onnx-int8")
    assert rb.ingest([DEMO / "lists"]).ok
    state = json.loads(rb.store.registry.get_meta("vectors"))
    rb.store.registry.set_meta("vectors", json.dumps({**state, "embedding": "all-MiniLM-L6-v2@onnx-int8"}))
    reopened = make_rb(home)  # auto
    with pytest.raises(EmbeddingMismatch, match="regbrief reembed"):
        reopened.search("SenseTime", k=3, mode="dense")


def test_vectors_do_not_depend_on_the_batch(embedder):
    """A text gets the same vector alone and beside a long passage, with float and with int8 (whose dynamic
    quantisation would take its range over the whole batch if texts were run together)."""
    from rag.embeddings import get_embedder

    q = "Is SenseTime sanctioned, and on which list?"
    long = "OFAC is publishing the names of persons whose property and interests in property are blocked. " * 4
    for backend in ("onnx", "onnx-int8"):
        e = get_embedder(backend=backend)
        alone = e.model.run([q])[0]
        beside = e.model.run([q, long])[0]
        in_bulk = e.encode([f"{long} ({i})" for i in range(300)] + [q])[-1]
        assert float(alone @ beside) > 0.9999 and float(alone @ in_bulk) > 0.9999, backend
