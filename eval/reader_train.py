"""Training data, training and measurement of the reader's scorer (rag/answering/reader.py).

`python -m eval.reader_train train` rebuilds rag/answering/reader_weights.npz, seeded, from:

1. ObliQA dev (../shared/data/obliqa): questions written from ADGM rule passages. Split by the gold
   passages' DocumentID (`obliqa_split`): even DocumentIDs are HELD OUT (never trained or tuned on);
   odd ones are for training, of which DocumentID % 4 == 3 is the dev part used to choose the model's
   form and 1 mod 4 is fitted on (the final model is refitted on all odd documents). A question whose
   gold passages span both halves is held out. For each question the candidates are the sentences of
   its gold passages (labelled 1: ObliQA marks passages, not sentences, and the question was written
   from the whole passage) and the sentences of the BM25-nearest other passages and of random passages
   from the same half (labelled 0): the hard and the easy negatives.
2. Our own sanctions cases (eval/datasets/reader/sanctions_cases.jsonl, built by `build-cases` from the
   questions we wrote in eval/datasets/reader/sanctions_questions.jsonl): a question, the sentence that
   answers it, and distractor sentences; each case carries its split (train / dev / heldout).

Each question contributes the same total weight (its candidates' weights sum to 1), own cases count
OWN_WEIGHT times an ObliQA question: they are few and closer to what users ask.

`python -m eval.reader_train eval` reports P@1 and MRR (is a right sentence ranked first; where is the
first right one) on the dev and held-out parts, for the learned reader, the cosine baseline and a plain
BM25 overlap, in the same run.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import logging
import math
import os
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rag.answering.reader import FEATURE_NAMES, WEIGHTS, Candidate, Model, features
from eval.reader_cases import BM25, build
from rag.core.text import sentence_spans

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("REGBRIEF_DATA_DIR_SHARED", ROOT.parent / "shared" / "data"))
CASES_DIR = ROOT / "eval" / "datasets" / "reader"
OWN_CASES = CASES_DIR / "sanctions_cases.jsonl"
OWN_QUESTIONS = CASES_DIR / "sanctions_questions.jsonl"
CACHE = ROOT / "bench" / "results" / "tmp" / "reader_vectors.npz"  # git-ignored

SEED = 13
NEIGHBOURS = 5       # BM25-nearest other passages per ObliQA question
RANDOM_PASSAGES = 2  # random other passages per ObliQA question
MAX_SENTENCES = 10   # sentences kept per passage (the first ones)
OWN_WEIGHT = 3.0
SHOWN = 3  # sentences an answer shows for one part (read.MAX_SENTENCES for one part, fewer for several)
DROP_PASSAGES = 0.33  # share of training questions shown without passage keys


@dataclass
class Group:
    """One question and its candidate sentences, with 0/1 labels."""
    question: str
    candidates: list[Candidate]
    labels: list[int]
    source: str                      # obliqa | own
    split: str                       # train | dev | heldout
    qid: str = ""
    extra: dict = field(default_factory=dict)


# --- ObliQA ---------------------------------------------------------------------------------------

def obliqa_split(document_ids: set[int] | list[int]) -> str:
    """The split a question belongs to, from its gold passages' DocumentIDs: 'heldout' if any is even;
    otherwise 'dev' if any is 3 mod 4, else 'train'."""
    ids = set(document_ids)
    if any(d % 2 == 0 for d in ids):
        return "heldout"
    if any(d % 4 == 3 for d in ids):
        return "dev"
    return "train"


def passage_sentences(text: str, min_words: int = 4) -> list[str]:
    out = [text[a:b] for a, b in sentence_spans(text)]
    return [s for s in out if len(s.split()) >= min_words][:MAX_SENTENCES]


def obliqa_groups(data: Path = DATA, splits: tuple[str, ...] = ("train", "dev", "heldout"),
                  limit: int = 0, seed: int = SEED) -> list[Group]:
    """ObliQA dev questions as groups. Negatives come from passages of the same half (train+dev: odd
    DocumentIDs; heldout: all documents, as retrieval would see them), never a gold passage."""
    docs = data / "obliqa" / "StructuredRegulatoryDocuments"
    passages: list[tuple[int, str, str]] = []
    for f in sorted(docs.glob("*.json"), key=lambda p: int(p.stem)):
        for p in json.loads(f.read_text()):
            if p.get("Passage", "").strip():
                passages.append((int(p["DocumentID"]), str(p["PassageID"]), p["Passage"]))
    where = {(d, pid): i for i, (d, pid, _) in enumerate(passages)}
    bm25 = BM25([p[2] for p in passages])
    odd = np.array([d % 2 == 1 for d, _, _ in passages])
    questions = json.loads((data / "obliqa" / "ObliQA_dev.json").read_text())
    rng = random.Random(seed)
    odd_ids = [i for i in range(len(passages)) if odd[i]]
    out: list[Group] = []
    for q in questions:
        gold_docs = {int(p["DocumentID"]) for p in q["Passages"]}
        split = obliqa_split(gold_docs)
        if split not in splits:
            continue
        gold = [where[(int(p["DocumentID"]), str(p["PassageID"]))] for p in q["Passages"]
                if (int(p["DocumentID"]), str(p["PassageID"])) in where]
        if not gold:
            continue
        s = bm25.scores(q["Question"])
        if split != "heldout":
            s = np.where(odd, s, -1.0)  # the held-out half's text stays out of training
        s[gold] = -1.0
        near = [int(i) for i in np.argsort(-s)[:NEIGHBOURS]]
        pool = odd_ids if split != "heldout" else range(len(passages))
        rand = [i for i in rng.sample(list(pool), RANDOM_PASSAGES + len(gold) + NEIGHBOURS)
                if i not in gold and i not in near][:RANDOM_PASSAGES]
        cands, labels, seen = [], [], set()
        for ids, label in ((gold, 1), (near, 0), (rand, 0)):
            for i in ids:
                d = passages[i]
                for sent in passage_sentences(d[2]):
                    if sent in seen:
                        continue
                    seen.add(sent)
                    cands.append(Candidate(sent, "regulation", {"DocumentID": d[0], "PassageID": d[1]},
                                           passage=f"{d[0]}/{d[1]}"))
                    labels.append(label)
        if 1 in labels and 0 in labels:
            out.append(Group(q["Question"], cands, labels, "obliqa", split, q["QuestionID"]))
        if limit and len(out) >= limit:
            break
    return out


# --- our own cases ----------------------------------------------------------------------------------

def own_groups(path: Path = OWN_CASES, splits: tuple[str, ...] = ("train", "dev", "heldout")) -> list[Group]:
    """The sanctions cases we wrote (eval/datasets/reader/README.md), as groups."""
    out = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            c = json.loads(line)
            if c["split"] not in splits:
                continue
            cands = [Candidate(x["text"], x.get("doc_type", "article"), x.get("meta", {}), x.get("passage", ""))
                     for x in c["candidates"]]
            labels = [int(x["label"]) for x in c["candidates"]]
        except (KeyError, ValueError, TypeError) as e:
            raise ValueError(f"{path}:{n}: not a reader case ({e})") from e
        out.append(Group(c["question"], cands, labels, "own", c["split"], c["id"],
                         {"answer_type": c.get("answer_type", "")}))
    return out


# --- vectors ----------------------------------------------------------------------------------------

class VectorCache:
    """Unit vectors by text, computed once by the real embedder and kept on disk (git-ignored), so a
    retrain does not embed the same sentences again."""

    def __init__(self, embedder, path: Path = CACHE):
        self.embedder, self.path = embedder, path
        self.vec: dict[str, np.ndarray] = {}
        key = getattr(embedder, "signature", "")
        if path.exists():
            z = np.load(path, allow_pickle=False)
            if str(z["signature"]) == key:
                self.vec = dict(zip((str(k) for k in z["keys"]), z["vectors"]))
        self.signature = key

    @staticmethod
    def key(text: str) -> str:
        return hashlib.sha1(text.encode()).hexdigest()

    def get(self, texts: list[str]) -> np.ndarray:
        todo = list(dict.fromkeys(t for t in texts if self.key(t) not in self.vec))
        if todo:
            t0 = time.perf_counter()
            for i in range(0, len(todo), 2048):
                part = todo[i:i + 2048]
                for t, v in zip(part, np.asarray(self.embedder.encode(part), dtype=np.float32)):
                    self.vec[self.key(t)] = v
                log.info("embedded %d/%d texts (%.0f s)", min(i + 2048, len(todo)), len(todo),
                         time.perf_counter() - t0)
                if i % 8192 == 6144:
                    self.save()  # an interrupted run keeps most of its work
            self.save()
        return np.stack([self.vec[self.key(t)] for t in texts])

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keys = list(self.vec)
        np.savez(self.path, keys=np.array(keys), vectors=np.stack([self.vec[k] for k in keys]),
                 signature=np.array(self.signature))


@dataclass
class Prepared:
    """A group's features, vectors and labels, ready to fit and rank."""
    group: Group
    x: np.ndarray
    qv: np.ndarray
    sv: np.ndarray
    y: np.ndarray


