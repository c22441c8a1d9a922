"""Entity -> sections -> cited, verified briefing; rendered as Markdown, standalone HTML or JSON.

Entity resolution first (the name and its aliases against the list entries in the store), then the
evidence: passages that name the entity, the parties the relations store links it to (rag/links.py: relations
extracted and verified at ingest, so a negated or unstated relation links nothing; exposure paths to listed
parties), and those parties' list entries. Every factual sentence is cited and goes through the same verifier
as answers. One function per section.

Each fact is stated once: statements of the same relation (the same parties, the same kind) become one fact
citing every sentence that states it, the same listing in several versions of a list one fact citing each,
and sentences that say the same thing in other words (close embeddings, the same dates and numbers) are
merged (`Facts`). The Timeline is the chronological index of the dated events about the entity, so it may
restate a dated fact of another section once, with its date first. An entity of which the store says nothing
is "unrated", not "low".
"""
from __future__ import annotations

import datetime as dt
import html
import re
import uuid
from dataclasses import dataclass, field

import prompts
from rag.assemble import Assembler
from rag.dates import find_dates, human_date, iso
from rag.entities import EntityMatch, listing_sentence
from rag.evidence import (Draft, Evidence, chunks_of_docs, passages_block, passes_filters, row_to_result,
                          set_aside, set_aside_note)
from rag.models import Briefing, BriefingExposure, BriefingSection, Filters, SearchResult
from rag.relations import extract_sentence
from rag.names import core_tokens, distinctive, fold, name_key, names_any
from rag.text import looks_like_instruction, sentence_spans, statement_spans

SECTIONS = ("Summary", "Sanctions and listings", "Links to other parties", "Timeline", "Risk assessment",
            "Lists checked", "Open questions")
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
    relation: str  # ownership | supplier | customer | partner | director | ... (rag.links.RELATION_TYPES)
    strength: str  # what the entity is to the party: shareholder, owner, subsidiary, investee, supplier, customer ...
    own_name: str  # which of the entity's legal entities the relation is about ("SoftBank Group Corp.")
    percentage: str | None
    listed: bool
    lists: list[str]
    via: str | None  # the party in between, for a second hop (SoftBank -> JCV -> SenseTime)
    evidence: list[Evidence]
    text: str  # the fact sentence (one of the sentences that state the relation)


class Facts:
    """Each fact once: the same key, the same sentence, or the same meaning (embeddings at least
    `SAME_MEANING` alike, with the same dates and numbers) merge into the first, with all citations."""

    SAME_MEANING = 0.9

    def __init__(self, rb):
        self.rb = rb
        self.items: list[tuple[str, list[Evidence], str]] = []  # (text, evidence, section)
        self.keys: dict[tuple, int] = {}
        self._vecs: list = []

    def add(self, section: str, text: str, evs: list[Evidence], key: tuple | None = None) -> bool:
        """Adds a fact (True), or merges it into the one it repeats (False)."""
        text = text.strip()
        for k in [key, ("text", fold(text))]:
            if k is not None and k in self.keys:
                self._merge(self.keys[k], evs)
                return False
        vec = self._vector(text)
        if self._vecs:
            import numpy as np

            sims = np.asarray(self._vecs) @ vec
            for i in np.argsort(-sims)[:3]:
                if sims[i] >= self.SAME_MEANING and _same_hard_facts(self.items[i][0], text):
                    self._merge(int(i), evs)
                    return False
        i = len(self.items)
        self.items.append((text, list(evs), section))
        self._vecs.append(vec)
        for k in [key, ("text", fold(text))]:
            if k is not None:
                self.keys[k] = i
        return True

    def _merge(self, i: int, evs: list[Evidence]) -> None:
        have = {(e.result.chunk_id, e.start, e.end) for e in self.items[i][1]}
        self.items[i][1].extend(e for e in evs if (e.result.chunk_id, e.start, e.end) not in have)

    def _vector(self, text: str):
        return self.rb.embedder.encode([text])[0]

    def section(self, title: str) -> list[tuple[str, list[Evidence]]]:
        return [(t, supported_alone(self.rb, t, evs)) for t, evs, sec in self.items if sec == title]


def supported_alone(rb, text: str, evs: list[Evidence], limit: int = 6) -> list[Evidence]:
    """The evidence of a merged fact that supports it on its own (the verifier, passage by passage): the
    first (the sentence stated) and each other that says the same, not a part of it in other words."""
    from rag.verify import Verifier

    if len(evs) <= 1:
        return evs
    verifier = Verifier(rb.embedder)
    verifier.prepare([(text, {i: ev.result.text for i, ev in enumerate(evs)})])
    out = [evs[0]] + [ev for ev in evs[1:] if verifier.check(text, {0: ev.result.text}).ok]
    return out[:limit]


