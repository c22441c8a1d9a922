"""Reading the passages before answering: every part of a question is answered from the sentences the
reader (rag/answering/reader.py) finds best supported, or from a typed list fact when that part asks for a
field the list records state; a part nothing answers gets "the sources do not say <that part>", in the
question's own words.

Steps (each a plain function over typed values):
- `candidates`: the sentences of the retrieved passages (articles, notices, the list entries the question
  names), each an Evidence with its exact span in its chunk;
- `rank`: the reader's probability for one part of the question, with what the question wants of an answer
  (a date for "when", a name for "who"/"which", the day it names, the party it names, its codes and numbers);
- `compose`: per part, the typed facts (rag/answering/facts.py) when the part asks for a list field and the
  record states it, else the best passage sentences; the opener ("Yes:"/"No:") only for a yes/no question,
  from what the sentence says against what was asked.
"""
from __future__ import annotations

import datetime as dt
import json
import math
import re
import threading
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

import numpy as np
import snowballstemmer
from rapidfuzz import fuzz
from rigour.territories import lookup_territory

from rag.answering.evidence import EXTRACTIVE_VERSION, Draft, Evidence
from rag.answering.facts import FactDraft, PartFacts
from rag.answering.fields import RELATIONS
from rag.answering.plan import Plan, PlanAsk, asked_period
from rag.answering.reader import Candidate, get_reader
from rag.answering.wording import _AUX, plain
from rag.answering.verify import negated
from rag.core.dates import MONTHS, find_dates, human_date, strip_dates
from rag.core.models import SearchResult
from rag.core.text import STOPWORDS, keywords, looks_like_instruction, statement_spans
from rag.entities.names import LEGAL_WORDS, LIST_WORDS, fold, is_place, mentions, question_names

MAX_SENTENCES = 4
MAX_CANDIDATES = 24
# Question words that say nothing about what is asked ("how many", "what kind").
VAGUE = {"many", "much", "kind", "type", "current", "currently", "ever", "also", "still", "now", "sanctioned",
         "listed", "listing", "listings", "list", "lists", "happened", "happen", "happening", "news", "say", "said", "tell", "date", "dates", "day", "year", "time"}
_TIME_WORD = re.compile(r"^(?:\d+(?:st|nd|rd|th)?|jan\w*|feb\w*|mar\w*|apr\w*|may|june?|july?|aug\w*|sep\w*|oct\w*|"
                        r"nov\w*|dec\w*|monday|tuesday|wednesday|thursday|friday|saturday|sunday)$")
_TIME = re.compile(r"\b(?:1[89]\d\d|20\d\d)\b|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d{1,2}\b|"
                   r"\b\d{1,2}\s+(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)", re.I)
# The answer types a question's first words ask for.
_WANTS_DATE = re.compile(r"^\s*(?:since when|until when|when|on what date|on which date|what date|which date|"
                         r"in which year|what year)\b", re.I)
_WANTS_NAME = re.compile(r"^\s*(?:who|whom|whose|which|what (?:company|companies|firm|entity|entities|bank|"
                         r"person|subsidiary|agency|organi[sz]ation))\b", re.I)
_WANTS_AMOUNT = re.compile(r"^\s*how (?:much|many)\b", re.I)
# A count a sentence writes: digits (not a year or a date: callers blank dates first) or a number word.
_COUNT = re.compile(r"(?<![\w.,$€£/-])(?:\d{1,3}(?:,\d{3})*|one|two|three|four|five|six|seven|eight|nine|ten|eleven|"
                    r"twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|"
                    r"fifty|sixty|seventy|eighty|ninety|hundreds?|dozens?)(?![\w%/-]|[.,]\d)", re.I)
# A question asking for a sum of money, and a sum (or a share) a sentence writes.
_ASKS_MONEY = re.compile(r"^\W*(?:(?:what|which)\s+(?:(?:is|was|were|are)\s+the\s+)?(?:[\w-]+\s+)?"
                         r"(?:fines?|penalt(?:y|ies)|rewards?|settlements?|sums?|amounts?)\b|how much\b.*\b(?:pay|paid|"
                         r"cost|worth|invest\w*|spen[dt]|fined?|owe[sd]?|offer\w*|receiv\w*)\b)", re.I)
_MONEY = re.compile(r"[$€£¥]\s?\d|\b\d[\d,.]*\s?(?:million|billion|thousand|m|bn)?\s?(?:(?:us|u\.s\.)\s)?(?:dollars?|euros?|pounds?|"
                    r"usd|eur|gbp|rubles?|roubles?|yuan)\b|\b(?:usd|eur|gbp|us\$)\s?\d|\d\s?(?:%|percent\b|per cent\b)",
                    re.I)
# A number that labels something rather than counting it: "section 219", "Executive Order 13224", "GL 15K",
# "No. 5" (dates, "March 4" without its year too, are blanked apart).
_LABEL_NUMBER = re.compile(r"\b(?:sections?|sec\.|§|parts?|titles?|chapters?|articles?|paragraphs?|orders?|e\.\s?o\.|eo|"
                           r"nos?\.|numbers?|gls?|general licen[cs]es?|rules?|annex(?:es)?|resolutions?)\s*\d[\w()./:-]*", re.I)
# A question about who said something, and a sentence that quotes someone by name ('," said Under
# Secretary Alan Estevez', 'Alan Estevez said').
_ASKS_SPEAKER = re.compile(r"^\W*(?:who|whom|which (?:\w+\s+){0,2}?(?:official|officer|person|spokes\w+|secretary|"
                           r"minister|director))\b.*\b(?:said|say|says|saying|announc\w*|quoted|stated?|statement|"
                           r"comment\w*|spoke|remarks|issued|describ\w*)\b", re.I)