def prepare(groups: list[Group], cache: VectorCache, drop_passages: float = 0.0, seed: int = SEED) -> list[Prepared]:
    """Features of every group. With drop_passages, that share of groups (seeded) is prepared without the
    passage keys (a caller that does not pass them), so the model learns to do without."""
    texts = list(dict.fromkeys([g.question for g in groups] + [c.text for g in groups for c in g.candidates]))
    cache.get(texts)
    rng = random.Random(seed)
    out = []
    for g in groups:
        vecs = cache.get([g.question] + [c.text for c in g.candidates])
        qv, sv = vecs[0], vecs[1:]
        keys = [c.passage_key() for c in g.candidates]
        if rng.random() < drop_passages:
            keys = None
        x = features(g.question, [c.text for c in g.candidates], [c.doc_type for c in g.candidates], sv @ qv, keys)
        out.append(Prepared(g, x, qv, sv, np.asarray(g.labels, dtype=np.float32)))
    return out


# --- fitting ----------------------------------------------------------------------------------------

def fit(data: list[Prepared], hidden: int = 0, emb_dims: int = 0, l2: float = 1e-3, epochs: int = 60,
        seed: int = SEED) -> Model:
    """Fits the model by weighted logistic loss (torch, full-batch Adam), seeded."""
    import torch

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    proj = None
    if emb_dims:
        d = data[0].qv.shape[0]
        proj = (rng.standard_normal((d, emb_dims)) / math.sqrt(emb_dims)).astype(np.float32)
    xs, ys, ws = [], [], []
    for p in data:
        x = p.x if not emb_dims else np.concatenate([p.x, (p.sv * p.qv[None, :]) @ proj], axis=1)
        xs.append(x)
        ys.append(p.y)
        w = (OWN_WEIGHT if p.group.source == "own" else 1.0) / len(p.y)
        ws.append(np.full(len(p.y), w, dtype=np.float32))
    x = np.concatenate(xs)
    y = np.concatenate(ys)
    w = np.concatenate(ws)
    w = w / w.mean()
    mean = x.mean(0)
    scale = x.std(0) + 1e-6
    scale[scale < 1e-4] = 1.0
    X = torch.tensor((x - mean) / scale)
    Y = torch.tensor(y)
    W = torch.tensor(w)
    dims = [X.shape[1]] + ([hidden] if hidden else []) + [1]
    layers = [torch.nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:])]
    params = [p for layer in layers for p in layer.parameters()]
    opt = torch.optim.Adam(params, lr=0.01)
    batch = 4096
    g = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        order = torch.randperm(len(Y), generator=g)
        for i in range(0, len(Y), batch):
            idx = order[i:i + batch]
            h = X[idx]
            for k, layer in enumerate(layers):
                h = layer(h)
                if k < len(layers) - 1:
                    h = torch.relu(h)
            loss = (torch.nn.functional.binary_cross_entropy_with_logits(h[:, 0], Y[idx], reduction="none")
                    * W[idx]).mean()
            loss = loss + l2 * sum((layer.weight ** 2).sum() for layer in layers)
            opt.zero_grad()
            loss.backward()
            opt.step()
    out = [(layer.weight.detach().numpy().T.copy(), layer.bias.detach().numpy().copy()) for layer in layers]
    return Model(mean.astype(np.float32), scale.astype(np.float32), out, emb_dims, proj)


