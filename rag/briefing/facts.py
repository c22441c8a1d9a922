"""What a briefing is built from: its subject, its exposure facts, and each fact once (`Facts`)."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from rag.entities.index import EntityMatch, listing_sentence
from rag.answering.evidence import Evidence, passes_filters
from rag.core.models import Filters, SearchResult
from rag.entities.names import fold
from rag.core.text import sentence_spans

SECTIONS = ("Summary", "Sanctions and listings", "Links to other parties", "Ownership and the 50 percent rule",
            "Timeline", "Risk assessment", "Lists checked", "Open questions")
UNRATED = "unrated: no information in the store"
_NEGATED = re.compile(r"\b(?:not|no\s+longer|never|neither|nor|denied|denies|without)\b|n't\b", re.I)
BLOCKING_LISTS = ("sdn", "asset freeze", "blocked", "eu", "uk", "ofsi")


@dataclass
class Subject:
    """The entity a briefing is about as the store knows it: its list entries, its names, the passages
    retrieved for it (those set aside for injected instructions apart) and the ones that name it."""

    entity: str
    filters: Filters
    own: list[EntityMatch]
    names: list[str]
    results: dict[str, SearchResult] = field(default_factory=dict)
    aside: dict[str, SearchResult] = field(default_factory=dict)
    about: list[SearchResult] = field(default_factory=list)

    def allowed(self, entry) -> bool:
        return passes_filters(self.filters, entry.date, "list_entry", entry.jurisdiction)


@dataclass
class Exposure:
    """One exposure fact: a relation between the entity (or one of the legal entities its name covers) and
    another party, as the relations store holds it, with its strength and whether that party is listed."""

    party: str  # the other party (its list entry's name when it resolves to one)
    party_id: str  # its graph node id
    relation: str  # ownership | supplier | customer | partner | director | ... (rag.relations.links.RELATION_TYPES)
    strength: str  # what the entity is to the party: shareholder, owner, subsidiary, investee, supplier, customer ...
    own_name: str  # which of the entity's legal entities the relation is about ("SoftBank Group Corp.")
    percentage: str | None
    listed: bool
    lists: list[str]
    via: str | None  # the party in between, for a second hop (SoftBank -> JCV -> SenseTime)
    evidence: list[Evidence]
    text: str  # the fact sentence (one of the sentences that state the relation)
    programs: list[str] = field(default_factory=list)  # the listed party's programs
    party_names: list[str] = field(default_factory=list)  # every name the sources give the party
    # Time: "current" (stated, no later source says it ended), "ended" (a later source says so), "unknown"
    # (no source of it is dated); the date it was first stated, and the end with the sentence saying it.
    status: str = "current"
    stated_on: dt.date | None = None
    ended_on: dt.date | None = None
    ended_by: list[Evidence] = field(default_factory=list)


class Facts:
    """Each fact once: the same key, the same sentence, or the same meaning (embeddings at least
    `SAME_MEANING` alike, with the same dates and numbers) merge into the first, with all citations."""

    SAME_MEANING = 0.9

    def __init__(self, rb):
        self.rb = rb
        self.items: list[tuple[str, list[Evidence], str]] = []  # (text, evidence, section)
        self.keys: dict[tuple, int] = {}
        self._vecs: list = []
        self.merged: dict[str, str] = {}  # a sentence merged into another -> the one stated

    def add(self, section: str, text: str, evs: list[Evidence], key: tuple | None = None) -> bool:
        """Adds a fact (True), or merges it into the one it repeats (False)."""
        text = text.strip()
        for k in [key, ("text", fold(text))]:
            if k is not None and k in self.keys:
                self._merge(self.keys[k], evs, text)
                return False
        vec = self._vector(text)
        # a relation is one fact per pair of parties (its key); two relations are never merged for sounding alike
        if self._vecs and not (key and key[0] == "relation"):
            import numpy as np

            sims = np.asarray(self._vecs) @ vec
            for i in np.argsort(-sims)[:3]:
                if sims[i] >= self.SAME_MEANING and _same_hard_facts(self.items[i][0], text):
                    self._merge(int(i), evs, text)
                    return False
        i = len(self.items)
        self.items.append((text, list(evs), section))
        self._vecs.append(vec)
        for k in [key, ("text", fold(text))]:
            if k is not None:
                self.keys[k] = i
        return True

    def stated_as(self, text: str) -> str:
        """The sentence a fact is stated by (itself, or the one it was merged into)."""
        return self.merged.get(text.strip(), text.strip())

    def _merge(self, i: int, evs: list[Evidence], text: str = "") -> None:
        if text and text != self.items[i][0]:
            self.merged.setdefault(text, self.items[i][0])
        have = {(e.result.chunk_id, e.start, e.end) for e in self.items[i][1]}
        self.items[i][1].extend(e for e in evs if (e.result.chunk_id, e.start, e.end) not in have)

    def _vector(self, text: str):
        return self.rb.embedder.encode([text])[0]

    def section(self, title: str) -> list[tuple[str, list[Evidence]]]:
        return [(t, supported_alone(self.rb, t, evs)) for t, evs, sec in self.items if sec == title]


def supported_alone(rb, text: str, evs: list[Evidence], limit: int = 6) -> list[Evidence]:
    """The evidence of a merged fact that supports it on its own (the verifier, passage by passage): the
    first (the sentence stated) and each other that says the same, not a part of it in other words."""
    from rag.answering.verify import Verifier

    if len(evs) <= 1:
        return evs
    verifier = Verifier(rb.embedder)
    verifier.prepare([(text, {i: ev.result.text for i, ev in enumerate(evs)})])
    out = [evs[0]] + [ev for ev in evs[1:] if verifier.check(text, {0: ev.result.text}).ok]
    return out[:limit]


def _same_hard_facts(a: str, b: str) -> bool:
    from rag.answering.verify import hard_facts

    fa, fb = hard_facts(a), hard_facts(b)
    return fa["dates"] == fb["dates"] and fa["numbers"] == fb["numbers"] and fa["programs"] == fb["programs"]


def is_headline(r: SearchResult, start: int) -> bool:
    """Is the span starting at `start` a headline (a Markdown heading line, or the document's title)? A
    headline summarises; it is never evidence."""
    line_start = r.text.rfind("\n", 0, start) + 1
    if r.text[line_start:start + 1].lstrip().startswith("#"):
        return True
    end = r.text.find("\n", start)
    line = r.text[line_start:end if end >= 0 else len(r.text)].strip().lstrip("# ")
    return bool(r.title) and fold(line) == fold(r.title)


def _listing_evidence(entry, chunk: SearchResult) -> Evidence:
    """An entry's listing facts rendered from its data, cited to the head sentence of its own chunk."""
    a, b = (sentence_spans(chunk.text)[:1] or [(0, len(chunk.text))])[0]
    return Evidence(listing_sentence(entry), chunk, a, b)
