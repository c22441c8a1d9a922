"""Core: the types and helpers every other part of rag/ shares.

Models (Document, Chunk, Citation, Answer, Briefing ...), settings, dates, text, source labels and the
scheduling helpers. Imports nothing else from rag/.
"""
