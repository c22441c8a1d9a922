"""The audit trail: every answer, briefing and screening, what it was based on, conversations, and the
analysts' decisions on screening hits.

Stored in SQLite beside the store (REGBRIEF_HOME/history.sqlite3). Each record keeps the exact JSON
that was returned, so `regbrief show ID` reprints it exactly, and the retrieved chunk ids with their
content hashes, so a reviewer can tell whether the evidence has changed since.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

from rag.store.sqlite import Migration, SqliteDB

# An analyst's decision on one hit of a screening (kind 'screening' in history): rows are only ever added, so
# the trail keeps every decision and its revisions; the latest row per (query, entity) is the current one.
SCREENING_DECISIONS = """
CREATE TABLE IF NOT EXISTS screening_decisions (
    id INTEGER PRIMARY KEY,
    screening_id TEXT NOT NULL,
    query_index INTEGER NOT NULL,    -- which screened name (0-based, in the order screened)
    entity_id TEXT NOT NULL,         -- the list entry of the hit
    decision TEXT NOT NULL,          -- true_match | false_positive | needs_review
    note TEXT NOT NULL,
    analyst TEXT NOT NULL,           -- who decided: an API key's short hash (api/keys.py key_id), never the key
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS screening_decisions_screening ON screening_decisions(screening_id, id);
"""

# Numbered steps (rag/store/sqlite.py); step 1 is the first release's schema.
MIGRATIONS = [Migration(1, "audit trail", """
CREATE TABLE IF NOT EXISTS history (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,              -- answer | briefing
    subject TEXT NOT NULL,           -- the question or the entity
    filters TEXT NOT NULL,
    evidence TEXT NOT NULL,          -- [{chunk_id, hash}] retrieved for it
    backend TEXT NOT NULL,
    model TEXT,
    prompt_versions TEXT NOT NULL,
    conversation_id TEXT,
    created_at TEXT NOT NULL,
    result TEXT NOT NULL             -- the exact JSON returned
);
CREATE INDEX IF NOT EXISTS history_kind ON history(kind, created_at);
CREATE INDEX IF NOT EXISTS history_conv ON history(conversation_id, created_at);
"""), Migration(2, "decisions on screening hits", SCREENING_DECISIONS)]


DECISION_KEYS = ("id", "screening_id", "query_index", "entity_id", "decision", "note", "analyst", "created_at")


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


class History(SqliteDB):
    def __init__(self, path: Path):
        super().__init__(path, MIGRATIONS)

    def record(
        self,
        kind: str,
        record_id: str,
        subject: str,
        result_json: str,
        *,
        filters: dict | None = None,
        evidence: list[dict] | None = None,
        backend: str,
        model: str | None,
        prompt_versions: dict[str, str],
        conversation_id: str | None = None,
        created_at: dt.datetime | None = None,
    ) -> None:
        self.conn().execute(
            "INSERT OR REPLACE INTO history VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (
                record_id, kind, subject, json.dumps(filters or {}, default=str), json.dumps(evidence or []),
                backend, model, json.dumps(prompt_versions), conversation_id,
                (created_at or dt.datetime.now(dt.timezone.utc)).isoformat(), result_json,
            ),
        )

    def list(self, kind: str | None = None, limit: int = 50, offset: int = 0, subject: str | None = None) -> list[dict]:
        sql = "SELECT id, kind, subject, backend, model, conversation_id, created_at FROM history"
        clauses, params = [], []
        if kind:
            clauses.append("kind = ?")
            params.append(kind)
        if subject:
            clauses.append("subject = ? COLLATE NOCASE")
            params.append(subject)
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += " ORDER BY created_at DESC, id LIMIT ? OFFSET ?"
        return [dict(r) for r in self.conn().execute(sql, [*params, limit, offset])]

    def get(self, record_id: str) -> dict | None:
        r = self.conn().execute("SELECT * FROM history WHERE id = ?", [record_id]).fetchone()
        if not r:
            return None
        out: dict[str, Any] = dict(r)
        for k in ("filters", "evidence", "prompt_versions"):
            out[k] = json.loads(out[k])
        return out

    def decide(self, screening_id: str, query_index: int, entity_id: str, decision: str, note: str,
               analyst: str, created_at: dt.datetime | None = None) -> dict:
        row = (screening_id, query_index, entity_id, decision, note, analyst,
               (created_at or dt.datetime.now(dt.timezone.utc)).isoformat())
        cur = self.conn().execute(
            "INSERT INTO screening_decisions (screening_id, query_index, entity_id, decision, note, analyst, "
            "created_at) VALUES (?,?,?,?,?,?,?)", row)
        return {"id": cur.lastrowid, **dict(zip(DECISION_KEYS[1:], row))}

    def decisions(self, screening_id: str) -> list[dict]:
        return [dict(r) for r in self.conn().execute(
            f"SELECT {', '.join(DECISION_KEYS)} FROM screening_decisions WHERE screening_id = ? ORDER BY id",
            [screening_id])]

    def conversation(self, conversation_id: str, limit: int = 10) -> list[tuple[str, str]]:
        """(question, answer text) pairs of a conversation, oldest first."""
        rows = self.conn().execute(
            "SELECT subject, result FROM history WHERE conversation_id = ? AND kind = 'answer' "
            "ORDER BY created_at DESC LIMIT ?",
            [conversation_id, limit],
        ).fetchall()
        return [(r[0], json.loads(r[1]).get("answer", "")) for r in reversed(rows)]

    def conversations(self, limit: int = 50, offset: int = 0) -> list[dict]:
        """{conversation_id, question (the first one), started_at, updated_at, turns}, latest activity first."""
        return [dict(r) for r in self.conn().execute(
            "SELECT conversation_id, "
            "(SELECT f.subject FROM history f WHERE f.conversation_id = h.conversation_id AND f.kind = 'answer' "
            " ORDER BY f.created_at, f.id LIMIT 1) AS question, "
            "MIN(created_at) AS started_at, MAX(created_at) AS updated_at, COUNT(*) AS turns "
            "FROM history h WHERE kind = 'answer' AND conversation_id IS NOT NULL "
            "GROUP BY conversation_id ORDER BY updated_at DESC, conversation_id LIMIT ? OFFSET ?",
            [limit, offset])]

    def turns(self, conversation_id: str) -> list[dict]:
        """{id, question, created_at, result (the exact JSON returned)} of a conversation, oldest first."""
        return [dict(r) for r in self.conn().execute(
            "SELECT id, subject AS question, created_at, result FROM history "
            "WHERE conversation_id = ? AND kind = 'answer' ORDER BY created_at, id", [conversation_id])]