def _same_hard_facts(a: str, b: str) -> bool:
    from rag.verify import hard_facts

    fa, fb = hard_facts(a), hard_facts(b)
    return fa["dates"] == fb["dates"] and fa["numbers"] == fb["numbers"] and fa["programs"] == fb["programs"]


def build_briefing(rb, entity: str, as_of: dt.date | None = None, *, backend: str | None = None,
                   record: bool = True) -> Briefing:
    backend = backend or rb.settings.llm
    subject = find_subject(rb, entity, Filters(until=as_of))
    sections: dict[str, Draft] = {t: Draft() for t in SECTIONS}
    facts = Facts(rb)
    listing_evs = listings(rb, subject, facts)
    exposures = exposure_facts(rb, subject)
    link_evs, linked_listed = links(rb, subject, facts, exposures, sections["Links to other parties"].notes)
    if not subject.own:
        sections["Sanctions and listings"].notes.append(
            f"No list entry in the store matches {subject.entity} (the lists checked are listed below).")
    events = timeline(rb, subject, link_evs, listing_evs, exposures, as_of, sections["Timeline"])
    rating = risk(rb, subject, listing_evs, linked_listed, exposures, facts, sections["Risk assessment"])
    checked = lists_checked(rb, subject, sections["Lists checked"])
    open_questions(subject, link_evs, sections["Open questions"])
    for title in ("Sanctions and listings", "Links to other parties", "Risk assessment"):
        sections[title].sentences = facts.section(title) + sections[title].sentences
    model, version, notes = summary(rb, subject, backend, listing_evs, link_evs, list(linked_listed.values()),
                                    sections["Summary"], rating, exposures, len(events))
    assembler = Assembler(rb)
    out_sections = []
    for t, d in sections.items():
        sentences = assembler.sentences(d)
        if t == "Timeline":
            for s, (day, how) in zip(sentences, events):
                s.date, s.dated_by = day, how
        out_sections.append(BriefingSection(title=t, sentences=[s for s in sentences if s.verdict != "removed"]))
    by_text = {s.text: s.citations for sec in out_sections for s in sec.sentences
               if sec.title == "Links to other parties" and s.kind == "fact"}
    briefing = Briefing(
        id=uuid.uuid4().hex[:12], entity=entity, resolved=[m.entry.name for m in subject.own], as_of=as_of,
        rating=rating, sections=out_sections, citations=assembler.citations, backend=backend, model=model,
        prompt_version=version, notes=notes, created_at=dt.datetime.now(dt.timezone.utc),
        exposure=[BriefingExposure(party=x.party, party_id=x.party_id, relation=x.relation, strength=x.strength,
                                   entity=x.own_name, percentage=x.percentage, listed=x.listed, lists=x.lists,
                                   via=x.via, sentence=x.text, citations=by_text[x.text])
                  for x in exposures if x.text in by_text],
        lists_checked=checked,
    )
    if record:
        rb.history.record(
            "briefing", briefing.id, entity, briefing.model_dump_json(),
            filters={"as_of": as_of.isoformat() if as_of else None},
            evidence=[{"chunk_id": c.chunk_id, "hash": _text_hash(c.chunk_text)} for c in briefing.citations],
            backend=backend, model=model, prompt_versions={"briefing": version}, created_at=briefing.created_at,
        )
    return briefing


def find_subject(rb, entity: str, filters: Filters) -> Subject:
    """Entity resolution (the name against the list entries in the store), then the evidence: passages
    that name the entity by any of its names."""
    subject = Subject(entity, filters, [], [])
    subject.own = rb.store.entities.find_in_text(entity, allowed=subject.allowed)
    names = [entity] + [m.matched_name for m in subject.own] + [m.text_span for m in subject.own]
    subject.names = list(dict.fromkeys(n for n in names if n))
    queries = [entity, f"{entity} subsidiary supplier technology sanctions", *[m.entry.name for m in subject.own[:2]]]
    for q in queries:
        usable, flagged = set_aside(rb.retriever.search(q, k=20, filters=filters).results)
        for r in usable:
            subject.results.setdefault(r.chunk_id, r)
        subject.aside.update((r.doc_id, r) for r in flagged)
    subject.about = [r for r in subject.results.values()
                     if r.doc_type != "list_entry" and names_any(r.text, subject.names)]
    return subject


