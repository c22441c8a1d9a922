"""The audit trail, the watchlist, background jobs and rate-limit hits on PostgreSQL (same behaviour as
rag/store/history.py and rag/store/watchlist.py; jobs and rate limits are what lets several API workers
act as one: a job started on one worker is read on another, and a per-key limit counts every worker's
requests). Their tables are in the workspace's schema (rag/store/postgres/schema.py)."""
from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Sequence
from typing import Any

from rag.store.history import DECISION_KEYS
from rag.store.postgres.db import PgDB, key32

NS_RATE = 0x52420005


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class PgHistory:
    """AuditTrail (rag/store/protocol.py)."""

    def __init__(self, db: PgDB):
        self.db = db

    def record(self, kind: str, record_id: str, subject: str, result_json: str, *, filters: dict | None = None,
               evidence: list[dict] | None = None, backend: str, model: str | None,
               prompt_versions: dict[str, str], conversation_id: str | None = None,
               created_at: dt.datetime | None = None) -> None:
        row = (record_id, kind, subject, json.dumps(filters or {}, default=str), json.dumps(evidence or []),
               backend, model, json.dumps(prompt_versions), conversation_id,
               (created_at or _now()).isoformat(), result_json)
        with self.db.tx() as c:
            c.execute("INSERT INTO history VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s) ON CONFLICT (id) DO UPDATE SET "
                      "kind = EXCLUDED.kind, subject = EXCLUDED.subject, filters = EXCLUDED.filters, "
                      "evidence = EXCLUDED.evidence, backend = EXCLUDED.backend, model = EXCLUDED.model, "
                      "prompt_versions = EXCLUDED.prompt_versions, conversation_id = EXCLUDED.conversation_id, "
                      "created_at = EXCLUDED.created_at, result = EXCLUDED.result", row)

    def list(self, kind: str | None = None, limit: int = 50, offset: int = 0, subject: str | None = None) -> list[dict]:
        q = "SELECT id, kind, subject, backend, model, conversation_id, created_at FROM history"
        clauses, params = [], []
        if kind:
            clauses.append("kind = %s")
            params.append(kind)
        if subject:
            clauses.append("lower(subject) = lower(%s)")
            params.append(subject)
        if clauses:
            q += " WHERE " + " AND ".join(clauses)
        q += ' ORDER BY created_at DESC, id COLLATE "C" LIMIT %s OFFSET %s'
        return self.db.all(q, [*params, limit, offset])

    def get(self, record_id: str) -> dict | None:
        rows = self.db.all("SELECT * FROM history WHERE id = %s", [record_id])
        if not rows:
            return None
        out: dict[str, Any] = rows[0]
        for k in ("filters", "evidence", "prompt_versions"):
            out[k] = json.loads(out[k])
        return out

    def decide(self, screening_id: str, query_index: int, entity_id: str, decision: str, note: str,
               analyst: str, created_at: dt.datetime | None = None) -> dict:
        row = (screening_id, query_index, entity_id, decision, note, analyst, (created_at or _now()).isoformat())
        with self.db.tx() as c:
            new = c.execute("INSERT INTO screening_decisions (screening_id, query_index, entity_id, decision, note, "
                            "analyst, created_at) VALUES (%s,%s,%s,%s,%s,%s,%s) RETURNING id", row).fetchone()
        return {"id": new["id"], **dict(zip(DECISION_KEYS[1:], row))}

    def decisions(self, screening_id: str) -> list[dict]:
        return self.db.all(f"SELECT {', '.join(DECISION_KEYS)} FROM screening_decisions WHERE screening_id = %s "
                           "ORDER BY id", [screening_id])

    def conversation(self, conversation_id: str, limit: int = 10) -> list[tuple[str, str]]:
        rows = self.db.all("SELECT subject, result FROM history WHERE conversation_id = %s AND kind = 'answer' "
                           "ORDER BY created_at DESC LIMIT %s", [conversation_id, limit])
        return [(r["subject"], json.loads(r["result"]).get("answer", "")) for r in reversed(rows)]

    def conversations(self, limit: int = 50, offset: int = 0) -> list[dict]:
        return self.db.all(
            "SELECT conversation_id, "
            "(SELECT f.subject FROM history f WHERE f.conversation_id = h.conversation_id AND f.kind = 'answer' "
            ' ORDER BY f.created_at, f.id COLLATE "C" LIMIT 1) AS question, '
            "MIN(created_at) AS started_at, MAX(created_at) AS updated_at, COUNT(*) AS turns "
            "FROM history h WHERE kind = 'answer' AND conversation_id IS NOT NULL "
            'GROUP BY conversation_id ORDER BY updated_at DESC, conversation_id COLLATE "C" LIMIT %s OFFSET %s',
            [limit, offset])

    def turns(self, conversation_id: str) -> list[dict]:
        return self.db.all("SELECT id, subject AS question, created_at, result FROM history "
                           "WHERE conversation_id = %s AND kind = 'answer' ORDER BY created_at, id COLLATE \"C\"",
                           [conversation_id])


