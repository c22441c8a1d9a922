"""Entities: names, matching, screening, the entity index over list entries, and watchlists.

May import rag.core, rag.embeddings and rag.store; never answering, briefing or the service.
"""
