"""The reader: scores candidate sentences for whether they answer a question.

Every answer is drafted from the sentences the reader scores highest, so the passages are read before
anything is said.

Interface (stable):
- `Candidate`: one sentence with the passage it came from and its exact span.
- `Reader.score(question, candidates) -> list[float]`: for each candidate, the probability (0..1) that it
  answers the question (or one part of it).
- `get_reader(embedder) -> Reader`: the process's reader, built once.

The scorer is a small learned model (logistic regression or a one-hidden-layer network, numpy at run time)
over features of each (question, sentence) pair, computed here and nowhere else:
- similarity: the cosine of the embedder's vectors, and where it stands among the other candidates
  (a sentence is judged against the ones it competes with);
- words: idf-weighted overlap of the question's content words with the sentence (idf taken over the
  candidate set itself, so a word every candidate shares counts for little), rare-word and name overlap;
- answer type: what the question asks for (a date, an amount, a person, an organisation, a place, a
  reason, yes/no, an identifier) against what the sentence holds (dates, amounts, capitalised names,
  organisation words, places, reason and negation cues, identifiers), and their products, so the model
  learns which pairings matter;
- shape: sentence length, the passage's doc_type, whether the sentence states a list field ("Address: ...").

Weights: rag/answering/reader_weights.npz, rebuilt by `python -m eval.reader_train train`
(eval/reader_train.py says what it is trained on). Without the file the reader falls back to the
plain cosine of the vectors, with a warning.
"""
from __future__ import annotations

import logging
import math
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from rag.core.text import STOPWORDS

log = logging.getLogger(__name__)

WEIGHTS = Path(__file__).with_name("reader_weights.npz")


@dataclass
class Candidate:
    text: str                      # the sentence, exactly as in the passage
    doc_type: str = "article"      # article | notice | list_entry | regulation ...
    meta: dict[str, Any] = field(default_factory=dict)  # passage metadata (title, date, list field ...)
    # Which passage the sentence came from (a chunk_id, any stable key; meta["chunk_id"] when empty): the
    # sentences of one passage are also judged together, as the passage a question was written about.
    passage: str = ""

    def passage_key(self) -> str:
        return self.passage or str(self.meta.get("chunk_id") or "")


# --- what a question asks for, what a sentence holds --------------------------------------------------

QTYPES = ("date", "amount", "person", "org", "place", "reason", "yesno", "identifier", "count", "other")

_Q_PATTERNS: list[tuple[str, re.Pattern]] = [
    ("date", re.compile(r"\b(when|what (date|day|year|month|time)|which (date|day|year|month)|since when|how long ago"
                        r"|date of|dates? (of|on|did|was|were))\b|\bdob\b|\bborn\b|\bdates?\b", re.I)),
    ("amount", re.compile(r"\bhow much\b|\b(what|which) (amount|sum|penalty|fine|value|price|percentage|share|stake)\b"
                          r"|\b(amount|penalty|fine|settle\w*|paid|pay|percent|per cent|dollars?|stake)\b", re.I)),
    ("count", re.compile(r"\bhow many\b|\bnumber of\b", re.I)),
    ("person", re.compile(r"\bwho(m|se)?\b|\bwhich (person|individual|official|executive|director|officer|people)\b"
                          r"|\bname of the (person|individual|director|chief)\b", re.I)),
    ("org", re.compile(r"\bwhich (company|companies|firm|firms|entity|entities|bank|banks|subsidiary|subsidiaries"
                       r"|agency|agencies|organi[sz]ation|group|business|supplier|customer|vessel|airline|carrier"
                       r"|manufacturer|exchange|fund|institution)\b|\bwhat (company|firm|entity|bank|agency"
                       r"|organi[sz]ation|subsidiary)\b", re.I)),
    ("place", re.compile(r"\bwhere\b|\b(which|what) (country|countries|city|cities|place|region|destination|jurisdiction"
                         r"|address|location)\b|\bplace of\b|\bnationality\b|\bbased\b|\blocated\b|\baddress\b", re.I)),
    ("reason", re.compile(r"\bwhy\b|\bfor what reason\b|\breasons?\b|\bon what (grounds|basis)\b|\bwhat for\b"
                          r"|\bbecause of what\b|\bbasis for\b|\bgrounds?\b", re.I)),
    ("identifier", re.compile(r"\b(passport|imo|isin|registration|id|identification|tax|swift|bic|national id"
                              r"|number|ticker|website|email|call sign)\b", re.I)),
]
_YESNO = re.compile(r"^\s*(is|are|was|were|does|do|did|has|have|had|can|could|may|must|shall|should|will|would)\b",
                    re.I)

