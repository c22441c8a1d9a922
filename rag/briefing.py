"""Entity -> sections -> cited, verified briefing; rendered as Markdown, standalone HTML or JSON.

Entity resolution first (the name and its aliases against the list entries in the store), then the
evidence: passages that name the entity, the parties those passages link it to, and those parties'
list entries. Every factual sentence is cited and goes through the same verifier as answers.
"""
from __future__ import annotations

import datetime as dt
import html
import re
import uuid

import prompts
from rag.answer import (Assembler, Draft, Evidence, _chunks_of_docs, _passes, passages_block, set_aside,
                        set_aside_note)
from rag.dates import find_dates, parse_date
from rag.entities import EntityMatch, listing_sentence
from rag.models import Briefing, BriefingSection, Filters, SearchResult
from rag.text import fold, looks_like_instruction, mentions, sentence_spans, statement_spans

RELATION = re.compile(
    r"\b(subsidiar\w*|owns?|owned|ownership|stake|shareholder|parent|affiliate\w*|supplier\w*|suppl(?:y|ies|ied)|"
    r"uses?|using|used|technology from|provid\w+|partner\w*|customer\w*|client\w*|director\w*|officer\w*|"
    r"invest\w*|joint venture|acquir\w*|contract\w*)\b", re.I)
BLOCKING_LISTS = ("sdn", "asset freeze", "blocked", "eu", "uk", "ofsi")


