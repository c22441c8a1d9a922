"""Entity -> subject -> sections -> a cited, verified Briefing; one function per section."""
from __future__ import annotations

import datetime as dt
import re
import uuid

from rag.answering.assemble import Assembler
from rag.answering.drafting import DraftRequest, drafter_for
from rag.briefing.exposure import exposure_facts, links
from rag.briefing.facts import (
    BLOCKING_LISTS,
    SECTIONS,
    UNRATED,
    Exposure,
    Facts,
    Subject,
    _listing_evidence,
)
from rag.briefing.ownership import SECTION as OWNERSHIP, ownership_findings
from rag.briefing.rules import ListRule, list_label, list_rules, lists_concerned, rule_sentence
from rag.briefing.timeline import timeline
from rag.core.dates import human_date, iso
from rag.answering.evidence import (
    Draft,
    Evidence,
    chunks_of_docs,
    set_aside,
    set_aside_note,
)
from rag.core.models import (
    Briefing,
    BriefingExposure,
    BriefingRule,
    BriefingSection,
    Filters,
)
from rag.entities.names import fold, names_any
from rag.core.priority import query_entry
from rag.answering.verify import TypedFacts


@query_entry
def build_briefing(rb, entity: str, as_of: dt.date | None = None, *, backend: str | None = None,
                   record: bool = True) -> Briefing:
    backend = backend or rb.settings.llm
    subject = find_subject(rb, entity, Filters(until=as_of))
    sections: dict[str, Draft] = {t: Draft() for t in SECTIONS}
    facts = Facts(rb)
    listing_evs = listings(rb, subject, facts)
    exposures = exposure_facts(rb, subject)
    link_evs, linked_listed = links(rb, subject, facts, exposures, sections["Links to other parties"].notes)
    rules = list_rules(rb, subject, lists_concerned(subject, exposures))
    for rule in rules:  # lists the sources say the entity was put on that no list entry of its own shows
        if rule.lst.parties and rule.lst.parties != [subject.entity]:
            continue
        for ev in rule.lst.listed_by[:1]:
            facts.add("Sanctions and listings", ev.text, rule.lst.listed_by[:3])
    if not subject.own:
        sections["Sanctions and listings"].notes.append(
            f"No list entry in the store matches {subject.entity} (the lists checked are listed below).")
    findings, _ = ownership_findings(rb, subject, rules, facts, sections[OWNERSHIP], as_of)
    events = timeline(rb, subject, link_evs, listing_evs, exposures, as_of, sections["Timeline"])
    rating = risk(rb, subject, listing_evs, linked_listed, exposures, facts, sections["Risk assessment"], rules,
                  findings)
    checked = lists_checked(rb, subject, sections["Lists checked"])
    open_questions(subject, link_evs, sections["Open questions"], exposures)
    for title in ("Sanctions and listings", "Links to other parties", OWNERSHIP, "Risk assessment"):
        sections[title].sentences = facts.section(title) + sections[title].sentences
    model, version, notes = summary(rb, subject, backend, listing_evs, link_evs, list(linked_listed.values()),
                                    sections["Summary"], rating, exposures, len(events))
    assembler = Assembler(rb, typed=TypedFacts([[m.entry for m in subject.own]]))
    out_sections = []
    for t, d in sections.items():
        sentences = assembler.sentences(d)
        if t == "Timeline":
            for s, (day, how) in zip(sentences, events):
                s.date, s.dated_by = day, how
        out_sections.append(BriefingSection(title=t, sentences=[s for s in sentences if s.verdict != "removed"]))
    by_text = {s.text: s.citations for sec in out_sections for s in sec.sentences
               if sec.title == "Links to other parties" and s.kind == "fact"}
    cited = {(c.chunk_id, c.start): c.n for c in assembler.citations}
    briefing = Briefing(
        id=uuid.uuid4().hex[:12], entity=entity, resolved=[m.entry.name for m in subject.own], as_of=as_of,
        rating=rating, sections=out_sections, citations=assembler.citations, backend=backend, model=model,
        prompt_version=version, notes=notes, created_at=dt.datetime.now(dt.timezone.utc),
        exposure=[BriefingExposure(party=x.party, party_id=x.party_id, relation=x.relation, strength=x.strength,
                                   entity=x.own_name, percentage=x.percentage, listed=x.listed, lists=x.lists,
                                   via=x.via, sentence=facts.stated_as(x.text),
                                   citations=by_text[facts.stated_as(x.text)], status=x.status,
                                   stated_on=x.stated_on, ended_on=x.ended_on,
                                   ended_sentence=facts.stated_as(x.ended_by[0].text) if x.ended_by else "",
                                   ended_citations=by_text.get(facts.stated_as(x.ended_by[0].text), [])
                                   if x.ended_by else [])
                  for x in exposures if facts.stated_as(x.text) in by_text],
        lists_checked=checked,
        rules=[_rule_model(r, cited) for r in rules],
        ownership=[f.model_copy(update={"citations": sorted({cited[k] for c in f.contributions + f.unknown + f.path
                                                             if c.citation and (k := (c.citation.chunk_id, c.citation.start)) in cited})})
                   for f in findings],
    )
    briefing = renumber(briefing)
    for sec in briefing.sections:  # each computed finding cites the statements of its holdings
        if sec.title == OWNERSHIP:
            for s in sec.sentences:
                f = next((f for f in briefing.ownership if s.text == f"Computed: {f.sentence}"), None)
                if f is not None:
                    s.citations = f.citations
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
    queries = [entity, f"{entity} subsidiary supplier technology sanctions", f"{entity} added to the list",
               *[m.entry.name for m in subject.own[:2]]]
    for q in queries:
        usable, flagged = set_aside(rb.retriever.search(q, k=20, filters=filters).results)
        for r in usable:
            subject.results.setdefault(r.chunk_id, r)
        subject.aside.update((r.doc_id, r) for r in flagged)
    subject.about = [r for r in subject.results.values()
                     if r.doc_type != "list_entry" and names_any(r.text, subject.names)]
    return subject


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




