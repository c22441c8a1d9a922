"""The reader (rag/answering/reader.py): the shipped weights rank the answering sentence first where plain
similarity does not, on held-out cases it never trained on; score() returns one probability per
candidate; without weights it falls back to the cosine of the vectors and says so."""
from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from rag.answering.reader import WEIGHTS, Candidate, Reader, get_reader, load_model

CASES = Path(__file__).resolve().parents[1] / "eval" / "datasets" / "reader" / "sanctions_cases.jsonl"

# Held-out cases (split "heldout": never trained or tuned on) where the cosine baseline ranks a wrong
# sentence first.
SHOWN = [
    ("own:hikvision-huawei", "Which companies were listed on 3 June 2021?"),
    ("own:tornado-cash", "Can US persons still interact with Tornado Cash?"),
    ("own:zte-penalties", "When was the Commerce ban on ZTE lifted?"),
    ("own:xinjiang-officials", "Who headed the Xinjiang police?"),
]


def held_out() -> list[dict]:
    """The held-out cases: questions we wrote on our passages and Federal Register abstracts, and
    questions about one field of OFAC SDN entries."""
    return [c for c in map(json.loads, CASES.read_text().splitlines()) if c["split"] == "heldout"]


def as_candidates(case: dict) -> list[Candidate]:
    return [Candidate(x["text"], x["doc_type"], passage=x["passage"]) for x in case["candidates"]]


def top(scores: list[float]) -> int:
    return max(range(len(scores)), key=scores.__getitem__)


@pytest.fixture(scope="module")
def reader(embedder):
    assert WEIGHTS.exists(), f"{WEIGHTS} missing: run `python -m eval.reader_train train`"
    return get_reader(embedder)


@pytest.fixture(scope="module")
def cosine(embedder):
    return Reader(embedder, None)


def test_ranks_the_answering_sentence_first_where_cosine_does_not(reader, cosine):
    cases = {(c["passage"], c["question"]): c for c in held_out()}
    for key in SHOWN:
        case = cases[key]
        cands = as_candidates(case)
        labels = [x["label"] for x in case["candidates"]]
        assert labels[top(cosine.score(case["question"], cands))] == 0, f"cosine already right on {key}"
        got = reader.score(case["question"], cands)
        assert labels[top(got)] == 1, (key, case["candidates"][top(got)]["text"])


def test_beats_cosine_on_all_held_out_cases(reader, cosine):
    hits = {"reader": 0, "cosine": 0}
    cases = held_out()
    for case in cases:
        cands = as_candidates(case)
        labels = [x["label"] for x in case["candidates"]]
        for name, r in (("reader", reader), ("cosine", cosine)):
            hits[name] += labels[top(r.score(case["question"], cands))]
    assert len(cases) >= 80
    assert hits["reader"] > hits["cosine"], hits


@pytest.mark.xfail(strict=True, reason="known limit: on news prose without passage keys the reader prefers the "
                   "sentence naming the subject over the one answering about it (bench/results/reader.json: "
                   "own_heldout_no_passage_keys)")
def test_works_without_passage_keys(reader):
    cands = [Candidate("Tornado Cash, a virtual currency mixer, was designated by the Treasury in August 2022."),
             Candidate("Mixers pool deposits from many users so that the source of funds is hidden."),
             Candidate("After the designation, people in the United States may no longer use its smart contracts.")]
    got = reader.score("Can Americans still use Tornado Cash?", cands)
    assert top(got) == 2, got


def test_one_probability_per_candidate(reader):
    cands = [Candidate("OFAC added SenseTime Group Limited to the NS-CMIC list on 10 December 2021."),
             Candidate("The company makes face recognition software.", "article", {"title": "x"}),
             Candidate("SENSETIME GROUP LIMITED, entity, program CMIC-EO13959 (OFAC NS-CMIC list).", "list_entry"),
             Candidate("", "notice")]
    got = reader.score("When was SenseTime listed?", cands)
    assert len(got) == len(cands)
    assert all(isinstance(p, float) and 0.0 <= p <= 1.0 for p in got)
    assert top(got) in (0, 2)
    assert reader.score("When was SenseTime listed?", []) == []


def test_missing_weights_fall_back_to_cosine(embedder, tmp_path, caplog):
    missing = tmp_path / "none.npz"
    with caplog.at_level(logging.WARNING, logger="rag.answering.reader"):
        assert load_model(missing) is None
        fallback = get_reader(embedder, missing)
    assert "missing" in caplog.text and str(missing) in caplog.text
    assert fallback.model is None
    cands = [Candidate("Megvii was listed on 16 December 2021."), Candidate("DJI makes consumer drones.")]
    q = "When was Megvii listed?"
    vecs = embedder.encode([q] + [c.text for c in cands])
    expect = [max(0.0, min(1.0, float(v @ vecs[0]))) for v in vecs[1:]]
    assert fallback.score(q, cands) == pytest.approx(expect, abs=1e-5)


def test_weights_of_other_features_are_refused(tmp_path, caplog):
    bad = tmp_path / "bad.npz"
    import numpy as np

    np.savez(bad, feature_names=np.array(["cos"]), mean=np.zeros(1), scale=np.ones(1), n_layers=np.array(0),
             emb_dims=np.array(0))
    with caplog.at_level(logging.WARNING, logger="rag.answering.reader"):
        assert load_model(bad) is None
    assert "rebuild" in caplog.text


# --- the answer scorer (rag/answering/read.py): the learned blend that decides each part's sentences -----

def test_the_shipped_answer_scorer_fits_this_code_and_says_what_it_learnt_from():
    from rag.answering.read import SCORE_FEATURES, SCORER, Scorer

    scorer = Scorer.load(SCORER)
    assert len(scorer.coef) == len(SCORE_FEATURES) and 0.0 < scorer.refuse_below < 1.0
    trained_on = json.loads(SCORER.read_text())["trained_on"]
    assert trained_on["questions"] > 100 and "prose eval dev split" in trained_on["sources"]


def test_an_answer_scorer_of_other_features_is_refused_naming_the_file_and_the_command(tmp_path):
    from rag.answering.read import Scorer

    bad = tmp_path / "scorer.json"
    bad.write_text(json.dumps({"features": ["cosine"], "mean": [0], "scale": [1], "coef": [1], "bias": 0,
                               "refuse_below": 0.5}))
    with pytest.raises(ValueError, match=r"scorer\.json.*python -m eval\.reader_train scorer"):
        Scorer.load(bad)
