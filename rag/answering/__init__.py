"""Answering: question -> plan -> evidence -> draft -> verified, cited answer.

May import rag.core, rag.entities, rag.relations, rag.retrieval and rag.store; never the service.
"""