_SPEECH = re.compile(r"[\"”’,]\s*(?:said|says|stated|added|noted|announced)\s+(?:[a-z]+\s+){0,3}[A-Z]|"
                     r"\b[A-Z][\w.-]+\s+(?:said|says|stated|announced|added|noted)\b")
_PRONOUN_START = re.compile(r"^\s*(?:it|its|he|she|they|their|his|her|the (?:company|firm|group|bank|entity|"
                            r"agency|department|unit|subsidiary))\b", re.I)
_CODE = re.compile(r"(?<![,.$])\b(?:\d+(?:\([a-zA-Z\d]{1,5}\))+|\d{3,}|[A-Z]{2,}[-/]?\d+[A-Z\d-]*)(?:\b|(?<=\)))")


# --- candidates -------------------------------------------------------------------------------------

def candidates(results: list[SearchResult], named_docs: set[str], skip_heads: set[str]) -> list[Evidence]:
    """Every statement of the passages, with its exact span: articles and notices whole, a list entry
    only when the question names it (and without its head when a typed fact already states it)."""
    out: list[Evidence] = []
    for rank, r in enumerate(results):
        if r.doc_type == "list_entry" and r.doc_id not in named_docs:
            continue
        spans = statement_spans(r.text, min_chars=12 if r.doc_type == "list_entry" else 25)
        if r.chunk_id in skip_heads:
            spans = spans[1:]
        for a, b in spans:
            s = r.text[a:b]
            if not looks_like_instruction(s) and not s.rstrip().endswith("?"):  # (an FAQ's question states nothing)
                out.append(Evidence(s, r, a, b, -0.01 * rank))
    return out


# --- what a part of the question asks -----------------------------------------------------------------

_STEMMERS = threading.local()  # a Snowball stemmer keeps the word it works on: one per thread


@lru_cache(maxsize=65536)
def _stem(w: str) -> str:
    """The word's Snowball stem: "evaders" and "evade", "audits" and "audited", "owns" and "owned" meet."""
    stemmer = getattr(_STEMMERS, "english", None)
    if stemmer is None:
        stemmer = _STEMMERS.english = snowballstemmer.stemmer("english")
    return stemmer.stemWord(w)


@dataclass
class Want:
    """What one part of the question wants of a sentence that answers it."""

    text: str  # the part, as asked
    terms: list[str]  # its content words
    focus: list[str]  # those beyond the names in it: an answer must speak to one of them
    parties: list[list[str]]  # the names it writes, each with its other spellings (list names, acronyms)
    days: set[dt.date]  # days it names
    codes: set[str]  # numbers and codes it writes ("14024", "EO 13959")
    kind: str = "text"  # date | name | amount | yes_no | text
    period: tuple[dt.date, dt.date] | None = None  # the time it asks about ("in April 2024")
    context: list[str] = field(default_factory=list)  # the rest of the question's words, for one part of several

    def in_context(self, question: str) -> "Want":
        """This part with the whole question's other content words as context: "when did OFAC say so"
        or "why were they listed" name what they are about only in the other part."""
        whole = [w for t in keywords(question) for w in fold(t).split() if len(w) > 1]
        return replace(self, context=[w for w in dict.fromkeys(whole) if w not in self.terms
                                      and w not in LIST_WORDS and w not in VAGUE and not _TIME_WORD.match(w)])

    @classmethod
    def of(cls, text: str, plan: Plan, ask: PlanAsk | None, aliases: dict[str, list[str]]) -> "Want":
        terms = list(dict.fromkeys(w for t in keywords(text) for w in fold(t).split() if len(w) > 1))
        parties: list[list[str]] = []
        named_words: set[str] = set()
        for e in plan.entities:
            if any(len(w) > 1 for w in fold(e.text).split()) and fold(e.text) in fold(text):
                # (an abbreviation read as a name, "E.O", names no one)
                forms = [e.text, *e.names, *aliases.get(e.text, [])]
                parties.append(forms)
                named_words |= {w for f in forms for w in fold(f).split()}
        named_words |= {w for n in question_names(text) for w in fold(n).split()}
        focus = [t for t in terms if t not in named_words and t not in LIST_WORDS and t not in VAGUE
                 and not _TIME_WORD.match(t)]
        kind = ("date" if _WANTS_DATE.match(text) else "name" if _WANTS_NAME.match(text)
                else "amount" if _WANTS_AMOUNT.match(text) else "yes_no" if _AUX.match(text) else "text")
        codes = {c.lower() for c in _CODE.findall(strip_dates(text)) if not re.fullmatch(r"(?:19|20)\d\d", c)}
        period = ask.period if ask is not None and ask.period else asked_period(text)
        return cls(text, terms, focus, parties, find_dates(text), codes, kind, period)


_WH_WORD = re.compile(r"^\W*(?:(?:on|in|at|by|for|from|since|until|to|with|under|of)\s+)?"
                      r"(?:what|which|who|whom|whose|when|where|why|how)\b", re.I)


def _writes(text: str, code: str) -> bool:
    return code in fold(text) or code in text.lower()


def _passage_writes(result: SearchResult, code: str, folded: dict[str, str]) -> bool:
    if result.chunk_id not in folded:
        folded[result.chunk_id] = fold(result.text) + " " + result.text.lower()
    return code in folded[result.chunk_id]


