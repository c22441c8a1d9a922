"""Question -> evidence -> draft -> verified, cited answer.

The chain (LangChain Runnables): condense (follow-up -> standalone question) | gather evidence
(hybrid retrieval plus the list entries the question names) | draft (extractive, or an LLM) |
verify (every sentence against the passages it cites) | assemble (numbered citations with quotes).

The extractive drafter composes list facts rendered from list metadata and the evidence sentences
that best answer the question; its citations are right by construction. An LLM draft goes through
the same verifier; what fails is removed (or kept and marked on request); if nothing survives, or the
model cannot be reached, the extractive answer is returned with a note saying so.

What answers state from (evidence, drafts, passages, documents set aside) is rag/answering/evidence.py; verifying
and numbering the citations is rag/answering/assemble.py; both are shared with briefings.
"""
from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from langchain_core.runnables import RunnableLambda

import prompts
from rag.answering.llm import with_extractive_fallback
from rag.answering.assemble import Assembler, render_text
from rag.answering.drafting import DraftRequest, ExtractiveDrafter, drafter_for
from rag.answering.evidence import Draft, gather, set_aside_note
from rag.answering.plan import make_plan
from rag.core.models import Answer, Filters, Sentence
from rag.entities.names import fold, question_names
from rag.core.priority import query_entry
from rag.answering.verify import TypedFacts

LISTING_WORDS = re.compile(
    r"\b(sanction\w*|list(ed|ing)?|designat\w*|blacklist\w*|sdn|ns-cmic|cmic|added|blocked|restrict\w*|"
    r"programs?|programmes?|divest\w*|effective|uid|identifiers?|alias\w*|a\.k\.a)\b", re.I)
PRONOUNS = re.compile(r"\b(it|its|they|them|their|the company|the firm|this company|that company|he|she|his|her)\b",
                      re.I)


# --- condense ---------------------------------------------------------------------------------------

def condense(rb, question: str, history: list[tuple[str, str]], backend: str) -> tuple[str, str | None]:
    """The follow-up rewritten as a standalone question; (question, model note or None)."""
    if not history or not PRONOUNS.search(question):
        return question, None
    if backend != "extractive":
        try:
            from rag.answering.llm import chat_model

            llm, _ = chat_model(rb.settings, backend)
            template, _ = prompts.load("condense")
            hist = "\n".join(f"Q: {q}\nA: {a}" for q, a in history[-3:])
            out = llm.invoke(template.format(history=hist, question=question)).content.strip()
            if out and len(out) < 500 and "?" in out:
                return out.splitlines()[0], None
        except Exception as e:  # the rule-based rewrite below still works
            note = f"condense by LLM failed ({type(e).__name__}); used the rule-based rewrite"
            return _rule_condense(rb, question, history), note
    return _rule_condense(rb, question, history), None


def _rule_condense(rb, question: str, history: list[tuple[str, str]]) -> str:
    """Replace the pronoun with the entity the conversation was last about."""
    index = rb.store.entities
    listing = bool(LISTING_WORDS.search(question))
    for q, a in reversed(history):
        listed = index.find_in_text(q) or index.find_in_text(a)
        names = question_names(q)
        subject = None
        if listed and (listing or not names):
            # Name it as the user did when they can ("SenseTime"), else by its list name.
            subject = next((n for n in names if fold(n) in fold(listed[0].matched_name)
                            or fold(listed[0].text_span) in fold(n)), listed[0].entry.name)
        elif names:
            subject = names[-1] if listing and len(names) > 1 else names[0]
        if subject:
            return PRONOUNS.sub(lambda m: subject + ("'s" if m.group(0).lower() in ("its", "their", "his", "her")
                                                      else ""), question, count=1)
    return question


# --- extractive draft -------------------------------------------------------------------------------

# --- the chain --------------------------------------------------------------------------------------

@dataclass
class Ask:
    """One question on its way through the chain: what was asked, and how it is to be answered."""

    rb: object
    question: str
    filters: Filters
    backend: str
    keep_unsupported: bool
    history: list[tuple[str, str]]
    # Called with each sentence as soon as it is verified (and with each note), in the answer's order,
    # with the citations it uses: what the SSE and OpenAI-compatible streams send on.
    on_sentence: Callable[[Sentence, list], None] | None = None