def _listing_evidence(entry, chunk: SearchResult) -> Evidence:
    """An entry's listing facts rendered from its data, cited to the head sentence of its own chunk."""
    a, b = (sentence_spans(chunk.text)[:1] or [(0, len(chunk.text))])[0]
    return Evidence(listing_sentence(entry), chunk, a, b)


def listings(rb, subject: Subject, facts: Facts) -> list[Evidence]:
    """Sanctions and listings: the entity's own list entries (the same listing in several versions of a
    list, or on several lists that say the same, is one fact citing each)."""
    chunks = {r.doc_id: r for r in chunks_of_docs(rb, [m.entry.doc_id for m in subject.own])} if subject.own else {}
    evs = [_listing_evidence(m.entry, chunks[m.entry.doc_id]) for m in subject.own if m.entry.doc_id in chunks]
    for m, ev in zip([m for m in subject.own if m.entry.doc_id in chunks], evs):
        e = m.entry
        facts.add("Sanctions and listings", ev.text, [ev],
                  key=("listing", fold(e.name), e.list, tuple(e.programs), iso(e.listing_date)))
    return evs


def parties_related(sentence: str, names: list[str]) -> list[str]:
    """The other parties of the relations a sentence states with one of `names`, as rag.relations extracts
    and verifies them (a negated or unstated relation gives none)."""
    out = []
    for _relation, subject_text, object_text, *_ in extract_sentence(sentence):
        for own, other in ((subject_text, object_text), (object_text, subject_text)):
            # Both may carry the entity's name ("SenseTime Group owns Shenzhen SenseTime Technology").
            if _names_one(own, names) and name_key(other) != name_key(own):
                out.append(other)
    return list(dict.fromkeys(out))


def _names_one(party: str, names: list[str]) -> bool:
    """Is `party` one of `names`, or a short form of one ("DJI" for "SZ DJI Technology")?"""
    return names_any(party, names) or (bool(distinctive(core_tokens(party)))
                                       and any(names_any(n, [party]) for n in names))


# What the entity is to the other party, by relation and by which side of it the entity is on.
_STRENGTH = {
    ("supplier", "subject"): "supplier", ("supplier", "object"): "customer",
    ("customer", "subject"): "customer", ("customer", "object"): "supplier",
    ("director", "subject"): "director or officer", ("director", "object"): "directed by",
    ("partner", "subject"): "partner", ("partner", "object"): "partner",
}
_MINORITY = re.compile(r"stake|shareholder|interest|holding|minority", re.I)


def _strength(rel: dict, entity_side: str) -> str:
    """What the entity is to the other party: shareholder (a stake, or under 50 percent) or owner,
    subsidiary (or investee, for a stake), supplier, customer, partner ..."""
    relation = rel["relation"]
    if relation == "ownership":
        pct = _pct(rel.get("percentage"))
        minority = (pct is not None and pct < 50) or bool(_MINORITY.search(rel.get("role") or ""))
        if entity_side == "subject":
            return "shareholder" if minority else "owner"
        return "investee" if minority else "subsidiary"
    return _STRENGTH.get((relation, entity_side), relation)


def _pct(value) -> float | None:
    try:
        return float(str(value).replace(",", ".").rstrip("%"))
    except (TypeError, ValueError):
        return None


def _relation_evidence(rb, subject: Subject, rels: list[dict]) -> list[tuple[dict, Evidence]]:
    """The sentences that state these relations, as citable evidence (those of documents dated after
    as_of, or set aside for injected instructions, left out)."""
    until = subject.filters.until
    rows = rb.store.chunk_rows(list(dict.fromkeys(r["citation"]["chunk_id"] for r in rels)))
    results = {r.chunk_id: r for r in set_aside([row_to_result(x, 0.0) for x in rows.values()])[0]}
    out = []
    for r in rels:
        c = r["citation"]
        res = results.get(c["chunk_id"])
        if res is None or (until and (res.date is None or res.date > until)):
            continue
        a, b = c["start"], c["end"]
        while a < b and res.text[a] in "# \t":  # a headline's markup is not part of what it states
            a += 1
        out.append((r, Evidence(res.text[a:b].strip(), res, a, b)))
    return out