def _matches(term: str, words: set[str], stems: set[str]) -> bool:
    """The word, its crude stem, or for a long word its first six letters ("designations", "designated")."""
    return (term in words or (len(term) >= 3 and _stem(term) in stems)
            or (len(term) >= 6 and any(w.startswith(term[:6]) for w in words)))


def days_stated(text: str, doc_date: dt.date | None) -> set[dt.date] | set[tuple[int, int]]:
    """The days a sentence states, full dates as written, and a day written without its year ("on Monday,
    March 4", "4 March") in the year of its document; (month, day) when the document has no date."""
    out: set = set(find_dates(text))
    for m in re.finditer(r"\b(?P<mon>[A-Z][a-z]{2,8})\.?\s+(?P<d>\d{1,2})(?:st|nd|rd|th)?\b(?!,?\s*\d{4})"
                         r"|\b(?P<d2>\d{1,2})(?:st|nd|rd|th)?\s+(?P<mon2>[A-Z][a-z]{2,8})\b(?!\.?,?\s*\d{4})", text):
        mon = MONTHS.get((m["mon"] or m["mon2"] or "")[:3].lower())
        day = int(m["d"] or m["d2"])
        if not mon or not 1 <= day <= 31:
            continue
        if doc_date is None:
            out.add((mon, day))
        else:
            try:
                out.add(dt.date(doc_date.year, mon, day))
            except ValueError:
                pass
    return out


_TODAY = re.compile(r"\btoday\b", re.I)


def when_stated(ev: Evidence) -> tuple[set[dt.date], bool]:
    """The days a sentence is about, and whether it states them itself: the full dates it writes (a day
    without its year in its document's year), else its document's date ("Today, BIS added ...", or an
    undated statement in a dated release)."""
    doc = _day(ev.result.date)
    days = {d for d in days_stated(ev.text, doc) if isinstance(d, dt.date)}
    if days and not _TODAY.search(ev.text):
        return days, True
    return (days | {doc} if doc else days), False


def _in_period(days: set[dt.date], period: tuple[dt.date, dt.date]) -> bool:
    return any(period[0] <= d <= period[1] for d in days)


def dated(ev: Evidence) -> str:
    """"On 11 April 2024 (the date of its source): " before a sentence that answers a question about a time
    without stating a date of its own: the date is its document's."""
    days, own = when_stated(ev)
    doc = _day(ev.result.date)
    if own or doc is None or find_dates(ev.text):
        return ""
    return f"On {human_date(doc)} (the date of its source): "


def _glossed(want: "Want", ev: Evidence) -> str:
    """The source's date before a sentence that answers a question about a time without stating one."""
    return dated(ev) if want.kind == "date" or (want.kind == "yes_no" and (want.period or want.days)) else ""


def _states_day(ev: Evidence, days: set[dt.date]) -> bool:
    doc = _day(ev.result.date)
    stated = days_stated(ev.text, doc)
    return bool(days & stated) or any((d.month, d.day) in stated for d in days) or (doc in days)


def _day(value) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def _names_party(text: str, forms: list[str]) -> bool:
    folded = f" {fold(text)} "
    for f in forms:
        words = [w for w in fold(f).split() if w not in STOPWORDS and len(w) > 1]
        if words and all(f" {w} " in folded or (len(w) > 4 and w in folded) for w in words[:2]):
            return True
    return False


# --- ranking --------------------------------------------------------------------------------------------

def rank(reader, want: Want, cands: list[Evidence], question: str = "",
         earlier: frozenset[str] = frozenset()) -> list[Evidence]:
    """The candidates that can answer this part, best first, each scored with the answer scorer's
    probability that it answers the part (`Scorer`), and none that cannot: a sentence sharing no word with
    the part, or none of what it asks beyond its names, or about another party than the one it names, or
    of another day than the one it names. `question` is the whole question when `want` is one part of it,
    `earlier` the documents the parts before it were answered from."""
    if not (want.terms or want.context) or not cands:
        return []
    firms = [forms for forms in want.parties if _is_firm(forms, cands)]
    passages: dict[str, str] = {}  # each passage folded once, for the codes a sentence leaves to it
    kept: list[Evidence] = []
    for ev in cands:
        words = set(fold(ev.text).split())
        stems = {_stem(w) for w in words}
        matched = [t for t in want.terms if _matches(t, words, stems)]
        around = [t for t in want.context if _matches(t, words, stems)]
        if ev.result.doc_type == "list_entry" and all(t in LIST_WORDS for t in matched) and not around:
            continue  # an entry that shares only "SDN list" with the question is not evidence
        if firms and not any(_names_party(ev.text, forms) for forms in want.parties) \
                and _names_others(ev.text, want):
            # About another party than the one asked about (its settlement is not the asked party's
            # penalty), unless it speaks of the asked one by pronoun in a passage that names it.
            if not (_PRONOUN_START.match(ev.text) and any(_names_party(ev.result.text, f) for f in want.parties)):
                continue
        if want.kind == "date" and not _TIME.search(ev.text) and not _day(ev.result.date):
            continue  # "when" is answered by a time: one the sentence states, or its source's date
        if want.days and want.kind != "yes_no" and not _states_day(ev, want.days):
            continue  # (whether a thing happened on a day is answered by the day it happened)
        if want.codes and not all(_writes(ev.text, c) or _passage_writes(ev.result, c, passages) for c in want.codes):
            continue  # (the passage of a sentence about "the order" may be the one that writes its number)
        overlap = len(matched) / max(1, len(want.terms))
        if (not matched and not around) or (want.focus and not any(t in matched for t in want.focus) and not around
                                            and not (len(want.parties) >= 2 and want.kind != "name"
                                                     and all(_names_party(ev.text, f) for f in want.parties))):
            continue  # (a sentence naming both parties a question names speaks to how they are related)
        kept.append(Evidence(ev.text, ev.result, ev.start, ev.end, overlap + ev.score))
    if not kept:
        return []
    if want.period and _WH_WORD.match(want.text):
        # "Under which orders did the US act in March 2026?": when some sentences are of that time, one of
        # another time (or from a source of another) answers another question. A yes/no question keeps
        # them: "Was X sanctioned in November 2021?" is answered "No: ... on 10 December 2021", and so does
        # a statement to check ("X was added in 2021; ..."), which a sentence of another time may refute.
        times = [when_stated(e)[0] | ({d} if (d := _day(e.result.date)) else set()) for e in kept]
        if any(days and _in_period(days, want.period) for days in times):
            kept = [e for e, days in zip(kept, times) if not days or _in_period(days, want.period)]
    kept.sort(key=lambda e: -e.score)
    kept = kept[:MAX_CANDIDATES]
    feats = features(reader, want, kept, question or want.text, earlier)
    if (captured := _capture.get()) is not None:
        captured.append((want.text, [_glossed(want, e) + e.text for e in kept], feats))
    for ev, p in zip(kept, get_scorer().predict(feats)):
        ev.score = float(p)
    if want.kind == "name":
        _support_answer(want, kept)
    if want.kind == "yes_no" and (want.period or want.days):
        # Whether a thing happened at a time: a good sentence of that time says yes; one of another time
        # answers "No: ... on <its day>" only when none of that time is good enough to state.
        asked = want.period or (min(want.days), max(want.days))
        floor = get_scorer().refuse_below
        on_time = lambda e: e.score >= floor and _in_period(  # noqa: E731
            when_stated(e)[0] | ({d} if (d := _day(e.result.date)) else set()), asked)
        return sorted(kept, key=lambda e: (not on_time(e), -e.score))
    return sorted(kept, key=lambda e: -e.score)


