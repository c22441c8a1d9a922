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

4. Whatever else the query says about the party (`ScreenQuery`: schema, birth date, country, identifiers)
   qualifies the name's score, as yente's logic-v1 matcher does: an identifier of the entry among the
   query's is strong evidence (the score is at least IDENTIFIER_SCORE); a birth year the entry does not
   have lowers it by 0.35, the same year but another day by 0.2 (0.1 when day and month are swapped), a
   country that is none of the entry's by 0.2, identifiers of an organisation that all differ from the
   entry's by up to 0.2. Each of these is named in the explanation and in `features`.
5. A short name inside a legal name ("DJI" in "SZ DJI TECHNOLOGY CO., LTD."): every word of the query is a
   word of the name, the name's other words are generic words and at least one one- or two-letter
   abbreviation ("SZ" for Shenzhen), and one of the query's words is rare among the names (SHORT_NAME_SCORE).

The default threshold was chosen on a development split of bench/bench_screen.py (a different seed from the
reported one): see bench/results/screen.json.
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
from rapidfuzz.distance import Indel, Levenshtein

from rag.dates import iso, partial_dates
from rag.entities import EntityIndex
from rag.models import ListEntry, ScreenMatch, ScreenQuery, ScreenResponse, ScreenResult
from rag.names import GENERIC, Normalised, fold, normalise

DEFAULT_THRESHOLD = 0.86
CANDIDATES = 40  # names per query kept by blocking and scored
MAX_MATCHES = 10  # matches returned per query
MIN_SCORE = 0.5  # below this a candidate is not shown at all
IDENTIFIER_SCORE = 0.95  # an identifier of the entry among the query's (yente logic-v1: 0.85 to 0.98)
SHORT_NAME_SCORE = 0.9  # a short name inside a legal name, less 0.02 per abbreviation left over
SHORT_NAME_RARE = 5  # ... when one of its words is in at most this many entries' names
DOB_YEAR_MISMATCH = 0.35  # logic-v1: dob_year_disjoint 0.15 + dob_day_disjoint 0.2
DOB_DAY_MISMATCH = 0.2
COUNTRY_MISMATCH = 0.2
IDENTIFIERS_DISJOINT = 0.2
SCHEMAS = {"person": "person", "individual": "person", "people": "person", "company": "company",
           "organization": "company", "organisation": "company", "legalentity": "company", "entity": "company",
           "vessel": "vessel", "ship": "vessel", "aircraft": "aircraft", "airplane": "aircraft"}


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
    if type_ in ("vessel", "aircraft"):
        return entry.entity_type == type_
    return not person and entry.entity_type not in ("vessel", "aircraft")


