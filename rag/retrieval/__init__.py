"""Retrieval: hybrid (dense + keyword) search over the store, with filters and fusion.

May import rag.core, rag.embeddings and rag.store.
"""
