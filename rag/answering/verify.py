"""Does the cited passage support this sentence?

Three checks, all needed:
  1. semantic support: the cosine similarity between the sentence and the best-matching sentence of
     its cited passages (the embedding model's own vectors) must reach `SUPPORT_THRESHOLD`;
  2. hard facts: every date, number, program code and proper name in the sentence must appear in the
     cited passages (dates compared as dates, names compared case- and accent-folded);
  3. no contradiction with the typed list records of the entities asked about (TypedFacts): a negative
     listing statement about a listed entity, a listing date or birth year its entries do not have.
A sentence with no citation is not a fact and fails. The best-matching passage sentence is returned
as the quote, so a reader sees the exact span that supports the claim.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from rag.core.dates import find_dates, strip_dates
from rag.entities.names import LEGAL_WORDS, LIST_WORDS, fold, mentions
from rag.core.text import STOPWORDS, sentence_spans

SUPPORT_THRESHOLD = 0.55

_PROGRAM = re.compile(r"\b(?:[A-Z]{2,}[A-Z0-9]*(?:[-/][A-Z0-9]+)+|E\.?O\.? ?\d{5}|EO ?\d{5})\b")
_NUMBER = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?%?(?![\w])")
_MARKER = re.compile(r"\s*\[(\d+)\]")
# The answer's own words before a quoted sentence: its Yes/No, and the date of the sentence's source when
# the sentence states none (rag/answering/read.dated).
OPENER = re.compile(r"^(?:(?:Yes|No): )?(?:On \d{1,2} [A-Z][a-z]+ \d{4} \(the date of its source\): )?")


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


# Words that turn a statement round; "no" only before a lower-case word ("no entry"), not "No." of a number.
_NEGATION = re.compile(r"\b(?:[Nn]ot|[Nn]ever|[Nn]either|nor|[Nn]one)\b|n't\b|\b[Nn]o\s+(?=[a-z])")


def negated(text: str) -> bool:
    return bool(_NEGATION.search(text))


def strip_markers(sentence: str) -> tuple[str, list[int]]:
    """('text without [n] markers', [n, ...])."""
    nums = [int(n) for n in _MARKER.findall(sentence)]
    return _MARKER.sub("", sentence).strip(), nums


@dataclass
class Check:
    support: float
    missing: list[str]
    quotes: dict[int, tuple[int, int]]  # citation n -> (start, end) of the best span in its passage
    contradicts: str | None = None  # what the list records say against it (TypedFacts)

    @property
    def ok(self) -> bool:
        return self.support >= SUPPORT_THRESHOLD and not self.missing and not self.contradicts

    def reason(self) -> str | None:
        if self.ok:
            return None
        parts = [self.contradicts] if self.contradicts else []
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
        """Check one sentence (without markers) against its cited passages {n: passage text}. The answer's
        opener ("Yes: ", "No: ") is the answer's, not the passage's: the rest is checked."""
        sentence = OPENER.sub("", sentence, count=1)
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
        missing = missing_facts(sentence, list(cited.values()))
        # The closest passage sentence saying the opposite ("does not appear on the SDN list" for "appears on
        # the SDN list") is no support, however alike the two read.
        closest = [cited[n][a:b] for n, (a, b) in quotes.items()]
        if closest and all(negated(sentence) != negated(q) for q in closest):
            missing.append("the cited passage says the opposite (negation)")
        return Check(round(best, 4), missing, quotes)


# --- what the list records say: a sentence must not contradict them ------------------------------------

# A statement that an entity is not (or no longer) listed: "does not appear on", "is not on the SDN list",
# "has no entry", "was removed from", "is not sanctioned".
_NEGATIVE = re.compile(
    r"\b(?:(?:is|are|was|were|has|have|had|does|do|did)\s*n[o']t|not|never|no longer|no entry|no listing|"
    r"removed|delisted|de-listed|taken off|lifted)\b"
    r"(?:\W+\w+){0,6}?\W+(?:listed|sanctioned|designated|blacklisted|blocked|appear\w*|entry|list|lists|"
    r"sanctions|from)\b", re.I)
_LISTING_VERB = re.compile(r"\b(?:added|listed|designated|sanctioned|blacklisted|put on|placed on)\b", re.I)
# Words that name a particular list ("SDN", "NS-CMIC", "EU"), as the lists' own vocabulary has them.
_LIST_NAMES = {w for w in LIST_WORDS if w not in {"list", "lists", "sanction", "sanctions", "program", "programme",
                                                   "order", "executive", "treasury", "council", "official", "ofac",
                                                   "ofsi", "federal", "register", "journal", "regulation", "eo"}}
_BORN = re.compile(r"\bborn\b|\bdate of birth\b|\bDOB\b", re.I)


class TypedFacts:
    """The list entries of the entities an answer or briefing is about, so that the verifier can remove a
    drafted sentence that contradicts them: one saying a listed entity is not listed (on a list it is on),
    or giving a listing date for a list, or a birth year, that its entries do not have. Only a sentence
    whose subject is the entity counts ("Shenzhen SenseTime Technology ... has no entry" is about another
    company than SENSETIME GROUP LIMITED)."""

    def __init__(self, entities: list[list]):
        kept = ([e for e in entries if e.record == "entity"] for entries in entities)
        self.entities = [entries for entries in kept if entries]

    @classmethod
    def of_plan(cls, rb, plan) -> "TypedFacts":
        index = rb.store.entities
        return cls([[index.entries[i] for i in pe.entry_ids if i in index.entries]
                    for pe in (plan.entities if plan is not None else [])])

    @staticmethod
    def _words(entries) -> set[str]:
        return {w for e in entries for n in e.all_names() for w in fold(n).split()} | LEGAL_WORDS | set(STOPWORDS)

    def _subject(self, sentence: str):
        """The entries of the entity the sentence's first name refers to, or None."""
        first = next(iter(mentions(sentence)), None)
        if first is None:
            return None
        words = set(fold(first.text).split())
        for entries in self.entities:
            own = self._words(entries)
            if words and words <= own and words - STOPWORDS:
                return entries
        return None

    @staticmethod
    def _denied(sentence: str, entries: list) -> list:
        """The entries a negative statement of the sentence speaks of: those on the list its own clause
        names ("is not on OFAC's SDN list, and the NS-CMIC listing ..." denies the SDN listing only), or
        all of them when that clause names no list."""
        out = []
        for m in _NEGATIVE.finditer(sentence):
            clause = re.split(r"[,;]|\band\b|\bbut\b", sentence[m.start():m.end() + 40])[0]
            lists = {lst for e in entries for lst in [e.list, *e.lists] if lst and f" {fold(lst)} " in f" {fold(clause)} "}
            other = set(fold(clause).split()) & _LIST_NAMES  # a list named, not one of the entity's
            if lists or not other:
                out += [e for e in entries if not lists or e.list in lists or set(e.lists) & lists]
        return out

    def contradiction(self, sentence: str) -> str | None:
        entries = self._subject(sentence)
        if not entries:
            return None
        folded = f" {fold(sentence)} "
        named = sorted({lst for e in entries for lst in [e.list, *e.lists] if lst and f" {fold(lst)} " in folded})
        on = [e for e in entries if not named or e.list in named or set(e.lists) & set(named)]
        name = entries[0].name
        denied = self._denied(sentence, entries)
        if denied and any(e.sanctioned and not e.end_date and e.change != "removed" for e in denied):
            e = denied[0]
            return f"contradicts the list record: {name} is on the {e.list} list" + (f" (uid {e.uid})" if e.uid else "")
        dates = find_dates(sentence)
        if dates and named and _LISTING_VERB.search(sentence):
            known = {d for e in on for d in (e.listing_date, e.effective_date) if d}
            if known and not dates & known and not dates & {e.divestment_date for e in on}:
                return (f"contradicts the list record: {name} was listed on the {named[0]} list on "
                        + ", ".join(sorted(d.isoformat() for d in known)))
        if dates and _BORN.search(sentence):
            years = {y for e in entries for b in e.birth_dates for y in re.findall(r"\b(1[89]\d\d|20\d\d)\b", b)}
            if years and not {str(d.year) for d in dates} & years:
                return f"contradicts the list record: {name} was born in " + " or ".join(sorted(years))
        return None