# --- the answer scorer: is this sentence the answer to this part? ---------------------------------------

# What the scorer weighs, per candidate sentence of one part of a question.
SCORE_FEATURES = (
    "cosine",            # the embedding model's similarity of part and sentence
    "cosine_rank",       # 1 / (1 + its place among the candidates by that similarity)
    "reader",            # the learned reader's log-odds (rag/answering/reader.py)
    "overlap",           # share of the part's content words the sentence states
    "focus",             # share of what the part asks beyond its names that the sentence states
    "passage_rank",      # 1 / (1 + the retrieval rank of its passage)
    "names_party",       # it names a party the part names
    "both_parties",      # it names both parties the part names
    "others_named",      # it names someone the part does not
    "date_answer",       # the part asks "when" and the sentence states a time (or "today" in a dated source)
    "date_from_source",  # the part asks "when" and only the sentence's source date answers it
    "name_answer",       # the part asks "who"/"which" and the sentence names someone the part does not
    "amount_answer",     # the part asks "how many/much" and the sentence writes a number
    "period_in",         # the part asks about a time and the sentence (or its source) is of that time
    "period_out",        # ... and it is of another time
    "list_entry",        # the sentence is a list entry's
    "headline",          # the sentence ends without a full stop (a title or heading)
    "short",             # fewer than eight words
    "question_cosine",   # the similarity to the whole question (for one part of several: the context it shares)
    "earlier_source",    # its document answered an earlier part of the question
    "company_answer",    # the part asks "which company" and the sentence names a company the part does not
    "other_company",     # the part names a party, the sentence not it but another company
    "counts_asked",      # the part asks "how many" and the sentence writes a count of what it asks about
    "speaker",           # the part asks who said or announced something and the sentence quotes someone by name
)
SCORER = Path(__file__).with_name("answer_scorer.json")
_capture: ContextVar[list | None] = ContextVar("read_capture", default=None)


def features(reader, want: Want, kept: list[Evidence], question: str, earlier: frozenset[str]) -> np.ndarray:
    """One row of SCORE_FEATURES per candidate."""
    probs = reader.score(want.text, [Candidate(e.text, e.result.doc_type, {"title": e.result.title,
                                                                         "date": e.result.date},
                                               passage=e.result.chunk_id) for e in kept])
    vecs = reader.vectors([want.text, question] + [e.text for e in kept])
    sims = np.asarray(vecs[2:] @ vecs[0], dtype=np.float64)
    whole = np.asarray(vecs[2:] @ vecs[1], dtype=np.float64)
    places = np.empty(len(kept))
    places[np.argsort(-sims)] = np.arange(len(kept))
    focus = set(want.focus)
    rows = []
    for i, ev in enumerate(kept):
        words = set(fold(ev.text).split())
        stems = {_stem(w) for w in words}
        overlap = sum(_matches(t, words, stems) for t in want.terms) / max(1, len(want.terms))
        focus_share = (sum(_matches(t, words, stems) for t in focus) / len(focus)) if focus else 1.0
        prior = ev.score - overlap  # -0.01 per retrieval rank (candidates())
        p = min(max(float(probs[i]), 1e-4), 1 - 1e-4)
        named = [_names_party(ev.text, f) for f in want.parties]
        others = _other_names(ev.text, want)
        doc = _day(ev.result.date)
        stated, _ = when_stated(ev)
        states_time = bool(days_stated(ev.text, doc) or (_TODAY.search(ev.text) and doc))
        days = stated | ({doc} if doc else set())
        in_period = bool(want.period and days and _in_period(days, want.period))
        text = ev.text.strip()
        undated = strip_dates(text)
        rows.append([
            float(sims[i]), 1.0 / (1.0 + places[i]), math.log(p / (1 - p)), overlap, focus_share,
            1.0 / (1.0 + max(0.0, round(-prior * 100))), float(any(named)), float(len(named) >= 2 and all(named)),
            float(others), float(want.kind == "date" and states_time),
            float(want.kind == "date" and not states_time and doc is not None),
            float(want.kind == "name" and others), float(want.kind == "amount" and bool(_COUNT.search(undated))),
            float(in_period), float(bool(want.period and days and not in_period)),
            float(ev.result.doc_type == "list_entry"), float(not text.endswith((".", '"', "”", ")", "'"))),
            float(len(text.split()) < 8), float(whole[i]), float(ev.result.doc_id in earlier),
            float(want.kind == "name" and bool(_companies(ev.text, want))),
            float(bool(want.parties) and not any(named) and bool(_companies(ev.text, want))),
            float(want.kind == "amount" and _counts(undated, focus)),
            float(bool(_ASKS_SPEAKER.search(want.text)) and bool(_SPEECH.search(text))),
        ])
    return np.asarray(rows, dtype=np.float64).reshape(len(kept), len(SCORE_FEATURES))