def schema_type(schema: str | None) -> str | None:
    """The screening type a schema names (person, company, vessel, aircraft); ValueError for others."""
    if not schema:
        return None
    t = SCHEMAS.get("".join(schema.lower().split()))
    if t is None:
        raise ValueError(f"unknown schema {schema!r}: one of {', '.join(sorted(set(SCHEMAS)))}")
    return t


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
        self.token_names: dict[str, list[int]] = defaultdict(list)  # organisations' name words -> names
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
                if not person:
                    for t in set(nm.tokens):
                        self.token_names[t].append(idx)
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
        elif type_ in ("vessel", "aircraft"):
            dice[self.entry_kind != 2] = 0
        elif type_:
            dice[self.entry_kind != 0] = 0
        nz = np.flatnonzero(dice)
        if len(nz) > k:
            nz = nz[np.argpartition(-dice[nz], k - 1)[:k]]
        return [int(i) for i in nz[np.argsort(-dice[nz], kind="stable")]]

    def screen_one(self, query: str, type_: str | None, threshold: float, limit: int = MAX_MATCHES,
                   details: ScreenQuery | None = None) -> ScreenResult:
        """Screen one name; `details` (birth date, country, identifiers) qualify the name's score."""
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
        if type_ != "person":
            for ni, c in self.short_names(variants[False]):
                ei = self.name_entry[ni]
                if type_ok(self.entries[ei], type_) and (ei not in found or c.score > found[ei][0].score):
                    found[ei] = (c, ni)
        # Identifiers (registration numbers, IMO numbers ...) match exactly, in the name or given apart.
        given = [v for i in (details.identifiers if details else []) for v in _ident_values(i)]
        hits: dict[int, str] = {}
        for value in _ident_values(query) + given:
            for ei in self.identifiers.get(_ident_key(value), ()):
                if not type_ok(self.entries[ei], type_):
                    continue
                hits[ei] = value
                score = IDENTIFIER_SCORE if value in given else 1.0
                if ei not in found or found[ei][0].score < score:
                    found[ei] = (Comparison(score, "identifier", ["identifier"]), -1)
        extra = {ei: qualify(self.entries[ei], details, given, c, hits.get(ei)) for ei, (c, _) in found.items()}
        ranked = sorted(found.items(), key=lambda x: (-x[1][0].score, self.entries[x[0]].doc_id))
        matches = []
        for ei, (c, ni) in ranked[:limit]:
            if c.score < MIN_SCORE:
                break
            if ni >= 0:
                n = self.norm[ni]
                c.applied = normalisations(variants[n.person], n, c) if c.how != "short name" else ["short name"]
                c.explanation = explain(query, self.entries[ei], c, variants[n.person], n)
                if ei in hits:
                    c.explanation += f" Identifier {hits[ei]} is one of its identifiers too."
            else:
                c.explanation = f'"{query}": identifier {hits[ei]} is an identifier of {self.entries[ei].name}.'

            features, said = extra.get(ei, ([], ""))
            c.explanation += said
            m = self._match(self.entries[ei], c, self.names[ni] if ni >= 0 else "", threshold)
            m.features = features
            matches.append(m)
        return ScreenResult(query=query, matches=matches)

    def short_names(self, q: Normalised) -> list[tuple[int, Comparison]]:
        """Names that hold a short name whole ("DJI" in "SZ DJI TECHNOLOGY CO., LTD."): every word of the
        query is a word of the name, the name's other words are generic or abbreviations of one or two
        letters, and one of the query's words is rare among the names."""
        words = [t for t in q.tokens if t not in GENERIC]
        if not words or len(q.tokens) > 3 or not all(len(t) >= 3 for t in words):
            return []
        postings = [self.token_names.get(t, []) for t in q.tokens]
        if not all(postings):
            return []
        # cheap first: a word of at most a few names (several names per entry), then the entries it is in
        if not any(t in words and len(p) <= 4 * SHORT_NAME_RARE and len({self.name_entry[i] for i in p})
                   <= SHORT_NAME_RARE for t, p in zip(q.tokens, postings)):
            return []
        smallest = min(postings, key=len)
        others = [set(p) for p in postings if p is not smallest]
        out = []
        for ni in dict.fromkeys(i for i in smallest if all(i in o for o in others)):
            rest = [t for t in self.norm[ni].tokens if t not in q.tokens]
            abbreviations = [t for t in rest if t not in GENERIC]
            # Generic words alone are compare()'s "generic words"; this is for abbreviations ("SZ" DJI).
            if not abbreviations or not all(t in GENERIC or len(t) <= 2 for t in rest):
                continue
            out.append((ni, Comparison(SHORT_NAME_SCORE - 0.02 * len(abbreviations), "short name")))
        return out

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
            identifiers=[str(i) for i in e.identifiers[:10]], source=e.source, birth_dates=e.birth_dates[:5],
        )


def _kind(e: ListEntry) -> int:
    """0 organisation, 1 person, 2 vessel/aircraft (for the type filter)."""
    if is_person(e):
        return 1
    return 2 if e.entity_type in ("vessel", "aircraft") else 0


def _ident_key(value: str) -> str:
    return re.sub(r"[^0-9a-z]", "", value.lower())