def exposure_facts(rb, subject: Subject) -> list[Exposure]:
    """The entity's relations from the relations store (rb.links), one fact per relation between the same
    two parties, and the second hops of its exposure paths to listed parties (rb.exposure)."""
    from rag.links import links_for, relation_model

    try:
        linked = rb.links(subject.entity)
        paths = rb.exposure(subject.entity, depth=2, max_paths=30).paths
        graph = links_for(rb).graph()
        nodes = graph.nodes
    except Exception:  # a store without relations: the sentence-based links still run
        return []
    own_nodes = {n.node_id: n.name for n in linked.entities}
    entries = rb.store.entities.entries

    def listed_of(node) -> tuple[bool, list[str]]:
        ms = [m for m in node.listings if m.listed and m.entity_id in entries and subject.allowed(entries[m.entity_id])]
        return bool(ms), list(dict.fromkeys(x for m in ms for x in (m.lists or [m.list]) if x))

    groups: dict[tuple, list[dict]] = {}
    for rel in linked.relations:
        d = rel.model_dump(mode="json")
        if d["subject_id"] in own_nodes:  # (both the entity's: "SenseTime Group owns Shenzhen SenseTime")
            side, own, other = "subject", d["subject_id"], d["object_id"]
        else:
            side, own, other = "object", d["object_id"], d["subject_id"]
        groups.setdefault((d["relation"], own, other, side, None), []).append(d)
    for p in paths:  # second hops: the party in between and the listed party it leads to
        if len(p.edges) < 2:
            continue
        mid, end, e = p.nodes[1], p.nodes[2], p.edges[1]
        side = "subject" if e.direction == "forward" else "object"
        key = (e.relation, mid.node_id, end.node_id, side, mid.name)
        if key not in groups:
            groups[key] = [relation_model(x.rel).model_dump(mode="json") for x in graph.adj.get(mid.node_id, [])
                           if x.target == end.node_id and x.rel["relation"] == e.relation]
    out: list[Exposure] = []
    for (relation, own, other, side, via), rels in groups.items():
        pairs = _relation_evidence(rb, subject, rels)
        if not pairs:
            continue
        # The sentence stated: one with a percentage first, then one that names the legal entity as resolved
        # ("SoftBank Group Corp." rather than "a SoftBank company"), one that is not a headline, the longest.
        own_name = fold(via or own_nodes.get(own, ""))
        pairs.sort(key=lambda p: (not p[0].get("percentage"), f" {own_name} " not in f" {fold(p[1].text)} ",
                                  p[1].result.text[p[1].start - 1:p[1].start] == "#"
                                  or not p[1].text.endswith((".", '"', "”")), -len(p[1].text)))
        evs = list({(ev.result.chunk_id, ev.start, ev.end): ev for _, ev in pairs}.values())
        node = nodes.get(other)
        if node is None:
            continue
        listed, lists = listed_of(node)
        pct = next((r.get("percentage") for r, _ in pairs if r.get("percentage")), None)
        out.append(Exposure(node.name, other, relation, _strength({**pairs[0][0], "percentage": pct}, side),
                            via or own_nodes.get(own, own), pct, listed, lists, via, evs, evs[0].text))
    # Listed parties first, then direct relations, ownership, and the most stated.
    out.sort(key=lambda x: (not x.listed, x.via is not None, x.relation != "ownership", -len(x.evidence)))
    return out


def links(rb, subject: Subject, facts: Facts, exposures: list[Exposure],
          section_notes: list[str]) -> tuple[list[Evidence], dict[str, Evidence]]:
    """Links to other parties: the exposure facts of the relations store, then sentences of the passages
    retrieved that state a relation the store did not hold, and the list entries of the listed parties."""
    link_evs: list[Evidence] = []
    linked_listed: dict[str, Evidence] = {}
    own_ids = {m.entry.doc_id for m in subject.own}
    section = "Links to other parties"
    for x in exposures[:10]:
        facts.add(section, x.text, x.evidence, key=("relation", x.relation, x.own_name, x.party_id))
        link_evs += x.evidence[:1]
        if x.listed and x.party_id.startswith("entry:"):
            doc_id = x.party_id[len("entry:"):]
            if doc_id not in own_ids and doc_id not in linked_listed:
                entry = rb.store.entities.entries.get(doc_id)
                if entry is not None and (chunk := chunks_of_docs(rb, [doc_id])):
                    linked_listed[doc_id] = _listing_evidence(entry, chunk[0])
    stated = {(ev.result.chunk_id, ev.start) for x in exposures for ev in x.evidence}
    frontier = [(r, subject.names) for r in subject.about]
    seen: set[str] = set()
    for depth in range(1 if exposures else 2):  # the relations store already holds the second hops
        parties: list[str] = []
        for r, names in frontier:
            for a, b in statement_spans(r.text):
                s = r.text[a:b]
                if s in seen or not names_any(s, names) or looks_like_instruction(s):
                    continue
                others = parties_related(s, names)
                if not others:
                    continue
                seen.add(s)
                parties += others
                if (r.chunk_id, a) not in stated:
                    ev = Evidence(s, r, a, b)
                    link_evs.append(ev)
                    facts.add(section, s, [ev])
                for party in others:
                    for m in rb.store.entities.find_in_text(party, allowed=subject.allowed):
                        if m.entry.doc_id not in own_ids and m.entry.doc_id not in linked_listed:
                            if chunk := chunks_of_docs(rb, [m.entry.doc_id]):
                                linked_listed[m.entry.doc_id] = _listing_evidence(m.entry, chunk[0])
        if depth or not parties:
            break
        hop = list(dict.fromkeys(parties))[:4]
        frontier = [(r, hop) for r in subject.results.values() if r.doc_type != "list_entry" and names_any(r.text, hop)]
    for doc_id, ev in list(linked_listed.items())[:4]:
        entry = rb.store.entities.entries.get(doc_id)
        key = ("listing", fold(entry.name), entry.list, tuple(entry.programs), iso(entry.listing_date)) if entry else None
        facts.add(section, ev.text, [ev], key=key)
    if not link_evs:
        section_notes.append(f"The sources in the store name no owners, subsidiaries, suppliers, customers or "
                             f"partners of {subject.entity}.")
    return link_evs, linked_listed


