"""The PostgreSQL backend: REGBRIEF_DATABASE_URL=postgresql://... puts the registry, the keyword index, the
relations, the audit trail, the watchlist, feeds, background jobs and rate-limit counters in PostgreSQL (one
schema per workspace, named after its Chroma collection), so an API worker with REGBRIEF_CHROMA_URL too keeps
no state on its own disk and any number of workers serve one store.

  db.py        pools, schemas, numbered migrations, the writer's lock session (who owns a pending row)
  schema.py    the numbered steps
  terms.py     SQLite FTS5's tokenizer, so both backends index the same terms
  registry.py  Registry: documents, chunks, BM25 over postings, intent log, relations, settings
  tables.py    AuditTrail, WatchlistTables, and the jobs and rate-limit tables the API workers share
  feeds.py     FeedTables: feeds, their sync state and changes, syncs taking turns over the workers
"""
from __future__ import annotations

from rag.core.settings import Settings
from rag.store.postgres.registry import PgRegistry
from rag.store.postgres.tables import PgHistory, PgJobs, PgRateLimits, PgWatchlist

__all__ = ["PgHistory", "PgJobs", "PgRateLimits", "PgRegistry", "PgWatchlist", "open_postgres", "service_tables"]


def open_postgres(settings: Settings) -> tuple[PgRegistry, PgHistory, PgWatchlist]:
    """The registry, audit trail and watchlist of one workspace (its schema is its collection's name)."""
    registry = PgRegistry(settings.database_url, settings.collection)
    return registry, PgHistory(registry), PgWatchlist(registry)


def service_tables(settings: Settings) -> tuple[PgJobs, PgRateLimits]:
    """The jobs and rate-limit tables every worker of a deployment shares (in the default workspace's schema)."""
    registry = PgRegistry(settings.database_url, settings.collection)
    return PgJobs(registry), PgRateLimits(registry)
