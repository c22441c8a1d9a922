"""POST /v1/ask: a cited, verified answer (the same model as `regbrief ask --json`)."""
from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends

from api.deps import ApiError, AppState, get_state
from api.schemas import ERRORS, AskRequest
from rag.models import Answer, Filters

router = APIRouter(tags=["answers"])


def check_question(state: AppState, text: str, field: str = "question") -> str:
    text = text.strip()
    if not text:
        raise ApiError(422, "validation_error", f"{field}: must not be blank")
    limit = state.settings.max_question_chars
    if len(text) > limit:
        raise ApiError(422, "question_too_long",
                       f"{field}: {len(text)} characters is over the limit of {limit} (REGBRIEF_MAX_QUESTION_CHARS)")
    return text


def with_as_of(filters: Filters, as_of: dt.date | None) -> Filters:
    if as_of and (filters.until is None or as_of < filters.until):
        return filters.model_copy(update={"until": as_of})
    return filters


def answer(state: AppState, question: str, filters: Filters, *, conversation_id: str | None = None,
           backend: str | None = None, keep_unsupported: bool = False, rb=None) -> Answer:
    rb = rb or state.rb
    ans = rb.ask(question, filters, conversation_id=conversation_id, backend=backend,
                 keep_unsupported=keep_unsupported)
    state.metrics.inc("regbrief_answers_total", help="Answers given, by backend and whether they refused.",
                      backend=ans.backend, refused=str(ans.refused).lower())
    return ans


@router.post("/v1/ask", response_model=Answer, responses=ERRORS, summary="A cited, verified answer")
def ask(req: AskRequest, state: AppState = Depends(get_state)) -> Answer:
    question = check_question(state, req.question)
    return answer(state, question, with_as_of(req.filters, req.as_of), conversation_id=req.conversation_id,
                  backend=req.backend, keep_unsupported=req.keep_unsupported)