class PgWatchlist:
    """WatchlistTables (rag/store/protocol.py)."""

    def __init__(self, db: PgDB):
        self.db = db
        self.refresh_lock = threading.Lock()

    def add(self, name: str, aliases: Sequence[str] = ()) -> dict:
        name = " ".join(name.split())
        if not name:
            raise ValueError("the entity name is empty")
        aliases = [a for a in dict.fromkeys(" ".join(a.split()) for a in aliases) if a and a.lower() != name.lower()]
        with self.db.tx() as c:
            r = c.execute("SELECT name, aliases FROM watched WHERE lower(name) = lower(%s) FOR UPDATE", [name]).fetchone()
            if r:
                merged = list(dict.fromkeys([*json.loads(r["aliases"]), *aliases]))
                c.execute("UPDATE watched SET aliases = %s WHERE lower(name) = lower(%s)", [json.dumps(merged), name])
            else:
                c.execute("INSERT INTO watched VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                          [name, json.dumps(aliases), _now().isoformat(timespec="seconds")])
        return self.get(name)  # type: ignore[return-value]

    def remove(self, name: str) -> bool:
        with self.db.tx() as c:
            return c.execute("DELETE FROM watched WHERE lower(name) = lower(%s)", [name.strip()]).rowcount > 0

    def get(self, name: str) -> dict | None:
        rows = self.db.all("SELECT * FROM watched WHERE lower(name) = lower(%s)", [name.strip()])
        return self._entry(rows[0]) if rows else None

    def list(self) -> list[dict]:
        return [self._entry(r) for r in self.db.all("SELECT * FROM watched ORDER BY lower(name) COLLATE \"C\"")]

    def _entry(self, r: dict) -> dict:
        latest = self.latest(r["name"])
        return {
            "name": r["name"], "aliases": json.loads(r["aliases"]), "added_at": r["added_at"],
            "latest_briefing_id": latest["briefing_id"] if latest else None,
            "latest_briefing_at": latest["created_at"] if latest else None,
            "briefings": self.db.one("SELECT COUNT(*) FROM watch_briefings WHERE lower(entity) = lower(%s)",
                                     [r["name"]]),
        }

    def record(self, entity: str, briefing_id: str, trigger: str, changed_docs: Sequence[str],
               evidence: Sequence[str] = ()) -> None:
        with self.db.tx() as c:
            c.execute("INSERT INTO watch_briefings VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (briefing_id) DO "
                      "UPDATE SET entity = EXCLUDED.entity, trigger = EXCLUDED.trigger, changed_docs = "
                      "EXCLUDED.changed_docs, evidence = EXCLUDED.evidence, created_at = EXCLUDED.created_at",
                      [briefing_id, entity, trigger, json.dumps(list(changed_docs)[:1000]),
                       json.dumps(sorted(evidence)), _now().isoformat()])

    def latest(self, entity: str) -> dict | None:
        rows = self.db.all("SELECT * FROM watch_briefings WHERE lower(entity) = lower(%s) "
                           "ORDER BY created_at DESC LIMIT 1", [entity])
        return rows[0] if rows else None

    def briefings(self, entity: str | None = None, limit: int = 50) -> list[dict]:
        q, params = "SELECT * FROM watch_briefings", []
        if entity:
            q += " WHERE lower(entity) = lower(%s)"
            params.append(entity)
        q += " ORDER BY created_at DESC LIMIT %s"
        out = []
        for d in self.db.all(q, [*params, limit]):
            d["changed_docs"] = json.loads(d["changed_docs"])
            d["evidence"] = json.loads(d["evidence"])
            out.append(d)
        return out


class PgJobs:
    """JobTable (rag/store/protocol.py): background jobs as every worker sees them."""

    def __init__(self, db: PgDB):
        self.db = db

    @property
    def owner(self) -> str:
        return self.db.locks.current_owner()

    def save(self, job_id: str, workspace: str, kind: str, status: str, state: dict) -> None:
        with self.db.tx() as c:
            c.execute("INSERT INTO jobs (id, workspace, kind, status, state, owner) VALUES (%s, %s, %s, %s, %s, %s) "
                      "ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, state = EXCLUDED.state",
                      [job_id, workspace, kind, status, json.dumps(state, default=str), self.owner])
            c.execute("DELETE FROM jobs WHERE created_at < now() - interval '7 days'")

    def _with_owner(self, rows: list[dict]) -> list[dict]:
        """Jobs whose worker is gone while they were queued or running are reported as failed."""
        alive = self.db.locks.alive(list({r["owner"] for r in rows if r["status"] in ("queued", "running")}))
        out = []
        for r in rows:
            state = json.loads(r["state"])
            if r["status"] in ("queued", "running") and r["owner"] not in alive:
                state.update(status="failed", error="the worker running this job stopped before it finished")
                state["progress"]["stage"] = "failed"
            out.append(state)
        return out

    def get(self, job_id: str, workspace: str) -> dict | None:
        rows = self.db.all("SELECT status, state, owner FROM jobs WHERE id = %s AND workspace = %s",
                           [job_id, workspace])
        return self._with_owner(rows)[0] if rows else None

    def list(self, workspace: str, limit: int = 50) -> list[dict]:
        return self._with_owner(self.db.all(
            "SELECT status, state, owner FROM jobs WHERE workspace = %s ORDER BY created_at DESC LIMIT %s",
            [workspace, limit]))

    def active(self) -> int:
        """Jobs queued or running on live workers."""
        rows = self.db.all("SELECT owner, count(*) AS n FROM jobs WHERE status IN ('queued', 'running') "
                           "GROUP BY owner")
        alive = self.db.locks.alive([r["owner"] for r in rows])
        return sum(r["n"] for r in rows if r["owner"] in alive)


class PgRateLimits:
    """RateLimits (rag/store/protocol.py): a sliding one-minute window per caller across every worker."""

    def __init__(self, db: PgDB):
        self.db = db

    def hit(self, who: str, per_minute: int) -> float | None:
        """Count one request; None when allowed, else seconds until the next would be."""
        with self.db.tx() as c:
            c.execute("SELECT pg_advisory_xact_lock(%s, %s)", [NS_RATE, key32(who)])
            c.execute("DELETE FROM rate_hits WHERE who = %s AND at <= clock_timestamp() - interval '60 seconds'",
                      [who])
            r = c.execute("SELECT count(*) AS n, extract(epoch FROM min(at) + interval '60 seconds' - "
                          "clock_timestamp()) AS wait FROM rate_hits WHERE who = %s", [who]).fetchone()
            if r["n"] >= per_minute:
                return max(0.0, float(r["wait"]))
            c.execute("INSERT INTO rate_hits VALUES (%s, clock_timestamp())", [who])
            return None
