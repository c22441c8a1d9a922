"""How alike two names are, and why: the scoring of screening (rag/entities/screen.py, steps 2 and 3 of its
docstring) over names made comparable by rag.entities.names.normalise, and the explanation a match carries.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from rapidfuzz.distance import Indel, Levenshtein

from rag.core.models import ListEntry
from rag.entities.names import Normalised


def trigrams(tokens: list[str]) -> set[str]:
    out: set[str] = set()
    for t in tokens:
        padded = f" {t} "
        for i in range(len(padded) - 2):
            out.add(padded[i:i + 3])
    return out


def _sim(a: str, b: str) -> float:
    return Indel.normalized_similarity(a, b) if a and b else 0.0


@dataclass
class Comparison:
    score: float
    how: str  # "joined" | "word order" | "generic words" | "partial person name" | "short name" | "identifier"
    applied: list[str] = field(default_factory=list)
    explanation: str = ""
    name_score: float | None = None  # the name's score before what else the query says qualified it


def compare(q: Normalised, n: Normalised) -> Comparison:
    """How alike two normalised names are, in [0, 1], and how (see the module docstring)."""
    if not q.tokens or not n.tokens:
        return Comparison(0.0, "none")
    person = n.person
    full = _sim(q.joined, n.joined)
    how = "joined"
    if len(q.tokens) > 1 or len(n.tokens) > 1:
        s = _sim(q.sorted_joined, n.sorted_joined) * (1.0 if person else 0.98)
        if s > full + 1e-9:
            full, how = s, "word order"
    qc, nc = q.core_joined, n.core_joined
    if qc and nc and (q.generic or n.generic) and q.joined != n.joined:
        core = _sim(qc, nc)
        if q.generic == n.generic:
            # The same generic words on both sides say little: the distinctive words decide as much.
            full = min(full, (full + core) / 2)
        elif len(qc) >= 4:
            # Generic words on one side only ("SENSETIME" / "SENSETIME GROUP"): compared apart, discounted
            # for each generic word that differs.
            s = core * 0.92 ** len(q.generic ^ n.generic) * (1.0 if min(len(qc), len(nc)) >= 5 else 0.93)
            if s > full + 1e-9:
                full, how = s, "generic words"
            else:
                full = min(full, (full + core) / 2)
    # Short names: one edit is already a different name ("TESLA" / "TESA", "VISA" / "VISTA").
    if how == "joined" and full < 0.999:
        shortest = min(len(q.joined), len(n.joined))
        allowed = 0 if shortest <= 4 else 1 if shortest <= 10 else 2 if shortest <= 16 else 99
        edits = Levenshtein.distance(q.joined, n.joined, score_cutoff=allowed + 1)
        if edits > allowed:
            full *= 0.9
    best = Comparison(full, how)
    if person and len(q.tokens) >= 2 and len(n.tokens) >= 2 and len(q.tokens) != len(n.tokens):
        short, long_ = (q.tokens, n.tokens) if len(q.tokens) < len(n.tokens) else (n.tokens, q.tokens)
        if len(long_) - len(short) <= 2:
            free = list(long_)
            sims = []
            for t in short:
                j, s = max(((j, _sim(t, u)) for j, u in enumerate(free)), key=lambda x: x[1])
                if s < 0.8:
                    break
                sims.append(s)
                free.pop(j)
            else:
                s = sum(sims) / len(sims) * 0.9
                if s > best.score + 1e-9:
                    best = Comparison(s, "partial person name")
    return best


def normalisations(q: Normalised, n: Normalised, c: Comparison) -> list[str]:
    """Which normalisations the match between these two names needed (for the explanation)."""
    applied = sorted(q.applied | n.applied)
    a, b = q.raw, n.raw
    if a != b and _sim(a, b) < _sim(a.lower(), b.lower()):
        applied.insert(0, "case")
    if sorted(re.findall(r"[^\w\s]", a)) != sorted(re.findall(r"[^\w\s]", b)):
        applied.append("punctuation")
    if q.legal or n.legal:
        applied.append("legal form")
    if c.how in ("word order", "generic words", "partial person name"):
        applied.append(c.how)
    if q.tokens != n.tokens and c.how in ("joined", "word order"):
        if q.joined == n.joined or q.sorted_joined == n.sorted_joined:
            if q.joined == n.joined:
                applied.append("spacing")
        else:
            applied.append("spelling")
    return applied


_LABELS = {
    "case": "case", "accents": "accents", "transliteration": "transliteration", "punctuation": "punctuation",
    "legal form": "legal-form words", "word order": "word order", "generic words": "generic words",
    "partial person name": "omitted name parts", "spacing": "spacing", "spelling": "spelling differences",
    "identifier": "identifier", "short name": "a short name inside the legal name",
}


def explain(query: str, e: ListEntry, c: Comparison, q: Normalised, n: Normalised) -> str:
    matched = n.raw
    which = "primary name" if matched == e.name else (
        "former name" if matched in e.names_of("fka") else "alias")
    what = f'"{query}" ~ {which} "{matched}"' + (f" of {e.name}" if which != "primary name" else "")
    if query == matched:
        return f"{what}: identical."
    steps = [_LABELS.get(a, a) for a in c.applied]
    detail = []
    words = list(dict.fromkeys(q.legal + n.legal))
    if words:
        detail.append(f"legal-form words set aside: {', '.join(words)}")
    if "generic words" in c.applied:
        detail.append(f"generic words ({', '.join(sorted(q.generic ^ n.generic))}) compared apart, score discounted")
    if "partial person name" in c.applied:
        detail.append("a name part is missing on one side, score discounted")
    score = c.name_score if c.name_score is not None else c.score
    if c.how == "short name":
        detail.append(f"every word of \"{query}\" is a word of the name; its other words are generic or abbreviations")
    text = f"{what}, {'name ' if score != c.score else ''}score {score:.2f}"
    if steps:
        text += "; normalised for " + ", ".join(steps)
    if detail:
        text += " (" + "; ".join(detail) + ")"
    return text + "."
