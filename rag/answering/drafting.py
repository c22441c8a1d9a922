"""One drafter interface for answers and briefings: a DraftRequest (the question, the plan, the typed facts
the list records state, the passages) in; sentences with the evidence they cite out, one at a time as they
are drafted, so the verifier can check each and the service stream it as soon as it passes.

- ExtractiveDrafter (the product; no model): the plan's typed facts first (rag/answering/facts.py), then the passage
  sentences that answer what the record leaves open; citations right by construction.
- LLMDrafter: any chat model (rag/answering/llm.py), given the plan, the typed facts and the passages, read as it
  streams; its sentences go through the same verifier (rag/answering/assemble.py), which removes what the cited
  passages do not support or what contradicts the typed facts.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

import prompts
from rag.core.dates import find_dates
from rag.entities.index import EntityMatch
from rag.answering.evidence import Draft, Evidence, passages_block
from rag.answering.facts import FactDrafter
from rag.core.models import Filters, SearchResult
from rag.entities.names import LIST_WORDS, common_words, fold, names_all, question_names
from rag.answering.plan import Plan, make_plan
from rag.core.text import STOPWORDS, keywords, looks_like_instruction, sentence_spans, statement_spans
from rag.answering.verify import strip_markers


# A reply that ends with a citation marker (and the full stop around it) and a space: its last sentence
# is complete, so it need not wait for the next one to start.
_CITED_END = re.compile(r"\]\s*[.!?]?\s+$")


@dataclass
class DraftRequest:
    """What a drafter gets: an answer's question, or a briefing section's task, and what to draft it from."""

    question: str
    passages: list[SearchResult]
    plan: Plan | None = None
    typed: Draft | None = None  # what the list records state (the extractive drafter's facts and notes)
    matches: list[EntityMatch] = field(default_factory=list)
    filters: Filters = field(default_factory=Filters)
    prompt: str = "answer"  # prompts/<name>.txt, for a model
    prompt_vars: dict = field(default_factory=dict)


class Drafter(Protocol):
    backend: str

    def draft(self, req: DraftRequest) -> Draft:
        """The whole draft (sentences, notes, refused)."""

    def empty(self, req: DraftRequest) -> Draft:
        """The draft `stream` fills: backend, model and prompt version set, no sentence yet."""

    def stream(self, req: DraftRequest, draft: Draft) -> Iterator[tuple[str, list[Evidence]]]:
        """The draft's sentences as they are written, each also appended to `draft.sentences`."""


def drafter_for(rb, backend: str) -> Drafter:
    return ExtractiveDrafter(rb) if backend == "extractive" else LLMDrafter(rb, backend)


# --- extractive ---------------------------------------------------------------------------------------

class ExtractiveDrafter:
    """Answers from the plan and the passages; a briefing section's typed draft as it stands."""

    backend = "extractive"

    def __init__(self, rb):
        self.rb = rb

    def draft(self, req: DraftRequest) -> Draft:
        if req.plan is None and req.typed is not None:
            return req.typed
        return extractive_draft(self.rb, req.question, req.passages, req.matches, req.filters, req.plan)

    def empty(self, req: DraftRequest) -> Draft:
        return Draft(prompt_version=EXTRACTIVE_VERSION)

    def stream(self, req: DraftRequest, draft: Draft) -> Iterator[tuple[str, list[Evidence]]]:
        whole = self.draft(req)
        draft.notes, draft.refused, draft.lead_notes = whole.notes, whole.refused, whole.lead_notes
        for s in whole.sentences:
            draft.sentences.append(s)
            yield s


EXTRACTIVE_VERSION = "extractive-v2"  # recorded as the prompt version of extractive answers
# Below this relevance no evidence sentence is good enough to state; the answer refuses.
REFUSE_BELOW = 0.42
MAX_SENTENCES = 4
# Question words that say nothing about what is asked ("how many", "what kind").
VAGUE = {"many", "much", "kind", "type", "current", "currently", "ever", "also", "still", "now"}


