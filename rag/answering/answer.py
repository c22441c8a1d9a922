"""A question's way to its cited answer, one typed step after another (`answer_question`):

1. understand: the follow-up rewritten as a standalone question (condense), then the plan: the entities
   it names, resolved once (rag/answering/plan.py), and what it asks of each, part by part -> Understood
2. gather: the passages retrieval finds, and the chunks of the list entries the plan resolved to; passages
   addressed to the answering system are set aside (rag/answering/evidence.py) -> Gathered
3. draft: read, then answer (rag/answering/drafting.py -> rag/answering/read.py, rag/answering/facts.py);
   a chat model drafts instead when one is asked for, with the extractive draft as its fallback -> Drafted
4. verify: every sentence against the passages it cites, and against the typed list records of the
   entities asked about (rag/answering/verify.py, rag/answering/assemble.py) -> Verified
5. the Answer (the JSON contract of DESIGN.md), recorded in the audit trail.

Each sentence can be handed on as soon as it is verified (`on_sentence`: the SSE and OpenAI-compatible
streams). A model's draft that fails, or whose sentences all fail verification, gives way to the
extractive answer with a note saying so.
"""
from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import prompts
from rag.answering.assemble import Assembler, render_text
from rag.answering.drafting import DraftRequest, ExtractiveDrafter, drafter_for
from rag.answering.evidence import Draft, Evidence, gather, set_aside_note
from rag.answering.plan import Plan, make_plan
from rag.answering.verify import TypedFacts
from rag.core.models import Answer, Citation, Filters, SearchResult, Sentence
from rag.core.priority import query_entry
from rag.entities.names import fold, question_names

LISTING_WORDS = re.compile(
    r"\b(sanction\w*|list(ed|ing)?|designat\w*|blacklist\w*|sdn|ns-cmic|cmic|added|blocked|restrict\w*|"
    r"programs?|programmes?|divest\w*|effective|uid|identifiers?|alias\w*|a\.k\.a)\b", re.I)
PRONOUNS = re.compile(r"\b(it|its|they|them|their|the company|the firm|this company|that company|he|she|his|her)\b",
                      re.I)


# --- condense ---------------------------------------------------------------------------------------

def condense(settings, index, question: str, history: list[tuple[str, str]],
             backend: str) -> tuple[str, str | None]:
    """The follow-up rewritten as a standalone question; (question, model note or None). `index` is the
    store's entity index (the entity an earlier turn was about)."""
    if not history or not PRONOUNS.search(question):
        return question, None
    if backend != "extractive":
        try:
            from rag.answering.llm import chat_model

            llm, _ = chat_model(settings, backend)
            template, _ = prompts.load("condense")
            hist = "\n".join(f"Q: {q}\nA: {a}" for q, a in history[-3:])
            out = llm.invoke(template.format(history=hist, question=question)).content.strip()
            if out and len(out) < 500 and "?" in out:
                return out.splitlines()[0], None
        except Exception as e:  # the rule-based rewrite below still works
            note = f"condense by LLM failed ({type(e).__name__}); used the rule-based rewrite"
            return _rule_condense(index, question, history), note
    return _rule_condense(index, question, history), None


def _rule_condense(index, question: str, history: list[tuple[str, str]]) -> str:
    """Replace the pronoun with the entity the conversation was last about."""
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


# --- the steps --------------------------------------------------------------------------------------

@dataclass
class Ask:
    """What was asked, and how it is to be answered."""

    question: str
    filters: Filters
    backend: str
    keep_unsupported: bool
    history: list[tuple[str, str]]
    # Called with each sentence as soon as it is verified (and with each note), in the answer's order,
    # with the citations it uses: what the SSE and OpenAI-compatible streams send on.
    on_sentence: Callable[[Sentence, list], None] | None = None

    @property
    def streams(self) -> bool:
        return self.on_sentence is not None and not self.keep_unsupported


@dataclass
class Understood:
    standalone: str  # the question, a follow-up rewritten to stand alone
    plan: Plan  # its entities (resolved once) and what it asks of each
    notes: list[str] = field(default_factory=list)


@dataclass
class Gathered:
    passages: list[SearchResult]
    notes: list[str] = field(default_factory=list)  # documents set aside


@dataclass
class Drafted:
    draft: Draft
    fallback: Draft | None = None  # the extractive draft, when a model drafts
    stream: Iterator[tuple[str, list[Evidence]]] | None = None  # a model's sentences, read as it writes them
    model_error: str | None = None  # the model failed outright: the extractive draft is used


@dataclass
class Verified:
    draft: Draft  # the draft the sentences came from (the extractive one, when the model's failed)
    sentences: list[Sentence]
    citations: list[Citation]


def understand(rb, ask: Ask) -> Understood:
    standalone, note = condense(rb.settings, rb.store.entities, ask.question, ask.history, ask.backend)
    plan = make_plan(rb, standalone, ask.filters, history=bool(ask.history))
    return Understood(standalone, plan, [note] if note else [])


def gather_passages(retriever, store, q: Understood, filters: Filters) -> Gathered:
    entry_ids = [i for e in q.plan.entities for i in e.entry_ids]
    passages, aside = gather(retriever, store, q.standalone, filters, entry_ids)
    note = set_aside_note(aside)
    return Gathered(passages, [note] if note else [])