def risk(rb, subject: Subject, listing_evs: list[Evidence], linked_listed: dict[str, Evidence],
         exposures: list[Exposure], facts: Facts, section: Draft, rules: list[ListRule] = (),
         findings=()) -> str:
    """The rating follows from the rules that apply to the lists the entity and its current links are on:
    each list's effect as the store states it (blocking: high; a securities or export restriction: medium),
    the 50 percent rule computed where it applies, then links to listed parties; a link a later source
    says ended does not count. The reasons are cited facts: each list's effect, and the sentences that say
    a rule does not apply to a list. Nothing in the store about the entity: unrated."""
    own, entity = subject.own, subject.entity
    own_nodes = {m.entry.name for m in own}
    current = [x for x in exposures if x.status != "ended"]
    listed_links = [x for x in current if x.listed] or ([] if exposures else list(linked_listed.values()))
    ended_listed = [x for x in exposures if x.listed and x.status == "ended"]
    own_rules = [r for r in rules if r.lst.own]
    blocked_self = [f for f in findings if f.status == "blocked" and (f.entity in own_nodes or f.entity == entity)]
    # the list entries' own measures where no passage states the list's effect (rated as before)
    own_lists = [fold(" ".join([m.entry.list or ""] + m.entry.measures)) for m in own]
    unread = any(any(b in l for b in BLOCKING_LISTS) for l in own_lists) and not any(r.effect for r in own_rules)

    def effect(r: ListRule) -> str:
        what = {"blocking": "blocks (freezes) what the parties on it own",
                "securities": "restricts trading in the securities of the companies on it",
                "export": "requires a licence to export items to the companies on it"}.get(r.kind)
        return f"{list_label(r.lst.name)}, which {what}" if what else list_label(r.lst.name)

    undecided = [f for f in findings if f.status == "undetermined" and (f.entity in own_nodes or f.entity == entity)]
    if blocked_self:
        rating, why = "high", f"{entity} is treated as blocked under the 50 percent rule (see the ownership section)"
    elif any(r.kind == "blocking" for r in own_rules) or unread:
        r = next((r for r in own_rules if r.kind == "blocking"), None)
        rating, why = "high", f"{entity} is on " + (effect(r) if r else "a blocking or asset-freeze list")
    elif own_rules or own:
        rating, why = "medium", f"{entity} is on " + (", ".join(effect(r) for r in own_rules) or "a restrictive list")
    elif listed_links:
        names = list(dict.fromkeys(x.party for x in current if x.listed))[:3]
        on = [effect(r) for r in rules if not r.lst.own and set(r.lst.parties) & set(names)]
        rating, why = "medium", (f"the sources link {entity} to a listed party" + (f" ({', '.join(names)})" if names else "")
                                 + (f" on {'; '.join(on)}" if on else ""))
    elif ended_listed:
        names = list(dict.fromkeys(f"{x.party} (ended, according to a source of {human_date(x.ended_on)})"
                                   if x.ended_on else x.party for x in ended_listed))[:3]
        rating, why = "low", f"the only links of {entity} to listed parties ended: {', '.join(names)}"
    elif subject.about or exposures:
        rating, why = "low", f"no listing of {entity} or of a party linked to it was found in the store"
    else:
        section.notes.append(f"Rating: {UNRATED} about {entity} (no list entry, passage or relation names it).")
        return "unrated"
    section.notes.append(f"Rating: {rating}, because {why}.")
    if undecided and rating != "high":
        section.notes.append(f"Whether {entity} is blocked under the 50 percent rule cannot be decided from the "
                             "sources: a blocked owner's share is not stated (see the ownership section).")
    if ended_listed and rating != "low":
        section.notes.append("Links that a later source says ended are not counted: "
                             + ", ".join(dict.fromkeys(f"{x.own_name} - {x.party}" for x in ended_listed)) + ".")
    # What each list does, and the rules the sources say do not apply to it, from the store's passages.
    for r in rules:
        if r.effect is not None and (r.lst.own or set(r.lst.parties) & {x.party for x in listed_links}):
            facts.add("Risk assessment", r.effect.text, [r.effect])
        for _rule, ev in r.not_applicable[:1]:
            facts.add("Risk assessment", ev.text, [ev])
    rule = rule_sentence(rb, subject, [r for r in rules if r.lst.own or set(r.lst.parties) & {x.party for x in listed_links}])
    if rule is not None:
        facts.add("Risk assessment", rule.text, [rule])
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