# --- measuring --------------------------------------------------------------------------------------

def ranks(data: list[Prepared], scorer) -> dict:
    """P@1 (a right sentence ranked first) and MRR (of the first right one) over groups, with the number
    of groups and the mean number of candidates."""
    p1, rr = [], []
    for p in data:
        s = np.asarray(scorer(p), dtype=np.float64)
        order = np.argsort(-s, kind="stable")
        first = next(r for r, i in enumerate(order) if p.y[i] > 0)
        p1.append(1.0 if first == 0 else 0.0)
        rr.append(1.0 / (first + 1))
    n = len(data)
    return {"p@1": round(float(np.mean(p1)), 4) if n else None, "mrr": round(float(np.mean(rr)), 4) if n else None,
            "questions": n, "mean_candidates": round(float(np.mean([len(p.y) for p in data])), 1) if n else 0}


def cosine_scorer(p: Prepared):
    return p.x[:, FEATURE_NAMES.index("cos")]


def bm25_scorer(p: Prepared):
    # plain BM25 overlap of the question's words with each sentence (ties broken by order)
    return p.x[:, FEATURE_NAMES.index("bm25_norm")]


def model_scorer(model: Model):
    return lambda p: model.predict(model.inputs(p.x, p.qv, p.sv))


def compare(parts: dict[str, list[Prepared]], model: Model | None) -> dict:
    out = {}
    for name, data in parts.items():
        row = {"cosine": ranks(data, cosine_scorer), "bm25": ranks(data, bm25_scorer)}
        if model is not None:
            row["reader"] = ranks(data, model_scorer(model))
        out[name] = row
    return out


