"""OpenAI-compatible chat: POST /v1/chat/completions and GET /v1/models.

Existing chat clients (and the official `openai` package) work unchanged: the user's last message is the
question, earlier user/assistant turns are the conversation. The reply's content is the answer with
[n] markers followed by a "Sources:" list; the full Answer travels in an extra top-level field
`regbrief` (in the last chunk when streaming).
"""
from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator

from fastapi import APIRouter, Depends

from api import sse
from api.errors import ApiError
from api.routers.ask import check_question, counted
from api.routers.chat import rest_of
from api.workspaces import AppState, get_state
from api.schemas import (ERRORS, ErrorResponse, OAIChatCompletion, OAIChatRequest, OAIChoice, OAIChoiceMessage, OAIModel,
                         OAIModelList, OAIUsage)
from rag.core.models import Answer, Filters
from rag.service import Regbrief

log = logging.getLogger("regbrief.api")
router = APIRouter(tags=["openai"])

MODEL_ID = "regbrief"
CREATED = 1735689600  # 2025-01-01, a fixed "created" for the one model


def _text(content) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "\n".join(str(p.get("text", "")) for p in content if isinstance(p, dict) and p.get("type") == "text")


class _History:
    """The audit trail, but with the conversation taken from the request's messages."""

    def __init__(self, real, pairs: list[tuple[str, str]]):
        self._real, self._pairs = real, pairs

    def conversation(self, conversation_id: str, limit: int = 10):
        return self._pairs[-limit:]

    def __getattr__(self, name):
        return getattr(self._real, name)


class _WithHistory:
    """The workspace's Regbrief, seen through a request-local conversation: `Regbrief.ask` runs on it
    unchanged and reads earlier turns from the request's messages (everything else is the real one)."""

    def __init__(self, rb: Regbrief, pairs: list[tuple[str, str]]):
        self._rb = rb
        self.history = _History(rb.history, pairs)

    def __getattr__(self, name):
        return getattr(self._rb, name)

    def ask(self, question, filters=None, **kw):
        return Regbrief.ask(self, question, filters, **kw)


def split_messages(req: OAIChatRequest) -> tuple[str, list[tuple[str, str]]]:
    """(question, earlier (user, assistant) pairs) from the messages."""
    turns = [(m.role, _text(m.content)) for m in req.messages if m.role in ("user", "assistant")]
    last_user = max((i for i, (r, _) in enumerate(turns) if r == "user"), default=None)
    if last_user is None:
        raise ApiError(422, "validation_error", "messages: at least one user message is required")
    question = turns[last_user][1]
    pairs: list[tuple[str, str]] = []
    pending: str | None = None
    for role, text in turns[:last_user]:
        if role == "user":
            if pending is not None:
                pairs.append((pending, ""))
            pending = text
        elif pending is not None:
            pairs.append((pending, text.split("\n\nSources:")[0]))
            pending = None
    if pending is not None:
        pairs.append((pending, ""))
    return question, pairs


def sources_block(ans: Answer) -> str:
    if not ans.citations:
        return ""
    lines = ["", "", "Sources:"]
    for c in ans.citations:
        when = f", {c.date.isoformat()}" if c.date else ""
        where = c.url or c.source
        lines.append(f"[{c.n}] {c.title} ({where}{when}): \"{c.quote}\"")
    return "\n".join(lines)


def sentence_with_marks(s: dict) -> str:
    marks = "".join(f"[{n}]" for n in s["citations"])
    flag = " (unsupported)" if s["verdict"] == "unsupported" else ""
    return f"{s['text'].rstrip()}{(' ' + marks) if marks else ''}{flag}"


def _ask(state: AppState, req: OAIChatRequest, on_sentence=None) -> Answer:
    question, pairs = split_messages(req)
    question = check_question(state, question, "messages[-1].content")
    conv = None
    if pairs:  # a stable id per conversation so the audit trail groups its turns
        conv = "oai-" + hashlib.sha256(json.dumps(pairs).encode()).hexdigest()[:16]
    rb = _WithHistory(state.rb, pairs) if pairs else state.rb
    if on_sentence is not None:
        from rag.answering.answer import answer_question

        return counted(state, answer_question(rb, question, Filters(), conversation_id=conv, on_sentence=on_sentence))
    return counted(state, rb.ask(question, Filters(), conversation_id=conv))


def _usage(question: str, content: str) -> OAIUsage:
    p, c = len(question.split()), len(content.split())
    return OAIUsage(prompt_tokens=p, completion_tokens=c, total_tokens=p + c)


@router.get("/v1/models", response_model=OAIModelList, responses=ERRORS, summary="OpenAI-compatible model list")
def models() -> OAIModelList:
    return OAIModelList(data=[OAIModel(id=MODEL_ID, created=CREATED)])


@router.post("/v1/chat/completions", response_model=OAIChatCompletion, responses={
    **ERRORS, 404: {"model": ErrorResponse, "description": "Unknown model (use 'regbrief')"},
    200: {"description": "A chat completion, or with stream=true chat.completion.chunk events",
                    "content": {"application/json": {}, "text/event-stream": {}}}},
    summary="OpenAI-compatible chat completions (stream and non-stream)")
def chat_completions(req: OAIChatRequest, state: AppState = Depends(get_state)):
    if req.model not in (MODEL_ID, "", None) and not req.model.startswith(MODEL_ID):
        raise ApiError(404, "model_not_found", f"model {req.model!r} does not exist; use {MODEL_ID!r}")
    question, _ = split_messages(req)
    check_question(state, question, "messages[-1].content")
    cid = "chatcmpl-" + uuid.uuid4().hex[:24]
    created = int(time.time())
    if req.stream:
        return sse.stream(_stream(state, req, cid, created))
    ans = _ask(state, req)
    content = ans.answer + sources_block(ans)
    return OAIChatCompletion(
        id=cid, created=created, model=MODEL_ID,
        choices=[OAIChoice(message=OAIChoiceMessage(content=content))],
        usage=_usage(question, content), regbrief=ans)


def _chunk(cid: str, created: int, delta: dict, finish: str | None = None, **extra) -> dict:
    body = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": MODEL_ID,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
    return sse.event(None, body)


async def _stream(state: AppState, req: OAIChatRequest, cid: str, created: int) -> AsyncIterator[dict]:
    yield _chunk(cid, created, {"role": "assistant", "content": ""})
    sent: list[str] = []
    ans = None
    try:  # a client that leaves ends this wait at once, and the answer stops at its next step
        async for kind, item in sse.in_turn(_ask, state, req):  # each sentence as soon as it is verified
            if kind == "sentence":
                s = item[0]
                text = sentence_with_marks({"text": s.text, "citations": s.citations, "verdict": s.verdict})
                yield _chunk(cid, created, {"content": ("" if not sent else " ") + text})
                sent.append(s.text)
            else:
                ans = item
    except Exception as e:
        log.exception("chat completion stream failed")
        yield sse.event(None, {"error": {"code": "internal", "message": f"{type(e).__name__}: {e}"}})
        yield sse.event(None, "[DONE]")
        return
    for s in rest_of(ans, sent):
        yield _chunk(cid, created, {"content": ("" if not sent else " ") + sentence_with_marks(s)})
        sent.append(s["text"])
    tail = sources_block(ans)
    if tail:
        yield _chunk(cid, created, {"content": tail})
    yield _chunk(cid, created, {}, "stop", regbrief=json.loads(ans.model_dump_json()))
    yield sse.event(None, "[DONE]")
