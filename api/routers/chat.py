"""POST /v1/chat: conversations with follow-ups; `stream: true` answers as Server-Sent Events.

Events, in order: `start` ({conversation_id, question}), one `sentence` per verified sentence
({index, text, citations, verdict, support, kind, cited: the citations it uses}), each sent as soon as the
verifier passes it, before the rest of the answer is worked out; `citations` ({citations: [...]}), and
`done` (the full Answer JSON). A failure after the stream has begun is sent as an `error` event.
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator

from fastapi import APIRouter, Depends

from api import sse
from api.errors import ApiError
from api.routers.ask import check_question, counted, with_as_of
from api.routers.documents import MAX_FILES
from api.schemas import ERRORS, NOT_FOUND, ChatRequest, Limits
from api.workspaces import AppState, get_state
from rag.core.models import Answer
from rag.store import StoreUnavailable

log = logging.getLogger("regbrief.api")
router = APIRouter(tags=["answers"])


def shown_sentences(ans: Answer) -> list[dict]:
    """The sentences a reader sees, in order (removed ones are not shown)."""
    out = []
    for s in ans.sentences:
        if s.verdict == "removed":
            continue
        out.append({"index": len(out), "text": s.text, "citations": s.citations, "verdict": s.verdict,
                    "support": s.support, "kind": s.kind})
    return out


def chat_answer(state: AppState, req: ChatRequest, question: str, conversation_id: str, on_sentence=None) -> Answer:
    if on_sentence is None:
        return counted(state, state.rb.ask(question, with_as_of(req.filters, req.as_of),
                                           conversation_id=conversation_id, backend=req.backend,
                                           keep_unsupported=req.keep_unsupported))
    from rag.answering.answer import answer_question

    return counted(state, answer_question(state.rb, question, with_as_of(req.filters, req.as_of),
                                          conversation_id=conversation_id, backend=req.backend,
                                          keep_unsupported=req.keep_unsupported, on_sentence=on_sentence))


def sentence_event(index: int, s, cited: list) -> dict:
    return {"index": index, "text": s.text, "citations": s.citations, "verdict": s.verdict, "support": s.support,
            "kind": s.kind, "cited": [c.model_dump(mode="json") for c in cited]}


def rest_of(ans: Answer, sent: list[str]) -> list[dict]:
    """The answer's shown sentences not streamed yet (a refusal's note, or all of them when the order changed)."""
    shown = shown_sentences(ans)
    if [s["text"] for s in shown[:len(sent)]] == sent:
        return shown[len(sent):]
    return [s for s in shown if s["text"] not in sent]


async def answer_events(state: AppState, req: ChatRequest, question: str, conversation_id: str) -> AsyncIterator[dict]:
    yield sse.event("start", {"conversation_id": conversation_id, "question": question})
    sent: list[str] = []
    ans = None
    try:  # a client that leaves ends this wait at once, and the answer stops at its next step
        async for kind, item in sse.in_turn(chat_answer, state, req, question, conversation_id):
            if kind == "sentence":
                s, cited = item
                yield sse.event("sentence", sentence_event(len(sent), s, cited))
                sent.append(s.text)
            else:
                ans = item
    except StoreUnavailable as e:
        yield sse.event("error", {"error": {"code": "store_unavailable", "message": str(e)}})
        return
    except Exception as e:
        log.exception("chat stream failed")
        yield sse.event("error", {"error": {"code": "internal", "message": f"internal error ({type(e).__name__})"}})
        return
    for s in rest_of(ans, sent):
        yield sse.event("sentence", {**s, "index": len(sent)})
        sent.append(s["text"])
    yield sse.event("citations", {"citations": [c.model_dump(mode="json") for c in ans.citations]})
    yield sse.event("done", ans.model_dump_json())


@router.post("/v1/chat", response_model=Answer, responses={
    **ERRORS, **NOT_FOUND, 200: {"description": "The Answer as JSON, or with stream=true an event stream",
                    "content": {"application/json": {}, "text/event-stream": {}}}},
    summary="Ask in a conversation (follow-ups use its earlier turns)")
def chat(req: ChatRequest, state: AppState = Depends(get_state)):
    question = check_question(state, req.message, "message")
    if req.conversation_id and not state.rb.history.conversation(req.conversation_id, limit=1):
        # A follow-up names a conversation this workspace has: an unknown id is an error, not a new one.
        raise ApiError(404, "not_found", f"no conversation with id {req.conversation_id!r} "
                                         "(omit conversation_id to start a new conversation)")
    conversation_id = req.conversation_id or uuid.uuid4().hex
    if req.stream:
        return sse.stream(answer_events(state, req, question, conversation_id))
    return chat_answer(state, req, question, conversation_id)


@router.get("/v1/limits", response_model=Limits, responses=ERRORS,
            summary="What the server accepts: question length, upload size and file count (the chat page shows them)")
def limits(state: AppState = Depends(get_state)) -> Limits:
    return Limits(max_question_chars=state.settings.max_question_chars,
                  max_upload_bytes=state.settings.max_upload_bytes, max_files=MAX_FILES)
