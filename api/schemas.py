"""Request and response models of the HTTP API, in one place.

The domain models (Answer, Briefing, SearchResponse, Filters, Citation ...) come from `rag.core.models`
unchanged: the CLI's --json output and the API return the same shapes.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from rag.core.models import Answer, Briefing, Filters  # noqa: F401  (re-exported for the routers)

Backend = Literal["extractive", "openai", "llamacpp"]
BriefingFormat = Literal["json", "md", "html", "pdf"]


class ErrorBody(BaseModel):
    code: str
    message: str
    details: list[dict[str, Any]] | None = None


class ErrorResponse(BaseModel):
    error: ErrorBody


ERRORS = {
    400: {"model": ErrorResponse, "description": "Bad request"},
    401: {"model": ErrorResponse, "description": "Missing or wrong API key"},
    422: {"model": ErrorResponse, "description": "Invalid request"},
    429: {"model": ErrorResponse, "description": "Rate limit or job limit reached"},
    503: {"model": ErrorResponse, "description": "Store unavailable"},
}
NOT_FOUND = {404: {"model": ErrorResponse, "description": "Not found"}}


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, description="the question, in plain language")
    filters: Filters = Field(default_factory=Filters)
    as_of: dt.date | None = Field(None, description="answer from documents dated on or before this day")
    backend: Backend | None = Field(None, description="answering backend; the server's setting when omitted")
    keep_unsupported: bool = Field(False, description="keep sentences the verifier could not support (flagged)")
    conversation_id: str | None = Field(None, max_length=100)


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message: str = Field(min_length=1, description="the user's message (a question or a follow-up)")
    conversation_id: str | None = Field(None, max_length=100, description="omit to start a new conversation")
    filters: Filters = Field(default_factory=Filters)
    as_of: dt.date | None = None
    backend: Backend | None = None
    keep_unsupported: bool = False
    stream: bool = Field(False, description="stream Server-Sent Events: sentence*, citations, done")


# --- OpenAI-compatible ----------------------------------------------------------------------------

class OAIMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "user", "assistant", "tool", "developer", "function"]
    content: str | list[dict[str, Any]] | None = None


class OAIChatRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    model: str = "regbrief"
    messages: list[OAIMessage] = Field(min_length=1)
    stream: bool = False
    temperature: float | None = None
    max_tokens: int | None = None
    user: str | None = None


class OAIModel(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "regbrief"


class OAIModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[OAIModel]


class OAIChoiceMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class OAIChoice(BaseModel):
    index: int = 0
    message: OAIChoiceMessage
    finish_reason: str = "stop"


class OAIUsage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


class OAIChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[OAIChoice]
    usage: OAIUsage
    regbrief: Answer


# --- documents and jobs ---------------------------------------------------------------------------

class DocumentSummary(BaseModel):
    doc_id: str
    source: str  # what a person recognises (a list and its date, a publisher, a file's name)
    source_key: str = ""  # the store's key for the file it came from: `?source=` and removal take it
    format: str
    doc_type: str
    title: str
    date: str | None = None
    jurisdiction: str | None = None
    publisher: str | None = None
    url: str | None = None
    content_hash: str
    ingested_at: str
    chunks: int


class DocumentList(BaseModel):
    documents: list[DocumentSummary]
    total: int
    limit: int
    offset: int


class ChunkOut(BaseModel):
    chunk_id: str
    index: int
    text: str
    start: int
    end: int
    page: int | None = None


class DocumentDetail(BaseModel):
    doc_id: str
    source: str
    source_key: str = ""
    format: str
    doc_type: str
    title: str
    date: str | None = None
    jurisdiction: str | None = None
    publisher: str | None = None
    url: str | None = None
    content_hash: str
    ingested_at: str
    metadata: dict[str, Any] = Field(default_factory=dict)
    text: str
    chunks: list[ChunkOut]


class RemoveResult(BaseModel):
    removed_documents: list[str]
    removed_chunks: int
    not_found: list[str]
    watchlist_job_id: str | None = None


JobStatus = Literal["queued", "running", "succeeded", "failed"]


class JobProgress(BaseModel):
    done: int = 0
    total: int = 0
    stage: str = ""


class Job(BaseModel):
    id: str
    kind: str
    status: JobStatus
    progress: JobProgress
    result: dict[str, Any] | None = None
    error: str | None = None
    created_at: dt.datetime
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None


class JobAccepted(BaseModel):
    job_id: str
    status: JobStatus
    url: str


class JobList(BaseModel):
    jobs: list[Job]


# --- briefings, watchlist, history ----------------------------------------------------------------

class BriefingRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    entity: str = Field(min_length=1, max_length=300)
    as_of: dt.date | None = None
    format: BriefingFormat = "json"
    backend: Backend | None = None


class BriefingSummary(BaseModel):
    id: str
    entity: str
    backend: str
    model: str | None = None
    created_at: str
    url: str
    rating: str | None = None  # the briefing's rating (high, medium, low, unrated)
    as_of: str | None = None  # the day it was drawn up as of (None: everything in the store)


class BriefingList(BaseModel):
    briefings: list[BriefingSummary]


class WatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=300)
    aliases: list[str] = Field(default_factory=list, max_length=50)
    brief_now: bool = Field(True, description="build a first briefing now (a background job)")


class WatchEntry(BaseModel):
    name: str
    aliases: list[str]
    added_at: str
    latest_briefing_id: str | None = None
    latest_briefing_at: str | None = None
    briefings: int = 0
    job_id: str | None = Field(None, description="the job building its first briefing (none when the job "
                                                 "limit was reached: it then comes with the next relevant change)")


class WatchList(BaseModel):
    entities: list[WatchEntry]


class HistoryItem(BaseModel):
    id: str
    kind: str
    subject: str
    backend: str
    model: str | None = None
    conversation_id: str | None = None
    created_at: str


class HistoryList(BaseModel):
    items: list[HistoryItem]
    limit: int
    offset: int


class HistoryRecord(HistoryItem):
    filters: dict[str, Any] = Field(default_factory=dict)
    evidence: list[dict[str, Any]] = Field(default_factory=list)
    prompt_versions: dict[str, Any] = Field(default_factory=dict)
    result: dict[str, Any]


class ConversationSummary(BaseModel):
    conversation_id: str
    question: str = Field(description="the conversation's first question")
    started_at: str
    updated_at: str
    turns: int


class ConversationList(BaseModel):
    conversations: list[ConversationSummary]
    limit: int
    offset: int


class ConversationTurn(BaseModel):
    id: str
    question: str
    created_at: str
    answer: Answer


class Conversation(BaseModel):
    conversation_id: str
    turns: list[ConversationTurn] = Field(description="oldest first")


class Limits(BaseModel):
    max_question_chars: int
    max_upload_bytes: int
    max_files: int


class Health(BaseModel):
    status: str


class Ready(BaseModel):
    status: str
    checks: dict[str, Any]