VARIANTS = {  # the model forms compared on the dev part
    "logistic": {"hidden": 0, "emb_dims": 0},
    "mlp32": {"hidden": 32, "emb_dims": 0},
    "logistic+emb64": {"hidden": 0, "emb_dims": 64},
    "mlp32+emb64": {"hidden": 32, "emb_dims": 64},
}
CHOSEN = "mlp32"  # chosen on the dev parts (train --compare-variants); needs no vector dimension, so any embedder fits


def load_parts(embedder, obliqa_limit: int = 0, with_passages: bool = True) -> dict[str, list[Prepared]]:
    """Every group prepared, by part (obliqa_train, obliqa_dev, obliqa_heldout, own_train ...). Train parts
    have a third of their groups without passage keys; dev and held-out parts have them all, or none
    (with_passages=False: a caller that passes sentences alone)."""
    cache = VectorCache(embedder)
    groups = obliqa_groups(limit=obliqa_limit) + own_groups()
    parts: dict[str, list[Prepared]] = {}
    train = [g for g in groups if g.split == "train"]
    rest = [g for g in groups if g.split != "train"]
    prepared = prepare(train, cache, drop_passages=DROP_PASSAGES) + prepare(rest, cache, 0.0 if with_passages else 1.0)
    for p in prepared:
        parts.setdefault(f"{p.group.source}_{p.group.split}", []).append(p)
    return parts


def embedder_for_training():
    from rag.embeddings import get_embedder

    # float vectors (onnx: the same as torch's); int8 ones differ slightly, the features do not care
    return get_embedder("", 32, "onnx")


def train(out: Path = WEIGHTS, variant: str = CHOSEN, compare_variants: bool = False) -> dict:
    t0 = time.perf_counter()
    parts = load_parts(embedder_for_training())
    t_data = time.perf_counter() - t0
    fit_on = parts.get("obliqa_train", []) + parts.get("own_train", [])
    dev = {k: v for k, v in parts.items() if k.endswith("_dev")}
    report: dict = {"data_seconds": round(t_data, 1),
                    "sizes": {k: len(v) for k, v in sorted(parts.items())}}
    if compare_variants:
        report["variants_on_dev"] = {}
        for name, kw in VARIANTS.items():
            m = fit(fit_on, **kw)
            report["variants_on_dev"][name] = compare(dev, m)
            log.info("%s: %s", name, report["variants_on_dev"][name])
    # the final model: the chosen form, fitted on train and dev (never on the held-out part)
    final = fit(fit_on + [p for v in dev.values() for p in v], **VARIANTS[variant])
    final.save(out, {"variant": variant, "seed": SEED, "sizes": report["sizes"]})
    report["variant"] = variant
    report["weights"] = str(out)
    report["weights_bytes"] = out.stat().st_size
    report["train_seconds"] = round(time.perf_counter() - t0, 1)
    return report


