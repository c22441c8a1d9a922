"""Builds the reader's own sanctions cases (eval/datasets/reader/sanctions_cases.jsonl), seeded.

Inputs:
- eval/datasets/reader/sanctions_passages.jsonl: short passages we wrote in our own words from facts of
  public US government releases and Federal Register notices (each line names its source);
- eval/datasets/reader/sanctions_questions.jsonl: questions we wrote, each naming its passage
  (`own:<id>`, or `fr:<document_number>` for a Federal Register abstract read from ../shared/data) and a
  piece of text that only the answering sentence holds;
- the OFAC SDN list (../shared/data/ofac/sdn_2024-05-03.csv) rendered by the project's own parser: for a
  seeded sample of entries, questions about one field (date or place of birth, nationality, program,
  address, identifiers, links), phrased in several ways, whose answer is the sentence stating it.

Each case holds the answering sentence(s) (label 1), the other sentences of its passage, the BM25-nearest
sentences of other passages and a few random ones (label 0). A passage's split follows from its id
(`split_of`): about a fifth is held out, a fifth is dev, the rest is train; held-out passages never give
distractors to train or dev cases. A passage may declare its split (`"split": "heldout"`): the second batch
of passages we wrote, after the model's form was chosen, is held out whole.
"""
from __future__ import annotations

import hashlib
import json
import random
import re
from collections import Counter
from pathlib import Path

import numpy as np
from scipy.sparse import csr_matrix

from rag.core.text import sentence_spans

DISTRACT_NEAR = 8
DISTRACT_RANDOM = 4


class BM25:
    """Okapi BM25 over a list of texts (lower-cased word tokens), for choosing hard negatives."""

    def __init__(self, texts: list[str], k1: float = 1.2, b: float = 0.75):
        self.vocab: dict[str, int] = {}
        rows, cols, vals = [], [], []
        lens = []
        for i, t in enumerate(texts):
            c = Counter(re.findall(r"\w+", t.lower()))
            lens.append(sum(c.values()))
            for w, n in c.items():
                rows.append(i)
                cols.append(self.vocab.setdefault(w, len(self.vocab)))
                vals.append(n)
        tf = csr_matrix((vals, (rows, cols)), shape=(len(texts), len(self.vocab)), dtype=np.float32)
        df = np.bincount(tf.indices, minlength=len(self.vocab))
        n = len(texts)
        self.idf = np.log(1 + (n - df + 0.5) / (df + 0.5)).astype(np.float32)
        lens = np.asarray(lens, dtype=np.float32)
        norm = k1 * (1 - b + b * lens / lens.mean())
        tf = tf.tocoo()
        w = tf.data * (k1 + 1) / (tf.data + norm[tf.row])
        self.matrix = csr_matrix((w, (tf.row, tf.col)), shape=tf.shape).tocsc()

    def scores(self, query: str) -> np.ndarray:
        ids = {self.vocab[w] for w in re.findall(r"\w+", query.lower()) if w in self.vocab}
        out = np.zeros(self.matrix.shape[0], dtype=np.float32)
        for j in ids:
            col = self.matrix[:, j]
            out[col.indices] += col.data * self.idf[j]
        return out


def split_of(passage_id: str) -> str:
    h = int(hashlib.sha1(passage_id.encode()).hexdigest()[:8], 16) % 5
    return "heldout" if h == 0 else "dev" if h == 1 else "train"


def _sentences(text: str) -> list[str]:
    return [text[a:b] for a, b in sentence_spans(text) if len(text[a:b].split()) >= 3]


def _title(name: str) -> str:
    """'AHMADZADEGAN, Sadegh' -> 'Sadegh Ahmadzadegan'; 'KHORS AIRCOMPANY' -> 'Khors Aircompany'."""
    if "," in name and not re.search(r"\b(LTD|LLC|INC|CO|COMPANY|LIMITED)\b", name.upper()):
        last, _, first = name.partition(",")
        name = f"{first.strip()} {last.strip()}"
    return " ".join(w.capitalize() if w.isupper() else w for w in name.split())


# Phrasings of a question about one field of a list entry, written for this dataset.
LIST_QUESTIONS = {
    "dob": ("date", ["When was {n} born?", "What is {n}'s date of birth?", "{n} birth date", "How old is {n}?",
                     "DOB of {n}?"], r"\bDOB\b"),
    "pob": ("place", ["Where was {n} born?", "What is the birthplace of {n}?", "{n} place of birth"], r"\bPOB\b"),
    "nationality": ("place", ["What nationality is {n}?", "Which country is {n} a citizen of?",
                              "{n} citizenship"], r"\bnationality\b"),
    "program": ("other", ["Under which sanctions program is {n} listed?", "Why is {n} on the SDN list, which program?",
                          "Which OFAC program covers {n}?", "Is {n} sanctioned?"], r"\(OFAC SDN list\)"),
    "address": ("place", ["Where is {n} located?", "What is the address of {n}?", "Where is {n} based?",
                          "In which city does {n} operate?"], r"^Address(es)?:"),
    "passport": ("identifier", ["What is {n}'s passport number?", "Which passport does {n} hold?",
                                "{n} passport"], r"\bPassport\b"),
    "linked": ("org", ["Who is {n} linked to?", "Which company is {n} connected with?",
                       "What entity is {n} associated with?"], r"^(Linked to|.*Linked To:)"),
    "imo": ("identifier", ["What is the IMO number of {n}?", "{n} vessel IMO"], r"\bIMO \d"),
}


