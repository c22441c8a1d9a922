"""What a typed list entry (rag.core.models.ListEntry) says about one field, as a plain sentence cited to the
exact span of the entry's own chunk text that states the value (used by rag/answering/facts.py)."""
from __future__ import annotations

import datetime as dt
import re

from rag.core.dates import find_dates, human_date
from rag.entities.index import listing_sentence
from rag.core.models import ListEntry
from rag.entities.names import fold
from rag.core.text import sentence_spans

# How each field is named in a sentence that says the record does not state it.
LABELS = {
    "listing_date": "the listing date", "effective_date": "the effective date", "divestment_date": "the divestment date",
    "birth_date": "the date of birth", "birth_place": "the place of birth", "nationality": "the nationality",
    "identifiers": "an identifier", "addresses": "an address", "names": "other names", "positions": "a position",
    "remarks": "the reasons for the listing", "measures": "the measures", "gender": "the gender",
    "programs": "the program", "links": "a linked party", "owner": "an owner", "subsidiary": "a subsidiary",
    "supplier": "a supplier", "customer": "a customer", "listed": "a listing", "change": "a change",
}



def sentence_at(text: str, a: int, b: int) -> tuple[int, int]:
    for s, t in sentence_spans(text):
        if s <= a and b <= t:
            return s, t
    return a, b


def span_of(text: str, value) -> tuple[int, int] | None:
    """The sentence of an entry's chunk text that states `value` (a date, or text as the list writes it);
    of several, the shortest: lists state a field as its own short sentence ("Nationality: Russian.")."""
    spans = sentence_spans(text) or [(0, len(text))]
    if isinstance(value, dt.date):
        hits = [(s, t) for s, t in spans if value in find_dates(text[s:t])]
    else:
        v = str(value).strip()
        if not v or not re.search(r"\w", v):
            return None
        pattern = re.compile(r"(?<!\w)" + r"[\W_]*".join(map(re.escape, re.findall(r"[^\W_]+", v))) + r"(?!\w)", re.I)
        hits = []
        for m in pattern.finditer(text):
            hits.append(sentence_at(text, m.start(), m.end()))
    return min(hits, key=lambda st: st[1] - st[0]) if hits else None


def on_lists(e: ListEntry) -> str:
    lst = e.list or "sanctions"
    return f"the {lst} list" if "list" not in lst.lower() else lst


def latest_versions(entries: list[ListEntry]) -> list[ListEntry]:
    """One entry per list (the latest version of it), in a stable order."""
    best: dict[str, ListEntry] = {}
    for e in sorted(entries, key=lambda e: (e.list_published or dt.date.min, e.doc_id)):
        best[e.list or ""] = e
    return sorted(best.values(), key=lambda e: (e.date or dt.date.min, e.doc_id))


# Words that name no kind of identifier ("What is X's registration number?" asks for no kind in particular).
GENERIC_ID_WORDS = frozenset({"no", "number", "id", "code", "identification", "registration", "reg", "the", "of"})


def identifier_words(index) -> frozenset[str]:
    """Words that name a kind of identifier the lists in the store use ("passport", "isin", "swift", "imo"),
    built once per index version."""
    def build(ix):
        from collections import Counter

        # Words that also make up names ("company", "national", "bank") say nothing about an identifier's kind.
        in_names = Counter(w for e in ix.entries.values() for n in e.all_names() for w in set(fold(n).split()))
        return frozenset(w for e in ix.entries.values() for i in e.identifiers for w in fold(i.type).split()
                         if len(w) >= 3 and in_names[w] < 5 and w not in GENERIC_ID_WORDS)

    return index.derived("facts.identifier_words", build)


def field_values(e: ListEntry, fieldname: str, clause: str, index=None) -> list:
    if fieldname in ("listing_date", "effective_date", "divestment_date"):
        v = getattr(e, fieldname)
        return [v] if v else []
    if fieldname == "birth_date":
        return list(e.birth_dates)
    if fieldname == "birth_place":
        return list(e.birth_places)
    if fieldname == "nationality":
        return list(dict.fromkeys(e.nationalities + e.citizenships))
    if fieldname == "identifiers":
        ids = list(e.identifiers)
        words = set(fold(clause).split())
        # The kinds of identifier the clause names, in the words the store's lists use ("passport", "isin").
        asked = words & identifier_words(index)
        if asked:  # none of them on this entry: the sources do not say
            return [i for i in ids if set(fold(i.type).split()) & asked]
        return sorted(ids, key=lambda i: -len(set(fold(i.type).split()) & words))
    if fieldname == "addresses":
        return list(e.addresses)
    if fieldname == "names":
        return e.all_names()[1:]
    if fieldname == "positions":
        return list(e.positions)
    if fieldname == "measures":
        return list(e.measures)
    if fieldname == "remarks":
        return [e.remarks] if e.remarks else []
    if fieldname == "gender":
        return [e.gender] if e.gender else []
    if fieldname == "programs":
        return list(e.programs)
    if fieldname == "links":
        return [ln.object if fold(ln.object) != fold(e.name) else ln.subject for ln in e.links]
    return []


def source_words(e: ListEntry, text: str) -> str:
    """The list as the entry's text names it: "OFAC SDN list" where the text says OFAC, else "EU-HR list"."""
    lst = e.list or "sanctions"
    if e.issuer and fold(e.issuer) in fold(text) and e.issuer not in lst:
        return f"{e.issuer} {lst} list"
    return f"{lst} list"


def listed_sentence(e: ListEntry, text: str) -> str:
    """The entry's listing in one sentence, naming only what its text names (rag.entities.index.listing_sentence
    with the issuer left out where the entry does not name it)."""
    s = listing_sentence(e)
    if e.issuer and fold(e.issuer) not in fold(text):
        s = s.replace(f" ({e.issuer})", "")
    return s


def field_sentence(e: ListEntry, fieldname: str, value, text: str = "") -> str:
    """One sentence stating a field's value, shaped like the entry's own text (name, list, field, value) so
    the verifier can compare them."""
    who, on = e.name, on_lists(e)
    src = source_words(e, text)
    if fieldname == "listing_date":
        return f"{who} was added to {on} on {human_date(value)}."
    if fieldname == "effective_date":
        return f"The {e.list or ''} listing of {who} took effect on {human_date(value)}."
    if fieldname == "divestment_date":
        return f"The divestment date for {who} on {on} is {human_date(value)}."
    if fieldname == "names":
        return f"{who} is also known as {value}."
    if fieldname == "links":
        return f"{who} ({src}) is linked to {value}."
    if fieldname == "programs":
        return f"{who} is listed on {on} under program {value}."
    if fieldname == "identifiers":
        return f"{who} ({src}): {value}."
    label = LABELS.get(fieldname, fieldname).removeprefix("the ").removeprefix("an ").removeprefix("a ")
    return f"{who} ({src}): {label} {value}."


def cap(s: str) -> str:
    return s[:1].upper() + s[1:]