# --- the answer scorer (rag/answering/read.py's Scorer) -----------------------------------------------

def scorer_groups(stores) -> list[dict]:
    """Each part of each training question, as the answer path ranks it: its candidate sentences' features
    (read.captured_groups) and which of them state an expected fact of the case (a should-refuse case's
    state none). Training questions: the prose eval's dev split (its held-out split is never read here)
    and the dev fact cases of the eval's facts store (eval/datasets/facts*.jsonl)."""
    from eval import metrics as M
    from eval.corpora import load_facts, load_prose
    from eval.facts_suite import _filters
    from rag.answering.read import captured_groups

    out: list[dict] = []
    for corpus, cases in (("prose", load_prose("dev")), ("facts", load_facts())):
        rb = stores.get(corpus)
        for c in cases:
            if c.get("split", "dev") != "dev":
                continue  # a held-out case is never trained on
            with captured_groups() as groups:
                rb.ask(c["question"], _filters(c), backend="extractive", record=False)
            facts = [] if c.get("should_refuse") else (c.get("facts") or [])
            for part, texts, x in groups:
                y = np.array([any(M.fact_present(f, t) for f in facts) for t in texts], dtype=float)
                out.append({"case": c["id"], "corpus": corpus, "refuse": bool(c.get("should_refuse")),
                            "part": part, "texts": texts, "x": x, "y": y})
    return out


def fit_scorer(groups: list[dict], l2: float = 1.0):
    """Logistic regression (Newton's method, L2) over the candidates, each part weighing the same; then the
    refusal cut-off that decides the most parts right (`decide`)."""
    from rag.answering.read import Scorer

    x = np.concatenate([g["x"] for g in groups])
    y = np.concatenate([g["y"] for g in groups])
    w = np.concatenate([np.full(len(g["y"]), 1.0 / len(g["y"])) for g in groups])
    mean, scale = x.mean(0), x.std(0) + 1e-6
    z = np.hstack([(x - mean) / scale, np.ones((len(x), 1))])
    beta = np.zeros(z.shape[1])
    reg = np.full(z.shape[1], l2)
    reg[-1] = 0.0
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-(z @ beta)))
        grad = z.T @ (w * (p - y)) + reg * beta
        hess = (z * (w * p * (1 - p))[:, None]).T @ z + np.diag(reg) + 1e-9 * np.eye(len(beta))
        step = np.linalg.solve(hess, grad)
        beta -= step
        if np.abs(step).max() < 1e-8:
            break
    scorer = Scorer(mean, scale, beta[:-1], float(beta[-1]), 0.5)
    scorer.refuse_below = best_cut(groups, scorer)
    return scorer


def decide(groups: list[dict], scorer, cut: float, shown: int = SHOWN) -> dict:
    """Per part: is the best sentence a right one (`p_at_1`, parts with a right candidate), and is the part
    decided right at this cut-off (`decided`: a right sentence among the `shown` best above the cut-off,
    as an answer shows them, or refused when the case should be refused)?"""
    hits, decided = [], []
    for g in groups:
        p = scorer.predict(g["x"])
        order = np.argsort(-p, kind="stable")[:shown]
        top = int(order[0])
        if g["y"].any():
            hits.append(bool(g["y"][top]))
            decided.append(any(bool(g["y"][i]) and p[i] >= cut for i in order))
        elif g["refuse"]:
            decided.append(bool(p[top] < cut))
    return {"parts": len(groups), "p_at_1": round(float(np.mean(hits)), 4) if hits else None,
            "decided": round(float(np.mean(decided)), 4) if decided else None}


