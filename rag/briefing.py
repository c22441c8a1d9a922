"""Entity -> sections -> cited, verified briefing; rendered as Markdown, standalone HTML or JSON.

Entity resolution first (the name and its aliases against the list entries in the store), then the
evidence: passages that name the entity, the parties they relate it to (relations extracted and verified as
rag/relations.py does, so a negated or unstated relation links nothing), and those parties' list entries. Every
factual sentence is cited and goes through the same verifier as answers. One function per section.
"""
from __future__ import annotations

import datetime as dt
import html
import re
import uuid
from dataclasses import dataclass, field

import prompts
from rag.assemble import Assembler
from rag.dates import find_dates
from rag.entities import EntityMatch, listing_sentence
from rag.evidence import (Draft, Evidence, chunks_of_docs, passages_block, passes_filters, set_aside,
                          set_aside_note)
from rag.models import Briefing, BriefingSection, Filters, SearchResult
from rag.relations import extract_sentence
from rag.names import core_tokens, distinctive, fold, name_key, names_any
from rag.text import looks_like_instruction, sentence_spans, statement_spans

SECTIONS = ("Summary", "Sanctions and listings", "Links to other parties", "Timeline", "Risk assessment",
            "Open questions")
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


def build_briefing(rb, entity: str, as_of: dt.date | None = None, *, backend: str | None = None,
                   record: bool = True) -> Briefing:
    backend = backend or rb.settings.llm
    subject = find_subject(rb, entity, Filters(until=as_of))
    sections: dict[str, Draft] = {t: Draft() for t in SECTIONS}
    listing_evs = listings(rb, subject, sections["Sanctions and listings"])
    link_evs, linked_listed = links(rb, subject, sections["Links to other parties"])
    timeline(subject, link_evs, listing_evs, as_of, sections["Timeline"])
    rating = risk(rb, subject, listing_evs, linked_listed, sections["Risk assessment"])
    open_questions(subject, link_evs, sections["Open questions"])
    model, version, notes = summary(rb, subject, backend, listing_evs, link_evs, list(linked_listed.values()),
                                    sections["Summary"])
    assembler = Assembler(rb)
    out_sections = [BriefingSection(title=t, sentences=[s for s in assembler.sentences(d) if s.verdict != "removed"])
                    for t, d in sections.items()]
    briefing = Briefing(
        id=uuid.uuid4().hex[:12], entity=entity, resolved=[m.entry.name for m in subject.own], as_of=as_of,
        rating=rating, sections=out_sections, citations=assembler.citations, backend=backend, model=model,
        prompt_version=version, notes=notes, created_at=dt.datetime.now(dt.timezone.utc),
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


def listings(rb, subject: Subject, section: Draft) -> list[Evidence]:
    """Sanctions and listings: the entity's own list entries."""
    chunks = {r.doc_id: r for r in chunks_of_docs(rb, [m.entry.doc_id for m in subject.own])} if subject.own else {}
    evs = [_listing_evidence(m.entry, chunks[m.entry.doc_id]) for m in subject.own if m.entry.doc_id in chunks]
    section.sentences += [(ev.text, [ev]) for ev in evs]
    if not subject.own:
        lists = ", ".join(x["list"] for x in rb.store.entities.lists_loaded()) or "none"
        section.notes.append(f"No list entry in the store matches {subject.entity} (lists loaded: {lists}).")
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


def links(rb, subject: Subject, section: Draft) -> tuple[list[Evidence], dict[str, Evidence]]:
    """Links to other parties: sentences that state a relation of the entity, and the list entries of the
    parties they relate it to; a second hop follows those parties through the passages retrieved."""
    link_evs: list[Evidence] = []
    linked_listed: dict[str, Evidence] = {}
    own_ids = {m.entry.doc_id for m in subject.own}
    frontier = [(r, subject.names) for r in subject.about]
    seen: set[str] = set()
    for depth in range(2):
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
                link_evs.append(Evidence(s, r, a, b))
                parties += others
                for party in others:
                    for m in rb.store.entities.find_in_text(party, allowed=subject.allowed):
                        if m.entry.doc_id not in own_ids and m.entry.doc_id not in linked_listed:
                            if chunk := chunks_of_docs(rb, [m.entry.doc_id]):
                                linked_listed[m.entry.doc_id] = _listing_evidence(m.entry, chunk[0])
        if depth or not parties:
            break
        hop = list(dict.fromkeys(parties))[:4]
        frontier = [(r, hop) for r in subject.results.values() if r.doc_type != "list_entry" and names_any(r.text, hop)]
    section.sentences += [(ev.text, [ev]) for ev in link_evs[:6] + list(linked_listed.values())[:4]]
    if not link_evs:
        section.notes.append(f"The sources in the store name no owners, subsidiaries, suppliers, customers or "
                             f"partners of {subject.entity}.")
    return link_evs, linked_listed


def timeline(subject: Subject, link_evs: list[Evidence], listing_evs: list[Evidence], as_of: dt.date | None,
             section: Draft) -> None:
    """Timeline: dated events from the evidence, in date order."""
    own = subject.own
    dated: list[tuple[dt.date, Evidence]] = []
    for ev in link_evs + [Evidence(r.text[a:b], r, a, b) for r in subject.about for a, b in statement_spans(r.text)
                          if names_any(r.text[a:b], subject.names)]:
        for d in sorted(find_dates(ev.text))[:1]:
            if not as_of or d <= as_of:
                dated.append((d, ev))
    for m, ev in zip(own, listing_evs):
        if m.entry.listing_date:
            dated.append((m.entry.listing_date, ev))
    seen: set[str] = set()
    for d, ev in sorted(dated, key=lambda x: (x[0], x[1].text)):
        if ev.text not in seen:
            seen.add(ev.text)
            section.sentences.append((ev.text, [ev]))
        if len(seen) >= 8:
            break


def risk(rb, subject: Subject, listing_evs: list[Evidence], linked_listed: dict[str, Evidence],
         section: Draft) -> str:
    """The rating follows from listings (own, then of parties a stated relation links it to); the reasons
    are the cited facts."""
    own, entity = subject.own, subject.entity
    own_lists = [fold(" ".join([m.entry.list or ""] + m.entry.measures)) for m in own]
    if any(any(b in l for b in BLOCKING_LISTS) for l in own_lists):
        rating, why = "high", f"{entity} itself is on a blocking or asset-freeze list"
    elif own:
        rating, why = "medium", f"{entity} itself is on a restrictive list that is not an asset freeze"
    elif linked_listed:
        rating, why = "medium", f"the sources link {entity} to a listed party"
    else:
        rating, why = "low", f"no listing of {entity} or of a party linked to it was found in the store"
    section.notes.append(f"Rating: {rating}, because {why}.")
    for ev in (listing_evs + list(linked_listed.values()))[:3]:
        section.sentences.append((ev.text, [ev]))
    # What a link implies is stated only when a document in the store says so (e.g. the 50 percent rule).
    if linked_listed or own:
        rule = set_aside(rb.retriever.search("50 percent rule ownership subsidiaries list", k=5,
                                             filters=subject.filters).results)[0]
        for r in rule:
            stated = [(a, b) for a, b in statement_spans(r.text) if re.search(r"50 ?(percent|%)", r.text[a:b], re.I)]
            if stated and r.doc_type != "list_entry":
                a, b = stated[0]
                section.sentences.append((r.text[a:b], [Evidence(r.text[a:b], r, a, b)]))
                break
    return rating


def open_questions(subject: Subject, link_evs: list[Evidence], section: Draft) -> None:
    """What the sources leave unanswered."""
    entity = subject.entity
    if link_evs and not any(re.search(r"\d+(\.\d+)? ?(%|percent)", ev.text) for ev in link_evs):
        section.notes.append(f"The sources do not state ownership percentages for {entity}'s links.")
    if not any(m.entry.jurisdiction in ("EU", "UK") for m in subject.own):
        section.notes.append(f"The store holds no EU or UK listing of {entity}; that is not proof it is not listed "
                             "there.")
    section.notes.append("Whether the links described are current is not established by the sources.")


def summary(rb, subject: Subject, backend: str, listing_evs: list[Evidence], link_evs: list[Evidence],
            linked: list[Evidence], section: Draft) -> tuple[str | None, str, list[str]]:
    """The first listing fact and the first link, or an LLM's summary that passes the verifier;
    (model, prompt version, notes on how it was made)."""
    section.sentences += [(ev.text, [ev]) for ev in (listing_evs[:1] + link_evs[:1] + linked[:1])]
    model, version = None, "briefing-extractive-v1"
    notes: list[str] = [n for n in [set_aside_note(list(subject.aside.values()))] if n]
    if backend != "extractive":
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
    if not section.sentences:
        section.notes.append(f"The sources in the store say little about {subject.entity}.")
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

def _sentence_md(s) -> str:
    marks = "".join(f"[{n}]" for n in s.citations)
    return f"{s.text}{' ' + marks if marks else ''}"


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
            lines += [f"- {_sentence_md(s)}" for s in sec.sentences] or ["- (nothing in the sources)"]
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
                body.append(f"<li>{e(s.text)} {marks}</li>")
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
                 ".rating.low{color:#070}:target{background:#fff3c4}")
        return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><meta name='viewport' "
                f"content='width=device-width,initial-scale=1'><title>Risk briefing: {e(b.entity)}</title>"
                f"<style>{style}</style></head><body>{''.join(body)}</body></html>\n")
    raise ValueError(f"unknown briefing format {fmt!r} (md, html or json)")