def _ident_values(text: str) -> list[str]:
    """The identifier-like values of a text: 5+ characters with a digit ("914403007954257495", "IMO 9187629")."""
    return [v for v in re.findall(r"[A-Za-z0-9][A-Za-z0-9\-/.]{4,}", text) if any(c.isdigit() for c in v)]


# --- qualifying a name match with what else the query says (yente logic-v1's qualifiers) ------------

def compare_birth_dates(query: str, listed: list[str]) -> tuple[float, str] | None:
    """(score change, what it was) for a query's birth date against an entry's; None when either has none."""
    q = partial_dates(query)
    e = [d for v in listed for d in partial_dates(v)]
    if not q or not e:
        return None
    qy = {d[0] for d in q}
    if not qy & {d[0] for d in e}:
        return -DOB_YEAR_MISMATCH, "birth year mismatch"
    same_year = [d for d in e if d[0] in qy]
    for y, m, d in q:
        for ey, em, ed in same_year:
            if (m is None or em is None or m == em) and (d is None or ed is None or d == ed):
                full = None not in (m, d, em, ed)
                return 0.0, "birth date match" if full else "birth year match"
    for y, m, d in q:  # day and month swapped: a common mistake
        if any(None not in (m, d, em, ed) and (m, d) == (ed, em) for ey, em, ed in same_year):
            return -DOB_DAY_MISMATCH / 2, "birth date mismatch (day and month swapped)"
    return -DOB_DAY_MISMATCH, "birth date mismatch"


def country_code(value: str) -> str | None:
    """An ISO 3166 code for a country name or code ("China", "CN", "Russian Federation"), via babel."""
    names = _country_names()
    v = value.strip()
    if len(v) == 2 and v.upper() in names["codes"]:
        return v.upper()
    return names["by_name"].get(fold(v))


_COUNTRIES: dict | None = None


def _country_names() -> dict:
    global _COUNTRIES
    if _COUNTRIES is None:
        from babel import Locale

        territories = {k: v for k, v in Locale("en").territories.items() if len(k) == 2 and k.isalpha()}
        by_name = {fold(v): k for k, v in territories.items()}
        by_name.update({"russia": "RU", "north korea": "KP", "south korea": "KR", "iran": "IR", "syria": "SY",
                        "burma": "MM", "united states of america": "US", "usa": "US", "uk": "GB",
                        "great britain": "GB", "hong kong": "HK", "macau": "MO", "taiwan": "TW",
                        "vietnam": "VN", "laos": "LA", "moldova": "MD", "venezuela": "VE", "bolivia": "BO",
                        "tanzania": "TZ", "czech republic": "CZ", "turkey": "TR", "ivory coast": "CI"})
        _COUNTRIES = {"codes": set(territories), "by_name": by_name}
    return _COUNTRIES


def qualify(e: ListEntry, q: ScreenQuery | None, given: list[str], c: Comparison,
            hit: str | None = None) -> tuple[list[str], str]:
    """Lowers `c.score` for what the query says that the entry contradicts; (features, explanation)."""
    c.name_score = c.score
    features: list[str] = ["identifier match"] if hit else []
    if q is None:
        return features, ""
    said: list[str] = []
    if q.birth_date and is_person(e):
        got = compare_birth_dates(q.birth_date, e.birth_dates)
        if got:
            delta, what = got
            c.score += delta
            features.append(what)
            listed = "; ".join(e.birth_dates[:3])
            said.append(f"{what}: {q.birth_date} given, the entry has {listed}"
                        + (f" (score -{-delta:.2f})" if delta else ""))
    if q.country:
        mine = country_code(q.country)
        theirs = {x for x in (country_code(v) for v in e.countries + e.nationalities + e.citizenships) if x}
        if mine and theirs:
            if mine in theirs:
                features.append("country match")
                said.append(f"country match: {q.country}")
            else:
                c.score -= COUNTRY_MISMATCH
                features.append("country mismatch")
                said.append(f"country mismatch: {q.country} given, the entry has "
                            f"{', '.join((e.countries + e.nationalities + e.citizenships)[:3])} (score -{COUNTRY_MISMATCH:.2f})")
    if given and not hit and not is_person(e):
        mine_ids = {_ident_key(v) for v in given}
        theirs_ids = {_ident_key(v) for i in e.identifiers for v in _ident_values(i.number)}
        if theirs_ids and not mine_ids & theirs_ids:
            close = max((Levenshtein.normalized_similarity(a, b) for a in mine_ids for b in theirs_ids), default=0.0)
            delta = IDENTIFIERS_DISJOINT * (1 - (close if close > 0.7 else 0.0))
            c.score -= delta
            features.append("identifier mismatch")
            said.append(f"identifier mismatch: {', '.join(given[:3])} given, the entry has "
                        f"{', '.join(str(i) for i in e.identifiers[:3])} (score -{delta:.2f})")
    return features, (" " + "; ".join(s[0].upper() + s[1:] for s in said) + ".") if said else ""


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


