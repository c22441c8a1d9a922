"""The dated events about the entity, in date order, each event once."""
from __future__ import annotations

import datetime as dt
import re

from rag.briefing.facts import _NEGATED, Exposure, Subject, is_headline, supported_alone
from rag.core.dates import find_dates
from rag.answering.evidence import Draft, Evidence
from rag.entities.names import fold, names_any
from rag.core.text import looks_like_instruction, statement_spans


def _event_date(sentence: str, names: list[str]) -> dt.date | None:
    """The date of the event a sentence tells about the entity: the written date nearest to its name."""
    from rag.core.dates import _TEXT, _from_match  # the date forms the project reads

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
        if is_headline(ev.result, ev.start) or "\n" in text.strip() or _NEGATED.search(text) or looks_like_instruction(text) or not names_any(text, names):
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
        if x.via is None and x.ended_by and x.ended_on:  # the end of a relation, as the later source reports it
            dated.append((x.ended_on, "reported", x.ended_by[0]))
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