def _event_date(sentence: str, names: list[str]) -> dt.date | None:
    """The date of the event a sentence tells about the entity: the written date nearest to its name."""
    from rag.dates import _TEXT, _from_match  # the date forms the project reads

    at = [m.span() for n in names if n for m in re.finditer(re.escape(n), sentence, re.I)]
    if not at:
        return None
    best: tuple[int, dt.date] | None = None
    for kind, pattern in _TEXT.items():
        for m in pattern.finditer(sentence):
            d = _from_match(kind, m, False)
            if d is None:
                continue
            dist = min(max(0, m.start() - b, a - m.end()) for a, b in at)  # the gap between them
            if best is None or (dist, d) < best:
                best = (dist, d)
    return best[1] if best else None


SAME_EVENT = 0.6  # cosine of two sentences of the same date telling the same event (0.42-0.48 for other events)


def timeline(rb, subject: Subject, link_evs: list[Evidence], listing_evs: list[Evidence], exposures: list[Exposure],
             as_of: dt.date | None, section: Draft) -> list[tuple[dt.date, str]]:
    """Timeline: dated events about the entity, in date order, each once. An event is a sentence that names
    the entity and states something that happened (not a negation: "X does not appear on ..."), dated by
    the date written nearest to the entity's name; a listing of its own, dated by the list; or a relation
    of its own that the sources state without a date, dated by the document that reported it."""
    names = subject.names + [x.own_name for x in exposures if x.via is None]
    dated: list[tuple[dt.date, str, Evidence]] = []
    candidates = [ev for ev in link_evs] + [Evidence(r.text[a:b], r, a, b) for r in subject.about
                                           for a, b in statement_spans(r.text)]
    for ev in candidates:
        text = ev.text
        if "\n" in text.strip() or _NEGATED.search(text) or looks_like_instruction(text) or not names_any(text, names):
            continue
        d = _event_date(text, names)
        if d:
            dated.append((d, "text", ev))
    for m, ev in zip(subject.own, listing_evs):
        if m.entry.listing_date:
            dated.append((m.entry.listing_date, "listing", ev))
    for x in exposures:
        if x.via is None and not find_dates(x.text) and x.evidence[0].result.date:
            dated.append((x.evidence[0].result.date, "reported", x.evidence[0]))
    # Each event once: sentences of the same date that say the same (close embeddings) are one event,
    # citing each; one event per date and document.
    events: list[tuple[dt.date, str]] = []
    kept: list[tuple[dt.date, list[Evidence], list]] = []
    seen: set[tuple] = set()
    order = {"listing": 0, "text": 1, "reported": 2}
    dated = [x for x in dated if not as_of or x[0] <= as_of]
    vecs = rb.embedder.encode([ev.text for _, _, ev in dated]) if dated else []
    for i in sorted(range(len(dated)), key=lambda i: (dated[i][0], order[dated[i][1]], len(dated[i][2].text))):
        d, how, ev = dated[i]
        if (d, ev.result.doc_id) in seen or ("text", fold(ev.text)) in seen:
            continue
        seen |= {(d, ev.result.doc_id), ("text", fold(ev.text))}
        # single linkage: like any sentence already told of that date's event
        same = next((k for k in kept if k[0] == d and max(float(v @ vecs[i]) for v in k[2]) >= SAME_EVENT), None)
        if same is not None:
            same[1].append(ev)
            same[2].append(vecs[i])
            continue
        kept.append((d, [ev], [vecs[i]]))
        events.append((d, how))
    for d, evs, _ in kept[:12]:
        section.sentences.append((evs[0].text, supported_alone(rb, evs[0].text, evs)))
    return events[:12]


