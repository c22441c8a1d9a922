"""POST /v1/ask: a cited, verified answer (the same model as `regbrief ask --json`)."""
from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends

from api.errors import ApiError
from api.schemas import ERRORS, AskRequest
from api.workspaces import AppState, get_state
from rag.core.models import Answer, Filters

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
        if filters.since and as_of < filters.since:  # as Filters says of an inverted range: a 422, not a 500
            raise ApiError(422, "validation_error", f"as_of ({as_of.isoformat()}) is before since "
                                                    f"({filters.since.isoformat()}): the date range is inverted")
        return filters.model_copy(update={"until": as_of})
    return filters


def counted(state: AppState, ans: Answer) -> Answer:
    state.metrics.answers.labels(backend=ans.backend, refused=str(ans.refused).lower()).inc()
    return ans


@router.post("/v1/ask", response_model=Answer, responses=ERRORS, summary="A cited, verified answer")
def ask(req: AskRequest, state: AppState = Depends(get_state)) -> Answer:
    question = check_question(state, req.question)
    return counted(state, state.rb.ask(question, with_as_of(req.filters, req.as_of),
                                       conversation_id=req.conversation_id, backend=req.backend,
                                       keep_unsupported=req.keep_unsupported))
