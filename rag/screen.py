"""Screening: which list entries in the store might a name refer to, how sure, and why.

The candidates are the entities of rag.entities.EntityIndex (every list entry in the registry, with its
names, aliases and former names); this module derives a name index from them, rebuilt when the
registry's list entries change (`EntityIndex.derived`).

Matching, in three steps:
1. Normalisation (`rag.names.normalise`): case and accents folded, punctuation dropped (apostrophes joined:
   "QA'IDA" -> "qaida"), Cyrillic and Greek transliterated, and for organisations the legal-form words
   set aside ("Ltd", "Limited", "Co.", "LLC", "JSC", "Limited Liability Company", "OOO",
   "Obshchestvo s ogranichennoy otvetstvennostyu" ...). Persons keep every word.
2. Blocking: an inverted index of the names' character trigrams (padded per word, so word order does
   not matter); a query's candidates are the few dozen names sharing most trigrams with it (Dice), counted
   with numpy over the postings, so a batch stays fast against the whole SDN list.
3. Scoring (`compare`): the best of an edit-distance similarity (rapidfuzz Indel) on the words joined
   (so "Sense Time" = "SenseTime"), the same on the words sorted (word order; no penalty for persons), the
   same without generic words such as Group/Technology/Holding (slightly discounted: "SENSETIME" ->
   "SENSETIME GROUP LIMITED"), and, for persons, every word of the shorter name aligned to a word of the
   longer one (omitted middle names or patronymics, discounted). The explanation names the entry's name
   that matched and the normalisations that were needed.

The default threshold was chosen on a development split of bench/bench_screen.py (a different seed from the
reported one): see bench/results/screen.json.
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
from rapidfuzz.distance import Indel, Levenshtein

from rag.dates import iso
from rag.entities import EntityIndex
from rag.models import ListEntry, ScreenMatch, ScreenResponse, ScreenResult
from rag.names import Normalised, normalise

DEFAULT_THRESHOLD = 0.86
CANDIDATES = 40  # names per query kept by blocking and scored
MAX_MATCHES = 10  # matches returned per query
MIN_SCORE = 0.5  # below this a candidate is not shown at all


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
    how: str  # "joined" | "word order" | "generic words" | "partial person name" | "identifier"
    applied: list[str] = field(default_factory=list)
    explanation: str = ""


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


def is_person(entry: ListEntry) -> bool:
    return entry.entity_type == "person"


def is_entity(entry: ListEntry) -> bool:
    """FollowTheMoney Sanction and relation records are stored as list entries but are not screened."""
    return entry.record == "entity"


def type_ok(entry: ListEntry, type_: str | None) -> bool:
    if not type_:
        return True
    person = is_person(entry)
    if type_ == "person":
        return person
    return not person and entry.entity_type not in ("vessel", "aircraft")


class NameIndex:
    """The screening index over an EntityIndex's entries: names, trigram postings, identifiers."""

    def __init__(self, entries: list[ListEntry]):
        self.entries = [e for e in entries if is_entity(e)]
        self.name_entry: list[int] = []
        self.names: list[str] = []
        self.norm: list[Normalised] = []
        postings: dict[str, list[int]] = defaultdict(list)
        tri_len: list[int] = []
        self.identifiers: dict[str, set[int]] = defaultdict(set)
        for ei, e in enumerate(self.entries):
            person = is_person(e)
            seen: set[str] = set()
            for name in e.all_names():
                nm = normalise(name, person)
                key = " ".join(nm.tokens)
                if not key or key in seen:
                    continue
                seen.add(key)
                idx = len(self.names)
                self.names.append(name)
                self.name_entry.append(ei)
                self.norm.append(nm)
                tris = trigrams(nm.tokens)
                tri_len.append(len(tris))
                for t in tris:
                    postings[t].append(idx)
            for ident in e.identifiers:
                for value in re.findall(r"[A-Za-z0-9][A-Za-z0-9\-/.]{4,}", ident.number):
                    if any(c.isdigit() for c in value):
                        self.identifiers[_ident_key(value)].add(ei)
        self.postings = {t: np.asarray(v, dtype=np.int32) for t, v in postings.items()}
        self.tri_len = np.asarray(tri_len, dtype=np.float32)
        self.entry_kind = np.asarray([_kind(self.entries[i]) for i in self.name_entry], dtype=np.int8)

    def __len__(self) -> int:
        return len(self.entries)

    def candidates(self, q: Normalised, type_: str | None, k: int = CANDIDATES) -> list[int]:
        tris = trigrams(q.tokens)
        arrays = [self.postings[t] for t in tris if t in self.postings]
        if not arrays:
            return []
        counts = np.bincount(np.concatenate(arrays), minlength=len(self.names)).astype(np.float32)
        dice = 2 * counts / (len(tris) + self.tri_len)
        if type_ == "person":
            dice[self.entry_kind != 1] = 0
        elif type_:
            dice[self.entry_kind != 0] = 0
        nz = np.flatnonzero(dice)
        if len(nz) > k:
            nz = nz[np.argpartition(-dice[nz], k - 1)[:k]]
        return [int(i) for i in nz[np.argsort(-dice[nz], kind="stable")]]

    def screen_one(self, query: str, type_: str | None, threshold: float, limit: int = MAX_MATCHES) -> ScreenResult:
        found: dict[int, tuple[Comparison, int]] = {}
        variants = {
            True: normalise(query, True),
            False: normalise(query, False),
        }
        if type_ == "person":
            blocking = [variants[True]]
        elif type_:
            blocking = [variants[False]]
        else:
            blocking = [variants[False]] + ([variants[True]] if variants[True].tokens != variants[False].tokens else [])
        cand: list[int] = []
        for v in blocking:
            cand += self.candidates(v, type_)
        for ni in dict.fromkeys(cand):
            n = self.norm[ni]
            c = compare(variants[n.person], n)
            ei = self.name_entry[ni]
            if ei not in found or c.score > found[ei][0].score:
                found[ei] = (c, ni)
        # Identifiers (registration numbers, IMO numbers ...) match exactly.
        for value in re.findall(r"[A-Za-z0-9][A-Za-z0-9\-/.]{4,}", query):
            for ei in self.identifiers.get(_ident_key(value), ()):
                if type_ok(self.entries[ei], type_):
                    found[ei] = (Comparison(1.0, "identifier", ["identifier"]), -1)
        ranked = sorted(found.items(), key=lambda x: (-x[1][0].score, self.entries[x[0]].doc_id))
        matches = []
        for ei, (c, ni) in ranked[:limit]:
            if c.score < MIN_SCORE:
                break
            if ni >= 0:
                n = self.norm[ni]
                c.applied = normalisations(variants[n.person], n, c)
                c.explanation = explain(query, self.entries[ei], c, variants[n.person], n)
            else:
                c.explanation = f'"{query}" contains an identifier of {self.entries[ei].name}.'
            matches.append(self._match(self.entries[ei], c, self.names[ni] if ni >= 0 else "", threshold))
        return ScreenResult(query=query, matches=matches)

    def _match(self, e: ListEntry, c: Comparison, matched: str, threshold: float) -> ScreenMatch:
        score = round(min(1.0, max(0.0, c.score)), 4)
        return ScreenMatch(
            entity_id=e.doc_id, name=e.name, score=score, match=score >= threshold, list=e.list,
            programs=e.programs, listed_on=iso(e.listing_date),
            explanation=c.explanation, matched_name=matched or e.name, normalisations=c.applied,
            entity_type=e.entity_type, listed=e.sanctioned,
            lists=e.lists or ([e.list] if e.list else []), authority=e.authority,
            effective_date=iso(e.effective_date), divestment_date=iso(e.divestment_date),
            countries=e.countries or e.nationalities,
            identifiers=[str(i) for i in e.identifiers[:10]], source=e.source,
        )