def extractive_draft(rb, question: str, results: list[SearchResult], matches: list[EntityMatch],
                     filters: Filters, plan: Plan | None = None) -> Draft:
    """The plan's facts first (rag/answering/facts.py: typed fields, relations, listed or not), then passages only
    for what they leave unanswered; "the sources do not say" when nothing states the asked fact."""
    draft = Draft(prompt_version=EXTRACTIVE_VERSION)
    plan = plan or make_plan(rb, question, filters)
    if plan.needs_entity:
        draft.notes.append("Which entity do you mean? The question refers to one without naming it, and there is "
                           "no earlier question in this conversation to take it from.")
        return draft
    facts = FactDrafter(rb, plan, filters, results).draft()
    draft.sentences += facts.sentences
    draft.notes += facts.notes
    draft.lead_notes = bool(facts.notes)
    if facts.unanswered or not plan.asks:
        # Passages, for what the record and the relations leave open: entries the plan did not resolve
        # to are not evidence (no neighbouring entries), and an entry already stated adds only its other sentences.
        named = {i for e in plan.entities for i in e.entry_ids}
        usable = [r for r in results if r.doc_type != "list_entry" or r.doc_id in named]
        heads = {r.chunk_id for r in usable if r.doc_id in facts.entities_stated}
        entity_matches = [m for m in matches if m.entry.doc_id in named]
        picked = best_sentences(rb, question, usable, entity_matches, skip_heads=heads)
        if not picked and any(e.entry_ids for e in plan.entities) and any(a.field == "general" for a in plan.asks):
            # A question about an entity in general ("what did OFAC say about Hikvision?", "what happened
            # with SenseTime?"): what the passages say about it, closest to the question first.
            about = " ".join(e.text for e in plan.entities if e.entry_ids)
            picked = [ev for ev in best_sentences(rb, about, usable, entity_matches, skip_heads=heads)]
        # A question about one day ("the close on 31 December 2024") is answered only by a passage of that
        # day or one that names it.
        days = find_dates(question)
        if days:
            picked = [ev for ev in picked if days & (find_dates(ev.text) | {_day(ev.result.date)})]
        have = {t for t, _ in draft.sentences}
        for ev in picked:
            if len(draft.sentences) >= MAX_SENTENCES:
                break
            if ev.text not in have:
                draft.sentences.append((ev.text, [ev]))
    parties = plan.two_parties()
    if parties:
        # "What share of X does Y own?": only a sentence naming both answers it; one about X or Y alone
        # is about another relation.
        draft.sentences = [(t, evs) for t, evs in draft.sentences if all(names_all(t, p) for p in parties)]
        if not draft.sentences and not draft.notes:
            draft.notes.append(f"The sources do not say how {parties[0]} and {parties[1]} are related (looked at "
                               f"the relations store and the passages about each).")
            draft.refused = True
    if not draft.sentences and facts.not_stated:
        draft.notes.append("The sources do not say " + "; ".join(facts.not_stated) + ".")
        draft.refused = True
    if not draft.sentences and not draft.notes:
        draft.refused = True
    if not draft.sentences and not looks_english(question):
        draft.refused = True
        draft.notes.insert(0, "The question does not look like English, and regbrief reads questions in English "
                              "(names may be written in any language). Please ask again in English, for "
                              "example: \"Is <name> on a sanctions list?\"")
    return draft


def looks_english(question: str) -> bool:
    """False for a question largely in another script, or with two or more lower-case words and no English
    word among them ("Est-ce que SenseTime est sanctionnée ?", "Ist Huawei auf der SDN-Liste?")."""
    letters = [c for c in question if c.isalpha()]
    if letters and sum(c.isascii() or "\u00c0" <= c <= "\u024f" for c in letters) < 0.7 * len(letters):
        return False
    lower = [w for w in re.findall(r"[^\W\d_]+", question) if w.islower()]
    english = common_words() | STOPWORDS
    return len(lower) < 2 or any(w in english for w in lower)


def _day(value) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def best_sentences(rb, question: str, results: list[SearchResult], matches: list[EntityMatch],
                   skip_heads: set[str] = frozenset()) -> list[Evidence]:
    # Words, folded one by one ("SenseTime's" is "sensetime": a possessive is no term of its own).
    q_terms = list(dict.fromkeys(w for t in keywords(question) for w in fold(t).split()
                                 if len(w) > 1 and w not in {"sanctioned", "listed"}))
    if not q_terms or not results:
        return []
    entity_terms = {t for m in matches for t in m.text_span.split()}
    named_docs = {m.entry.doc_id for m in matches[:3]}
    named = {w for n in question_names(question) for w in fold(n).split()}
    # What the question asks about beyond the names in it ("revenue", "chief executive"): evidence
    # must speak to at least one of these, or it is only about the entity, not an answer.
    focus = [t for t in q_terms if t not in named and t not in entity_terms and t not in LIST_WORDS
             and t not in VAGUE]
    candidates: list[Evidence] = []
    for rank, r in enumerate(results):
        spans = statement_spans(r.text, min_chars=12 if r.doc_type == "list_entry" else 25)
        if r.chunk_id in skip_heads:
            spans = spans[1:]
        elif r.doc_type == "list_entry" and r.doc_id not in named_docs:
            spans = spans[:1]  # an entry the question does not name: its head, never its addresses
        for a, b in spans:
            s = r.text[a:b]
            if looks_like_instruction(s):
                continue
            words = set(fold(s).split())
            matched = [t for t in q_terms if t in words or any(w.startswith(t[:6]) for w in words if len(t) >= 6)]
            hits = len(matched)
            if not hits:
                continue
            if r.doc_type == "list_entry" and all(t in LIST_WORDS for t in matched):
                continue  # an entry that shares only "SDN list" with the question is not evidence
            if focus and not any(t in matched for t in focus):
                continue
            overlap = hits / len(q_terms) + (0.2 if entity_terms & words else 0.0)
            candidates.append(Evidence(s, r, a, b, overlap - 0.01 * rank))
    if not candidates:
        return []
    candidates.sort(key=lambda e: -e.score)
    candidates = candidates[:16]
    vecs = rb.embedder.encode([question] + [c.text for c in candidates])
    qv, cv = vecs[0], vecs[1:]
    sims = cv @ qv
    for c, sim in zip(candidates, sims):
        c.score = 0.6 * float(sim) + 0.4 * min(c.score, 1.0)
    order = sorted(range(len(candidates)), key=lambda i: -candidates[i].score)
    chosen: list[int] = []
    for i in order:
        if candidates[i].score < REFUSE_BELOW:
            break
        if any(float(cv[i] @ cv[j]) > 0.88 for j in chosen):
            continue  # the same fact said twice
        chosen.append(i)
        if len(chosen) == MAX_SENTENCES:
            break
    return [candidates[i] for i in chosen]