def _counts(text: str, asked: set[str]) -> bool:
    """The text writes a count of something asked about: "added 28 entities", "five of the eleven entities"
    for "how many entities"."""
    for m in _COUNT.finditer(text):
        after = fold(text[m.end():m.end() + 60]).split()[:3]
        if any(_matches(t, set(after), {_stem(w) for w in after}) for t in asked):
            return True
    return False


@dataclass
class Scorer:
    """Logistic regression over SCORE_FEATURES, and the probability below which no sentence is good enough
    to state (that part gets "the sources do not say"). Trained by `python -m eval.reader_train scorer`."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    bias: float
    refuse_below: float

    def predict(self, x: np.ndarray) -> np.ndarray:
        if not len(x):
            return np.zeros(0)
        z = ((x - self.mean) / self.scale) @ self.coef + self.bias
        return 1.0 / (1.0 + np.exp(-z))

    def save(self, path: Path, info: dict) -> None:
        path.write_text(json.dumps({"features": list(SCORE_FEATURES), "mean": self.mean.round(6).tolist(),
                                    "scale": self.scale.round(6).tolist(), "coef": self.coef.round(6).tolist(),
                                    "bias": round(float(self.bias), 6), "refuse_below": round(self.refuse_below, 4),
                                    "trained_on": info}, indent=1) + "\n")

    @classmethod
    def load(cls, path: Path) -> "Scorer":
        d = json.loads(path.read_text())
        if d["features"] != list(SCORE_FEATURES):
            raise ValueError(f"{path}: its features are not this code's; rebuild it with "
                             "`python -m eval.reader_train scorer`")
        return cls(np.asarray(d["mean"]), np.asarray(d["scale"]), np.asarray(d["coef"]), float(d["bias"]),
                   float(d["refuse_below"]))


@lru_cache(maxsize=1)
def get_scorer() -> Scorer:
    return Scorer.load(SCORER)


@contextmanager
def captured_groups():
    """Every part's candidates and their features, as ranked while the block runs (for training the
    scorer): a list of (part, sentences, feature rows)."""
    groups: list = []
    token = _capture.set(groups)
    try:
        yield groups
    finally:
        _capture.reset(token)


def _companies(text: str, want: Want) -> set[str]:
    """The companies a sentence names (a name with a legal form, or the acronym of one) other than the
    question's own parties."""
    own = {w for forms in want.parties for f in forms for w in fold(f).split()} - STOPWORDS
    out = set()
    for m in mentions(text):
        words = set(fold(m.text).split())
        if words & LEGAL_WORDS and not words & own:
            out.add(fold(m.text))
    return out


def _support_answer(want: Want, kept: list[Evidence]) -> None:
    """"Which company ...": the company most of the good sentences name is the answer; the sentences
    naming it are lifted (one sentence rarely says all: "JCV is a SoftBank subsidiary", "JCV uses SenseTime
    technology")."""
    support: dict[str, float] = {}
    floor = get_scorer().refuse_below
    named = [(ev, _companies(ev.text, want)) for ev in kept]
    for ev, names in named:
        for n in names:
            support[n] = support.get(n, 0.0) + max(ev.score - floor, 0.0)
    if not support:
        return
    best = max(support, key=support.get)
    for ev, names in named:
        if best in names:
            ev.score += 0.1


def _is_firm(forms: list[str], cands: list[Evidence]) -> bool:
    """Is the party a company the passages name with its legal form ("Corvane Shipping Ltd."), or a list
    entry? Such a party's penalty, property or trade is its own: another company's is no answer. An
    authority or a group ("BIS", "North Korean IT teams") is not held to this."""
    if len(forms) > 1 and any(f.isupper() or "," in f for f in forms[1:]):
        return True  # resolved to list entries (their names follow the question's spelling)
    if re.search(_LEGAL_FORM + r"\W*$", forms[0], re.I):
        return True  # the question writes its legal form ("Smartech Future Limited")
    pattern = re.compile(re.escape(forms[0]) + r"\W+(?:\w+\W+){0,2}?" + _LEGAL_FORM, re.I)
    texts = {ev.result.chunk_id: ev.result.text for ev in cands}  # each passage once, not once per sentence
    return any(pattern.search(t) for t in texts.values())


_LEGAL_FORM = r"(?:" + "|".join(re.escape(w) for w in sorted(LEGAL_WORDS, key=len, reverse=True)
                                if len(w) > 2 and w not in STOPWORDS) + r")\b"