def best_cut(groups: list[dict], scorer) -> float:
    grid = np.round(np.arange(0.05, 0.96, 0.01), 2)
    got = [decide(groups, scorer, float(t))["decided"] or 0.0 for t in grid]
    best = max(got)
    chosen = [t for t, v in zip(grid, got) if v == best]
    # The highest of the best: where the training questions cannot tell answering from refusing, a
    # refusal costs an analyst less than a sentence about something else.
    return float(chosen[-1])


def hand_weights():
    """The hand-set blend the learned scorer replaced (0.6 of the cosine, 0.4 of the word overlap, a 0.05
    bonus for a date to "when", a name to "who", a number to "how many", both parties named, 0.06 for the
    time asked about, cut at 0.42), as a Scorer: the baseline the learned one is measured against."""
    from rag.answering.read import SCORE_FEATURES, Scorer

    hand = {"cosine": 6.0, "overlap": 4.0, "date_answer": 0.5, "name_answer": 0.5, "amount_answer": 0.5,
            "both_parties": 0.5, "period_in": 0.6, "period_out": -0.6}
    n = len(SCORE_FEATURES)
    return Scorer(np.zeros(n), np.ones(n), np.array([hand.get(f, 0.0) for f in SCORE_FEATURES]), -4.2, 0.5)


def train_scorer(out: Path | None = None, folds: int = 5) -> dict:
    """`python -m eval.reader_train scorer`: rebuild rag/answering/answer_scorer.json, reporting the
    learned scorer against the hand-set blend it replaced (`hand_weights`) by cross-validation over the
    training questions (folds by case), in the same run.

    When the scorer's feature list has changed, the shipped file no longer loads, and the answer path that
    captures the training candidates reads only that file: the hand blend is then written to
    rag/answering/answer_scorer.json first, whatever `out` says, and the learned weights replace it only
    when `out` is that file."""
    from eval.corpora import Stores
    from rag.answering.read import SCORER, get_scorer

    out = out or SCORER
    before = hand_weights()
    t0 = time.perf_counter()
    try:
        get_scorer()
    except ValueError:  # SCORE_FEATURES changed: the answer path ranks with the hand blend while capturing
        before.save(SCORER, {"sources": "hand-set blend (eval/reader_train.hand_weights), until retrained"})
        get_scorer.cache_clear()
    groups = scorer_groups(Stores())
    fold_of = lambda g: int(hashlib.sha1(g["case"].encode()).hexdigest(), 16) % folds  # noqa: E731
    cv_new, cv_old = [], []
    for k in range(folds):
        train_g = [g for g in groups if fold_of(g) != k]
        test_g = [g for g in groups if fold_of(g) == k]
        m = fit_scorer(train_g)
        cv_new.append(decide(test_g, m, m.refuse_below))
        cv_old.append(decide(test_g, before, before.refuse_below))

    def mean(rs, key):
        vals = [r[key] for r in rs if r[key] is not None]
        return round(float(np.mean(vals)), 4) if vals else None

    final = fit_scorer(groups)
    info = {"questions": len({g["case"] for g in groups}), "parts": len(groups),
            "candidates": int(sum(len(g["y"]) for g in groups)),
            "sources": "prose eval dev split + demo corpus fact cases (eval/reader_train.scorer_groups)"}
    final.save(out, info)
    return {"weights": str(out), **info, "refuse_below": final.refuse_below,
            "cross_validated": {"learned": {"p_at_1": mean(cv_new, "p_at_1"), "decided": mean(cv_new, "decided")},
                                "hand_weights": {"p_at_1": mean(cv_old, "p_at_1"), "decided": mean(cv_old, "decided")}},
            "coef": dict(zip(json.loads(out.read_text())["features"], final.coef.round(3).tolist())),
            "seconds": round(time.perf_counter() - t0, 1)}