def risk(rb, subject: Subject, listing_evs: list[Evidence], linked_listed: dict[str, Evidence],
         exposures: list[Exposure], facts: Facts, section: Draft) -> str:
    """The rating follows from listings (own, then of parties a stated relation links it to); the reasons
    are the cited facts of the sections above. Nothing in the store about the entity: unrated."""
    own, entity = subject.own, subject.entity
    own_lists = [fold(" ".join([m.entry.list or ""] + m.entry.measures)) for m in own]
    listed_links = [x for x in exposures if x.listed] or list(linked_listed.values())
    if any(any(b in l for b in BLOCKING_LISTS) for l in own_lists):
        rating, why = "high", f"{entity} itself is on a blocking or asset-freeze list"
    elif own:
        rating, why = "medium", f"{entity} itself is on a restrictive list that is not an asset freeze"
    elif listed_links:
        names = list(dict.fromkeys(x.party for x in exposures if x.listed))[:3]
        rating, why = "medium", f"the sources link {entity} to a listed party" + (f" ({', '.join(names)})" if names else "")
    elif subject.about or exposures:
        rating, why = "low", f"no listing of {entity} or of a party linked to it was found in the store"
    else:
        section.notes.append(f"Rating: {UNRATED} about {entity} (no list entry, passage or relation names it).")
        return "unrated"
    section.notes.append(f"Rating: {rating}, because {why}.")
    # What a link implies is stated only when a document in the store says so (e.g. the 50 percent rule).
    if listed_links or own:
        rule = set_aside(rb.retriever.search("50 percent rule ownership subsidiaries list", k=5,
                                             filters=subject.filters).results)[0]
        for r in rule:
            stated = [(a, b) for a, b in statement_spans(r.text) if re.search(r"50 ?(percent|%)", r.text[a:b], re.I)]
            if stated and r.doc_type != "list_entry":
                a, b = stated[0]
                facts.add("Risk assessment", r.text[a:b], [Evidence(r.text[a:b], r, a, b)])
                break
    return rating


def lists_checked(rb, subject: Subject, section: Draft) -> list[dict]:
    """The lists the entity was checked against, with their publication dates (as of the briefing's date:
    a list published later was not yet there)."""
    until = subject.filters.until
    out = [x for x in rb.store.entities.lists_loaded()
           if not (until and x.get("published") and x["published"] > until.isoformat())]
    for x in out:
        who = f" ({x['authority']})" if x.get("authority") and x["authority"] not in (x["list"] or "") else ""
        when = f", published {human_date(x['published'])}" if x.get("published") else ", publication date not given"
        section.notes.append(f"{x['list'] or 'unnamed list'}{who}{when}: {x['entries']} entries.")
    if not out:
        section.notes.append("No sanctions list is loaded in the store.")
    return out


def open_questions(subject: Subject, link_evs: list[Evidence], section: Draft) -> None:
    """What the sources leave unanswered."""
    entity = subject.entity
    if link_evs and not any(re.search(r"\d+(\.\d+)? ?(%|percent)", ev.text) for ev in link_evs):
        section.notes.append(f"The sources do not state ownership percentages for {entity}'s links.")
    if not any(m.entry.jurisdiction in ("EU", "UK") for m in subject.own):
        section.notes.append(f"The store holds no EU or UK listing of {entity}; that is not proof it is not listed "
                             "there.")
    if link_evs:
        section.notes.append("Whether the links described are current is not established by the sources.")