_MONTH = r"(jan(uary)?|feb(ruary)?|mar(ch)?|apr(il)?|may|june?|july?|aug(ust)?|sep(t(ember)?)?|oct(ober)?|nov(ember)?|dec(ember)?)"
_S_PATTERNS: dict[str, re.Pattern] = {
    "date": re.compile(rf"\b\d{{1,2}}(st|nd|rd|th)? {_MONTH}\.?,? \d{{4}}\b|\b{_MONTH}\.? \d{{1,2}}(st|nd|rd|th)?,? \d{{4}}\b"
                       r"|\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}/\d{1,2}/\d{2,4}\b|\bDOB\b", re.I),
    "month": re.compile(rf"\b{_MONTH}\b|\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b", re.I),
    "year": re.compile(r"\b(19|20)\d{2}\b"),
    "amount": re.compile(r"[$€£¥]\s?\d|\b\d[\d,.]*\s?(million|billion|thousand|dollars?|euros?|pounds?|usd|eur|gbp)\b"
                         r"|\b(usd|eur|gbp|us\$)\s?\d", re.I),
    "percent": re.compile(r"\d\s?(%|percent\b|per cent\b)", re.I),
    "number": re.compile(r"\b\d+\b"),
    "count": re.compile(r"\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|dozens?|hundreds?"
                        r"|thousands?|\d+)\s+(individuals?|entities|companies|persons?|people|vessels?|firms?"
                        r"|banks?|aircraft|addresses|apparent violations|violations|orders?|transactions?)\b", re.I),
    "org": re.compile(r"\b(inc|corp|corporation|co|company|ltd|limited|llc|plc|gmbh|ag|sa|s\.a|bank|group|holdings?"
                      r"|technolog(y|ies)|industr(y|ies)|enterprises?|ministry|agency|department|office|bureau"
                      r"|commission|council|authority|institute|university|airlines?|shipping|trading|jsc|pjsc"
                      r"|ooo|oao|tov|fze|llp)\b", re.I),
    "person_cue": re.compile(r"\b(mr|mrs|ms|dr|minister|president|director|chairman|chief|ceo|officer|secretary"
                             r"|general|commander|individual|husband|wife|son|daughter|brother|father|born"
                             r"|nationality|citizen)\b", re.I),
    "place": re.compile(r"\b(in|at|from|based in|located in|headquartered in|registered in|country|city|province"
                        r"|region|address|POB|place of birth)\s+(the\s+)?[A-Z][a-z]+|\bAddress:|\bPOB\b"
                        r"|\b(China|Russia|Iran|Korea|Syria|Cuba|Venezuela|Burma|Myanmar|Belarus|Ukraine|Crimea"
                        r"|Turkey|T[uü]rkiye|United Arab Emirates|UAE|Hong Kong|Singapore|Malaysia|India|Pakistan"
                        r"|Afghanistan|Iraq|Lebanon|Yemen|Libya|Sudan|Somalia|Mali|Ethiopia|Nicaragua|Mexico"
                        r"|Colombia|Japan|Germany|France|United Kingdom|United States|Xinjiang|Beijing|Moscow"
                        r"|Tehran|Dubai|Shanghai|Shenzhen|Hangzhou|Pyongyang|Minsk|Damascus|Caracas|Havana)\b"),
    "reason": re.compile(r"\b(because|for (having|being|its|his|her|their|the)|due to|in connection with|in response to"
                         r"|pursuant to|for (acting|operating|providing|supporting|facilitating|engaging)|on the grounds"
                         r"|on behalf of|responsible for|involved in|involvement|role in|contrary to|so as to|in order to"
                         r"|determined|designated (for|under|pursuant)|reasons?|basis)\b", re.I),
    "negation": re.compile(r"\b(not|no|never|neither|nor|none|without|cannot|isn't|aren't|wasn't|doesn't|don't)\b",
                           re.I),
    "measure": re.compile(r"\b(block(ed|ing)?|freez\w*|frozen|prohibit\w*|sanction\w*|designat\w*|list(ed|ing)|ban\w*"
                          r"|restrict\w*|licen[cs]e\w*|divest\w*|penalt\w*|settle\w*|fine[ds]?|export control\w*"
                          r"|entity list|sdn|asset)\b", re.I),
    "identifier": re.compile(r"\b(passport|imo|isin|registration|reg\.?|id no|national id|tax id|swift|bic|ticker"
                             r"|website|email|call sign|identification number|uscc|legal entity number|no\.)\b"
                             r"|\b[A-Z]{1,3}\d{5,}\b|\b\d{6,}\b", re.I),
    "obligation": re.compile(r"\b(must|shall|should|required|may not|is to|are to)\b", re.I),
    "field": re.compile(r"^[A-Z][A-Za-z ()]{1,30}:\s"),
}
STYPES = tuple(_S_PATTERNS) + ("names", "allcaps")
DOC_TYPES = ("article", "notice", "list_entry", "regulation")