def compare_data(old_cases: Path, variant: str = CHOSEN, seeds: tuple[int, ...] = (SEED,)) -> dict:
    """`python -m eval.reader_train compare-data --old-cases PATH`: does a change of our own cases help? The
    chosen model form is fitted on train parts only (ObliQA train plus the `train` cases of each file:
    `old_cases`, e.g. the file before new questions were added, and the current OWN_CASES), once per seed,
    and every fit is measured on the current dev parts in the same run (P@1 and MRR averaged over the
    seeds, which move them by about as much as a small change of data does). Neither fit sees a dev or
    held-out case, so the dev figures compare the data, not what a model remembers."""
    embedder = embedder_for_training()
    parts = load_parts(embedder)
    cache = VectorCache(embedder)
    old_train = prepare(own_groups(old_cases, ("train",)), cache, drop_passages=DROP_PASSAGES)
    obliqa_train = parts.get("obliqa_train", [])
    data = {"old_cases": obliqa_train + old_train, "new_cases": obliqa_train + parts.get("own_train", [])}
    dev = {k: v for k, v in parts.items() if k.endswith("_dev")}
    dev["own_dev_prose"] = [p for p in dev.get("own_dev", []) if not p.group.qid.startswith("sdn:")]
    dev["own_dev_list_entries"] = [p for p in dev.get("own_dev", []) if p.group.qid.startswith("sdn:")]
    old_ids = {json.loads(line)["passage"] for line in old_cases.read_text().splitlines() if line.strip()}
    dev["own_dev_prose_new_passages"] = [p for p in dev["own_dev_prose"] if p.group.qid.split("#")[0] not in old_ids]
    out: dict = {"seeds": list(seeds),
                 "train_sizes": {"old_cases": len(old_train), "new_cases": len(parts.get("own_train", [])),
                                 "obliqa_train": len(obliqa_train)}}
    runs: dict[str, list[dict]] = {}
    for seed in seeds:
        for label, train_on in data.items():
            m = fit(train_on, **VARIANTS[variant], seed=seed)
            for name, part in dev.items():
                runs.setdefault(f"{name}|{label}", []).append(ranks(part, model_scorer(m)))
    for name, part in dev.items():
        row = {"cosine": ranks(part, cosine_scorer), "bm25": ranks(part, bm25_scorer)}
        for label in data:
            rs = runs[f"{name}|{label}"]
            row[f"reader_fit_on_{label}"] = {
                "p@1": round(float(np.mean([r["p@1"] for r in rs])), 4) if part else None,
                "mrr": round(float(np.mean([r["mrr"] for r in rs])), 4) if part else None,
                "p@1_per_seed": [r["p@1"] for r in rs], "questions": len(part)}
        out[name] = row
    return out


def build_cases(questions: Path = OWN_QUESTIONS, out: Path = OWN_CASES, seed: int = SEED) -> int:
    return build(questions, out, DATA, seed)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m eval.reader_train")
    ap.add_argument("command", choices=["train", "eval", "build-cases", "scorer", "compare-data"])
    ap.add_argument("--variant", default=CHOSEN, choices=list(VARIANTS))
    ap.add_argument("--compare-variants", action="store_true", help="fit every model form, report them on dev")
    ap.add_argument("--out", type=Path, default=WEIGHTS)
    ap.add_argument("--old-cases", type=Path, help="compare-data: the own cases file to compare against")
    ap.add_argument("--seeds", default=str(SEED), help="compare-data: fitting seeds, comma-separated")
    ap.add_argument("--baseline", type=Path, default=None,
                    help="eval: also rank with these weights (e.g. the ones before a retrain), as reader_baseline")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if args.command == "build-cases":
        n = build_cases()
        print(f"wrote {n} cases to {OWN_CASES}")
        return 0
    if args.command == "compare-data":
        if args.old_cases is None:
            ap.error("compare-data needs --old-cases PATH")
        seeds = tuple(int(x) for x in args.seeds.split(","))
        print(json.dumps(compare_data(args.old_cases, args.variant, seeds), indent=1))
        return 0
    if args.command == "scorer":
        print(json.dumps(train_scorer(), indent=1))
        return 0
    if args.command == "train":
        print(json.dumps(train(args.out, args.variant, args.compare_variants), indent=1))
        return 0
    from rag.answering.reader import load_model

    parts = load_parts(embedder_for_training())
    report = compare(parts, load_model(args.out))
    if args.baseline is not None:
        old = load_model(args.baseline)
        for name, data in parts.items():
            report[name]["reader_baseline"] = ranks(data, model_scorer(old))
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
