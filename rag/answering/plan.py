"""A plan for every question: which entities it names, what it asks about each, the time it asks about
and the kind of answer it expects. Answers are drafted from the plan (rag/answering/facts.py), and the plan is
returned with the answer and kept in the audit trail.

- Entities are resolved through the one names module and the screener's matching (rag.entities.names.resolve_name
  over rag.entities.screen's name index, so "Sensetme" finds SENSETIME GROUP LIMITED), the entity index's reading of
  a text (lower-case names, "Hikvision" inside a longer name) and a name's distinctive word on its own
  ("DJI" in "SZ DJI TECHNOLOGY CO., LTD."). A mention that is a list, a programme or an issuer ("NS-CMIC",
  "GLOMAG", "OFAC") is a list asked about, never an entity.
- What is asked is read by meaning, not by words: each clause of the question, with its names masked, is
  compared with short descriptions of the typed entry's fields and of the relation kinds (the embedding
  model answers already load); the closest description above a floor wins. eval/datasets/plan_fields.jsonl
  measures it (`python -m eval plan`), with a held-out part never used to write the descriptions.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Literal

from pydantic import BaseModel, Field

from rag.answering.fields import DATES, FIELD_FLOOR, RELATIONS, classifier
from rag.core.text import STOPWORDS
from rag.entities.names import (LEGAL_WORDS, LIST_WORDS, common_words, core_tokens, distinctive, fold, question_names,
                        resolve_name)

AnswerKind = Literal["yes_no", "date", "name", "list", "text", "clarify"]
_WHEN = re.compile(r"^\s*(?:since when|until when|when|on what date|on which date|what date|which date)\b", re.I)
_WHERE = re.compile(r"^\s*(?:where|from where|in which (?:town|city|country|place))\b", re.I)
PLACES = {"birth_place", "addresses", "nationality", "other", "general"}
_AUX_WORDS = "is|are|was|were|has|have|had|does|do|did|can|could|will|would|should"
_AUX = re.compile(rf"^\s*({_AUX_WORDS})\b", re.I)
PRONOUN = re.compile(r"\b(it|its|they|them|their|he|she|his|her|(?:this|that|the same) (?:company|entity|person|firm|"
                     r"parent|subsidiary|owner|shareholder|supplier|customer|bank|vessel|individual|group|unit|"
                     r"business)|the company|the entity)\b", re.I)
_CLAUSE = re.compile(r"(?:,\s*and\s+|;\s*|\s+and\s+(?=(?:what|which|when|who|whom|where|why|how|under|since|"
                     r"is|was|are|were|has|does|did)\b))", re.I)


class PlanEntity(BaseModel):
    text: str  # as the question writes it
    entry_ids: list[str] = Field(default_factory=list)  # the list entries it resolves to (doc ids)
    names: list[str] = Field(default_factory=list)  # their primary names
    method: str = ""  # "screening", "name in text", "distinctive word", "previous answer", "unresolved"
    score: float | None = None


class PlanAsk(BaseModel):
    field: str  # a FIELDS key, or "other" (only passages can answer)
    period: tuple[dt.date, dt.date] | None = None  # the time the clause asks about ("in November 2021")
    score: float
    clause: str
    entity: int | None = None  # index into Plan.entities
    kind: AnswerKind = "text"
    lists: list[str] = Field(default_factory=list)  # lists this clause asks about; empty: any
    jurisdictions: list[str] = Field(default_factory=list)


class Plan(BaseModel):
    question: str
    entities: list[PlanEntity] = Field(default_factory=list)
    asks: list[PlanAsk] = Field(default_factory=list)
    lists: list[str] = Field(default_factory=list)  # lists asked about ("SDN"); empty: any
    jurisdictions: list[str] = Field(default_factory=list)  # "EU", "UK", "US" named in the question
    since: dt.date | None = None
    until: dt.date | None = None
    answer_kind: AnswerKind = "text"
    needs_entity: bool = False  # a pronoun with nothing to refer to: ask which entity is meant

    def two_parties(self) -> list[str]:
        """The two names a question about one relation writes ("SoftBank Corp." and "Shenzhen SenseTime
        Technology" in "What share of Shenzhen SenseTime Technology does SoftBank Corp. own?"), else []."""
        if len(self.asks) != 1 or self.asks[0].field not in RELATIONS:
            return []
        clause = f" {fold(self.asks[0].clause)} "
        named = [e.text for e in self.entities if fold(e.text) and f" {fold(e.text)} " in clause]
        return named if len(named) == 2 else []


# --- lists, programmes and issuers the store knows --------------------------------------------------

def _list_vocab(index) -> dict[str, tuple[str, str]]:
    """folded name -> (kind, canonical): the lists, programmes, issuers and jurisdictions of the entries."""
    def build(ix):
        out: dict[str, tuple[str, str]] = {}
        for e in ix.entries.values():
            for lst in [e.list, *e.lists]:
                if lst:
                    out[fold(lst)] = ("list", lst)
            for p in e.programs:
                out.setdefault(fold(p), ("program", p))
            if e.issuer:
                out.setdefault(fold(e.issuer), ("issuer", e.issuer))
            if e.jurisdiction:
                out.setdefault(fold(e.jurisdiction), ("jurisdiction", e.jurisdiction))
        return out

    return index.derived("plan.lists", build)


def _token_index(index) -> dict[str, set[str]]:
    """distinctive word of an entry's names -> the entries whose names have it ("dji" -> SZ DJI ...)."""
    def build(ix):
        out: dict[str, set[str]] = {}
        for e in ix.entries.values():
            if e.record != "entity":
                continue
            for n in e.all_names():
                for t in distinctive(core_tokens(n)):
                    out.setdefault(t, set()).add(e.doc_id)
        return out

    return index.derived("plan.tokens", build)


def _near_token(word: str, tokens: dict[str, set[str]]) -> str | None:
    """The one distinctive name word within one edit of `word` (a lower-case word of a question that no
    dictionary knows), of few entries, else None."""
    from rapidfuzz import process
    from rapidfuzz.distance import OSA

    hits = process.extract(word, list(tokens), scorer=OSA.distance, score_cutoff=1, limit=3)
    hits = [h for h in hits if abs(len(h[0]) - len(word)) <= 1 and h[0][:2] == word[:2] and len(tokens[h[0]]) <= 3]
    return hits[0][0] if len(hits) == 1 else None


def _versions(index) -> dict[tuple, list[str]]:
    """(list, folded name) -> the entries of that name on that list (its versions, one per list file):
    built once per entity index, not per question (folding every listed name on each ask was slow)."""
    def build(ix):
        out: dict[tuple, list[str]] = {}
        for e in ix.entries.values():
            out.setdefault((e.list, fold(e.name)), []).append(e.doc_id)
        return out

    return index.derived("plan.versions", build)


def _identifier_codes(index) -> set[str]:
    """Words of the identifier types the lists in the store use, short enough to be codes ("isin", "imo")."""
    def build(ix):
        return {w for e in ix.entries.values() for i in e.identifiers for w in fold(i.type).split()
                if 3 <= len(w) <= 6 and w not in ("number", "code", "reg")}

    return index.derived("plan.identifier_codes", build)


def _identifier_types(index) -> set[str]:
    """The identifier types the store's lists use, folded, of two words or more ("government gazette number")."""
    def build(ix):
        types = {fold(t) for e in ix.entries.values() for i in e.identifiers
                 for t in (i.type, re.sub(r"\(.*?\)", " ", i.type))}
        return {t for t in types if len(t.split()) >= 2}

    return index.derived("plan.identifier_types", build)


def _record_labels(index) -> dict[str, str]:
    """Short labels the entries' own text puts before a field's value, mapped to that field: for each typed
    value found in an entry's remarks, the word just before it; kept when it is not an English word, is
    seen at least five times, and nearly always before the same field (OFAC's "DOB", "POB")."""
    def build(ix):
        from collections import Counter

        seen: dict[str, Counter] = {}
        common = common_words()
        for e in ix.entries.values():
            text = e.remarks or ""
            if not text:
                continue
            for fieldname, values in (("birth_date", e.birth_dates), ("birth_place", e.birth_places),
                                      ("nationality", e.nationalities), ("positions", e.positions)):
                for v in values:
                    at = text.find(v)
                    if at <= 0:
                        continue
                    before = fold(text[max(0, at - 20):at]).split()
                    if before and 3 <= len(before[-1]) <= 4 and before[-1].isalpha() and before[-1] not in common:
                        seen.setdefault(before[-1], Counter())[fieldname] += 1
        out = {}
        for label, counts in seen.items():
            fieldname, n = counts.most_common(1)[0]
            if n >= 5 and n >= 0.9 * sum(counts.values()):
                out[label] = fieldname
        return out

    return index.derived("plan.record_labels", build)


# Jurisdictions a question may name whether or not a list of theirs is loaded ("Is X on an EU list?" is
# answered "cannot say" when no EU list is, not from the lists of another jurisdiction).
JURISDICTIONS = {"eu": "EU", "european union": "EU", "uk": "UK", "united kingdom": "UK", "british": "UK",
                 "hm treasury": "UK", "ofsi": "UK", "us": "US", "u s": "US", "united states": "US", "american": "US",
                 "un": "UN", "united nations": "UN", "un security council": "UN"}


def lists_in(question: str, vocab: dict[str, tuple[str, str]]) -> tuple[list[str], list[str], set[str]]:
    """(lists, jurisdictions, folded phrases) the question names: "SDN", "NS-CMIC", "EU"; not "non-SDN"."""
    words = fold(question).split()
    text = " " + " ".join(words) + " "
    lists: list[str] = []
    juris: list[str] = []
    phrases: set[str] = set()
    # "US" and "UN" only as written in capitals ("us" is a pronoun), the others in any case.
    upper = set(re.findall(r"\b(?:U\.?S|U\.?N|EU|UK)\b", question))
    extra = {k: ("jurisdiction", v) for k, v in JURISDICTIONS.items()
             if k not in ("us", "u s", "un") or any(fold(u) == k for u in upper)}
    for key, (kind, canon) in {**extra, **vocab}.items():
        if not key or f" {key} " not in text or f" non {key} " in text:
            continue
        phrases.add(key)
        if kind == "list":
            lists.append(canon)
        elif kind == "jurisdiction":
            juris.append(canon)
    return sorted(set(lists)), sorted(set(juris)), phrases


def _is_list_name(name: str, vocab: dict, phrases: set[str]) -> bool:
    f = fold(name)
    toks = f.split()
    return (f in vocab or all(t in LIST_WORDS or t in phrases or t in {"list", "lists", "regime", "programme"}
                              for t in toks))


# --- resolving the names a question asks about -----------------------------------------------------

def resolve_entities(rb, question: str, vocab: dict, phrases: set[str]) -> list[PlanEntity]:
    from rag.entities.screen import DEFAULT_THRESHOLD, name_index

    index = rb.store.entities
    idx = name_index(index)
    tokens = _token_index(index)
    out: list[PlanEntity] = []
    seen: set[str] = set()
    words_of: dict[str, set[str]] = {}  # entry id -> the folded words of its names, read once per question

    def entry_words(i: str) -> set[str]:
        if i not in words_of:
            words_of[i] = {w for n in index.entries[i].all_names() for w in fold(n).split()}
        return words_of[i]

    def add(pe: PlanEntity) -> None:
        ids = [i for i in pe.entry_ids if i not in seen]
        if pe.entry_ids and not ids:
            return
        seen.update(ids)
        pe.entry_ids = ids
        pe.names = list(dict.fromkeys(index.entries[i].name for i in ids if i in index.entries))
        out.append(pe)

    # Names as the question writes them, each through the screener's matching.
    for name in question_names(question):
        if _is_list_name(name, vocab, phrases) or len(fold(name)) < 2:
            continue
        top = resolve_name(idx, name, DEFAULT_THRESHOLD)
        if top:
            add(PlanEntity(text=name, entry_ids=[m.entity_id for m in top], method="screening",
                           score=top[0].score))
            continue
        # A short name that is one distinctive word of a listed name ("DJI").
        words = fold(name).split()
        hits = set.intersection(*[tokens.get(w, set()) for w in words]) if words else set()
        if hits and len(hits) <= 6 and len(words) == 1 and len(words[0]) >= 3:
            add(PlanEntity(text=name, entry_ids=sorted(hits), method="distinctive word", score=None))
            continue
        add(PlanEntity(text=name, method="unresolved"))
    # Lower-case names: a word of the question that is a distinctive word of few listed names ("tuniyaz").
    written = {w for pe in out for w in fold(pe.text).split()}
    common = common_words()
    for w in fold(question).split():
        if len(w) >= 5 and w not in written and w not in common and w not in LIST_WORDS and 0 < len(tokens.get(w, ())) <= 3:
            add(PlanEntity(text=w, entry_ids=sorted(tokens[w]), method="distinctive word"))
            written.add(w)
    # ... and one misspelt by a letter ("megvi" for Megvii), when only one such word is that close.
    lower = [w for w in re.findall(r"(?<![\w-])[a-z][a-z]{4,}(?![\w-])", question)
             if w not in written and w not in common and w not in LIST_WORDS and w not in STOPWORDS
             and not tokens.get(w)]
    for w in lower:
        near = _near_token(w, tokens)
        if near:
            add(PlanEntity(text=w, entry_ids=sorted(tokens[near]), method="distinctive word"))
            written.add(w)
    # Beside a resolved name, an unresolved mention made only of common words, codes and legal forms
    # ("ISIN", "OOO Registration ID") is part of the question, not a second entity.
    if any(pe.entry_ids for pe in out):
        def wordy(pe: PlanEntity) -> bool:
            words = [w for w in fold(pe.text).split() if w not in LEGAL_WORDS]
            return all(w in common or len(w) <= 4 for w in words)

        out = [pe for pe in out if pe.entry_ids or not wordy(pe)]
        seen = {i for pe in out for i in pe.entry_ids}
    # Names the entity index reads in the text (lower case, inside longer phrases).
    for m in index.find_in_text(question):
        if m.entry.doc_id in seen or m.entry.record != "entity":
            continue
        span = m.text_span
        if _is_list_name(span, vocab, phrases):
            continue
        # Several entries (versions, lists) of the same name join the entity already found for it.
        name = fold(m.entry.name)
        same = next((pe for pe in out if pe.entry_ids and any(
            fold(index.entries[i].name) == name for i in pe.entry_ids)), None)
        if same is not None:
            same.entry_ids.append(m.entry.doc_id)
            seen.add(m.entry.doc_id)
            continue
        # A word of a name already resolved ("anatolevich" of "Sergey Anatolevich MOROZ") is not another entity.
        # Nor is a word of the names of an entry already resolved ("novatek" of NOVATEK-TARKOSALENEFTEGAZ).
        span_words = set(fold(span).split())
        if any(pe.entry_ids and (span_words <= set(fold(pe.text).split()) or all(
                any(w in entry_words(i) for i in pe.entry_ids) for w in span_words)) for pe in out):
            continue
        # An unresolved mention that is part of this entry's name ("IK-3" of "IK-3 penal colony") is this
        # entity; one that holds the span and words this entry's names lack ("Shenzhen SenseTime Technology"
        # beside SENSETIME GROUP LIMITED) is another company, and the span is part of its name.
        its_words = entry_words(m.entry.doc_id)

        def extends(pe: PlanEntity) -> bool:  # a word of another name right before or after the span
            words, sw = fold(pe.text).split(), fold(span).split()
            at = next((i for i in range(len(words) - len(sw) + 1) if words[i:i + len(sw)] == sw), None)
            if at is None:
                return False
            edges = words[at - 1:at] + words[at + len(sw):at + len(sw) + 1]
            return any(w not in STOPWORDS and w not in LEGAL_WORDS and w not in its_words for w in edges)

        if any(pe.method == "unresolved" and extends(pe) for pe in out):
            continue
        for pe in [pe for pe in out if pe.method == "unresolved" and (
                fold(span) in fold(pe.text) or fold(pe.text) in fold(m.entry.name))]:
            out.remove(pe)
        add(PlanEntity(text=span, entry_ids=[m.entry.doc_id], method="name in text"))
    # A name read in the text with every word of a matched mention and more of the question's words
    # ("VTB BANK (AUSTRIA) AG" where screening read "VTB BANK") is the more specific reading: it replaces it.
    q_words = set(fold(question).split())
    for pe in [p for p in out if p.method == "name in text"]:
        its = set().union(*(entry_words(i) for i in pe.entry_ids))
        for other in [p for p in out if p is not pe and p.method in ("screening", "distinctive word")]:
            words = set(fold(other.text).split())
            if words and words <= its and (its & q_words) - words - LEGAL_WORDS - LIST_WORDS:
                out.remove(other)
    # Every version of the same entry (the same name on the same list) belongs to its entity.
    by_key = _versions(index)
    for pe in out:
        extra = [d for i in list(pe.entry_ids) for d in by_key.get((index.entries[i].list, fold(index.entries[i].name)), [])]
        pe.entry_ids = list(dict.fromkeys(pe.entry_ids + extra))
    return out


# --- the plan ----------------------------------------------------------------------------------------

def clauses(question: str) -> list[str]:
    """The parts of a question: its clauses ("When was X sanctioned", "under what program"), and the fields
    a clause joins with "and" ("date and place of birth" -> "date of birth", "place of birth")."""
    parts = [p.strip(" ,;?") for p in _CLAUSE.split(question) if p and p.strip(" ,;?")]
    out: list[str] = []
    for p in parts or [question]:
        out += _coordinated(p)
    return out


# "date and place of birth": two nouns joined by "and" before a shared "of ..." (no verb between them).
_COORD = re.compile(r"^(?P<head>.*?\b)(?P<a>[a-z]+) and (?P<b>[a-z]+) (?P<tail>of \w+(?: \w+)?)$", re.I)


def _coordinated(clause: str) -> list[str]:
    m = _COORD.match(clause.strip(" ?"))
    if not m or m["a"].lower() in STOPWORDS or m["b"].lower() in STOPWORDS:
        return [clause]
    return [f"{m['head']}{m['a']} {m['tail']}", f"{m['head']}{m['b']} {m['tail']}"]


_MONTH_NAME = r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|" \
              r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"


def asked_period(clause: str) -> tuple[dt.date, dt.date] | None:
    """The time a clause asks about, as a first and last day: "in November 2021", "in 2021", "on 10
    December 2021" (a full date), else None."""
    from rag.core.dates import MONTHS, find_dates

    days = sorted(find_dates(clause))
    if days:
        return days[0], days[-1]
    if m := re.search(rf"\b{_MONTH_NAME}\.?,?\s+(\d{{4}})\b", clause, re.I):
        month, year = MONTHS[m.group(1)[:3].lower()], int(m.group(2))
        nxt = dt.date(year + (month == 12), month % 12 + 1, 1)
        return dt.date(year, month, 1), nxt - dt.timedelta(days=1)
    if m := re.search(r"\b(?:in|during|throughout)\s+((?:19|20)\d\d)\b", clause, re.I):
        year = int(m.group(1))
        return dt.date(year, 1, 1), dt.date(year, 12, 31)
    return None


def _mask(text: str, names) -> str:
    from rag.entities.names import name_pattern

    for n in sorted(names, key=len, reverse=True):
        if n and re.search(r"\w", n):
            text = name_pattern(n).sub("it", text)
    return text


LISTING = {"listed", "listing_date", "effective_date", "programs", "change"}


def _mask_words(text: str, words: set[str]) -> str:
    """Each word of `text` that is one of `words`, or a long word one letter away from one ("Vasilevich" for
    "Vasilyevich"), becomes "it"."""
    from rapidfuzz.distance import OSA

    long = [w for w in words if len(w) >= 6]

    def masked(w: str) -> bool:
        f = fold(w)
        return f in words or (len(f) >= 6 and any(OSA.distance(f, x, score_cutoff=1) <= 1 for x in long))

    out = re.sub(r"[^\W_]+", lambda m: "it" if masked(m.group(0)) else m.group(0), text)
    return re.sub(r"\bit(?:[\W_]+it\b)+", "it", out)


def _drop(text: str, phrases: set[str]) -> str:
    from rag.entities.names import name_pattern

    for p in sorted(phrases, key=len, reverse=True):
        text = name_pattern(p).sub("", text)
    text = re.sub(r"(?<!\w)'s\b", "", text)
    return re.sub(r"\s+", " ", text).strip()


def _best(a: list[tuple[str, float]], b: list[tuple[str, float]]) -> list[tuple[str, float]]:
    best = dict(a)
    for f, s in b:
        best[f] = max(best.get(f, -1.0), s)
    return sorted(best.items(), key=lambda x: -x[1])


def _kind(field: str, clause: str) -> AnswerKind:
    if _AUX.match(clause) and (field in LISTING or field == "other"):
        return "yes_no"
    if field in DATES:
        return "date"
    if _AUX.match(clause):
        return "yes_no"
    if field in RELATIONS or field in ("names", "programs"):
        return "name"
    return "text"


# "which program", "what date of birth", "how many entities": a wh-word and the noun phrase before the verb.
_WH_PHRASE = re.compile(rf"^\s*(?:(?:under|in|on|for|from|by|with|to|at)\s+)?((?:which|what|how many|how much)"
                        rf"(?:\s+(?!(?:{_AUX_WORDS})\b)[\w'-]+){{1,4}})\s+(?:{_AUX_WORDS})\b", re.I)
# How close the phrase alone must come to an example, and how far ahead of the next field, to decide.
WH_CLEAR, WH_MARGIN = 0.6, 0.15


def wh_phrase(clause: str) -> str | None:
    m = _WH_PHRASE.match(clause)
    return m.group(1) if m else None


def make_plan(rb, question: str, filters=None, history: bool = False) -> Plan:
    index = rb.store.entities
    index.refresh()
    vocab = _list_vocab(index)
    lists, juris, phrases = lists_in(question, vocab)
    entities = resolve_entities(rb, question, vocab, phrases)
    parts = clauses(question)
    # Each clause is read twice, its names masked, and with the lists and issuers it names left out too
    # ("What date of birth does OFAC's SDN entry give for it" -> "What date of birth does entry give for it");
    # the closer reading counts.
    # Names are masked word by word, with every word of the names of the entries they resolve to.
    name_words = {w for e in entities for w in fold(e.text).split()} | {
        w for e in entities for i in e.entry_ids if i in index.entries
        for n in index.entries[i].all_names() for w in fold(n).split() if len(w) >= 2 and w not in LIST_WORDS}
    masked = [PRONOUN.sub("it", _mask_words(p, name_words)) for p in parts]
    bare = [_drop(m, phrases) for m in masked]
    heads = [wh_phrase(m) for m in masked]
    clf = classifier(rb.embedder)
    both = clf.scores(masked + bare)
    scored = [_best(a, b) for a, b in zip(both[:len(parts)], both[len(parts):])]
    # A question that opens with what it asks for ("under which program ...", "what address ...") is read
    # by that phrase when the phrase alone is clear; the rest of the clause only says about whom.
    read = iter(clf.scores([h for h in heads if h]))
    for i, h in enumerate(heads):
        if h and (ranked := next(read))[0][1] >= WH_CLEAR and ranked[0][1] - ranked[1][1] >= WH_MARGIN:
            scored[i] = ranked
    asks: list[PlanAsk] = []
    for clause, ranked in zip(parts, scored):
        if _WHEN.match(clause):  # a question for a date: one of the date fields, or something only passages say
            ranked = [(f, sc) for f, sc in ranked if f in DATES or f in ("other", "general", "change")]
        elif _WHERE.match(clause) and ranked[0][0] in DATES:  # "where was X born" is no question for a date
            ranked = [(f, sc) for f, sc in ranked if f in PLACES]
        field, score = ranked[0]
        if score < FIELD_FLOOR:
            field = "other"
        # The typed records themselves: a code the lists use as an identifier type ("ISIN", "SWIFT/BIC",
        # "IMO", "USCC"), written in capitals, asks for that identifier, whatever the model makes of it.
        codes = {fold(w) for w in re.findall(r"\b[A-Z]{3,6}\b", clause)}
        folded = f" {fold(clause)} "
        if codes & _identifier_codes(index) or any(f" {t} " in folded for t in _identifier_types(index)):
            field, score = "identifiers", 1.0
        # ... and the short labels the lists put before a field's value ("DOB Aug 1953", "POB Aksu"), learnt
        # from the entries themselves: "dob" asks for the birth date.
        labelled = [labels[w] for w in folded.split() if w in (labels := _record_labels(index))]
        if labelled and field != "identifiers":
            field, score = labelled[0], 1.0
        # Which entity this clause is about: one it names, else the last one named before it.
        named = [i for i, e in enumerate(entities) if fold(e.text) and f" {fold(e.text)} " in f" {fold(clause)} "]
        # The surest of the names it writes: the screener's match first, then a name read in the text.
        rank = {"screening": 0, "name in text": 1, "distinctive word": 2}
        resolved = sorted((i for i in named if entities[i].entry_ids),
                          key=lambda i: (rank.get(entities[i].method, 3), -(entities[i].score or 0)))
        ent = resolved[0] if resolved else (named[0] if named else None)
        if ent is None and entities:
            ent = len(entities) - 1 if PRONOUN.search(clause) or len(entities) == 1 else 0
        c_lists, c_juris, _ = lists_in(clause, vocab)
        asks.append(PlanAsk(field=field, score=round(score, 4), clause=clause, entity=ent, kind=_kind(field, clause),
                            lists=c_lists, jurisdictions=c_juris, period=asked_period(clause)))
    from rag.entities.names import mentions

    needs = (not entities and not history and bool(PRONOUN.search(question)) and not phrases
             and not mentions(question))
    f = filters
    plan = Plan(question=question, entities=entities, asks=asks, lists=lists, jurisdictions=juris,
                since=getattr(f, "since", None), until=getattr(f, "until", None),
                answer_kind="clarify" if needs else (asks[0].kind if asks else "text"), needs_entity=needs)
    return plan