def _names_others(text: str, want: Want) -> bool:
    """Does the sentence name anyone beyond the question's own words (its parties, lists and terms)?"""
    own = ({w for forms in want.parties for f in forms for w in fold(f).split()} | set(want.terms)
           | LIST_WORDS | STOPWORDS | LEGAL_WORDS)
    return any(set(fold(m.text).split()) - own for m in mentions(text))


def _other_names(text: str, want: Want) -> bool:
    """Does the sentence name someone the question does not (the answer to "who" or "which company")?"""
    own = {w for forms in want.parties for f in forms for w in fold(f).split()} - STOPWORDS
    return any(not set(fold(m.text).split()) & own for m in mentions(text)
               if set(fold(m.text).split()) - set(want.terms) - STOPWORDS)


def _asked_names(want: Want) -> list[list[str]]:
    """The names the part writes, in its order, each with its other spellings when it is a party; countries
    left out (`_other_place` compares those)."""
    out = []
    for name in question_names(want.text):
        if not any(len(w) > 1 for w in fold(name).split()):
            continue  # an abbreviation read as a name ("E.O") names no one
        forms = next((f for f in want.parties if fold(name) in {fold(x) for x in f}), [name])
        if not _country(forms[0]) and forms not in out:
            out.append(forms)
    return out


def _names_instead(text: str, want: Want, forms: list[str]) -> bool:
    """Does the sentence name someone the question does not, who is no spelling of `forms` ("Hizballah"
    for "Hezbollah")?"""
    own = {w for party in want.parties for f in party for w in fold(f).split()} - STOPWORDS - LEGAL_WORDS
    for m in mentions(text):
        words = set(fold(m.text).split()) - LEGAL_WORDS
        if words - set(want.terms) - STOPWORDS and not words & own \
                and max(fuzz.ratio(fold(m.text), fold(f)) for f in forms) < 70:
            return True
    return False


def pick(ranked: list[Evidence], embedder, limit: int) -> list[Evidence]:
    """The best of the ranked sentences above the floor, one of each fact (a sentence that says what a
    chosen one says, in nearly the same words and with no number the chosen one lacks, is left out)."""
    ranked = [e for e in ranked if e.score >= get_scorer().refuse_below]
    if not ranked:
        return []
    vecs = embedder.encode([e.text for e in ranked])
    # Numbers and codes a sentence writes: two sentences worded alike that give other numbers ("GL 13Q and
    # 13R" and "GL 15K and 15L", each in a notice of its own) state two facts.
    specifics = [{w for w in fold(e.text).split() if any(c.isdigit() for c in w)} for e in ranked]
    chosen: list[int] = []
    for i in range(len(ranked)):
        if any(float(vecs[i] @ vecs[j]) > 0.88 and specifics[i] <= specifics[j] for j in chosen):
            continue
        chosen.append(i)
        if len(chosen) == limit:
            break
    return [ranked[i] for i in chosen]


# --- composing the answer -----------------------------------------------------------------------------

