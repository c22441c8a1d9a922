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
