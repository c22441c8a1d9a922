"""The reader: scores candidate sentences for whether they answer a question.

Every answer is drafted from the sentences the reader scores highest, so the passages are read before
anything is said. This is the interface the answer path and briefings depend on; the scorer behind it is
replaced by a learned model (trained by `python -m rag.answering.reader train`).

Interface (stable):
- `Candidate`: one sentence with the passage it came from and its exact span.
- `Reader.score(question, candidates) -> list[float]`: for each candidate, the probability (0..1) that it
  answers the question (or one part of it).
- `get_reader(embedder) -> Reader`: the process's reader, built once.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np


@dataclass
class Candidate:
    text: str                      # the sentence, exactly as in the passage
    doc_type: str = "article"      # article | notice | list_entry | regulation ...
    meta: dict[str, Any] = field(default_factory=dict)  # passage metadata (title, date, list field ...)


class Reader:
    """Baseline scorer until the learned model lands: cosine similarity of the embedder's vectors."""

    def __init__(self, embedder):
        self.embedder = embedder

    def score(self, question: str, candidates: list[Candidate]) -> list[float]:
        if not candidates:
            return []
        vecs = np.asarray(self.embedder.encode([question] + [c.text for c in candidates]))
        sims = vecs[1:] @ vecs[0]
        return [float(max(0.0, min(1.0, s))) for s in sims]


@lru_cache(maxsize=4)
def get_reader(embedder) -> Reader:
    return Reader(embedder)