def draft_answer(rb, ask: Ask, q: Understood, found: Gathered) -> Drafted:
    """The extractive draft always (it is the fallback, and it says what the lists say by absence); a
    model's draft too when one is asked for. When sentences are streamed, the model's draft is read in
    verify_answer as the model writes it."""
    req = DraftRequest(q.standalone, found.passages, plan=q.plan, filters=ask.filters)
    extractive = ExtractiveDrafter(rb).draft(req)
    if ask.backend == "extractive":
        return Drafted(extractive)

    try:  # any failure of the model (unreachable, timed out, a reply that cannot be read): extractive
        drafter = drafter_for(rb, ask.backend)
        req.typed = extractive
        if ask.streams:
            draft = drafter.empty(req)
            stream = drafter.stream(req, draft)
        else:
            draft, stream = drafter.draft(req), None
    except Exception as e:
        return use_extractive(ask, extractive, e)
    # What the lists say by absence ("X does not appear in ...") does not depend on the drafter.
    draft.notes = list(extractive.notes) + draft.notes
    return Drafted(draft, extractive, stream)


def use_extractive(ask: Ask, extractive: Draft, error: Exception) -> Drafted:
    extractive.backend_notes.append(
        f"The {ask.backend} model could not be used ({type(error).__name__}); this is the extractive answer.")
    return Drafted(extractive, model_error=str(error))


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


def verify_answer(rb, ask: Ask, q: Understood, drafted: Drafted) -> tuple[Verified, Drafted]:
    """Every sentence checked against its passages and the list records of the entities asked about; a
    model's draft with no sentence left gives way to the extractive one."""
    index = rb.store.entities
    typed = TypedFacts([[index.entries[i] for i in e.entry_ids if i in index.entries] for e in q.plan.entities])

    def assembler() -> Assembler:
        return Assembler(rb, ask.keep_unsupported, typed)

    draft = drafted.draft
    emit = ask.on_sentence if draft.backend == "extractive" or not ask.keep_unsupported else None
    asm = assembler()
    try:
        sentences = verified_in_turn(asm, draft, emit, drafted.stream) if emit else asm.sentences(draft)
    except Exception as e:  # the model failed while it was being read: the extractive answer instead
        if draft.backend == "extractive":
            raise
        drafted = use_extractive(ask, drafted.fallback, e)
        asm = assembler()
        return Verified(drafted.draft, verified_in_turn(asm, drafted.draft, emit), asm.citations), drafted
    if draft.backend != "extractive" and not any(s.verdict == "supported" for s in sentences):
        fallback = drafted.fallback
        reason = "found the passages insufficient" if draft.refused else "wrote no sentence its passages support"
        fallback.backend_notes.append(f"The {draft.backend} model {reason}; this is the extractive answer.")
        asm = assembler()
        sentences = verified_in_turn(asm, fallback, emit) if emit else asm.sentences(fallback)
        fallback.backend = f"extractive (fallback from {draft.backend})"
        fallback.model, fallback.prompt_version = draft.model, draft.prompt_version
        draft = fallback
    return Verified(draft, sentences, asm.citations), drafted


@query_entry
def answer_question(rb, question: str, filters: Filters | None = None, *, conversation_id: str | None = None,
                    backend: str | None = None, keep_unsupported: bool = False, record: bool = True,
                    on_sentence: Callable[[Sentence, list], None] | None = None) -> Answer:
    ask = Ask(question, filters or Filters(), backend or rb.settings.llm, keep_unsupported,
              rb.history.conversation(conversation_id) if conversation_id else [], on_sentence)
    q = understand(rb, ask)
    found = gather_passages(rb.retriever, rb.store, q, ask.filters)
    drafted = draft_answer(rb, ask, q, found)
    verified, drafted = verify_answer(rb, ask, q, drafted)
    answer = build_answer(ask, q, found, verified, conversation_id,
                          model_failed=drafted.model_error is not None, embedder_name=rb.embedder.name)
    if record:
        record_answer(rb.history, answer, found.passages)
    return answer


def build_answer(ask: Ask, q: Understood, found: Gathered, verified: Verified, conversation_id: str | None,
                 *, model_failed: bool, embedder_name: str) -> Answer:
    """The Answer; a refusal lists the closest passages instead of citations."""
    draft, sentences = verified.draft, verified.sentences
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
        standalone_question=q.standalone if q.standalone != ask.question else None,
        answer=render_text(sentences),
        refused=refused,
        citations=verified.citations if not refused else [],
        sentences=sentences,
        closest=found.passages[:3] if refused else [],
        # a model that failed outright is named too, as when its sentences all failed verification
        backend=f"extractive (fallback from {ask.backend})" if model_failed else draft.backend,
        model=draft.model or (embedder_name if draft.backend == "extractive" else None),
        prompt_version=draft.prompt_version,
        notes=q.notes + found.notes + draft.backend_notes,
        filters=ask.filters,
        conversation_id=conversation_id,
        created_at=dt.datetime.now(dt.timezone.utc),
        plan=q.plan.model_dump(mode="json"),
    )


def record_answer(history, answer: Answer, passages: list[SearchResult]) -> None:
    """The audit trail: the answer, its filters and a hash of every passage it was based on."""
    history.record(
        "answer", answer.id, answer.question, answer.model_dump_json(),
        filters=answer.filters.model_dump(mode="json"),
        evidence=[{"chunk_id": r.chunk_id, "hash": _hash(r.text)} for r in passages],
        backend=answer.backend, model=answer.model,
        prompt_versions={"answer": answer.prompt_version, "condense": prompts.version("condense")},
        conversation_id=answer.conversation_id, created_at=answer.created_at,
    )


def _hash(text: str) -> str:
    from rag.store.history import text_hash

    return text_hash(text)