_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-']*")
_CAPNAME = re.compile(r"\b[A-Z][a-zA-Z0-9&\-]+(?:\s+[A-Z][a-zA-Z0-9&\-]+)*")


def question_types(question: str) -> np.ndarray:
    """Which answer types a question wants, as 0/1 over QTYPES (several may be set: 'date and place')."""
    out = np.zeros(len(QTYPES), dtype=np.float32)
    for name, pat in _Q_PATTERNS:
        if pat.search(question):
            out[QTYPES.index(name)] = 1.0
    if _YESNO.search(question):
        out[QTYPES.index("yesno")] = 1.0
    if not out.any():
        out[QTYPES.index("other")] = 1.0
    return out


def sentence_types(text: str) -> np.ndarray:
    """What a sentence holds, as 0/1 over STYPES."""
    return np.array(_sentence_types(text), dtype=np.float32)


@lru_cache(maxsize=16384)
def _sentence_types(text: str) -> tuple[float, ...]:
    # remembered per sentence: the same passages come back for question after question
    out = np.zeros(len(STYPES), dtype=np.float32)
    for i, pat in enumerate(_S_PATTERNS.values()):
        if pat.search(text):
            out[i] = 1.0
    words = text.split()
    caps = [w for w in words[1:] if w[:1].isupper()]
    out[STYPES.index("names")] = min(len(caps), 6) / 6.0
    out[STYPES.index("allcaps")] = float(any(len(w) > 2 and w.isupper() and w.isalpha() for w in words))
    return tuple(out.tolist())


def _stem(w: str) -> str:
    """A crude stem, enough to match 'sanctioned' with 'sanctions' and 'listing' with 'listed'."""
    w = w.lower().strip("-'")
    for suf in ("ations", "ation", "ings", "ing", "ies", "ied", "ed", "es", "s"):
        if w.endswith(suf) and len(w) - len(suf) >= 4:
            w = w[: -len(suf)]
            break
    return w[:7]


@lru_cache(maxsize=16384)
def content_terms(text: str) -> tuple[str, ...]:
    return tuple(_stem(w) for w in _TOKEN.findall(text) if w.lower() not in STOPWORDS and len(w) > 1)


def _names(text: str) -> set[str]:
    """Lower-cased words of capitalised runs and numbers: the parts of a text most likely to be names."""
    out = set()
    for m in _CAPNAME.finditer(text):
        for w in m.group(0).split():
            if w.lower() not in STOPWORDS:
                out.add(w.lower())
    out.update(re.findall(r"\b\d[\d,./-]*\d\b|\b\d\b", text))
    return out


N_FEATURES_BASE = None  # set below from feature_names()


def feature_names() -> list[str]:
    names = ["cos", "cos_minus_max", "cos_z", "cos_rank", "cos_is_top",
             "idf_cover", "idf_cover_minus_max", "idf_cover_rank", "bm25_norm", "n_match", "rare_match",
             "q_terms_missing", "name_cover", "name_any", "name_in_q_count",
             "log_words", "short", "long",
             "n_candidates_log",
             "has_passage", "p_cos_max", "p_cos_mean", "p_cos_max_minus_top", "p_cos_rank", "cos_minus_p_max",
             "p_cover", "p_cover_rank", "p_sentences_log"]
    names += [f"q_{t}" for t in QTYPES]
    names += [f"s_{t}" for t in STYPES]
    names += [f"q_{q}*s_{s}" for q in QTYPES for s in STYPES]
    names += [f"doc_{d}" for d in DOC_TYPES] + ["doc_other"]
    return names


FEATURE_NAMES = feature_names()


