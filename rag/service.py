"""The library's front door: one object holding the settings, store, model and pipelines.

The CLI and the HTTP service both build a `Regbrief` and call its methods, so they behave the same.
"""
from __future__ import annotations

from functools import cached_property

from rag.settings import Settings, get_settings
from rag.store import Store, get_store


class Regbrief:
    def __init__(self, settings: Settings | None = None):
        self.settings = settings or get_settings()

    @cached_property
    def store(self) -> Store:
        return get_store(self.settings)

    @cached_property
    def embedder(self):
        from rag.embeddings import get_embedder

        return get_embedder(self.settings.embedding_model, self.settings.embedding_batch_size)

    @cached_property
    def retriever(self):
        from rag.retrieve import Retriever

        return Retriever(self.store, self.embedder, self.settings)

    @cached_property
    def ingestor(self):
        from ingest.pipeline import Ingestor

        return Ingestor(self.store, self.embedder, self.settings)

    @cached_property
    def history(self):
        from rag.store.history import History

        return History(self.settings.home / "history.sqlite3")

    # --- the operations the CLI and the API expose ----------------------------------------------
    def search(self, query: str, k: int = 10, filters=None, mode: str = "hybrid"):
        return self.retriever.search(query, k=k, filters=filters, mode=mode)

    def ask(self, question: str, filters=None, *, conversation_id: str | None = None, backend: str | None = None,
            keep_unsupported: bool = False, record: bool = True):
        """A cited, verified Answer. With a conversation id, earlier turns are used to rewrite a
        follow-up into a standalone question, and this turn is added to the conversation."""
        from rag.answer import answer_question

        return answer_question(self, question, filters, conversation_id=conversation_id, backend=backend,
                               keep_unsupported=keep_unsupported, record=record)

    def brief(self, entity: str, as_of=None, *, backend: str | None = None, record: bool = True):
        """A cited, verified Briefing on an entity."""
        from rag.briefing import build_briefing

        return build_briefing(self, entity, as_of=as_of, backend=backend, record=record)