def build_briefing(rb, entity: str, as_of: dt.date | None = None, *, backend: str | None = None,
                   record: bool = True) -> Briefing:
    backend = backend or rb.settings.llm
    filters = Filters(until=as_of)
    index = rb.store.entities
    own: list[EntityMatch] = index.find_in_text(
        entity, allowed=lambda e: _passes(filters, e.date, "list_entry", e.jurisdiction))
    names = [entity] + [m.matched_name for m in own] + [m.text_span for m in own]
    names = list(dict.fromkeys(n for n in names if n))

    # Evidence: passages that name the entity (any of its names).
    results: dict[str, SearchResult] = {}
    aside: dict[str, SearchResult] = {}
    for q in [entity, f"{entity} subsidiary supplier technology sanctions", *[m.entry.name for m in own[:2]]]:
        usable, flagged = set_aside(rb.retriever.search(q, k=20, filters=filters).results)
        for r in usable:
            results.setdefault(r.chunk_id, r)
        aside.update((r.doc_id, r) for r in flagged)
    own_chunks = {r.doc_id: r for r in _chunks_of_docs(rb, [m.entry.doc_id for m in own])} if own else {}
    about = [r for r in results.values() if r.doc_type != "list_entry" and mentions(r.text, names)]

    sections: dict[str, Draft] = {t: Draft() for t in (
        "Summary", "Sanctions and listings", "Links to other parties", "Timeline", "Risk assessment",
        "Open questions")}

    # Sanctions and listings: the entity's own list entries, rendered from their metadata.
    listing_evs: list[Evidence] = []
    for m in own:
        r = own_chunks.get(m.entry.doc_id)
        if r is None:
            continue
        a, b = (sentence_spans(r.text)[:1] or [(0, len(r.text))])[0]
        ev = Evidence(listing_sentence(m.entry), r, a, b)
        listing_evs.append(ev)
        sections["Sanctions and listings"].sentences.append((ev.text, [ev]))
    if not own:
        lists = ", ".join(x["list"] for x in index.lists_loaded()) or "none"
        sections["Sanctions and listings"].notes.append(
            f"No list entry in the store matches {entity} (lists loaded: {lists}).")

    # Links: sentences that name the entity and a relation; then the listings of the parties named.
    link_evs: list[Evidence] = []
    linked_listed: dict[str, Evidence] = {}
    own_ids = {m.entry.doc_id for m in own}
    frontier = [(r, names) for r in about]
    seen_sentences: set[str] = set()
    for depth in range(2):
        next_names: list[str] = []
        for r, ns in frontier:
            for a, b in statement_spans(r.text):
                s = r.text[a:b]
                if (s in seen_sentences or not mentions(s, ns) or not RELATION.search(s)
                        or looks_like_instruction(s)):
                    continue
                seen_sentences.add(s)
                link_evs.append(Evidence(s, r, a, b))
                for m in index.find_in_text(s, allowed=lambda e: _passes(filters, e.date, "list_entry", e.jurisdiction)):
                    if m.entry.doc_id in own_ids or m.entry.doc_id in linked_listed:
                        continue
                    chunk = _chunks_of_docs(rb, [m.entry.doc_id])
                    if chunk:
                        ca, cb = (sentence_spans(chunk[0].text)[:1] or [(0, len(chunk[0].text))])[0]
                        linked_listed[m.entry.doc_id] = Evidence(listing_sentence(m.entry), chunk[0], ca, cb)
                next_names += [n for n in re.findall(r"\b[A-Z][\w&.-]*(?:\s+[A-Z][\w&.-]*)+", s) if not mentions(n, ns)]
        if depth == 0 and next_names:
            # Second hop: passages about the parties the first-hop sentences name.
            hop = list(dict.fromkeys(next_names))[:4]
            frontier = [(r, hop) for r in results.values() if r.doc_type != "list_entry" and mentions(r.text, hop)]
        else:
            break
    for ev in link_evs[:6]:
        sections["Links to other parties"].sentences.append((ev.text, [ev]))
    for ev in list(linked_listed.values())[:4]:
        sections["Links to other parties"].sentences.append((ev.text, [ev]))
    if not link_evs:
        sections["Links to other parties"].notes.append(
            f"The sources in the store name no owners, subsidiaries, suppliers, customers or partners of {entity}.")

    # Timeline: dated events from the evidence, in date order.
    dated: list[tuple[dt.date, Evidence]] = []
    for ev in link_evs + [Evidence(r.text[a:b], r, a, b) for r in about for a, b in statement_spans(r.text)
                          if mentions(r.text[a:b], names)]:
        for d in sorted(find_dates(ev.text))[:1]:
            if not as_of or d <= as_of:
                dated.append((d, ev))
    for m, ev in zip(own, listing_evs):
        if listed := parse_date(m.entry.listing_date):
            dated.append((listed, ev))
    seen: set[str] = set()
    for d, ev in sorted(dated, key=lambda x: (x[0], x[1].text)):
        if ev.text not in seen:
            seen.add(ev.text)
            sections["Timeline"].sentences.append((ev.text, [ev]))
        if len(seen) >= 8:
            break

    # Risk: the rating follows from listings (own, then linked); the reasons are the cited facts.
    own_lists = [fold(m.entry.list or "") + " " + fold(str(m.entry.metadata.get("measure", ""))) for m in own]
    if any(any(b in l for b in BLOCKING_LISTS) for l in own_lists):
        rating, why = "high", f"{entity} itself is on a blocking or asset-freeze list"
    elif own:
        rating, why = "medium", f"{entity} itself is on a restrictive list that is not an asset freeze"
    elif linked_listed:
        rating, why = "medium", f"the sources link {entity} to a listed party"
    else:
        rating, why = "low", f"no listing of {entity} or of a party linked to it was found in the store"
    risk = sections["Risk assessment"]
    risk.notes.append(f"Rating: {rating}, because {why}.")
    for ev in (listing_evs + list(linked_listed.values()))[:3]:
        risk.sentences.append((ev.text, [ev]))
    # What a link implies is stated only when a document in the store says so (e.g. the 50 percent rule).
    if linked_listed or own:
        rule = set_aside(rb.retriever.search("50 percent rule ownership subsidiaries list", k=5,
                                             filters=filters).results)[0]
        for r in rule:
            for a, b in statement_spans(r.text):
                if re.search(r"50 ?(percent|%)", r.text[a:b], re.I) and r.doc_type != "list_entry":
                    risk.sentences.append((r.text[a:b], [Evidence(r.text[a:b], r, a, b)]))
                    break
            else:
                continue
            break

    # Open questions: what the sources leave unanswered.
    oq = sections["Open questions"]
    if link_evs and not any(re.search(r"\d+(\.\d+)? ?(%|percent)", ev.text) for ev in link_evs):
        oq.notes.append(f"The sources do not state ownership percentages for {entity}'s links.")
    if not any(m.entry.jurisdiction in ("EU", "UK") for m in own):
        oq.notes.append(f"The store holds no EU or UK listing of {entity}; that is not proof it is not listed there.")
    oq.notes.append("Whether the links described are current is not established by the sources.")

    # Summary: the first listing fact and the first link, or an LLM's summary that passes the verifier.
    summary = sections["Summary"]
    summary.sentences += [(ev.text, [ev]) for ev in (listing_evs[:1] + link_evs[:1] + list(linked_listed.values())[:1])]
    model, version = None, "briefing-extractive-v1"
    notes: list[str] = [n for n in [set_aside_note(list(aside.values()))] if n]
    if backend != "extractive":
        try:
            passages = [ev.result for ev in listing_evs + link_evs + list(linked_listed.values())][:6]
            llm_sum = _llm_summary(rb, entity, passages, backend)
            model, version = llm_sum.model, llm_sum.prompt_version
            checked = Assembler(rb).sentences(llm_sum)
            if any(s.verdict == "supported" for s in checked):
                summary.sentences = [t for t, s in zip(llm_sum.sentences, checked) if s.verdict == "supported"]
                summary.backend = backend
            else:
                notes.append(f"The {backend} summary had no verified sentence; the extractive summary is used.")
        except Exception as e:
            notes.append(f"The {backend} model could not be used ({type(e).__name__}); extractive summary used.")
    if not summary.sentences:
        summary.notes.append(f"The sources in the store say little about {entity}.")

    assembler = Assembler(rb)
    out_sections = [BriefingSection(title=t, sentences=assembler.sentences(d)) for t, d in sections.items()]
    for sec in out_sections:
        sec.sentences = [s for s in sec.sentences if s.verdict != "removed"]
    briefing = Briefing(
        id=uuid.uuid4().hex[:12], entity=entity, resolved=[m.entry.name for m in own], as_of=as_of, rating=rating,
        sections=out_sections, citations=assembler.citations, backend=backend, model=model,
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
