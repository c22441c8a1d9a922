"""Terms for the PostgreSQL keyword index, cut exactly as the SQLite backend's FTS5 index cuts them.

The tokenizer is SQLite's own ('porter unicode61 remove_diacritics 2', the one rag/store/registry.py
declares), run on an in-memory FTS5 table and read back through fts5vocab: the same case folding,
diacritics removal, separators and Porter stemming, so both backends count the same terms and BM25
gives the same scores.
"""
from __future__ import annotations

import sqlite3
import threading
from collections import Counter
from collections.abc import Sequence

TOKENIZE = "porter unicode61 remove_diacritics 2"
_local = threading.local()


def _db() -> sqlite3.Connection:
    db = getattr(_local, "db", None)
    if db is None:
        db = sqlite3.connect(":memory:", isolation_level=None)
        db.execute(f"CREATE VIRTUAL TABLE t USING fts5(text, tokenize = '{TOKENIZE}')")
        db.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance')")
        _local.db = db
    return db


def term_counts(texts: Sequence[str]) -> list[tuple[Counter, int]]:
    """For each text: (term -> count, number of terms)."""
    db = _db()
    out: list[tuple[Counter, int]] = [(Counter(), 0) for _ in texts]
    db.execute("BEGIN")
    try:
        db.executemany("INSERT INTO t (rowid, text) VALUES (?, ?)", [(i, t) for i, t in enumerate(texts)])
        for doc, term, n in db.execute("SELECT doc, term, COUNT(*) FROM v GROUP BY doc, term"):
            out[doc][0][term] = n
    finally:
        db.execute("ROLLBACK")  # the table stays empty for the next call
    return [(c, sum(c.values())) for c, _ in out]


def phrase_terms(phrases: Sequence[str]) -> list[list[str]]:
    """For each query keyword, its terms in order (a hyphenated keyword is a phrase of several)."""
    db = _db()
    out: list[list[str]] = [[] for _ in phrases]
    db.execute("BEGIN")
    try:
        db.executemany("INSERT INTO t (rowid, text) VALUES (?, ?)", [(i, p) for i, p in enumerate(phrases)])
        for doc, term in db.execute("SELECT doc, term FROM v ORDER BY doc, offset"):
            out[doc].append(term)
    finally:
        db.execute("ROLLBACK")
    return out
