"""The embedding backends on real ObliQA passages: ONNX gives PyTorch's vectors, int8 stays close enough to
find the same passages, the setting picks the backend, nothing recomputes what it already has, questions
do not queue behind an ingest, and an ONNX process never loads PyTorch."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from rag.embeddings import compatible, get_embedder
from tests.conftest import DATA, DEMO, ROOT

OBLIQA = DATA / "obliqa" / "StructuredRegulatoryDocuments"


@pytest.fixture(scope="session")
def passages() -> list[str]:
    """300 real passages of the AML and Sanctions Rules (document 1), short and long."""
    docs = json.loads((OBLIQA / "1.json").read_text())
    return [d["Passage"] for d in docs if d["Passage"].strip()][:300]


@pytest.fixture(scope="session")
def questions() -> list[tuple[str, str]]:
    """ObliQA dev questions whose gold passage is in document 1: (question, gold passage text)."""
    items = json.loads((DATA / "obliqa" / "derived_ObliQA_dev_AMLdoc1_subset.json").read_text())
    return [(q["Question"], q["Passages"][0]["Passage"]) for q in items[:60]]


@pytest.fixture(scope="session")
def torch_embedder():
    return get_embedder(backend="torch")


@pytest.fixture(scope="session")
def onnx_embedder():
    return get_embedder(backend="onnx")


@pytest.fixture(scope="session")
def int8_embedder():
    return get_embedder(backend="onnx-int8")


def test_onnx_gives_the_torch_vectors(torch_embedder, onnx_embedder, passages):
    ref = torch_embedder.encode(passages)
    got = onnx_embedder.encode(passages)
    assert got.shape == ref.shape == (len(passages), 384)
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-4)
    assert float((ref * got).sum(axis=1).min()) > 0.9999


def test_int8_stays_close_and_finds_the_same_passages(torch_embedder, int8_embedder, passages, questions):
    ref = torch_embedder.encode(passages)
    got = int8_embedder.encode(passages)
    cos = (ref * got).sum(axis=1)
    assert float(cos.mean()) >= 0.9 and float(cos.min()) >= 0.8

    # Retrieval, which is what a user sees: the gold passage's rank among the 300 under each model.
    pool = passages + [g for _, g in questions if g not in passages]
    hits = {}
    for name, e in (("float", torch_embedder), ("int8", int8_embedder)):
        pv = e.encode(pool)
        qv = e.encode([q for q, _ in questions])
        top = np.argsort(-(qv @ pv.T), axis=1)[:, :10]
        hits[name] = sum(pool.index(g) in row for (_, g), row in zip(questions, top))
    assert hits["int8"] >= hits["float"] - 0.05 * len(questions), hits


def test_signatures_and_compatibility(torch_embedder, onnx_embedder, int8_embedder):
    assert torch_embedder.signature == "all-MiniLM-L6-v2@torch"
    assert onnx_embedder.signature == "all-MiniLM-L6-v2@onnx"
    assert int8_embedder.signature == "all-MiniLM-L6-v2@onnx-int8-alone"
    assert compatible(torch_embedder.signature, onnx_embedder.signature)
    assert compatible(onnx_embedder.signature, torch_embedder.signature)
    assert compatible(int8_embedder.signature, int8_embedder.signature)
    assert not compatible(torch_embedder.signature, int8_embedder.signature)
    assert not compatible(int8_embedder.signature, onnx_embedder.signature)
    assert not compatible("other-model@onnx", onnx_embedder.signature)
    # int8 vectors of an earlier recipe go with nothing this code computes
    assert not any(compatible("all-MiniLM-L6-v2@onnx-int8", e.signature)
                   for e in (torch_embedder, onnx_embedder, int8_embedder))


def test_token_counts_do_not_depend_on_the_backend(torch_embedder, int8_embedder, passages):
    from transformers import AutoTokenizer

    from rag.embeddings import default_model_path

    hf = AutoTokenizer.from_pretrained(default_model_path())
    expected = [len(ids) for ids in hf(passages, add_special_tokens=False, truncation=False)["input_ids"]]
    assert int8_embedder.count_tokens(passages) == expected == torch_embedder.count_tokens(passages)
    assert max(expected) > 256  # some passages pass the window: counting must not truncate


def test_duplicates_and_repeated_questions_are_embedded_once(int8_embedder, passages):
    e = int8_embedder
    texts = passages[:40]
    before = e.model_texts
    out = e.encode(texts + texts[:10] + texts[:5])  # an ingest batch with repeated text
    assert e.model_texts - before == 40
    assert np.array_equal(out[40:50], out[:10])

    question = "Which persons must a relevant person screen against sanctions lists? (test)"
    before = e.model_texts
    qv = e.encode([question])[0]
    again = e.encode([question, "a second sentence to compare with it"])  # answer selection, verifier
    assert e.model_texts - before == 2
    assert np.array_equal(again[0], qv)


def test_the_exported_model_is_built_once_and_reused(int8_embedder):
    from rag.embeddings.export import onnx_path

    path = int8_embedder.model.path
    assert path.exists() and ROOT not in path.parents  # cached outside the repository
    stamp = path.stat().st_mtime_ns
    model_dir = path.parent
    again = get_embedder(backend="onnx-int8")
    assert again is int8_embedder
    from rag.embeddings import default_model_path
    from pathlib import Path

    assert onnx_path(Path(default_model_path()), "int8", "", "all-MiniLM-L6-v2") == path
    assert path.stat().st_mtime_ns == stamp and sorted(p.name for p in model_dir.glob("*.onnx")) == [
        "model-fp32.onnx", "model-int8.onnx"]


def test_a_question_does_not_wait_for_a_running_ingest(int8_embedder, passages):
    e = int8_embedder
    bulk = [f"{p} (copy {i})" for i in range(4) for p in passages]  # 1,200 texts: many model batches
    t0 = time.perf_counter()
    e.encode(bulk[:e.batch_size])
    one_batch = time.perf_counter() - t0
    done = threading.Event()
    worker = threading.Thread(target=lambda: (e.encode(bulk), done.set()))
    worker.start()
    time.sleep(3 * one_batch)  # the ingest is under way
    waits = []
    for i in range(3):
        t = time.perf_counter()
        e.encode([f"What must a firm report under the sanctions rules? ({i})"])
        waits.append(time.perf_counter() - t)
    still_running = not done.is_set()
    worker.join()
    assert still_running
    # at most the one batch in progress, plus its own model call
    assert max(waits) < 3 * one_batch + 0.5, (waits, one_batch)


def _run(code: str, **env) -> str:
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=600,
                         env={**os.environ, **env})
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def test_the_setting_picks_the_backend_and_an_onnx_process_never_loads_torch(tmp_path, int8_embedder):
    code = f"""