# --- a chat model -------------------------------------------------------------------------------------

class LLMDrafter:
    """A chat model's draft. It gets the plan (what is asked, about whom) and the typed facts, with their
    entries as the first passages, as well as the retrieved passages; it is read sentence by sentence as
    the model streams, so the first verified sentence need not wait for the last one."""

    def __init__(self, rb, backend: str):
        from rag.answering.llm import chat_model

        self.rb, self.backend = rb, backend
        self.llm, self.model = chat_model(rb.settings, backend)

    def prompt(self, req: DraftRequest) -> tuple[str, list[SearchResult], str]:
        """(prompt text, the numbered passages it shows, prompt version)."""
        template, version = prompts.load(req.prompt)
        typed = req.typed
        first = list({ev.result.chunk_id: ev.result for _, evs in (typed.sentences if typed else [])
                      for ev in evs}.values())
        passages = (first + [r for r in req.passages if r.chunk_id not in {f.chunk_id for f in first}])[:6]
        asked = req.question
        plan = req.plan
        if plan is not None and plan.asks:
            wants = "; ".join(f"{a.field} of {plan.entities[a.entity].text if a.entity is not None else 'the subject'}"
                              for a in plan.asks)
            asked += f"\n(Answer first with: {wants}.)"
        if typed is not None and (typed.sentences or typed.notes):
            asked += "\n(Facts from the list records: " + " ".join([t for t, _ in typed.sentences] + typed.notes) + ")"
        text = template.format(passages=passages_block(passages), question=asked, **req.prompt_vars)
        return text, passages, version

    def draft(self, req: DraftRequest) -> Draft:
        """The whole reply at once (one request, no stream)."""
        draft = self.empty(req)
        text, passages, draft.prompt_version = self.prompt(req)
        reply = self.llm.invoke(text).content or ""
        for _ in self._read([reply], passages, draft):
            pass
        return draft

    def empty(self, req: DraftRequest) -> Draft:
        return Draft(backend=self.backend, model=self.model, prompt_version=prompts.load(req.prompt)[1])

    def stream(self, req: DraftRequest, draft: Draft) -> Iterator[tuple[str, list[Evidence]]]:
        text, passages, draft.prompt_version = self.prompt(req)
        yield from self._read((chunk.content or "" for chunk in self.llm.stream(text)), passages, draft)

    @staticmethod
    def _read(chunks, passages: list[SearchResult], draft: Draft) -> Iterator[tuple[str, list[Evidence]]]:
        """Sentences out of the reply's pieces as each sentence is complete, with the passages it cites."""
        buf, done = "", 0  # the reply so far, and how much of it has been read into sentences

        def read(upto_end: bool) -> Iterator[tuple[str, list[Evidence]]]:
            nonlocal done
            spans = sentence_spans(buf[done:])
            if not upto_end and not _CITED_END.search(buf):
                spans = spans[:-1]  # the last one may still grow (its [n] may be still to come)
            end = done
            for a, b in spans:
                sentence, nums = strip_markers(buf[done + a:done + b])
                end = done + b
                if not sentence:
                    continue
                cited = [Evidence(sentence, passages[n - 1], 0, len(passages[n - 1].text))
                         for n in dict.fromkeys(nums) if 1 <= n <= len(passages)]
                draft.sentences.append((sentence, cited))
                yield sentence, cited
            done = end

        for piece in chunks:
            buf += piece
            if buf.lstrip().upper().startswith("INSUFFICIENT"):
                draft.refused = True
                return
            yield from read(upto_end=False)
        yield from read(upto_end=True)


def llm_draft(rb, question: str, results: list[SearchResult], backend: str, plan: Plan | None = None,
              typed: Draft | None = None) -> Draft:
    """A model's whole draft of an answer (LLMDrafter.draft), for callers that need no stream."""
    return LLMDrafter(rb, backend).draft(DraftRequest(question, results, plan=plan, typed=typed))