def _sdn_entries(data: Path, rng: random.Random, n: int) -> list[dict]:
    from ingest.formats import ofac_sdn_csv

    docs = list(ofac_sdn_csv.parse(data / "ofac" / "sdn_2024-05-03.csv"))
    rng.shuffle(docs)
    out = []
    for d in docs[:n]:
        sents = _sentences(d.text)
        if len(sents) < 2:
            continue
        out.append({"id": f"sdn:{d.metadata.get('ent_num') or d.metadata.get('uid')}",
                    "name": str(d.metadata.get("name", "")), "sentences": sents, "doc_type": "list_entry"})
    return out


def build(questions: Path, out: Path, data: Path, seed: int = 13) -> int:

    rng = random.Random(seed)
    passages: dict[str, dict] = {}
    declared: dict[str, str] = {}  # a passage written as held out says so

    def split(pid: str) -> str:
        return declared.get(pid) or split_of(pid)

    for line in (questions.parent / "sanctions_passages.jsonl").read_text().splitlines():
        if line.strip():
            p = json.loads(line)
            passages[p["id"]] = {"id": p["id"], "sentences": _sentences(p["text"]), "doc_type": p["doc_type"],
                                 "source": p["source"]}
            if p.get("split"):
                declared[p["id"]] = p["split"]
    fr = {}
    for line in (data / "federal_register" / "fr_sanctions_export_controls_abstracts.jsonl").read_text().splitlines():
        r = json.loads(line)
        if r.get("abstract"):
            fr[f"fr:{r['document_number']}"] = {"id": f"fr:{r['document_number']}", "doc_type": "notice",
                                                "sentences": _sentences(r["abstract"]), "source": r.get("url", "")}
    passages.update(fr)
    entries = _sdn_entries(data, rng, 300)
    for e in entries:
        passages[e["id"]] = {"id": e["id"], "sentences": e["sentences"], "doc_type": "list_entry",
                             "source": "OFAC SDN list 2024-05-03", "name": e["name"]}

    # what to ask: the questions we wrote, then list-entry questions
    asks = []
    for n, line in enumerate(questions.read_text().splitlines(), 1):
        if not line.strip():
            continue
        q = json.loads(line)
        p = passages.get(q["passage"])
        if p is None:
            raise ValueError(f"{questions}:{n}: unknown passage {q['passage']!r}")
        answers = [s for s in p["sentences"] if q["answer"] in s]
        if not answers:
            raise ValueError(f"{questions}:{n}: no sentence of {q['passage']} holds {q['answer']!r}")
        asks.append((q["question"], q["passage"], answers, q["type"]))
    for e in entries:
        fields = []
        for key, (qtype, phrasings, pattern) in LIST_QUESTIONS.items():
            hit = [s for s in e["sentences"] if re.search(pattern, s)]
            if hit:
                fields.append((key, qtype, phrasings, hit))
        if not fields:
            continue
        key, qtype, phrasings, hit = rng.choice(fields)
        asks.append((rng.choice(phrasings).format(n=_title(e["name"])), e["id"], hit, qtype))

    # distractor pools: every sentence with its passage; held-out passages only in held-out cases
    pool = [(pid, s) for pid, p in passages.items() for s in p["sentences"]]
    bm25 = BM25([s for _, s in pool])
    held = np.array([split(pid) == "heldout" for pid, _ in pool])
    lines = []
    for i, (question, pid, answers, qtype) in enumerate(asks):
        part = split(pid)
        p = passages[pid]
        scores = bm25.scores(question)
        if part != "heldout":
            scores = np.where(held, -1.0, scores)
        own = {j for j, (q, _) in enumerate(pool) if q == pid}
        scores[list(own)] = -1.0
        near = [int(j) for j in np.argsort(-scores)[:DISTRACT_NEAR] if scores[j] > 0]
        allowed = [j for j in range(len(pool)) if (part == "heldout" or not held[j]) and j not in own]
        rand = rng.sample(allowed, DISTRACT_RANDOM)
        cands, seen = [], set()
        for s in p["sentences"]:
            cands.append({"text": s, "doc_type": p["doc_type"], "passage": pid, "label": int(s in answers)})
            seen.add(s)
        for j in near + rand:
            qid, s = pool[j]
            if s not in seen:
                seen.add(s)
                cands.append({"text": s, "doc_type": passages[qid]["doc_type"], "passage": qid, "label": 0})
        rng.shuffle(cands)
        lines.append({"id": f"{pid}#{i}", "split": part, "question": question, "answer_type": qtype,
                      "passage": pid, "source": p["source"], "candidates": cands})
    out.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines))
    return len(lines)