def features(question: str, texts: list[str], doc_types: list[str], cos: np.ndarray,
             passages: list[str] | None = None) -> np.ndarray:
    """The feature matrix (one row per candidate) of a question against its candidate sentences, given the
    cosine of each candidate's vector with the question's and, where known, the passage each came from
    (an empty key: the sentence stands alone)."""
    n = len(texts)
    cos = np.asarray(cos, dtype=np.float32)
    q_terms = list(dict.fromkeys(content_terms(question)))
    s_terms = [set(content_terms(t)) for t in texts]
    # idf over the candidate set (with the question as one more document, so no idf is infinite)
    df = {w: 1 + sum(1 for s in s_terms if w in s) for w in q_terms}
    idf = {w: math.log((n + 2) / df[w]) for w in q_terms}
    total = sum(idf.values()) or 1.0
    rare = {w for w in q_terms if df[w] <= max(2, 0.1 * n + 1)}
    q_names = _names(question)
    lens = np.array([len(s_terms[i]) for i in range(n)], dtype=np.float32)
    avg = float(lens.mean()) if n else 1.0

    cover = np.zeros(n, dtype=np.float32)
    bm25 = np.zeros(n, dtype=np.float32)
    n_match = np.zeros(n, dtype=np.float32)
    rare_m = np.zeros(n, dtype=np.float32)
    missing = np.zeros(n, dtype=np.float32)
    name_cover = np.zeros(n, dtype=np.float32)
    for i in range(n):
        hit = [w for w in q_terms if w in s_terms[i]]
        cover[i] = sum(idf[w] for w in hit) / total
        k = 1.2 * (0.25 + 0.75 * lens[i] / max(avg, 1.0))
        bm25[i] = sum(idf[w] * 2.2 / (1.0 + k) for w in hit)
        n_match[i] = min(len(hit), 8) / 8.0
        rare_m[i] = min(sum(1 for w in hit if w in rare), 4) / 4.0
        missing[i] = min(len(q_terms) - len(hit), 10) / 10.0
        if q_names:
            low = texts[i].lower()
            name_cover[i] = sum(1 for w in q_names if w in low) / len(q_names)
    bm25_norm = bm25 / (bm25.max() if n and bm25.max() > 0 else 1.0)

    def rank(x):
        order = np.argsort(-x, kind="stable")
        r = np.empty(n, dtype=np.float32)
        r[order] = np.arange(n, dtype=np.float32)
        return 1.0 - r / max(n - 1, 1)

    cmax = cos.max() if n else 0.0
    cstd = float(cos.std()) + 1e-3 if n else 1.0
    qt = question_types(question)
    st = np.stack([sentence_types(t) for t in texts]) if n else np.zeros((0, len(STYPES)), np.float32)
    cross = (qt[None, :, None] * st[:, None, :]).reshape(n, -1)
    words = np.array([len(t.split()) for t in texts], dtype=np.float32)
    doc = np.zeros((n, len(DOC_TYPES) + 1), dtype=np.float32)
    for i, d in enumerate(doc_types):
        doc[i, DOC_TYPES.index(d) if d in DOC_TYPES else len(DOC_TYPES)] = 1.0

    # the passage each sentence came from, judged as a whole
    keys = [(k or f"#{i}") for i, k in enumerate(passages or [""] * n)]
    members: dict[str, list[int]] = {}
    for i, k in enumerate(keys):
        members.setdefault(k, []).append(i)
    p_max = np.zeros(n, dtype=np.float32)
    p_mean = np.zeros(n, dtype=np.float32)
    p_cover = np.zeros(n, dtype=np.float32)
    p_size = np.zeros(n, dtype=np.float32)
    for k, idx in members.items():
        terms = set().union(*(s_terms[i] for i in idx))
        cov = sum(idf[w] for w in q_terms if w in terms) / total
        for i in idx:
            p_max[i] = cos[idx].max()
            p_mean[i] = cos[idx].mean()
            p_cover[i] = cov
            p_size[i] = len(idx)
    has_passage = np.array([1.0 if (passages and passages[i]) else 0.0 for i in range(n)], dtype=np.float32)

    base = np.stack([
        cos, cos - cmax, (cos - cos.mean()) / cstd if n else cos, rank(cos), (cos >= cmax).astype(np.float32),
        cover, cover - (cover.max() if n else 0.0), rank(cover), bm25_norm, n_match, rare_m,
        missing, name_cover, (name_cover > 0).astype(np.float32),
        np.full(n, min(len(q_names), 6) / 6.0, dtype=np.float32),
        np.log1p(words) / 4.0, (words < 5).astype(np.float32), (words > 60).astype(np.float32),
        np.full(n, math.log1p(n) / 5.0, dtype=np.float32),
        has_passage, p_max, p_mean, p_max - cmax, rank(p_max), cos - p_max,
        p_cover, rank(p_cover), np.log1p(p_size) / 3.0,
    ], axis=1)
    return np.concatenate([base, np.tile(qt, (n, 1)), st, cross, doc], axis=1).astype(np.float32)


# --- the model ------------------------------------------------------------------------------------

