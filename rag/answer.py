"""Question -> evidence -> draft -> verified, cited answer.

The chain (LangChain Runnables): condense (follow-up -> standalone question) | gather evidence
(hybrid retrieval plus the list entries the question names) | draft (extractive, or an LLM) |
verify (every sentence against the passages it cites) | assemble (numbered citations with quotes).

The extractive drafter composes list facts rendered from list metadata and the evidence sentences
that best answer the question; its citations are right by construction. An LLM draft goes through
the same verifier; what fails is removed (or kept and marked on request); if nothing survives, or the
model cannot be reached, the extractive answer is returned with a note saying so.

What answers state from (evidence, drafts, passages, documents set aside) is rag/evidence.py; verifying
and numbering the citations is rag/assemble.py; both are shared with briefings.
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
from rag.entities import EntityMatch
from rag.llm import with_extractive_fallback
from rag.assemble import Assembler, render_text
from rag.evidence import Draft, Evidence, gather, passages_block, set_aside_note
from rag.facts import FactDrafter
from rag.plan import Plan, make_plan
from rag.models import Answer, Filters, SearchResult, Sentence
from rag.names import LEGAL_WORDS, LIST_WORDS, fold, question_names
from rag.text import keywords, looks_like_instruction, sentence_spans, statement_spans
from rag.dates import find_dates
from rag.verify import TypedFacts, strip_markers

# Below this relevance no evidence sentence is good enough to state; the answer refuses.
REFUSE_BELOW = 0.42
MAX_SENTENCES = 4
LISTING_WORDS = re.compile(
    r"\b(sanction\w*|list(ed|ing)?|designat\w*|blacklist\w*|sdn|ns-cmic|cmic|added|blocked|restrict\w*|"
    r"programs?|programmes?|divest\w*|effective|uid|identifiers?|alias\w*|a\.k\.a)\b", re.I)
# Question words that say nothing about what is asked ("how many", "what kind").
VAGUE = {"many", "much", "kind", "type", "current", "currently", "ever", "also", "still", "now"}
PRONOUNS = re.compile(r"\b(it|its|they|them|their|the company|the firm|this company|that company|he|she|his|her)\b",
                      re.I)


# --- condense ---------------------------------------------------------------------------------------

def condense(rb, question: str, history: list[tuple[str, str]], backend: str) -> tuple[str, str | None]:
    """The follow-up rewritten as a standalone question; (question, model note or None)."""
    if not history or not PRONOUNS.search(question):
        return question, None
    if backend != "extractive":
        try:
            from rag.llm import chat_model

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

def extractive_draft(rb, question: str, results: list[SearchResult], matches: list[EntityMatch],
                     filters: Filters, plan: Plan | None = None) -> Draft:
    """The plan's facts first (rag/facts.py: typed fields, relations, listed or not), then passages only
    for what they leave unanswered; "the sources do not say" when nothing states the asked fact."""
    draft = Draft(prompt_version="extractive-v2")
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
        draft.sentences = [(t, evs) for t, evs in draft.sentences if all(names_all_words(t, p) for p in parties)]
        if not draft.sentences and not draft.notes:
            draft.notes.append(f"The sources do not say how {parties[0]} and {parties[1]} are related (looked at "
                               f"the relations store and the passages about each).")
            draft.refused = True
    if not draft.sentences and facts.not_stated:
        draft.notes.append("The sources do not say " + "; ".join(facts.not_stated) + ".")
        draft.refused = True
    if not draft.sentences and not draft.notes:
        draft.refused = True
    return draft


def _day(value) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def names_all_words(text: str, name: str) -> bool:
    """Does `text` have every word of `name` but its legal form ("Corp.", "Ltd")?"""
    words = set(fold(text).split())
    return all(w in words for w in fold(name).split() if w not in LEGAL_WORDS)


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


# --- LLM draft --------------------------------------------------------------------------------------

def llm_draft(rb, question: str, results: list[SearchResult], backend: str, plan: Plan | None = None,
              typed: Draft | None = None) -> Draft:
    """The model's draft. It gets the plan (what is asked, about whom) and the typed facts the extractive
    drafter stated, with their entries as the first passages, as well as the retrieved passages."""
    from rag.llm import chat_model

    llm, model = chat_model(rb.settings, backend)
    template, version = prompts.load("answer")
    first = list({ev.result.chunk_id: ev.result for _, evs in (typed.sentences if typed else []) for ev in evs}.values())
    passages = (first + [r for r in results if r.chunk_id not in {f.chunk_id for f in first}])[:6]
    block = passages_block(passages)
    asked = question
    if plan is not None and plan.asks:
        wants = "; ".join(f"{a.field} of {plan.entities[a.entity].text if a.entity is not None else 'the subject'}"
                          for a in plan.asks)
        asked += f"\n(Answer first with: {wants}.)"
    if typed is not None and (typed.sentences or typed.notes):
        asked += "\n(Facts from the list records: " + " ".join([t for t, _ in typed.sentences] + typed.notes) + ")"
    raw = llm.invoke(template.format(passages=block, question=asked)).content or ""
    draft = Draft(backend=backend, model=model, prompt_version=version)
    if raw.strip().upper().startswith("INSUFFICIENT"):
        draft.refused = True
        return draft
    for a, b in sentence_spans(raw.strip()):
        text, nums = strip_markers(raw.strip()[a:b])
        if not text:
            continue
        cited = [Evidence(text, passages[n - 1], 0, len(passages[n - 1].text)) for n in dict.fromkeys(nums)
                 if 1 <= n <= len(passages)]
        draft.sentences.append((text, cited))
    return draft


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
    extractive = extractive_draft(ask.rb, state["standalone"], state["results"], state["matches"], ask.filters,
                                  state.get("plan"))
    if ask.backend == "extractive":
        return {**state, "draft": extractive}

    def by_model(state: dict) -> dict:
        draft = llm_draft(ask.rb, state["standalone"], state["results"], ask.backend, state.get("plan"), extractive)
        # What the lists say by absence ("X does not appear in ...") does not depend on the drafter.
        draft.notes = extractive.notes + draft.notes
        return {**state, "draft": draft, "fallback": extractive}

    def model_failed(state: dict) -> dict:
        e = state.pop("error")
        extractive.backend_notes.append(
            f"The {ask.backend} model could not be used ({type(e).__name__}); this is the extractive answer.")
        return {**state, "draft": extractive, "model_error": str(e)}

    return with_extractive_fallback(by_model, model_failed).invoke(state)


def verified_in_turn(assembler: Assembler, draft: Draft, emit: Callable[[Sentence, list], None]) -> list[Sentence]:
    """The draft's sentences verified one at a time, each passed to `emit` as soon as it passes (notes
    first when they answer the question, else last): the first sentence need not wait for the others."""
    notes = [Sentence(text=n, kind="note", support=1.0) for n in draft.notes]
    if draft.lead_notes:
        for n in notes:
            emit(n, [])
    out: list[Sentence] = []
    for text, evs in draft.sentences:
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
    sentences = verified_in_turn(assembler, draft, emit) if emit else assembler.sentences(draft)
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