def summary(rb, subject: Subject, backend: str, listing_evs: list[Evidence], link_evs: list[Evidence],
            linked: list[Evidence], section: Draft, rating: str = "", exposures: list[Exposure] = (),
            n_events: int = 0) -> tuple[str | None, str, list[str]]:
    """What the sections below hold, in one line each (facts are stated once, in their sections), or an
    LLM's summary that passes the verifier; (model, prompt version, notes on how it was made)."""
    entity = subject.entity
    model, version = None, "briefing-extractive-v2"
    notes: list[str] = [n for n in [set_aside_note(list(subject.aside.values()))] if n]
    if rating == "unrated":
        section.notes.append(f"{entity}: {UNRATED}.")
    else:
        listed = list(dict.fromkeys(x.party for x in exposures if x.listed))
        parts = [f"{entity}: rated {rating}"]
        parts.append(f"{len(subject.own)} list entr{'y' if len(subject.own) == 1 else 'ies'} of its own"
                     if subject.own else "no list entry of its own")
        if exposures:
            parts.append(f"{len(exposures)} relation{'s' if len(exposures) != 1 else ''} to other parties"
                         + (f", to listed {', '.join(listed[:3])}" if listed else ""))
        if n_events:
            parts.append(f"{n_events} dated event{'s' if n_events != 1 else ''}")
        section.notes.append("; ".join(parts) + " (see the sections below).")
    if backend != "extractive" and rating != "unrated":
        try:
            passages = [ev.result for ev in listing_evs + link_evs + linked][:6]
            llm_sum = _llm_summary(rb, subject.entity, passages, backend)
            model, version = llm_sum.model, llm_sum.prompt_version
            checked = Assembler(rb).sentences(llm_sum)
            if any(s.verdict == "supported" for s in checked):
                section.sentences = [t for t, s in zip(llm_sum.sentences, checked) if s.verdict == "supported"]
                section.backend = backend
            else:
                notes.append(f"The {backend} summary had no verified sentence; the extractive summary is used.")
        except Exception as e:
            notes.append(f"The {backend} model could not be used ({type(e).__name__}); extractive summary used.")
    return model, version, notes


def _text_hash(text: str) -> str:
    from rag.store.history import text_hash

    return text_hash(text)


def _llm_summary(rb, entity: str, passages: list[SearchResult], backend: str) -> Draft:
    from rag.llm import chat_model
    from rag.verify import strip_markers

    llm, model = chat_model(rb.settings, backend)
    template, version = prompts.load("briefing")
    block = passages_block(passages)
    raw = (llm.invoke(template.format(entity=entity, section="Summary", passages=block)).content or "").strip()
    draft = Draft(backend=backend, model=model, prompt_version=version)
    if raw.upper().startswith("INSUFFICIENT"):
        return draft
    for a, b in sentence_spans(raw):
        text, nums = strip_markers(raw[a:b])
        evs = [Evidence(text, passages[n - 1], 0, len(passages[n - 1].text)) for n in dict.fromkeys(nums)
               if 1 <= n <= len(passages)]
        if text:
            draft.sentences.append((text, evs))
    return draft


# --- rendering --------------------------------------------------------------------------------------

def _when(s) -> str:
    """A timeline entry's date, as a reader sees it first ("16 December 2021 (reported): ...")."""
    if not s.date:
        return ""
    return f"{human_date(s.date)}{' (reported)' if s.dated_by == 'reported' else ''}: "


def _label(b: Briefing, s) -> str:
    """What an exposure fact says, from the briefing's structured exposure: "SoftBank Group Corp. is
    shareholder of SENSETIME GROUP LIMITED (listed: NS-CMIC)"."""
    for x in b.exposure:
        if x.sentence == s.text:
            listed = f" (listed: {', '.join(x.lists)})" if x.listed and x.lists else (" (listed)" if x.listed else "")
            pct = f", {x.percentage}%" if x.percentage else ""
            prep = {"supplier": " to", "directed by": ""}.get(x.strength, " of")
            return f"{x.entity}: {x.strength}{pct}{prep} {x.party}{listed}"
    return ""


def _sentence_md(s, b: Briefing | None = None) -> str:
    marks = "".join(f"[{n}]" for n in s.citations)
    label = f"*{_label(b, s)}* — " if b is not None and not s.date and _label(b, s) else ""
    return f"{_when(s)}{label}{s.text}{' ' + marks if marks else ''}"


def render_pdf(b: Briefing) -> bytes:
    """The HTML briefing printed to PDF by WeasyPrint (its print stylesheet: A4-sized margins, no split
    quotes, links spelled out); the optional dependency `pip install 'regbrief[pdf]'`."""
    try:
        from weasyprint import HTML
    except ImportError as e:  # also OSError-like failures of its system libraries (Pango) surface here
        raise RuntimeError("PDF export needs WeasyPrint: pip install 'regbrief[pdf]' (it uses the system's "
                           f"Pango library) ({e})") from None
    return HTML(string=render(b, "html")).write_pdf()


