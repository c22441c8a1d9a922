"""What else a query says about a party qualifies a name match, as yente's logic-v1 matcher does: birth
dates, countries and identifiers (rag/entities/screen.py, step 4 of its docstring); and the identifier values that
screening compares exactly.
"""
from __future__ import annotations

import re

from rapidfuzz.distance import Levenshtein

from rag.core.dates import partial_dates
from rag.entities.matching import Comparison
from rag.core.models import ListEntry, ScreenQuery
from rag.entities.names import fold

DOB_YEAR_MISMATCH = 0.35  # logic-v1: dob_year_disjoint 0.15 + dob_day_disjoint 0.2
DOB_DAY_MISMATCH = 0.2
COUNTRY_MISMATCH = 0.2
IDENTIFIERS_DISJOINT = 0.2
IDENTIFIER_SCORE = 0.95  # at least this when an identifier of the entry is among the query's


def ident_key(value: str) -> str:
    return re.sub(r"[^0-9a-z]", "", value.lower())


def ident_values(text: str) -> list[str]:
    """The identifier-like values of a text: 5+ characters with a digit ("914403007954257495", "IMO 9187629")."""
    return [v for v in re.findall(r"[A-Za-z0-9][A-Za-z0-9\-/.]{4,}", text) if any(c.isdigit() for c in v)]


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
            hit: str | None = None, person: bool = False) -> tuple[list[str], str]:
    """Lowers `c.score` for what the query says that the entry contradicts; (features, explanation).
    `person`: the entry is a person (birth dates count for persons, identifiers for the others)."""
    c.name_score = c.score
    features: list[str] = ["identifier match"] if hit else []
    if q is None:
        return features, ""
    said: list[str] = []
    mismatches: list[str] = []
    if q.birth_date and person:
        got = compare_birth_dates(q.birth_date, e.birth_dates)
        if got:
            delta, what = got
            c.score += delta
            if delta:
                mismatches.append("birth date")
            features.append(what)
            listed = "; ".join(e.birth_dates[:3])
            said.append(f"{what}: {q.birth_date} given, the entry has {listed}"
                        + (f" (score -{-delta:.2f})" if delta else ""))
    if q.country:
        mine = country_code(q.country)
        theirs = {x for x in (country_code(v) for v in e.countries + e.nationalities + e.citizenships) if x}
        # The jurisdiction of an identifier the query shares, or a country of the entry's addresses, is the
        # entry's too (a Chinese company registered in Hong Kong).
        elsewhere = address_countries(e) | {x for i in e.identifiers if i.country and (
            not hit or ident_key(hit) in {ident_key(v) for v in ident_values(i.number)})
            for x in [country_code(i.country)] if x}
        if mine and theirs and mine not in theirs and mine in elsewhere:
            features.append("country match")
            said.append(f"country match: {q.country} is where the entry is registered or has an address")
        elif mine and theirs:
            if mine in theirs:
                features.append("country match")
                said.append(f"country match: {q.country}")
            else:
                c.score -= COUNTRY_MISMATCH
                mismatches.append("country")
                features.append("country mismatch")
                said.append(f"country mismatch: {q.country} given, the entry has "
                            f"{', '.join((e.countries + e.nationalities + e.citizenships)[:3])} (score -{COUNTRY_MISMATCH:.2f})")
    if given and not hit and not person:
        mine_ids = {ident_key(v) for v in given}
        theirs_ids = {ident_key(v) for i in e.identifiers for v in ident_values(i.number)}
        if theirs_ids and not mine_ids & theirs_ids:
            close = max((Levenshtein.normalized_similarity(a, b) for a in mine_ids for b in theirs_ids), default=0.0)
            delta = IDENTIFIERS_DISJOINT * (1 - (close if close > 0.7 else 0.0))
            c.score -= delta
            features.append("identifier mismatch")
            said.append(f"identifier mismatch: {', '.join(given[:3])} given, the entry has "
                        f"{', '.join(str(i) for i in e.identifiers[:3])} (score -{delta:.2f})")
    if hit and c.score < IDENTIFIER_SCORE:
        # An identifier is the strongest evidence there is: it decides over a country or a birth date.
        c.score = IDENTIFIER_SCORE
        said.append(f"identifier {hit} matched despite the {' and '.join(mismatches)} mismatch, score "
                    f"{IDENTIFIER_SCORE:.2f}" if mismatches else f"identifier {hit} matched, score {IDENTIFIER_SCORE:.2f}")
    return features, (" " + "; ".join(s[0].upper() + s[1:] for s in said) + ".") if said else ""


def address_countries(e: ListEntry) -> set[str]:
    """ISO codes of the countries an entry's addresses end with ("..., Hong Kong")."""
    out = set()
    for a in e.addresses:
        tail = a.rsplit(",", 1)[-1].strip(" .")
        if tail and (code := country_code(tail)):
            out.add(code)
    return out
