"""Does the cited passage support this sentence?

Two checks, both needed:
  1. semantic support: the cosine similarity between the sentence and the best-matching sentence of
     its cited passages (the embedding model's own vectors) must reach `SUPPORT_THRESHOLD`;
  2. hard facts: every date, number, program code and proper name in the sentence must appear in the
     cited passages (dates compared as dates, names compared case- and accent-folded).
A sentence with no citation is not a fact and fails. The best-matching passage sentence is returned
as the quote, so a reader sees the exact span that supports the claim.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from rag.dates import find_dates, strip_dates
from rag.names import fold, mentions
from rag.text import STOPWORDS, sentence_spans

SUPPORT_THRESHOLD = 0.55

_PROGRAM = re.compile(r"\b(?:[A-Z]{2,}[A-Z0-9]*(?:[-/][A-Z0-9]+)+|E\.?O\.? ?\d{5}|EO ?\d{5})\b")
_NUMBER = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?%?(?![\w])")
_MARKER = re.compile(r"\s*\[(\d+)\]")


def hard_facts(sentence: str) -> dict[str, set]:
    """The checkable facts in a sentence: dates, numbers, program codes and proper names."""
    dates = find_dates(sentence)
    rest = strip_dates(sentence)
    programs = {p for p in _PROGRAM.findall(rest)}
    for p in programs:
        rest = rest.replace(p, " ")
    numbers = {n.rstrip("%").replace(",", "") for n in _NUMBER.findall(rest)}
    numbers = {n for n in numbers if len(n.replace(".", "")) >= 2}  # "1" and "2" are too common to check
    names = set()
    for m in mentions(rest):
        words = [w for w in fold(m.text).split() if w not in STOPWORDS and not w.isdigit()]
        if words:
            names.add(" ".join(words))
    return {"dates": dates, "numbers": numbers, "programs": programs, "names": names}


def missing_facts(sentence: str, passages: list[str]) -> list[str]:
    """The hard facts of `sentence` that none of `passages` contains."""
    facts = hard_facts(sentence)
    joined = "\n".join(passages)
    folded = f" {fold(joined)} "
    compact = re.sub(r"[^a-z0-9]", "", joined.lower())
    missing: list[str] = []
    if facts["dates"]:
        have = find_dates(joined)
        missing += [d.isoformat() for d in sorted(facts["dates"]) if d not in have]
    for n in sorted(facts["numbers"]):
        if not re.search(rf"(?<![\d]){re.escape(n)}(?![\d])", joined.replace(",", "")):
            missing.append(n)
    for p in sorted(facts["programs"]):
        if re.sub(r"[^a-z0-9]", "", p.lower()) not in compact:
            missing.append(p)
    for name in sorted(facts["names"]):
        # A name passes when each of its words appears (so "SenseTime Group" matches "SENSETIME GROUP
        # LIMITED"); one-word names must appear as a word.
        if not all(f" {w} " in folded or (len(w) > 3 and w in folded) for w in name.split()):
            missing.append(name)
    return missing


def strip_markers(sentence: str) -> tuple[str, list[int]]:
    """('text without [n] markers', [n, ...])."""
    nums = [int(n) for n in _MARKER.findall(sentence)]
    return _MARKER.sub("", sentence).strip(), nums


@dataclass
class Check:
    support: float
    missing: list[str]
    quotes: dict[int, tuple[int, int]]  # citation n -> (start, end) of the best span in its passage

    @property
    def ok(self) -> bool:
        return self.support >= SUPPORT_THRESHOLD and not self.missing

    def reason(self) -> str | None:
        if self.ok:
            return None
        parts = []
        if self.support < SUPPORT_THRESHOLD:
            parts.append(f"low support {self.support:.2f} < {SUPPORT_THRESHOLD}")
        if self.missing:
            parts.append("not in the cited passage: " + ", ".join(self.missing))
        return "; ".join(parts)


class Verifier:
    """Checks sentences against passages; embeddings are cached per text and computed in batches."""

    def __init__(self, embedder):
        self.embedder = embedder
        self._vecs: dict[str, np.ndarray] = {}

    def _encode(self, texts: list[str]) -> None:
        todo = list(dict.fromkeys(t for t in texts if t not in self._vecs))
        if todo:
            for t, v in zip(todo, self.embedder.encode(todo)):
                self._vecs[t] = v

    @staticmethod
    def _spans(text: str) -> list[tuple[int, int]]:
        return sentence_spans(text) or [(0, len(text))]

    def prepare(self, pairs: list[tuple[str, dict[int, str]]]) -> None:
        """Embed, in one batch, every text that checking these (sentence, cited) pairs will need."""
        texts: list[str] = []
        for sentence, cited in pairs:
            if not cited or any(sentence in t for t in cited.values()):
                continue  # verbatim quotes need no embedding
            texts.append(sentence)
            for t in cited.values():
                texts += [t[a:b] for a, b in self._spans(t)]
        self._encode(texts)

    def check(self, sentence: str, cited: dict[int, str]) -> Check:
        """Check one sentence (without markers) against its cited passages {n: passage text}."""
        if not cited:
            return Check(0.0, ["no citation"], {})
        for n, text in cited.items():
            at = text.find(sentence)
            if at >= 0:  # a verbatim quote supports itself
                return Check(1.0, missing_facts(sentence, list(cited.values())), {n: (at, at + len(sentence))})
        self.prepare([(sentence, cited)])
        vec = self._vecs[sentence]
        best, quotes = 0.0, {}
        for n, text in cited.items():
            spans = self._spans(text)
            sims = np.stack([self._vecs[text[a:b]] for a, b in spans]) @ vec
            i = int(np.argmax(sims))
            quotes[n] = spans[i]
            best = max(best, float(sims[i]))
        if best < SUPPORT_THRESHOLD:
            # A list entry states its name once, in its first sentence: each later sentence ("DOB Aug 1953")
            # is read with it, so a fact rendered from the entry is compared with what the entry says of whom.
            for n, text in cited.items():
                spans = self._spans(text)
                if len(spans) < 2:
                    continue
                head = text[spans[0][0]:spans[0][1]]
                joined = [head + " " + text[a:b] for a, b in spans[1:]]
                self._encode(joined)
                sims = np.stack([self._vecs[j] for j in joined]) @ vec
                i = int(np.argmax(sims))
                if float(sims[i]) > best:
                    best, quotes[n] = float(sims[i]), spans[1:][i]
        if best < SUPPORT_THRESHOLD and any(len(t) < 2000 for t in cited.values()):
            # The whole passage counts too: a sentence may draw on two of its sentences at once.
            short = [t for t in cited.values() if len(t) < 2000]
            self._encode(short)
            best = max(best, max(float(self._vecs[t] @ vec) for t in short))
        return Check(round(best, 4), missing_facts(sentence, list(cited.values())), quotes)