def render(b: Briefing, fmt: str = "md") -> str:
    if fmt == "json":
        return b.model_dump_json(indent=2)
    if fmt == "md":
        lines = [f"# Risk briefing: {b.entity}", "",
                 f"As of {b.as_of or 'all documents in the store'} · rating **{b.rating}** · "
                 f"generated {b.created_at:%Y-%m-%d %H:%M} UTC · id {b.id}", ""]
        if b.resolved:
            lines += [f"Resolved to list entries: {', '.join(b.resolved)}", ""]
        for sec in b.sections:
            lines += [f"## {sec.title}", ""]
            lines += [f"- {_sentence_md(s, b)}" for s in sec.sentences] or ["- (nothing in the sources)"]
            lines.append("")
        if b.notes:  # how it was made: model fallbacks, documents set aside
            lines += ["## Notes", ""] + [f"- {n}" for n in b.notes] + [""]
        lines += ["## Sources", ""]
        for c in b.citations:
            where = c.url or c.source
            lines.append(f"[{c.n}] {c.title}, {c.publisher or ''} {c.date or ''} — \"{c.quote}\" ({where}"
                         f"{', p. ' + str(c.page) if c.page else ''})")
        return "\n".join(lines) + "\n"
    if fmt == "html":
        e = html.escape
        body = [f"<h1>Risk briefing: {e(b.entity)}</h1>",
                f"<p class='meta'>As of {e(str(b.as_of or 'all documents in the store'))} · rating "
                f"<strong class='rating {e(b.rating)}'>{e(b.rating)}</strong> · id {e(b.id)}</p>"]
        for sec in b.sections:
            body.append(f"<h2>{e(sec.title)}</h2><ul>")
            for s in sec.sentences:
                marks = "".join(f"<a href='#cite-{n}' class='cite'>[{n}]</a>" for n in s.citations)
                when = f"<time datetime='{s.date.isoformat()}'>{e(_when(s))}</time>" if s.date else ""
                label = "" if s.date else _label(b, s)
                label = f"<span class='strength'>{e(label)}</span> " if label else ""
                body.append(f"<li class='{s.kind}'>{when}{label}{e(s.text)} {marks}</li>")
            body.append("</ul>")
        if b.notes:
            body.append("<h2>Notes</h2><ul>" + "".join(f"<li>{e(n)}</li>" for n in b.notes) + "</ul>")
        body.append("<h2>Sources</h2><ol class='sources'>")
        for c in b.citations:
            where = e(c.url or c.source)
            body.append(
                f"<li id='cite-{c.n}' value='{c.n}'><strong>{e(c.title)}</strong> {e(c.publisher or '')} "
                f"{e(str(c.date or ''))}<blockquote>{e(c.quote)}</blockquote><small>{where}"
                f"{', p. ' + str(c.page) if c.page else ''}</small></li>")
        body.append("</ol>")
        style = ("body{font:16px/1.5 system-ui,sans-serif;max-width:50rem;margin:2rem auto;padding:0 1rem;color:#222}"
                 "blockquote{margin:.3rem 0;padding:.3rem .8rem;border-left:3px solid #888;background:#f6f6f6}"
                 ".cite{text-decoration:none;font-size:.85em}.rating.high{color:#b00}.rating.medium{color:#b60}"
                 ".rating.low{color:#070}.rating.unrated{color:#555}:target{background:#fff3c4}"
                 "time{font-weight:600}.strength{font-size:.8em;text-transform:uppercase;letter-spacing:.03em;"
                 "background:#eef;border-radius:3px;padding:0 .3em}li.note{color:#555}"
                 # Print: black on white, no page-wide margins, links spelled out, no split quotes.
                 "@media print{@page{margin:18mm 16mm}body{font:10.5pt/1.4 Georgia,serif;max-width:none;margin:0;"
                 "padding:0;color:#000}h1{font-size:16pt}h2{font-size:12pt;break-after:avoid;margin-top:1.2em}"
                 "li,blockquote{break-inside:avoid}blockquote{background:none;border-left:2px solid #000}"
                 ".cite{color:#000}.strength{background:none;border:1px solid #000}"
                 ".sources small{word-break:break-all}:target{background:none}"
                 ".sources a[href^='http']::after{content:' (' attr(href) ')'}}")
        return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><meta name='viewport' "
                f"content='width=device-width,initial-scale=1'><title>Risk briefing: {e(b.entity)}</title>"
                f"<style>{style}</style></head><body>{''.join(body)}</body></html>\n")
    raise ValueError(f"unknown briefing format {fmt!r} (md, html or json)")
