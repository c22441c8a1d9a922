"""GET /v1/history: the audit trail of answers and briefings; GET /v1/conversations: the conversations in it."""
from __future__ import annotations

import json
from typing import Literal

from fastapi import APIRouter, Depends, Query

from api.errors import ApiError
from api.schemas import (
    ERRORS, NOT_FOUND, Conversation, ConversationList, ConversationSummary, ConversationTurn, HistoryItem,
    HistoryList, HistoryRecord,
)
from api.workspaces import AppState, get_state
from rag.core.models import Answer

router = APIRouter(tags=["history"])


@router.get("/v1/history", response_model=HistoryList, responses=ERRORS, summary="Answers and briefings, newest first")
def list_history(
    kind: Literal["answer", "briefing", "screening"] | None = None,
    subject: str | None = Query(None, max_length=2000, description="exact question or entity (case-insensitive)"),
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=10_000_000),
    state: AppState = Depends(get_state),
) -> HistoryList:
    rows = state.rb.past(kind=kind, limit=limit, offset=offset, subject=subject)
    return HistoryList(items=[HistoryItem.model_validate(r) for r in rows], limit=limit, offset=offset)


@router.get("/v1/history/{record_id}", response_model=HistoryRecord, responses={**ERRORS, **NOT_FOUND},
            summary="One record: what was asked, what it was based on, what was returned")
def get_history(record_id: str, state: AppState = Depends(get_state)) -> HistoryRecord:
    rec = state.rb.show(record_id)
    if rec is None:
        raise ApiError(404, "not_found", f"no history record with id {record_id!r}")
    return HistoryRecord.model_validate({**rec, "result": json.loads(rec["result"])})


@router.get("/v1/conversations", response_model=ConversationList, responses=ERRORS,
            summary="The workspace's conversations, latest activity first, each with its first question")
def list_conversations(
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=10_000_000),
    state: AppState = Depends(get_state),
) -> ConversationList:
    rows = state.rb.history.conversations(limit=limit, offset=offset)
    return ConversationList(conversations=[ConversationSummary.model_validate(r) for r in rows],
                            limit=limit, offset=offset)


@router.get("/v1/conversations/{conversation_id}", response_model=Conversation,
            responses={**ERRORS, **NOT_FOUND}, summary="A conversation's turns, oldest first, with their answers")
def get_conversation(conversation_id: str, state: AppState = Depends(get_state)) -> Conversation:
    rows = state.rb.history.turns(conversation_id)
    if not rows:
        raise ApiError(404, "not_found", f"no conversation with id {conversation_id!r}")
    return Conversation(conversation_id=conversation_id, turns=[
        ConversationTurn(id=r["id"], question=r["question"], created_at=r["created_at"],
                         answer=Answer.model_validate_json(r["result"])) for r in rows])
