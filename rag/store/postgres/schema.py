"""The PostgreSQL schema of one workspace, as numbered steps (rag/store/postgres/db.py runs them). Never
edit a released step; add one.

The same tables as the SQLite files (rag/store/registry.py, history.py, watchlist.py), in one schema, with
the keyword index as postings: one row per (stemmed term, chunk) with the term's count in the chunk and the
chunk's length in terms, plus one row of collection statistics (chunks, total terms). Ranking computes
BM25 from these exactly as SQLite FTS5 does (rag/store/postgres/registry.py).
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import psycopg

from rag.store.postgres.db import Migration
from rag.store.postgres.terms import index_terms, indexed_text

V1 = """
CREATE TABLE documents (
    doc_id TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    format TEXT NOT NULL,
    doc_type TEXT NOT NULL,
    title TEXT NOT NULL,
    date TEXT,
    jurisdiction TEXT,
    publisher TEXT,
    url TEXT,
    content_hash TEXT NOT NULL,
    ingested_at TEXT NOT NULL,
    metadata TEXT NOT NULL,
    text TEXT NOT NULL,
    pages TEXT,
    entry TEXT
);
CREATE INDEX documents_source ON documents(source);
CREATE INDEX documents_type ON documents(doc_type);
CREATE TABLE chunks (
    rowid BIGSERIAL PRIMARY KEY,
    chunk_id TEXT UNIQUE NOT NULL,
    doc_id TEXT NOT NULL REFERENCES documents(doc_id),
    idx INTEGER NOT NULL,
    text TEXT NOT NULL,
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    page INTEGER,
    doc_type TEXT NOT NULL,
    date TEXT,
    jurisdiction TEXT,
    source TEXT NOT NULL,
    kw_len INTEGER NOT NULL   -- its length in terms (the keyword index's document length)
);
CREATE INDEX chunks_doc ON chunks(doc_id);
-- The keyword index: postings with term frequency and chunk length (FTS5's tokenizer, see terms.py).
CREATE TABLE postings (
    term TEXT NOT NULL,
    chunk BIGINT NOT NULL,
    tf INTEGER NOT NULL,
    len INTEGER NOT NULL,
    PRIMARY KEY (term, chunk) INCLUDE (tf, len)   -- a query's postings come from the index alone
);
CREATE INDEX postings_chunk ON postings(chunk);
CREATE TABLE kw_stats (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n_rows BIGINT NOT NULL,
    total_len BIGINT NOT NULL
);
INSERT INTO kw_stats VALUES (1, 0, 0);
CREATE TABLE files (
    source TEXT PRIMARY KEY,
    file_hash TEXT NOT NULL,
    format TEXT NOT NULL,
    documents INTEGER NOT NULL,
    ingested_at TEXT NOT NULL
);
CREATE TABLE pending (
    chunk_id TEXT NOT NULL,
    op TEXT NOT NULL CHECK (op IN ('add', 'delete')),
    owner TEXT NOT NULL,  -- host:pid:key; the key is an advisory lock held by the writer's session
    PRIMARY KEY (chunk_id, op)
);
CREATE TABLE counters (name TEXT PRIMARY KEY, value BIGINT NOT NULL);
INSERT INTO counters VALUES ('list_entries', 0);
CREATE FUNCTION bump_list_entries() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE counters SET value = value + 1 WHERE name = 'list_entries';
    RETURN NULL;
END $$;
CREATE TRIGGER list_entries_ins AFTER INSERT ON documents FOR EACH ROW
    WHEN (NEW.doc_type = 'list_entry') EXECUTE FUNCTION bump_list_entries();
CREATE TRIGGER list_entries_upd AFTER UPDATE ON documents FOR EACH ROW
    WHEN (NEW.doc_type = 'list_entry' OR OLD.doc_type = 'list_entry') EXECUTE FUNCTION bump_list_entries();
CREATE TRIGGER list_entries_del AFTER DELETE ON documents FOR EACH ROW
    WHEN (OLD.doc_type = 'list_entry') EXECUTE FUNCTION bump_list_entries();
CREATE TABLE relations (
    id BIGSERIAL PRIMARY KEY,
    doc_id TEXT NOT NULL,
    chunk_id TEXT NOT NULL,
    relation TEXT NOT NULL,
    subject TEXT NOT NULL,
    object TEXT NOT NULL,
    subject_text TEXT NOT NULL,
    object_text TEXT NOT NULL,
    subject_ref TEXT,
    object_ref TEXT,
    role TEXT,
    percentage TEXT,
    date TEXT,
    end_date TEXT,
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    quote TEXT NOT NULL,
    method TEXT NOT NULL,
    phrase TEXT NOT NULL
);
CREATE INDEX relations_doc ON relations(doc_id);
CREATE TABLE relations_docs (doc_id TEXT PRIMARY KEY, content_hash TEXT NOT NULL);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
-- the audit trail (rag/store/history.py)
CREATE TABLE history (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    filters TEXT NOT NULL,
    evidence TEXT NOT NULL,
    backend TEXT NOT NULL,
    model TEXT,
    prompt_versions TEXT NOT NULL,
    conversation_id TEXT,
    created_at TEXT NOT NULL,
    result TEXT NOT NULL
);
CREATE INDEX history_kind ON history(kind, created_at);
CREATE INDEX history_conv ON history(conversation_id, created_at);
CREATE INDEX history_subject ON history(lower(subject));
-- the watchlist (rag/store/watchlist.py); names compare without case, as SQLite's NOCASE
CREATE TABLE watched (
    name TEXT NOT NULL,
    aliases TEXT NOT NULL,
    added_at TEXT NOT NULL
);
CREATE UNIQUE INDEX watched_name ON watched(lower(name));
CREATE TABLE watch_briefings (
    briefing_id TEXT PRIMARY KEY,
    entity TEXT NOT NULL,
    trigger TEXT NOT NULL,
    changed_docs TEXT NOT NULL,
    evidence TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX watch_briefings_entity ON watch_briefings(lower(entity), created_at);
"""

# Background jobs and rate-limit hits, shared by every API worker (api/jobs.py, api/ratelimit.py).
V2 = """
CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    workspace TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    state TEXT NOT NULL,            -- the job's JSON as GET /v1/jobs/{id} returns it
    owner TEXT NOT NULL,            -- the worker running it (see db.LockSession)
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX jobs_workspace ON jobs(workspace, created_at);
CREATE TABLE rate_hits (
    who TEXT NOT NULL,
    at TIMESTAMPTZ NOT NULL
);
CREATE INDEX rate_hits_who ON rate_hits(who, at);
"""

# Keyword index, version 3: the postings also hold each pair of adjacent terms (rag/store/postgres/terms.py), so
# a keyword of several terms ("counter-narcotics", "body's") matches only where they stand in that order, as
# FTS5 matches a phrase; and each term's document frequency is kept in term_df, kept up to date by every
# write, so ranking reads one row per query term instead of counting its postings (a pair's, usually far
# rarer than its terms, is counted from its postings when asked: keeping a row for each of the ~15,000 new
# pairs of a batch would cost every ingest more than it saves a query).
V3 = """
CREATE TABLE term_df (term TEXT PRIMARY KEY, df INTEGER NOT NULL);
"""
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def write_postings(cur: psycopg.Cursor, chunks: Iterable[tuple[int, Counter, int]]) -> None:
    """COPY the postings of (chunk rowid, term or pair -> count, length in terms), as one block of text
    (several times faster than psycopg's write_row, one row at a time)."""
    esc: dict[str, str] = {}
    lines = [f"{esc.get(t) or esc.setdefault(t, t.translate(_COPY_ESCAPES))}\t{rid}\t{tf}\t{n}\n"
             for rid, terms, n in chunks for t, tf in terms.items()]
    with cur.copy("COPY postings (term, chunk, tf, len) FROM STDIN") as cp:
        cp.write("".join(lines))


def _postings_with_pairs(c: psycopg.Connection) -> None:
    """Cut every chunk's terms again (with their pairs), rewrite the postings, count document frequencies."""
    c.execute("TRUNCATE postings")
    with c.cursor(name="chunks_v3") as rows, c.cursor() as out:
        rows.execute("SELECT c.rowid, c.idx, c.text, d.title FROM chunks c JOIN documents d ON d.doc_id = c.doc_id "
                     "ORDER BY c.rowid")
        while batch := rows.fetchmany(2000):
            cut = index_terms([indexed_text(r["idx"], r["title"], r["text"]) for r in batch])
            write_postings(out, ((r["rowid"], terms, n) for r, (terms, n) in zip(batch, cut)))
    c.execute("INSERT INTO term_df SELECT term, COUNT(*) FROM postings WHERE strpos(term, ' ') = 0 GROUP BY term")


# Feeds, their sync state, the news items seen and the changes found (rag/store/feeds.py on SQLite), shared
# by every worker of the workspace. Names compare without case: unique on lower(name); feed_items keeps the
# feed's name lower-cased.
V4 = """
CREATE TABLE feeds (
    name TEXT NOT NULL,
    url TEXT NOT NULL,
    format TEXT,
    every_s INTEGER NOT NULL,
    guarded INTEGER NOT NULL,
    added_at TEXT NOT NULL,
    etag TEXT,
    last_modified TEXT,
    content_hash TEXT,
    version TEXT,
    data_date TEXT,
    last_attempt TEXT,
    last_success TEXT,
    last_failure TEXT,
    last_status TEXT,
    last_error TEXT,
    documents INTEGER
);
CREATE UNIQUE INDEX feeds_name ON feeds(lower(name));
CREATE TABLE feed_items (
    feed TEXT NOT NULL,
    link TEXT NOT NULL,
    fetched_at TEXT NOT NULL,
    PRIMARY KEY (feed, link)
);
CREATE TABLE feed_changes (
    id BIGSERIAL PRIMARY KEY,
    feed TEXT NOT NULL,
    synced_at TEXT NOT NULL,
    date TEXT,
    change TEXT NOT NULL,
    key TEXT NOT NULL,
    name TEXT NOT NULL,
    list TEXT,
    fields TEXT NOT NULL,
    notice_id TEXT
);
CREATE INDEX feed_changes_time ON feed_changes(synced_at);
CREATE INDEX feed_changes_name ON feed_changes(name);
CREATE INDEX feed_changes_feed ON feed_changes(lower(feed));
"""

# Analysts' decisions on screening hits (rag/store/history.py's step 2 on SQLite).
V5 = """
CREATE TABLE screening_decisions (
    id BIGSERIAL PRIMARY KEY,
    screening_id TEXT NOT NULL,
    query_index INTEGER NOT NULL,
    entity_id TEXT NOT NULL,
    decision TEXT NOT NULL,
    note TEXT NOT NULL,
    analyst TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX screening_decisions_screening ON screening_decisions(screening_id, id);
"""

MIGRATIONS: list[Migration] = [
    Migration(1, "documents, chunks, keyword postings, files, intent log, relations, settings, audit trail, "
                 "watchlist", V1),
    Migration(2, "background jobs and rate-limit hits shared by the API workers", V2),
    Migration(3, "keyword index: pairs of adjacent terms in the postings (phrases as FTS5 matches them), "
                 "document frequencies in term_df", V3, _postings_with_pairs, vacuum=("postings", "term_df", "kw_stats")),
    Migration(4, "feeds, their sync state, news items seen and the changes found", V4),
    Migration(5, "decisions on screening hits", V5),
    Migration(6, "relation status, amount and score; relations extracted again",
              "ALTER TABLE relations ADD COLUMN status TEXT;\nALTER TABLE relations ADD COLUMN amount TEXT;\n"
              "ALTER TABLE relations ADD COLUMN score REAL;\nDELETE FROM relations_docs;\n"),
]