import sys
from rag.service import Regbrief
from rag.core.settings import Settings
rb = Regbrief(Settings(home={str(tmp_path / 'home')!r}))
print(rb.embedder.signature)
assert rb.ingestor.ingest([{str(DEMO / 'articles')!r}]).ok
answer = rb.ask("Which SoftBank subsidiary uses SenseTime technology?")
print(len(answer.citations))
print(sorted(m for m in ("torch", "sentence_transformers", "transformers") if m in sys.modules))
"""
    sig, cited, loaded = _run(code, REGBRIEF_EMBEDDING_BACKEND="onnx-int8").strip().splitlines()[-3:]
    assert sig == "all-MiniLM-L6-v2@onnx-int8-alone"
    assert int(cited) > 0
    assert loaded == "[]"

    bad = subprocess.run([sys.executable, "-c", "from rag.core.settings import Settings; Settings()"], cwd=ROOT,
                         capture_output=True, text=True, env={**os.environ, "REGBRIEF_EMBEDDING_BACKEND": "tensorflow"})
    assert bad.returncode != 0 and "embedding_backend" in bad.stderr


def test_reingesting_an_edited_article_embeds_only_its_new_text(tmp_path):
    from tests.conftest import make_rb

    article = DEMO / "articles" / "2021-12-10_sensetime_ns_cmic_listing.md"
    path = tmp_path / "files" / article.name
    path.parent.mkdir()
    path.write_text(article.read_text())
    rb = make_rb(tmp_path / "home", embedding_backend="onnx-int8")
    assert rb.ingest([path]).ok
    chunks = rb.store.stats()["chunks"]
    assert chunks >= 2

    path.write_text(article.read_text() + "\n\nA correction published a day later changed one figure in the "
                    "table of listed subsidiaries; the listing dates stand.\n")
    e = rb.embedder
    before = e.model_texts
    assert rb.ingest([path]).ok
    assert 1 <= e.model_texts - before < chunks  # the new text only, not the whole article again
    hits = rb.search("A correction changed one figure in the table of listed subsidiaries", k=3, mode="dense")
    assert any("correction" in r.text for r in hits.results)  # the new chunk is stored and found


def test_an_ask_embeds_its_question_once(tmp_path):
    from tests.conftest import make_rb

    rb = make_rb(tmp_path / "home", embedding_backend="onnx-int8")
    assert rb.ingest([DEMO / "articles"]).ok
    seen: list[str] = []
    real_run = rb.embedder.model.run

    def run(texts):
        seen.extend(texts)
        return real_run(texts)

    rb.embedder.model.run = run
    try:
        question = "Why did SenseTime postpone its Hong Kong share offering? (asked once)"
        answer = rb.ask(question)
    finally:
        del rb.embedder.model.run
    assert answer.citations
    assert seen.count(question) == 1  # retrieval, sentence selection and the verifier share one vector
    assert len(seen) == len(set(seen))  # and no text went through the model twice


@pytest.mark.e2e
def test_a_big_input_is_prepared_in_a_low_priority_worker_with_the_same_result(tmp_path, onnx_embedder):
    """The server's ingest worker (ingest/worker.py): the same diff, chunks and vectors as preparing here, at
    nice 19; a worker that was killed is replaced; a small file is prepared here, with no worker started."""
    from ingest.pipeline import Ingestor
    from ingest.prepare import Batch, Diff, prepare_file
    from ingest.worker import IngestWorker
    from rag.store.embedding_cache import EmbeddingCache
    from tests.conftest import make_rb

    rb = make_rb(tmp_path / "home", embedding_backend="onnx", ingest_worker=True, ingest_batch_chunks=200)
    sdn = tmp_path / "sdn_2024-05-03.csv"
    sdn.write_text("".join((DATA / "ofac" / "sdn_2024-05-03.csv").open().readlines()[:600]))
    worker = IngestWorker(onnx_embedder)
    try:
        there = list(worker.prepare_file(sdn, "ofac_sdn_csv", "src", {}, rb.settings))
        pid = worker.pid
        assert int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[16]) == 19  # nice 19
        here = list(prepare_file(sdn, "ofac_sdn_csv", "src", {}, onnx_embedder,
                                 EmbeddingCache(tmp_path / "other-cache.sqlite3"), rb.settings))
        assert [type(i) for i in there] == [type(i) for i in here] and isinstance(there[0], Diff)
        assert there[0] == here[0] and there[0].added == 600
        for a, b in zip(there[1:], here[1:]):
            assert isinstance(a, Batch) and [c.text for c in a.chunks] == [c.text for c in b.chunks]
            np.testing.assert_allclose(a.embeddings, b.embeddings, atol=1e-5)
            assert a.relations == b.relations
        os.kill(pid, 9)  # a worker that died (out of memory, killed) is replaced for the next input
        again = list(worker.prepare_file(sdn, "ofac_sdn_csv", "src", {}, rb.settings))
        assert worker.pid not in (None, pid) and len(again) == len(there)
        # a file that cannot be read fails alone, and the worker goes on
        bad = tmp_path / "bad.csv"
        bad.write_text('1,"ONE"\n')
        failed = list(worker.prepare_file(bad, "ofac_sdn_csv", "src", {}, rb.settings))
        assert len(failed) == 1 and "bad.csv" in failed[0].message
        assert worker.pid is not None
        # a feed parses its whole list there: the same documents, and a file it cannot read is a FormatError
        # that names it, as here
        from ingest.formats import FormatError
        from ingest.prepare import parse_file

        docs = worker.parse_file(sdn, "ofac_sdn_csv", rb.settings)
        assert [(d.doc_id, d.hash()) for d in docs] == [(d.doc_id, d.hash()) for d in parse_file(sdn, "ofac_sdn_csv")]
        with pytest.raises(FormatError) as e:
            worker.parse_file(bad, "ofac_sdn_csv", rb.settings)
        assert e.value.path == str(bad) and e.value.reason
        # parsed documents sent to it (in parts of 64) are prepared as the file was
        sent = list(worker.prepare(docs, "src", {}, rb.settings))
        assert sent[0] == there[0] and len(sent) == len(there)
        assert [c.text for b in sent[1:] for c in b.chunks] == [c.text for b in there[1:] for c in b.chunks]
    finally:
        worker.close()
    # through the Ingestor: a small file is prepared in this process, not sent to the worker
    from ingest.worker import ingest_worker

    sent = ingest_worker(onnx_embedder).inputs
    assert Ingestor(rb.store, onnx_embedder, rb.settings).ingest([DEMO / "lists" / "ofac_sdn_extract.csv"]).ok
    assert ingest_worker(onnx_embedder).inputs == sent
