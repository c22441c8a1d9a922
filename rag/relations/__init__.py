"""Relations: links between parties extracted from passages, the graph they form, and exposure.

May import rag.core and rag.entities; never answering, briefing or the service.
"""