class Model:
    """Standardise, then logistic regression or one hidden layer (ReLU) and a logistic output."""

    def __init__(self, mean, scale, layers: list[tuple[np.ndarray, np.ndarray]], emb_dims: int = 0,
                 emb_proj: np.ndarray | None = None):
        self.mean, self.scale, self.layers = mean, scale, layers
        self.emb_dims = emb_dims            # >0: the elementwise product q*s, projected, is appended
        self.emb_proj = emb_proj

    def inputs(self, feats: np.ndarray, qv: np.ndarray, sv: np.ndarray) -> np.ndarray:
        if self.emb_dims:
            feats = np.concatenate([feats, (sv * qv[None, :]) @ self.emb_proj], axis=1)
        return feats

    def predict(self, x: np.ndarray) -> np.ndarray:
        h = (x - self.mean) / self.scale
        for i, (w, b) in enumerate(self.layers):
            h = h @ w + b
            if i < len(self.layers) - 1:
                h = np.maximum(h, 0.0)
        return 1.0 / (1.0 + np.exp(-np.clip(h[:, 0], -30, 30)))

    def save(self, path: Path, info: dict[str, Any]) -> None:
        arrays = {"mean": self.mean, "scale": self.scale, "n_layers": np.array(len(self.layers)),
                  "emb_dims": np.array(self.emb_dims),
                  "feature_names": np.array(FEATURE_NAMES), "info": np.array(repr(info))}
        for i, (w, b) in enumerate(self.layers):
            arrays[f"w{i}"] = w.astype(np.float32)
            arrays[f"b{i}"] = b.astype(np.float32)
        if self.emb_proj is not None:
            arrays["emb_proj"] = self.emb_proj.astype(np.float32)
        np.savez_compressed(path, **arrays)

    @classmethod
    def load(cls, path: Path) -> "Model":
        z = np.load(path, allow_pickle=False)
        names = [str(x) for x in z["feature_names"]]
        if names != FEATURE_NAMES:
            raise ValueError(f"{path}: its features are not this code's ({len(names)} against "
                             f"{len(FEATURE_NAMES)}); rebuild it with `python -m eval.reader_train train`")
        layers = [(z[f"w{i}"], z[f"b{i}"]) for i in range(int(z["n_layers"]))]
        emb_dims = int(z["emb_dims"])
        return cls(z["mean"], z["scale"], layers, emb_dims, z["emb_proj"] if emb_dims else None)


class Reader:
    """Scores candidates with the learned model; with `model=None`, the cosine of the vectors (the baseline
    it is measured against, and the fallback when the weights file is missing)."""

    def __init__(self, embedder, model: Model | None = None, remember: int = 8192):
        self.embedder = embedder
        self.model = model
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()  # sentence text -> unit vector
        self._remember = remember
        self._lock = threading.Lock()

    def vectors(self, texts: list[str]) -> np.ndarray:
        """Unit vectors of texts; sentences seen recently are not embedded again."""
        with self._lock:
            have = {t: self._vectors[t] for t in texts if t in self._vectors}
            for t in have:
                self._vectors.move_to_end(t)
        todo = list(dict.fromkeys(t for t in texts if t not in have))
        if todo:
            new = np.asarray(self.embedder.encode(todo), dtype=np.float32)
            with self._lock:
                for t, v in zip(todo, new):
                    have[t] = v
                    self._vectors[t] = v
                while len(self._vectors) > self._remember:
                    self._vectors.popitem(last=False)
        return np.stack([have[t] for t in texts])

    def score(self, question: str, candidates: list[Candidate]) -> list[float]:
        if not candidates:
            return []
        texts = [c.text for c in candidates]
        vecs = self.vectors([question] + texts)
        qv, sv = vecs[0], vecs[1:]
        cos = sv @ qv
        if self.model is None:
            return [float(max(0.0, min(1.0, s))) for s in cos]
        feats = features(question, texts, [c.doc_type for c in candidates], cos,
                         [c.passage_key() for c in candidates])
        return [float(p) for p in self.model.predict(self.model.inputs(feats, qv, sv))]


def load_model(path: Path = WEIGHTS) -> Model | None:
    """The trained model, or None (with a warning) when the weights file is missing or does not fit."""
    if not path.exists():
        log.warning("reader weights %s are missing: scoring sentences by cosine similarity only "
                    "(rebuild them with `python -m eval.reader_train train`)", path)
        return None
    try:
        return Model.load(path)
    except (ValueError, KeyError, OSError) as e:
        log.warning("reader weights unusable, scoring by cosine similarity only: %s", e)
        return None


@lru_cache(maxsize=4)
def get_reader(embedder, weights: Path = WEIGHTS) -> Reader:
    return Reader(embedder, load_model(weights))