def step_condense(ask: Ask, state: dict) -> dict:
    standalone, note = condense(ask.rb, ask.question, ask.history, ask.backend)
    return {**state, "standalone": standalone, "notes": [note] if note else []}


def step_plan(ask: Ask, state: dict) -> dict:
    return {**state, "plan": make_plan(ask.rb, state["standalone"], ask.filters, history=bool(ask.history))}


def step_gather(ask: Ask, state: dict) -> dict:
    results, matches, aside = gather(ask.rb, state["standalone"], ask.filters)
    note = set_aside_note(aside)
    return {**state, "results": results, "matches": matches, "notes": state["notes"] + ([note] if note else [])}


def step_draft(ask: Ask, state: dict) -> dict:
    """The extractive draft always (it is the fallback, and its notes say what the lists say by absence);
    a model's draft too when one is asked for. When sentences are streamed, the model's draft is read in
    step_verify as the model writes it."""
    req = DraftRequest(state["standalone"], state["results"], plan=state.get("plan"), matches=state["matches"],
                       filters=ask.filters)
    extractive = ExtractiveDrafter(ask.rb).draft(req)
    if ask.backend == "extractive":
        return {**state, "draft": extractive}

    def by_model(state: dict) -> dict:
        drafter = drafter_for(ask.rb, ask.backend)
        req.typed = extractive
        if streams(ask):
            draft = drafter.empty(req)
            stream = drafter.stream(req, draft)  # read, and each sentence verified, in step_verify
        else:
            draft, stream = drafter.draft(req), None
        # What the lists say by absence ("X does not appear in ...") does not depend on the drafter.
        draft.notes = list(extractive.notes) + draft.notes
        return {**state, "draft": draft, "fallback": extractive, "stream": stream}

    def model_failed(state: dict) -> dict:
        return use_extractive(ask, state, extractive, state.pop("error"))

    return with_extractive_fallback(by_model, model_failed).invoke(state)


def streams(ask: Ask) -> bool:
    return ask.on_sentence is not None and not ask.keep_unsupported


def use_extractive(ask: Ask, state: dict, extractive: Draft, error: Exception) -> dict:
    extractive.backend_notes.append(
        f"The {ask.backend} model could not be used ({type(error).__name__}); this is the extractive answer.")
    return {**state, "draft": extractive, "model_error": str(error), "stream": None}


def verified_in_turn(assembler: Assembler, draft: Draft, emit: Callable[[Sentence, list], None],
                     stream=None) -> list[Sentence]:
    """The draft's sentences verified one at a time, each passed to `emit` as soon as it passes (notes
    first when they answer the question, else last): the first sentence need not wait for the others.
    With a model's `stream`, its sentences are verified as the model writes them."""
    notes = [Sentence(text=n, kind="note", support=1.0) for n in draft.notes]
    if draft.lead_notes:
        for n in notes:
            emit(n, [])
    out: list[Sentence] = []
    for text, evs in (stream if stream is not None else list(draft.sentences)):
        one = Draft(sentences=[(text, evs)], backend=draft.backend)
        s = assembler.sentences(one)[0]
        out.append(s)
        if s.verdict == "supported":
            emit(s, [c for c in assembler.citations if c.n in s.citations])
    if not draft.lead_notes:
        for n in notes:
            emit(n, [])
    return out + notes


