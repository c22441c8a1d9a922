"""Terms for the PostgreSQL keyword index, cut exactly as the SQLite backend's FTS5 index cuts them.

The tokenizer is SQLite's own ('porter unicode61 remove_diacritics 2', the one rag/store/registry.py
declares), run on an in-memory FTS5 table and read back through fts5vocab: the same case folding,
diacritics removal, separators and Porter stemming, so both backends count the same terms and BM25
gives the same scores.

Besides its terms, a chunk is indexed by its pairs of adjacent terms ("person s", written with a space, which
no term holds): a keyword of two terms ("Person's", "anti-fraud"), which FTS5 matches as a phrase, is then
one posting list like a single term's. A keyword of three or more terms is looked up by its pairs and
counted exactly on the text of the chunks that hold them all (phrase_counts).
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


def _sequences(texts: Sequence[str]) -> list[list[str]]:
    """Each text's terms in order."""
    db = _db()
    out: list[list[str]] = [[] for _ in texts]
    db.execute("BEGIN")
    try:
        db.executemany("INSERT INTO t (rowid, text) VALUES (?, ?)", [(i, t) for i, t in enumerate(texts)])
        for doc, term in db.execute("SELECT doc, term FROM v ORDER BY doc, offset"):
            out[doc].append(term)
    finally:
        db.execute("ROLLBACK")  # the table stays empty for the next call
    return out


def pair(a: str, b: str) -> str:
    """The index term of two adjacent terms."""
    return f"{a} {b}"


def index_terms(texts: Sequence[str]) -> list[tuple[Counter, int]]:
    """For each text: (term or pair of adjacent terms -> count, number of terms)."""
    out = []
    for seq in _sequences(texts):
        counts = Counter(seq)
        counts.update(pair(a, b) for a, b in zip(seq, seq[1:]))
        out.append((counts, len(seq)))
    return out


def phrase_counts(texts: Sequence[str], phrase: Sequence[str]) -> list[int]:
    """How often the phrase's terms stand in order in each text (overlapping occurrences count, as in FTS5)."""
    n = len(phrase)
    want = list(phrase)
    return [sum(seq[i:i + n] == want for i in range(len(seq) - n + 1)) for seq in _sequences(texts)]


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


def indexed_text(index: int, title: str, text: str) -> str:
    """What the keyword index reads of a chunk: its text, after its document's title for a first chunk
    that does not already hold it (as the SQLite backend indexes it)."""
    return text if index or title in text else f"{title}\n{text}"