def name_index(entity_index: EntityIndex) -> NameIndex:
    """The screening index for an EntityIndex, rebuilt when the registry's list entries change."""
    return entity_index.derived("screen.names", lambda ix: NameIndex(list(ix.entries.values())))


def screen_names(entity_index: EntityIndex, names: list[str | ScreenQuery], type: str | None = None,
                 threshold: float = DEFAULT_THRESHOLD, limit: int = MAX_MATCHES) -> ScreenResponse:
    """Screen names, or queries with a schema, birth date, country and identifiers: one result each, in
    order; the response says which lists (with their publication dates) were screened."""
    idx = name_index(entity_index)
    results = []
    for n in names:
        if isinstance(n, ScreenQuery):
            results.append(idx.screen_one(n.name, schema_type(n.schema_) or type, threshold, limit, n))
        else:
            results.append(idx.screen_one(n, type, threshold, limit))
    return ScreenResponse(results=results, threshold=threshold, type=type, entries=len(idx),
                          lists=entity_index.lists_loaded())


def screen_queries(names: list[str], lines: str = "", schema: str | None = None, birth_date: str | None = None,
                   country: str | None = None, identifiers: list[str] | None = None) -> list[str | ScreenQuery]:
    """What the CLI screens: its names (with the details its options give, applied to each), then the lines
    of a file, each a name or a JSON query ({"name", "schema", "birth_date", "country", "identifiers"})."""
    import json

    from pydantic import ValidationError

    out: list[str | ScreenQuery] = []
    details = {"schema": schema, "birth_date": birth_date, "country": country, "identifiers": identifiers or []}
    for n in names:
        out.append(ScreenQuery(name=n, **details) if any(details.values()) else n)
    for i, line in enumerate(x.strip() for x in lines.splitlines()):
        if not line:
            continue
        if line.startswith("{"):
            try:
                out.append(ScreenQuery.model_validate(json.loads(line)))
            except (json.JSONDecodeError, ValidationError) as e:
                raise ValueError(f"line {i + 1}: not a screening query ({str(e).splitlines()[0]})") from None
        else:
            out.append(ScreenQuery(name=line, **details) if any(details.values()) else line)
    for q in out:
        if isinstance(q, ScreenQuery):
            schema_type(q.schema_)
    return out


def screen(rb, names: list[str | ScreenQuery], type: str | None = None, threshold: float = DEFAULT_THRESHOLD,
           limit: int = MAX_MATCHES) -> ScreenResponse:
    """Screen names against every list entry in `rb`'s store: one result per name, in order,
    matches best first. `type` is "company" or "person" (None: both)."""
    if type not in (None, "company", "person", "vessel", "aircraft"):
        raise ValueError(f"type must be 'company', 'person', 'vessel' or 'aircraft', not {type!r}")
    return screen_names(entity_index(rb), names, type, threshold, limit)


def entity_index(rb) -> EntityIndex:
    """The store's shared EntityIndex (the one answers and briefings use)."""
    store = rb.store
    if hasattr(store, "entities"):
        return store.entities
    from rag.answer import entity_index as legacy  # before Store.entities existed

    return legacy(rb)