def _kind(e: ListEntry) -> int:
    """0 organisation, 1 person, 2 vessel/aircraft (for the type filter)."""
    if is_person(e):
        return 1
    return 2 if e.entity_type in ("vessel", "aircraft") else 0


def _ident_key(value: str) -> str:
    return re.sub(r"[^0-9a-z]", "", value.lower())


_LABELS = {
    "case": "case", "accents": "accents", "transliteration": "transliteration", "punctuation": "punctuation",
    "legal form": "legal-form words", "word order": "word order", "generic words": "generic words",
    "partial person name": "omitted name parts", "spacing": "spacing", "spelling": "spelling differences",
    "identifier": "identifier",
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
    text = f"{what}, score {c.score:.2f}"
    if steps:
        text += "; normalised for " + ", ".join(steps)
    if detail:
        text += " (" + "; ".join(detail) + ")"
    return text + "."


def name_index(entity_index: EntityIndex) -> NameIndex:
    """The screening index for an EntityIndex, rebuilt when the registry's list entries change."""
    return entity_index.derived("screen.names", lambda ix: NameIndex(list(ix.entries.values())))


def screen_names(entity_index: EntityIndex, names: list[str], type: str | None = None,
                 threshold: float = DEFAULT_THRESHOLD, limit: int = MAX_MATCHES) -> ScreenResponse:
    idx = name_index(entity_index)
    results = [idx.screen_one(n, type, threshold, limit) for n in names]
    return ScreenResponse(results=results, threshold=threshold, type=type, entries=len(idx))


def screen(rb, names: list[str], type: str | None = None, threshold: float = DEFAULT_THRESHOLD,
           limit: int = MAX_MATCHES) -> ScreenResponse:
    """Screen names against every list entry in `rb`'s store: one result per name, in order,
    matches best first. `type` is "company" or "person" (None: both)."""
    if type not in (None, "company", "person"):
        raise ValueError(f"type must be 'company' or 'person', not {type!r}")
    return screen_names(entity_index(rb), names, type, threshold, limit)


def entity_index(rb) -> EntityIndex:
    """The store's shared EntityIndex (the one answers and briefings use)."""
    store = rb.store
    if hasattr(store, "entities"):
        return store.entities
    from rag.answer import entity_index as legacy  # before Store.entities existed

    return legacy(rb)