def step_verify(ask: Ask, state: dict) -> dict:
    typed = TypedFacts.of_plan(ask.rb, state.get("plan"))
    assembler = Assembler(ask.rb, ask.keep_unsupported, typed)
    draft = state["draft"]
    emit = ask.on_sentence if draft.backend == "extractive" or not ask.keep_unsupported else None
    try:
        sentences = (verified_in_turn(assembler, draft, emit, state.get("stream")) if emit
                     else assembler.sentences(draft))
    except Exception as e:  # the model failed while it was being read: the extractive answer instead
        if draft.backend == "extractive":
            raise
        state = use_extractive(ask, state, state["fallback"], e)
        assembler = Assembler(ask.rb, ask.keep_unsupported, typed)
        draft = state["draft"]
        return {**state, "sentences": verified_in_turn(assembler, draft, emit), "citations": assembler.citations}
    if draft.backend != "extractive" and not any(s.verdict == "supported" for s in sentences):
        fallback = state["fallback"]
        reason = "found the passages insufficient" if draft.refused else "wrote no sentence its passages support"
        fallback.backend_notes.append(f"The {draft.backend} model {reason}; this is the extractive answer.")
        assembler = Assembler(ask.rb, ask.keep_unsupported, typed)
        sentences = verified_in_turn(assembler, fallback, emit) if emit else assembler.sentences(fallback)
        fallback.backend = f"extractive (fallback from {draft.backend})"
        fallback.model, fallback.prompt_version = draft.model, draft.prompt_version
        draft = fallback
    return {**state, "draft": draft, "sentences": sentences, "citations": assembler.citations}


@query_entry
def answer_question(rb, question: str, filters: Filters | None = None, *, conversation_id: str | None = None,
                    backend: str | None = None, keep_unsupported: bool = False, record: bool = True,
                    on_sentence: Callable[[Sentence, list], None] | None = None) -> Answer:
    ask = Ask(rb, question, filters or Filters(), backend or rb.settings.llm, keep_unsupported,
              rb.history.conversation(conversation_id) if conversation_id else [], on_sentence)
    chain = (RunnableLambda(partial(step_condense, ask)) | RunnableLambda(partial(step_plan, ask))
             | RunnableLambda(partial(step_gather, ask))
             | RunnableLambda(partial(step_draft, ask)) | RunnableLambda(partial(step_verify, ask)))
    state = chain.invoke({})
    answer = build_answer(ask, state, conversation_id)
    if record:
        record_answer(rb, answer, state)
    return answer


def build_answer(ask: Ask, state: dict, conversation_id: str | None) -> Answer:
    """The Answer from the chain's final state; a refusal lists the closest passages instead."""
    draft: Draft = state["draft"]
    sentences: list[Sentence] = state["sentences"]
    facts = [s for s in sentences if s.kind == "fact" and s.verdict != "removed"]
    notes = [s for s in sentences if s.kind == "note"]
    if draft.lead_notes:  # "No: X has no entry on the SDN list" answers first; what it is on follows
        sentences = notes + [s for s in sentences if s.kind != "note"]
    refused = not facts and (not notes or draft.refused)
    if refused and not notes:
        sentences = sentences + [Sentence(
            text="The sources in the store do not say; the closest passages are listed below.", kind="note",
            support=0.0)]
    return Answer(
        id=uuid.uuid4().hex[:12],
        question=ask.question,
        standalone_question=state["standalone"] if state["standalone"] != ask.question else None,
        answer=render_text(sentences),
        refused=refused,
        citations=state["citations"] if not refused else [],
        sentences=sentences,
        closest=state["results"][:3] if refused else [],
        # a model that failed outright is named too, as when its sentences all failed verification
        backend=f"extractive (fallback from {ask.backend})" if "model_error" in state else draft.backend,
        model=draft.model or (ask.rb.embedder.name if draft.backend == "extractive" else None),
        prompt_version=draft.prompt_version,
        notes=state["notes"] + draft.backend_notes,
        filters=ask.filters,
        conversation_id=conversation_id,
        created_at=dt.datetime.now(dt.timezone.utc),
        plan=state["plan"].model_dump(mode="json") if state.get("plan") is not None else None,
    )


def record_answer(rb, answer: Answer, state: dict) -> None:
    """The audit trail: the answer, its filters and a hash of every passage it was based on."""
    rb.history.record(
        "answer", answer.id, answer.question, answer.model_dump_json(),
        filters=answer.filters.model_dump(mode="json"),
        evidence=[{"chunk_id": r.chunk_id, "hash": _hash(r.text)} for r in state["results"]],
        backend=answer.backend, model=answer.model,
        prompt_versions={"answer": answer.prompt_version, "condense": prompts.version("condense")},
        conversation_id=answer.conversation_id, created_at=answer.created_at,
    )


def _hash(text: str) -> str:
    from rag.store.history import text_hash

    return text_hash(text)