def open_questions(subject: Subject, link_evs: list[Evidence], section: Draft, exposures: list[Exposure] = ()) -> None:
    """What the sources leave unanswered."""
    entity = subject.entity
    if link_evs and not any(re.search(r"\d+(\.\d+)? ?(%|percent)", ev.text) for ev in link_evs):
        section.notes.append(f"The sources do not state ownership percentages for {entity}'s links.")
    if not any(m.entry.jurisdiction in ("EU", "UK") for m in subject.own):
        section.notes.append(f"The store holds no EU or UK listing of {entity}; that is not proof it is not listed "
                             "there.")
    unknown = [x for x in exposures if x.status == "unknown"]
    if unknown:
        section.notes.append("The currency of these links is unknown (no source of them is dated): "
                             + ", ".join(dict.fromkeys(x.party for x in unknown)) + ".")
    if link_evs:
        section.notes.append("A link counts as current when no later source in the store says it ended; the "
                             "sources may not report every change.")


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
        # The same drafter interface as answers: the model gets the typed summary and the passages.
        try:
            passages = [ev.result for ev in listing_evs + link_evs + linked][:6]
            req = DraftRequest(f"Summarise the sanctions exposure of {entity}.", passages, typed=section,
                               prompt="briefing", prompt_vars={"entity": entity, "section": "Summary"})
            llm_sum = drafter_for(rb, backend).draft(req)
            model, version = llm_sum.model, llm_sum.prompt_version
            checked = Assembler(rb, typed=TypedFacts([[m.entry for m in subject.own]])).sentences(llm_sum)
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


def _rule_model(r: ListRule, cited: dict) -> BriefingRule:
    def nums(evs):
        return sorted({cited[(e.result.chunk_id, e.start)] for e in evs if (e.result.chunk_id, e.start) in cited})

    return BriefingRule(list=r.lst.name, parties=r.lst.parties, effect=r.effect.text if r.effect else "",
                        effect_kind=r.kind, citations=nums([r.effect] if r.effect else []),
                        not_applicable=[e.text for _, e in r.not_applicable],
                        not_applicable_citations=nums([e for _, e in r.not_applicable]))


def renumber(b: Briefing) -> Briefing:
    """Citations numbered in reading order, each source once (the same quote of the same document, e.g.
    one list entry in two versions of a list, is one citation), each sentence's markers sorted."""
    order: dict[int, int] = {}
    by_key: dict[tuple, int] = {}
    old = {c.n: c for c in b.citations}

    def new_n(n: int) -> int:
        if n not in order:
            c = old[n]
            key = (c.title, c.source, c.quote, c.date, c.url)
            order[n] = by_key.setdefault(key, len(by_key) + 1)
        return order[n]

    def remap(ns) -> list[int]:
        return sorted({new_n(n) for n in ns if n in old})

    sections = [sec.model_copy(update={"sentences": [s.model_copy(update={"citations": remap(s.citations)})
                                                      for s in sec.sentences]}) for sec in b.sections]
    for n in sorted(old):  # citations no sentence shows (kept for the structured fields)
        new_n(n)
    citations, seen = [], set()
    for n, m in sorted(order.items(), key=lambda kv: kv[1]):
        if m not in seen:
            seen.add(m)
            citations.append(old[n].model_copy(update={"n": m}))
    return b.model_copy(update={
        "sections": sections, "citations": citations,
        "exposure": [x.model_copy(update={"citations": remap(x.citations), "ended_citations": remap(x.ended_citations)})
                     for x in b.exposure],
        "rules": [r.model_copy(update={"citations": remap(r.citations),
                                       "not_applicable_citations": remap(r.not_applicable_citations)}) for r in b.rules],
        "ownership": [f.model_copy(update={"citations": remap(f.citations)}) for f in b.ownership]})
