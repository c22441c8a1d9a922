"""The registry's tables (rag/store/registry.py), as numbered migration steps (see rag/store/sqlite.py).

Never edit a released step: add one. Each step is tested from the version before it
(tests/test_migrations.py), and the store written by the first release is kept as a fixture.
"""
from __future__ import annotations

import json
import sqlite3

from rag.core.legacy_entry import entry_from_legacy
from rag.core.sources import stored_file_key
from rag.store.sqlite import Migration

V1_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
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
    pages TEXT
);
CREATE INDEX IF NOT EXISTS documents_source ON documents(source);
CREATE TABLE IF NOT EXISTS chunks (
    rowid INTEGER PRIMARY KEY,
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
    source TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
    text, tokenize = 'porter unicode61 remove_diacritics 2'
);
CREATE TABLE IF NOT EXISTS files (
    source TEXT PRIMARY KEY,
    file_hash TEXT NOT NULL,
    format TEXT NOT NULL,
    documents INTEGER NOT NULL,
    ingested_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS pending (
    chunk_id TEXT NOT NULL,
    op TEXT NOT NULL CHECK (op IN ('add', 'delete')),
    owner TEXT NOT NULL,  -- host:pid of the writer, so recovery never undoes a live writer's batch
    PRIMARY KEY (chunk_id, op)
);
-- Bumped by every change to the registry's list entries, in any process: caches built from them (the
-- entity index) compare one number instead of scanning the table.
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO counters VALUES ('list_entries', 0);
CREATE TRIGGER IF NOT EXISTS list_entries_ins AFTER INSERT ON documents WHEN NEW.doc_type = 'list_entry'
    BEGIN UPDATE counters SET value = value + 1 WHERE name = 'list_entries'; END;
CREATE TRIGGER IF NOT EXISTS list_entries_upd AFTER UPDATE ON documents
    WHEN NEW.doc_type = 'list_entry' OR OLD.doc_type = 'list_entry'
    BEGIN UPDATE counters SET value = value + 1 WHERE name = 'list_entries'; END;
CREATE TRIGGER IF NOT EXISTS list_entries_del AFTER DELETE ON documents WHEN OLD.doc_type = 'list_entry'
    BEGIN UPDATE counters SET value = value + 1 WHERE name = 'list_entries'; END;
"""

# v1 created these on first use, outside the versioned schema; from v2 they are part of it and written
# in the same transaction as the documents they come from.
V2_RELATIONS = """
CREATE TABLE IF NOT EXISTS relations (
    id INTEGER PRIMARY KEY,
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
CREATE INDEX IF NOT EXISTS relations_doc ON relations(doc_id);
-- Which content (hash) of each document its relations were extracted from.
CREATE TABLE IF NOT EXISTS relations_docs (
    doc_id TEXT PRIMARY KEY,
    content_hash TEXT NOT NULL
);
-- Store-wide settings recorded with the data (e.g. which embedding model and backend made the vectors).
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""



def _typed_entries(db: sqlite3.Connection) -> None:
    """v3: list entries are stored typed. v1/v2 stores kept their facts in `metadata` only: derive the
    typed entry from it (rag/core/legacy_entry.py, the one place the old keys are read)."""
    rows = db.execute("SELECT doc_id, title, publisher, date, jurisdiction, metadata FROM documents "
                      "WHERE doc_type = 'list_entry'").fetchall()
    db.executemany("UPDATE documents SET entry = ? WHERE doc_id = ?", [
        (entry_from_legacy(json.loads(r[5]), r[1], r[2], r[3], r[4]).model_dump_json(), r[0]) for r in rows])


def _file_keys(db: sqlite3.Connection) -> None:
    """v4: files ingested from this machine are keyed by name and a hash of their path, never the path, so
    no response can show where files sit on the server (rag/core/sources.py)."""
    for table in ("documents", "chunks", "files"):
        for (key,) in db.execute(f"SELECT DISTINCT source FROM {table}").fetchall():
            if stored_file_key(key) != key:
                db.execute(f"UPDATE {table} SET source = ? WHERE source = ?", (stored_file_key(key), key))


MIGRATIONS: list[Migration] = [
    Migration(1, "documents, chunks, keyword index, files, intent log", V1_SCHEMA),
    Migration(2, "relations in the schema; store settings", V2_RELATIONS),
    Migration(3, "typed list entries", "ALTER TABLE documents ADD COLUMN entry TEXT;", _typed_entries),
    Migration(4, "file keys without server paths", "", _file_keys),
    # Relations say whether their sentence states them as ended, with the amount and the model's score;
    # every document's relations are extracted again (the extractor learned more than its phrase list).
    Migration(5, "relation status, amount and score; relations extracted again",
              "ALTER TABLE relations ADD COLUMN status TEXT;\nALTER TABLE relations ADD COLUMN amount TEXT;\n"
              "ALTER TABLE relations ADD COLUMN score REAL;\nDELETE FROM relations_docs;\n"),
]
