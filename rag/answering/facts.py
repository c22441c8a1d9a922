"""What the typed list records say for each part of a question (rag/answering/plan.py's asks), part by part:
rag/answering/read.py states these when a part asks for a field the record holds, and reads the passages
for every other part.

For each thing the plan asks:
- a field of a list entry (dates, programmes, identifiers, birth date and place, nationality, addresses,
  names, positions, measures, reasons): stated from the typed entry and cited to the exact span of the
  entry's chunk text that states the value;
- a relation (owner, subsidiary, supplier, customer, link): the sentences of the relations store that
  state it, quoted as written (so a 14.9 percent stake reads as a stake, not as ownership);
- whether an entity is listed: its entries on the lists asked about (and under the filters in force);
  a negative only when the resolved entity has no such entry, naming the lists looked at with their
  dates and the filters, and never beside a positive for the same entity and list;
- a relation (owner, subsidiary, supplier, customer): the sentences of the relations store, handed to the
  reader as candidates beside the passages' own sentences, not stated because a template fired;
- whether an entity is listed, with a time asked about ("in November 2021"): the listing date against it;
  a list of a kind or jurisdiction that is not loaded: "cannot say", naming the lists that are;
- when the record does not state the asked field, the passages may (rag/answering/read.py); when nothing
  does, "the sources do not say" that part, naming the entries read.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from rag.core.dates import human_date
from rag.entities.entry_facts import (
    cap,
    field_sentence,
    field_values,
    latest_versions,
    listed_sentence,
    sentence_at,
    source_words,
    span_of,
)
from rag.answering.evidence import Evidence, chunks_of, passes_filters, row_to_result
from rag.answering.fields import RELATIONS
from rag.core.models import Filters, ListEntry, SearchResult
from rag.entities.names import fold, is_place, mentions, names_all
from rag.answering.plan import PRONOUN, Plan, PlanAsk
from rag.core.text import sentence_spans

LISTING = {"listed", "listing_date", "effective_date", "programs"}


@dataclass
class PartFacts:
    """What the record says for one part of the question (one PlanAsk)."""

    sentences: list[tuple[str, list[Evidence]]] = field(default_factory=list)  # typed facts, cited
    notes: list[str] = field(default_factory=list)  # what the lists say by absence ("No: X has no entry ...")
    passages: list[Evidence] = field(default_factory=list)  # relation sentences: candidates for the reader
    looked: str = ""  # the entries read that do not state the field asked for ("SENSETIME ... (NS-CMIC list, uid 33114)")
    final: bool = False  # the record answers this part: no passage is needed
    skip: bool = False  # the same thing asked again by another part
    # What the lists say by absence of a party with no entry at all ("X does not appear in any list entry"):
    # the answer only when no passage naming that party answers the part (a question about what the party
    # did, "Did BIS add ... in March 2024?", is answered from the passages, not by BIS's absence from lists).
    fallback: list[str] = field(default_factory=list)


@dataclass
class FactDraft:
    sentences: list[tuple[str, list[Evidence]]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    unanswered: list[PlanAsk] = field(default_factory=list)  # asks only passages may answer
    entities_stated: set[str] = field(default_factory=set)  # doc ids of entries stated
    parts: list[PartFacts] = field(default_factory=list)  # one per plan ask, in order
    refused: bool = False  # the answer cannot be given (no list of the kind asked about is loaded)


def _entry_result(store, e: ListEntry, cache: dict) -> SearchResult | None:
    if e.doc_id not in cache:
        rows = chunks_of(store, [e.doc_id])
        cache[e.doc_id] = rows[0] if rows else None
    return cache[e.doc_id]


def _filters_note(filters: Filters) -> str:
    parts = []
    if filters.jurisdiction:
        parts.append("jurisdiction " + ", ".join(filters.jurisdiction))
    if filters.since:
        parts.append(f"since {human_date(filters.since)}")
    if filters.until:
        parts.append(f"until {human_date(filters.until)}")
    if filters.doc_type:
        parts.append("document types " + ", ".join(filters.doc_type))
    if filters.source:
        parts.append(f"source {filters.source}")
    return f", with the filters {'; '.join(parts)}" if parts else ""


def _lists_described(index, plan, filters: Filters) -> str:
    lists = index.lists_loaded()
    juris = index.derived("facts.list_jurisdictions",
                                      lambda ix: {e.list: e.jurisdiction for e in ix.entries.values()})
    keep = [x for x in lists
            if (not plan.lists or x["list"] in plan.lists)
            and (not plan.jurisdictions or juris.get(x["list"]) in plan.jurisdictions)
            and (not filters.jurisdiction or juris.get(x["list"]) in filters.jurisdiction)]
    if not keep:
        asked = ", ".join(plan.lists or plan.jurisdictions or filters.jurisdiction or [])
        return f"no {asked} list is loaded" if asked else "no list is loaded"
    return "; ".join(f"{x['list']}" + (f" (published {human_date(x['published'])})" if x["published"] else "")
                     + f", {x['entries']} entries" for x in keep[:6])


def _wanted(e: ListEntry, plan, filters: Filters) -> bool:
    """Is the entry on the lists `plan` (a Plan, or one of its asks) asks about, under the filters?"""
    if plan.lists and e.list not in plan.lists and not set(e.lists) & set(plan.lists):
        return False
    if plan.jurisdictions and e.jurisdiction not in plan.jurisdictions:
        return False
    return passes_filters(filters, e.date, "list_entry", e.jurisdiction)


class FactDrafter:
    """The typed facts of each part of a question. `store` holds the entries' chunks (the exact spans cited)
    and its entity index the typed entries; `links(name)` gives an entity's cited relations
    (Regbrief.links)."""

    def __init__(self, store, links, plan: Plan, filters: Filters, results: list[SearchResult] | None = None):
        self.store, self.links, self.plan, self.filters = store, links, plan, filters
        self.index = store.entities
        self._chunks: dict[str, SearchResult | None] = {}
        self.out = FactDraft()
        self.carry: list[str] = []  # the other parties of the last relation stated (for "that company")
        self._last: PlanAsk | None = None
        self.results = results or []
        self.first = True  # the part being answered is the question's first (it alone opens with Yes/No)
        self.looked = ""  # the entries of the part being answered that lack the field it asks for
        self.related = False  # the part being answered was read in the relations store
        self.fallback: list[str] = []  # the part's answer by absence, when no passage answers it

    def draft(self) -> FactDraft:
        """The typed facts of each part of the question, part by part (FactDraft.parts)."""
        done: set[tuple] = set()
        for i, ask in enumerate(self.plan.asks):
            # The same field of the same entity asked again, but of other lists or as yes/no, is another ask.
            key = (ask.field, ask.entity, tuple(ask.lists), tuple(ask.jurisdictions), ask.kind,
                   ask.clause if ask.field in RELATIONS else "")
            if key in done:
                self.out.parts.append(PartFacts(skip=True))
                continue
            done.add(key)
            n_s, n_n, n_u = len(self.out.sentences), len(self.out.notes), len(self.out.unanswered)
            self.first, self.looked, self.related, self.fallback = i == 0, "", False, []
            self.answer(ask)
            part = PartFacts(sentences=self.out.sentences[n_s:], notes=self.out.notes[n_n:], looked=self.looked,
                             fallback=self.fallback)
            if self.related:
                # A relation's sentences are what the passages say: the reader weighs them with the rest.
                part.passages = [evs[0] for _, evs in part.sentences if evs]
                part.sentences = []
                del self.out.sentences[n_s:]
            part.final = bool(part.sentences or part.notes) and len(self.out.unanswered) == n_u
            self.out.parts.append(part)
        return self.out

    # --- one ask ------------------------------------------------------------------------------------
    def answer(self, ask: PlanAsk) -> None:
        ent = self.plan.entities[ask.entity] if ask.entity is not None and self.plan.entities else None
        entries = [self.index.entries[i] for i in (ent.entry_ids if ent else []) if i in self.index.entries]
        after_relation = self._last is not None and self._last.field in RELATIONS
        if after_relation and PRONOUN.search(ask.clause) and not (ent and fold(ent.text) in fold(ask.clause)):
            # "... and is that company sanctioned?": the party the relation before it named, or nothing.
            self._last = ask
            entries = self._resolve_carry() if self.carry else []
            if not entries:
                self.out.unanswered.append(ask)
                return
            ent = None
        self._last = ask
        fieldname = ask.field
        if ask.kind == "yes_no" and fieldname in LISTING:
            fieldname = "listed"
        if fieldname in RELATIONS - {"links"} or (fieldname == "links" and not entries):
            if ent is None and not entries:
                self.out.unanswered.append(ask)
                return
            self.related = True
            if not self.relation(ask, ent.text if ent else entries[0].name, fieldname):
                self.out.unanswered.append(ask)
            return
        if fieldname == "listed" and (entries or (ent is not None and not is_place(ent.text))):
            # (A place no entry names is no party a list could name: "... US sanctions on Tehran?" asks about
            # the sanctions, and the passages answer.)
            self.listed(ask, ent, entries)
            return
        if fieldname in ("other", "listed", "general") or not entries:
            self.out.unanswered.append(ask)
            return
        if fieldname == "change":
            if ask.kind == "yes_no" and entries:  # "Was it removed?", "Is it still on the list?"
                self.removed(ask, ent, entries)
            else:  # what changed, and when: only passages say
                self.out.unanswered.append(ask)
            return
        wanted = latest_versions([e for e in entries if _wanted(e, ask, self.filters)])
        if not wanted and (ask.lists or ask.jurisdictions):
            # A question that takes a listing for granted ("Why did the EU freeze Huawei's assets?") about an
            # entity with no entry on the lists it names: that is the answer.
            self.negative(ask, ent, entries)
            return
        stated = False
        for e in wanted:
            r = _entry_result(self.store, e, self._chunks)
            if r is None:
                continue
            for v in field_values(e, fieldname, ask.clause, self.index)[:3]:
                span = span_of(r.text, v)
                if span is None:
                    continue
                text = cap(field_sentence(e, fieldname, str(v) if not isinstance(v, dt.date) else v, r.text))
                if fieldname == "remarks":
                    text = r.text[span[0]:span[1]]
                self.out.sentences.append((text, [Evidence(text, r, *span, 1.0)]))
                self.out.entities_stated.add(e.doc_id)
                stated = True
                if fieldname == "links":  # "... and under which program is that entity listed?"
                    self.carry = list(dict.fromkeys(self.carry + [str(v)]))
            if stated:
                break
        if not stated and fieldname == "identifiers":
            stated = self.identifier_in_text(ask, wanted)
        if not stated:
            self.out.unanswered.append(ask)  # the passages may say it
            self.looked = "; ".join(f"{e.name}, {e.list} list" + (f", uid {e.uid}" if e.uid else "")
                                    for e in (wanted or latest_versions(entries))[:3])

    def identifier_in_text(self, ask: PlanAsk, wanted: list[ListEntry]) -> bool:
        """An identifier the entry's text states under a kind the question names ("Unified Social Credit
        Code (USCC): 9144..."), where the parser left it out of the typed record: quoted from the text."""
        from rag.answering.plan import _identifier_types

        clause = f" {fold(ask.clause)} "
        kinds = sorted((t for t in _identifier_types(self.index) if f" {t} " in clause), key=len, reverse=True)
        for e in wanted:
            r = _entry_result(self.store, e, self._chunks)
            if r is None:
                continue
            for kind in kinds:
                m = re.search(r"[\W_]*".join(map(re.escape, kind.split())) + r"[^:.;]{0,20}:\s*[A-Za-z0-9][\w\-/]*",
                              r.text, re.I)
                if m:
                    text = f"{e.name} ({source_words(e, r.text)}): {m.group(0)}."
                    self.out.sentences.append((text, [Evidence(text, r, *sentence_at(r.text, m.start(), m.end()), 1.0)]))
                    self.out.entities_stated.add(e.doc_id)
                    return True
        return False

    def _resolve_carry(self) -> list[ListEntry]:
        from rag.entities.names import resolve_name
        from rag.entities.screen import DEFAULT_THRESHOLD, name_index

        idx = name_index(self.index)
        for name in self.carry:
            top = resolve_name(idx, name, DEFAULT_THRESHOLD)
            if top:
                return [self.index.entries[m.entity_id] for m in top if m.entity_id in self.index.entries]
        return []

    # --- listed or not ------------------------------------------------------------------------------
    def _lead(self, ask: PlanAsk, e: ListEntry) -> str:
        """The opener of a listing stated for a yes/no question (its first part only): "No: " when the
        question asks about a time the listing does not fall in ("Was X sanctioned in November 2021?" of an
        entry listed on 10 December 2021), else "Yes: "."""
        if ask.kind != "yes_no" or not self.first:
            return ""
        listed_on = e.listing_date or e.effective_date
        if ask.period and listed_on and listed_on > ask.period[1]:
            return "No: "
        return "Yes: "

    def _no(self, ask: PlanAsk) -> str:
        """"No: " before what the lists say by absence, only as the answer to a yes/no question (its first
        part): "Why did the EU freeze X's assets?" is answered "X has no entry on an EU list", not "No"."""
        return "No: " if ask.kind == "yes_no" and self.first else ""

    def uncovered(self, ask: PlanAsk) -> str | None:
        """"Cannot say: no EU list is loaded ..." when no loaded list is of the kind or jurisdiction asked
        about, or when no list is loaded at all: a negative needs a list that could have said yes."""
        lists = self.index.lists_loaded()
        juris = self.index.derived("facts.list_jurisdictions",
                                   lambda ix: {e.list: e.jurisdiction for e in ix.entries.values()})
        want_j = ask.jurisdictions or self.filters.jurisdiction or []
        keep = [x for x in lists if (not ask.lists or x["list"] in ask.lists)
                and (not want_j or juris.get(x["list"]) in want_j)]
        if keep or (lists and not (ask.lists or want_j)):
            return None
        asked = " or ".join(ask.lists or want_j)
        missing = f"no {asked} list is loaded" if asked else "no list is loaded"
        loaded = "; ".join(x["list"] + (f" (published {human_date(x['published'])})" if x["published"] else "")
                           for x in lists[:8]) or "none"
        from rag.answering.wording import plain

        return f"Cannot say {plain(ask.clause)}: {missing}{_filters_note(self.filters)} (lists loaded: {loaded})."

    def listed(self, ask: PlanAsk, ent, entries: list[ListEntry]) -> None:
        name = ent.text if ent else (entries[0].name if entries else "")
        if not entries:
            self.out.unanswered.append(ask)  # the passages are read first
            if ask.kind != "yes_no":
                return
            # (a "cannot say" here refuses only if no passage answers: rag/answering/read.compose)
            self.fallback = [self.uncovered(ask) or (
                f"{self._no(ask)}{name} does not appear in any sanctions list entry in the store "
                f"({_lists_described(self.index, ask, self.filters)}){_filters_note(self.filters)}.")]
            return
        wanted = latest_versions([e for e in entries if _wanted(e, ask, self.filters)])
        if wanted:
            for i, e in enumerate(wanted[:3]):
                self.state_listing(e, self._lead(ask, e) if i == 0 else "")
            return
        self.negative(ask, ent, entries)

    def negative(self, ask: PlanAsk, ent, entries: list[ListEntry]) -> None:
        """The entity has entries, none on the lists asked about (or under the filters in force)."""
        if note := self.uncovered(ask):
            self.out.notes.append(note)
            self.out.refused = True
            return
        name = ent.text if ent else entries[0].name
        what = " or ".join(ask.lists) or " or ".join(ask.jurisdictions or self.filters.jurisdiction or [])
        on = f"the {what} list" if ask.lists else (f"an {what} list" if what else "a list")
        self.out.notes.append(
            f"{self._no(ask)}{name} ({', '.join(dict.fromkeys(e.name for e in entries))}) has no entry on {on} in the store "
            f"({_lists_described(self.index, ask, self.filters)}){_filters_note(self.filters)}.")
        # What it is listed on instead, when the filters in force allow it: a different list, so no contradiction.
        others = latest_versions([e for e in entries if passes_filters(self.filters, e.date, "list_entry", e.jurisdiction)])
        for e in others[:2]:
            self.state_listing(e)

    def removed(self, ask: PlanAsk, ent, entries: list[ListEntry]) -> None:
        """Was it taken off a list: what the versions of its lists in the store show. Its entry on the latest
        version of a list means no removal is recorded there; an entry only on older versions means it was
        taken off between the last version that has it and the next."""
        wanted = [e for e in entries if _wanted(e, ask, self.filters)]
        if not wanted:
            self.negative(ask, ent, entries)
            return
        name = ent.text if ent else entries[0].name
        versions: dict[str, list[dt.date]] = {}
        for x in self.index.lists_loaded():
            if x["published"]:
                versions.setdefault(x["list"], []).append(dt.date.fromisoformat(x["published"]))
        for lst in dict.fromkeys(e.list for e in wanted):
            newest = max((e for e in wanted if e.list == lst), key=lambda e: e.list_published or dt.date.min)
            if _entry_result(self.store, newest, self._chunks) is None:
                continue
            later = sorted(d for d in versions.get(lst, []) if newest.list_published and d > newest.list_published)
            if later:
                self.out.notes.append(
                    f"{name} is on the {lst} list published {human_date(newest.list_published)} but not on the "
                    f"next version in the store, published {human_date(later[0])}: it was taken off between those dates, "
                    f"unless that version was loaded in part.")
            else:
                published = f" (published {human_date(newest.list_published)})" if newest.list_published else ""
                self.out.notes.append(cap(f"{self._no(ask)}no removal is recorded. {name} is on the latest version of the {lst} list "
                                      f"in the store{published}."))
            self.state_listing(newest)

    def state_listing(self, e: ListEntry, lead: str = "") -> None:
        """The entry's listing in one sentence, cited to the head of its chunk (its name and list)."""
        r = _entry_result(self.store, e, self._chunks)
        if r is None:
            return
        head = (sentence_spans(r.text)[:1] or [(0, len(r.text))])[0]
        text = lead + listed_sentence(e, r.text)
        self.out.sentences.append((text, [Evidence(text, r, *head, 1.0)]))
        self.out.entities_stated.add(e.doc_id)

    # --- relations ----------------------------------------------------------------------------------
    def relation(self, ask: PlanAsk, name: str, fieldname: str) -> bool:
        try:
            links = self.links(name)
            if not links.relations:
                # An acronym the passages spell out ("Japan Computer Vision Corp. (JCV)").
                full = next((m.text for r in self.results for m in mentions(r.text) if m.acronym == name), None)
                if full:
                    links = self.links(full)
        except Exception:  # no relations store: passages may still answer
            return False
        own = {n.node_id for n in links.entities}
        kinds = {"owner": ("ownership", "object"), "subsidiary": ("ownership", "subject"),
                 "supplier": ("supplier", "object"), "customer": ("supplier", "subject"),
                 "links": (None, None)}
        kind, side = kinds[fieldname]
        # A question naming both parties ("What share of SenseTime does the SoftBank Vision Fund own?") asks
        # how those two are related, whichever way round the relation runs.
        other = next((p for p in self.plan.two_parties() if fold(p) != fold(name)), None)
        picked = []
        for rel in links.relations:
            if other is not None:
                party = rel.object if rel.subject_id in own else rel.subject
                if names_all(party, other):
                    picked.append(rel)
                continue
            if kind and rel.relation != kind:
                continue
            if kind is None and rel.relation in ("ownership", "supplier", "customer"):
                continue
            if side == "object" and rel.object_id not in own:
                continue
            if side == "subject" and rel.subject_id not in own:
                continue
            if not passes_filters(self.filters, rel.citation.date, "article", None) and (self.filters.since or self.filters.until):
                continue
            picked.append(rel)
        if not picked:
            return False
        rows = self.store.chunk_rows(list(dict.fromkeys(r.citation.chunk_id for r in picked)))
        seen: set[str] = set()
        carry: list[str] = []
        for rel in picked:
            row = rows.get(rel.citation.chunk_id)
            if row is None or rel.citation.quote in seen or len(seen) >= 3:
                continue
            seen.add(rel.citation.quote)
            r = row_to_result(row, 1.0)
            text = rel.citation.quote.lstrip("# ").strip()
            a = rel.citation.start + (len(rel.citation.quote) - len(rel.citation.quote.lstrip("# ")))
            self.out.sentences.append((text, [Evidence(text, r, a, rel.citation.end, 1.0)]))
            other = rel.subject if side == "object" or (side is None and rel.object_id in own) else rel.object
            carry.append(other)
        self.carry = list(dict.fromkeys(carry))
        return bool(seen)
