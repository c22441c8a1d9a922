"""One drafter interface for answers and briefings: a DraftRequest (the question, the plan, the typed facts
the list records state, the passages) in; sentences with the evidence they cite out, one at a time as they
are drafted, so the verifier can check each and the service stream it as soon as it passes.

- ExtractiveDrafter (the product; no model): each part of the question answered from the sentences the reader
  scores best (rag/answering/read.py), or from the typed list fact when the part asks for a field the record
  states (rag/answering/facts.py); citations right by construction.
- LLMDrafter: any chat model (rag/answering/llm.py), given the plan, the typed facts and the passages, read as it
  streams; its sentences go through the same verifier (rag/answering/assemble.py), which removes what the cited
  passages do not support or what contradicts the typed facts.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

import prompts
from rag.answering.evidence import EXTRACTIVE_VERSION, Draft, Evidence, passages_block
from rag.answering.facts import FactDrafter
from rag.core.models import Filters, SearchResult
from rag.entities.entry_facts import identifier_words
from rag.entities.names import common_words, mentions
from rag.answering.plan import Plan, make_plan
from rag.core.text import STOPWORDS, sentence_spans
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
        return extractive_draft(self.rb, req.question, req.passages, req.filters, req.plan)

    def empty(self, req: DraftRequest) -> Draft:
        return Draft(prompt_version=EXTRACTIVE_VERSION)

    def stream(self, req: DraftRequest, draft: Draft) -> Iterator[tuple[str, list[Evidence]]]:
        whole = self.draft(req)
        draft.notes, draft.refused, draft.lead_notes = whole.notes, whole.refused, whole.lead_notes
        for s in whole.sentences:
            draft.sentences.append(s)
            yield s




def extractive_draft(rb, question: str, results: list[SearchResult], filters: Filters,
                     plan: Plan | None = None) -> Draft:
    """Read, then answer: the typed facts of the record for each part of the question that asks for a list
    field (rag/answering/facts.py), the passage sentences the reader finds best for every other part
    (rag/answering/read.py), and "the sources do not say <that part>" for a part nothing answers."""
    from rag.answering.read import candidates, compose

    plan = plan or make_plan(rb, question, filters)
    if plan.needs_entity:
        draft = Draft(prompt_version=EXTRACTIVE_VERSION)
        draft.notes.append("Which entity do you mean? The question refers to one without naming it, and there is "
                           "no earlier question in this conversation to take it from.")
        return draft
    facts = FactDrafter(rb.store, rb.links, plan, filters, results).draft()
    # Entries the plan did not resolve to are not evidence (no neighbouring entries), and an entry already
    # stated adds only its other sentences.
    named = {i for e in plan.entities for i in e.entry_ids}
    heads = {r.chunk_id for r in results if r.doc_id in facts.entities_stated}
    draft = compose(question, plan, facts, candidates(results, named, heads), rb.embedder,
                    acronyms(plan, results), identifier_words(rb.store.entities))
    if not draft.sentences and not looks_english(question):
        draft.refused = True
        draft.notes.insert(0, "The question does not look like English, and regbrief reads questions in English "
                              "(names may be written in any language). Please ask again in English, for "
                              "example: \"Is <name> on a sanctions list?\"")
    return draft


def acronyms(plan: Plan, results: list[SearchResult]) -> dict[str, list[str]]:
    """The names the passages spell out for a short name the question writes ("Japan Computer Vision Corp.
    (JCV)" for "JCV")."""
    short = {e.text for e in plan.entities if re.fullmatch(r"[A-Z][A-Z0-9&]{1,7}", e.text)}
    out: dict[str, list[str]] = {}
    if not short:
        return out
    for r in results:
        if r.doc_type == "list_entry":
            continue
        for m in mentions(r.text):
            if m.acronym in short:
                out.setdefault(m.acronym, [])
                if m.text not in out[m.acronym]:
                    out[m.acronym].append(m.text)
    return out


def looks_english(question: str) -> bool:
    """False for a question largely in another script, or with two or more lower-case words and no English
    word among them ("Est-ce que SenseTime est sanctionnée ?", "Ist Huawei auf der SDN-Liste?")."""
    letters = [c for c in question if c.isalpha()]
    if letters and sum(c.isascii() or "\u00c0" <= c <= "\u024f" for c in letters) < 0.7 * len(letters):
        return False
    lower = [w for w in re.findall(r"[^\W\d_]+", question) if w.islower()]
    english = common_words() | STOPWORDS
    return len(lower) < 2 or any(w in english for w in lower)


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