@dataclass
class PartAnswer:
    ask: PlanAsk | None
    text: str
    sentences: list[tuple[str, list[Evidence]]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    from_record: bool = False
    looked: str = ""  # list entries read that lack the field asked for
    refuses: bool = False  # its answer is a "cannot say" (no list of the kind asked about is loaded)

    def not_said(self) -> str:
        """"the sources do not say" of this part, in the question's words, with the entries read."""
        return plain(self.text) + (f"; its list entries do not state it ({self.looked})" if self.looked else "")

    @property
    def answered(self) -> bool:
        return bool(self.sentences or self.notes)


def compose(question: str, plan: Plan, facts: FactDraft, cands: list[Evidence], embedder,
            aliases: dict[str, list[str]], id_words: frozenset[str] = frozenset()) -> Draft:
    """The answer, part by part, in the order asked. `id_words`: the words that name kinds of identifier in
    the store's lists (`entry_facts.identifier_words`)."""
    reader = get_reader(embedder)
    asks = plan.asks or [None]
    parts: list[PartAnswer] = []
    per_part = MAX_SENTENCES if len(asks) == 1 else max(1, MAX_SENTENCES // len(asks))
    used: set[str] = set()
    earlier: set[str] = set()  # the documents the parts before were answered from
    for i, ask in enumerate(asks):
        typed = facts.parts[i] if ask is not None and i < len(facts.parts) else PartFacts()
        text = ask.clause if ask is not None and len(asks) > 1 else question
        part = PartAnswer(ask, text, looked=typed.looked)
        parts.append(part)
        if typed.skip:
            continue
        if typed.sentences or typed.notes:
            # A typed fact of the field asked for, or what the lists say by absence: the record decides.
            part.sentences = [s for s in typed.sentences if s[0] not in used]
            part.notes = list(typed.notes)
            part.from_record = True
            used |= {t for t, _ in part.sentences}
            if typed.final:
                continue
        want = Want.of(text, plan, ask, aliases)
        if len(asks) > 1:
            want = want.in_context(question)
        pool = cands + typed.passages  # a relation's sentences, as the relations store quotes them
        ranked = rank(reader, want, pool, question, frozenset(earlier))
        # A sentence an earlier part stated may answer "when" again, with its source's date before it
        # ("Do E.O. 13608 listings block property, and when did OFAC say so?").
        picked = [e for e in pick(ranked, embedder, per_part + 2) if e.text not in used or dated(e) and want.kind == "date"]
        if typed.fallback:
            # A party no list entry names. When the part asks only whether it is listed, the loaded lists'
            # silence answers; when none of the kind is loaded, the passages naming the party may. When it
            # asks more ("Did BIS add ... in March 2024?"), or names no party ("Do E.O. 13608 listings block
            # property?"), the passages answer, and the lists only if they cannot.
            cannot = typed.fallback[0].startswith("Cannot say")
            if want.parties and not any(_acts(text, f) for f in want.parties):
                picked = [] if not cannot else [e for e in picked if any(_names_party(e.text, f) for f in want.parties)]
            if not picked:
                part.notes, part.refuses = list(typed.fallback), cannot
                continue
        if not picked and ask is not None and ask.field == "general":
            # A question about an entity in general: what the passages say about it, closest first.
            about = " ".join(e.text for e in plan.entities if e.entry_ids)
            if about:
                picked = pick(rank(reader, Want.of(about, plan, None, aliases), cands), embedder, per_part)
        # A place is no party to a relation: "what did X export to Russia?" asks what, not how X and Russia
        # are related.
        pair = plan.two_parties()
        picked = _both_parties(want, picked, strict=bool(pair) and not any(is_place(p) for p in pair)
                               and ask is not None and ask.field in RELATIONS)[:per_part]
        picked = [e for e in picked if _states_amount_asked(want, e.text) and _states_kind_asked(want, e.text, id_words)]
        if part.from_record and part.sentences:
            picked = picked[:1] if ask is not None and ask.field not in ("listed", "remarks", "measures") else []
        for ev in picked:
            earlier.add(ev.result.doc_id)
            part.sentences.append((_glossed(want, ev) + ev.text, [ev]))
            used.add(ev.text)
    return _draft(question, plan, parts, facts)


def _states_kind_asked(want: Want, text: str, id_words: frozenset[str]) -> bool:
    """A sentence that names kinds of identifier, none of them the kind the part asks for, does not answer it:
    "What is X's SWIFT code?" is not answered by X's Unified Social Credit Code. The kinds are the words of
    the identifier types the store's lists use (`entry_facts.identifier_words`)."""
    asked = set(fold(want.text).split()) & id_words
    if not asked:
        return True
    said = set(fold(text).split()) & id_words
    return not said or bool(asked & said)


def _states_amount_asked(want: Want, text: str) -> bool:
    """A sentence answers "how many" only with a count, and "what fine / how much did X pay" only with a sum
    of money (or a share); any sentence answers other questions."""
    if not _WH_WORD.match(want.text):
        return True
    if _ASKS_MONEY.search(want.text):
        return bool(_MONEY.search(text))
    if want.kind == "amount" and not want.text.lower().lstrip().startswith("how much"):
        return bool(_COUNT.search(_LABEL_NUMBER.sub(" ", _TIME.sub(" ", strip_dates(text)))))
    return True


def _acts(text: str, forms: list[str]) -> bool:
    """Is the party the one acting in a yes/no question ("Did BIS add ...", "Has Treasury issued ...")
    rather than the one acted on ("Has the EU listed Siemens", "Is JCV on a list")?"""
    names = "|".join(re.escape(f) for f in forms if f.strip())
    return bool(names) and bool(re.match(rf"^\s*(?:did|does|do|has|have|had|will|would|can|could)\s+(?:the\s+)?"
                                         rf"(?:{names})\s+(?!been\b|ever\b|not\b|itself\b|also\b)[a-z]{{2,}}\b",
                                         text, re.I))


def _both_parties(want: Want, picked: list[Evidence], strict: bool) -> list[Evidence]:
    """A question about two parties that does not ask for a third ("what share of X does Y own?",
    "what did X export to Y?") is answered first by the sentences naming both; only by them when it asks
    how the two are related (`strict`): a sentence about one of them is about another relation."""
    # A place or its people ("Russia", "Russian") says where or of what country, not who.
    parties = [f for f in want.parties if not is_place(f[0])]
    if len(parties) < 2 or want.kind == "name":
        return picked
    both = [e for e in picked if all(_names_party(e.text, f) for f in parties[:2])]
    return both if (both or strict) else picked


def _draft(question: str, plan: Plan, parts: list[PartAnswer], facts: FactDraft) -> Draft:
    draft = Draft(prompt_version=EXTRACTIVE_VERSION)
    unanswered: list[PartAnswer] = []
    for i, part in enumerate(parts):
        sentences = list(part.sentences)
        if i == 0 and sentences and not part.from_record and _AUX.match(part.text):
            want = Want.of(part.text, plan, part.ask, {})
            # The first of the shown sentences that settles the question leads, with its Yes or No; when none
            # does, the best one leads without an opener.
            for k, (text, evs) in enumerate(sentences):
                opener = _opener(want, text, evs[0] if evs else None)
                if opener:
                    sentences.insert(0, sentences.pop(k))
                    if not re.match(rf"{opener.strip(': ')}\b", text, re.I):  # its own "No." says it already
                        sentences[0] = (opener + text, evs)
                    break
        if len(draft.sentences) < MAX_SENTENCES + len(parts) - 1:
            draft.sentences += sentences
        draft.notes += part.notes
        if i == 0 and part.notes:  # "No: X has no entry on the SDN list" answers first; what it is on follows
            draft.lead_notes = True
        if not part.answered:
            unanswered.append(part)
    if unanswered and (draft.sentences or draft.notes):
        draft.notes += [f"The sources do not say {p.not_said()}." for p in unanswered]
    elif unanswered:
        draft.notes.append("The sources do not say " + "; nor ".join(p.not_said() for p in unanswered) + ".")
        draft.refused = True
    if (facts.refused or any(p.refuses for p in parts)) and not draft.sentences:
        draft.refused = True
    return draft


def _opener(want: Want, sentence: str, ev: Evidence | None = None) -> str:
    """"Yes: " or "No: " before a passage's sentence that answers a yes/no question; nothing when unsure.
    "No" when the question asks about a time ("in March 2024", "on 26 February 2024") and neither the
    sentence nor its source is of that time, or when one of question and sentence is negated (a quotation's
    "we will not hesitate" negates nothing asked). "Yes" when the sentence names every party the question
    names and states what it asks beyond them (most of it), or is of the very time asked about."""
    own = _QUOTED.sub(" ", sentence)
    if negated(own) != negated(want.text):
        return "No: "
    on_time = False
    if ev is not None and (want.period or want.days):
        # Neither a day the sentence states nor its source's date is of the time asked about.
        days, _ = when_stated(ev)
        days |= {d for d in [_day(ev.result.date)] if d}
        asked = want.period or (min(want.days), max(want.days))
        if days and not _in_period(days, asked):
            return "No: "
        on_time = bool(days)
    # The parties asked about beyond countries are named in the sentence or its passage; a country asked
    # about that the sentence replaces by another is a "No" ("a Turkish agency?" of "the Chinese entity").
    # The last party asked about beyond the one acting (the first, or the one "by" names), that the sentence
    # does not name while it names another and states what is asked of someone else, is a "No" ("the
    # deputy leader of AQAP?" of "X is deputy leader of al-Shabaab"); the one acting may go by another
    # name there ("the State Department", "the Department").
    words = set(fold(sentence).split())
    stems = {_stem(w) for w in words}
    share = sum(_matches(t, words, stems) for t in want.focus) / len(want.focus) if want.focus else 1.0
    passage = ev.result.text if ev is not None else sentence
    others = [f for f in want.parties if not _country(f[0])]
    missing = [i for i, f in enumerate(others) if not _names_party(sentence, f) and not _names_party(passage, f)]
    named = _asked_names(want)
    if len(named) >= 2:
        actor = next((i for i, f in enumerate(named)
                      if re.search(rf"\bby\s+(?:the\s+)?{re.escape(f[0])}", want.text, re.I)), 0)
        asked = max(i for i in range(len(named)) if i != actor)
        if (not _names_party(sentence, named[asked])
                and all(_names_party(sentence, f) or _names_party(passage, f)
                        for i, f in enumerate(named) if i not in (actor, asked))
                and any(_names_party(sentence, f) for i, f in enumerate(named) if i != asked) and share >= 0.5
                and _names_instead(sentence, want, named[asked])):
            return "No: "
    if missing:
        return ""
    said, around = countries(sentence), countries(passage)
    if others and _other_place(countries(want.text), said, around):
        return "No: "
    places = said | around
    if not all(_names_party(sentence, f) or _names_party(passage, f) or _country(f[0]) in places
               for f in want.parties):  # ("Russian" asked, "Russia" written)
        return ""
    if want.parties and all(_names_party(sentence, f) for f in want.parties) and _other_code(want, sentence):
        return "No: "  # "designated under section 1(a)(iii)(A)?" of a sentence saying section 1(a)(vii)
    if share >= 0.5 or on_time:  # (the sentence passed `pick`: the scorer holds it good enough to state)
        return "Yes: "
    return ""


def _other_code(want: Want, sentence: str) -> bool:
    """Does the sentence write, instead of a code the question asks about, another of its kind (an
    order's number for an order's, a section for a section)?"""
    shape = lambda c: "section" if "(" in c else "number" if c.isdigit() else "code"  # noqa: E731
    missing = {shape(c) for c in want.codes if not _writes(sentence, c)}
    written = {c.lower() for c in _CODE.findall(strip_dates(sentence))} - want.codes
    return bool(missing & {shape(c) for c in written})


def _other_place(asked: set[str], said: set[str], around: set[str]) -> bool:
    """Does the sentence name (`said`), instead of a country the question names (`asked`) and its passage
    never does (`around`), another country ("a Turkish agency?" of "the Chinese entity"; "over events in
    Syria?" of "in Crimea")?"""
    return bool(asked) and bool(said - asked) and bool(asked - said - around)


_CAPITALISED = re.compile(r"[A-Z][\w'’.-]*(?:[ \t]+[A-Z][\w'’.-]*){0,2}")


def countries(text: str) -> set[str]:
    """The countries a text names, by name, demonym or city (rigour's territories), as country codes: a
    region counts as its country ("Crimea" as Ukraine)."""
    out: set[str] = set()
    for m in _CAPITALISED.finditer(text):
        words = m.group().rstrip(".").split()
        i = 0
        while i < len(words):  # the longest run of words that is a place, left to right
            for j in range(min(len(words), i + 3), i, -1):
                code = _country(" ".join(words[i:j]))
                if code:
                    out.add(code)
                    i = j
                    break
            else:
                i += 1
    return out


@lru_cache(maxsize=16384)
def _country(name: str) -> str | None:
    name = name.removesuffix("'s").removesuffix("’s")
    if name.lower() in STOPWORDS or (len(name) <= 3 and not name.isupper()):  # "In", "Is" are no codes
        return None
    territory = lookup_territory(name)
    if territory is None or territory.code == "zz" or ("-" in territory.code and not fold(territory.name).startswith(fold(name))):
        return None  # a region by a name of its own ("Crimea", "Florida"), not by an odd alias ("Here")
    return territory.code.split("-")[0]


_QUOTED = re.compile(r"[\"“][^\"”]{12,}(?:[\"”]|$)")  # a quotation, or one the sentence ends inside
