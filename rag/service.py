"""The library's front door: everything a user can do is a method of `Regbrief`.

The CLI, the HTTP routers and the MCP server are thin ways in: each builds (or is handed) a `Regbrief`
for its workspace and calls one method, so all three behave the same and return the same models.
The parts (store, embedder, retriever, ingestor, audit trail, watchlist) are built on first use.
"""
from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable, Sequence
from functools import cached_property
from pathlib import Path

from ingest.feeds.fetch import FetchError, check_url
from ingest.feeds.models import NEWS, Feed, FeedChange, check_name, feed_dir, parse_every
from ingest.feeds.schedule import next_due
from ingest.feeds.sync import sync_feeds
from ingest.formats import formats
from ingest.pipeline import Ingestor
from rag.answering.answer import answer_question
from rag.briefing import build_briefing
from rag.core.models import Filters
from rag.core.priority import query_entry
from rag.core.settings import Settings, get_settings
from rag.embeddings import get_embedder
from rag.entities import screen as screening
from rag.entities import watchlist as watching
from rag.entities.index import EntityIndex
from rag.relations import links as linking
from rag.relations.extract import extract_stored
from rag.retrieval.retrieve import Retriever
from rag.store import Store, get_store
from rag.store import backup as backups


class Regbrief:
    def __init__(self, settings: Settings | None = None):
        self.settings = settings or get_settings()

    # --- the parts, built on first use ----------------------------------------------------------
    @cached_property
    def store(self) -> Store:
        """The workspace's store, with the entity index and the relation extraction it keeps current."""
        store = get_store(self.settings)
        store.attach(entity_index=EntityIndex, extract_relations=extract_stored)
        return store

    @cached_property
    def embedder(self):
        # "auto" follows the vectors the store already has (rag/embeddings/backends.py, resolve).
        recorded = self.store.embedding_signature() if self.settings.embedding_backend == "auto" else None
        return get_embedder(self.settings.embedding_model, self.settings.embedding_batch_size,
                            self.settings.embedding_backend, self.settings.embedding_device, recorded)

    @cached_property
    def retriever(self):
        return Retriever(self.store, self.embedder, self.settings)

    @cached_property
    def ingestor(self):
        return Ingestor(self.store, self.embedder, self.settings)

    @property
    def history(self):
        """The audit trail (answers, briefings, conversations)."""
        return self.store.history

    @property
    def watchlist(self):
        return self.store.watchlist

    # --- documents --------------------------------------------------------------------------------
    def ingest(self, paths: Sequence[str | Path], fmt: str | None = None, *, progress: bool = False,
               on_progress: Callable[[int, int], None] | None = None,
               source_name: Callable[[Path], str] | None = None, refresh: bool = True):
        """Ingest files and folders (an IngestReport), then regenerate the briefings of watched entities
        whose evidence changed (unless `refresh` is False: the caller then calls `refresh_affected`)."""
        kwargs = {"source_name": source_name} if source_name else {}
        report = self.ingestor.ingest(paths, fmt=fmt, progress=progress, on_progress=on_progress, **kwargs)
        if refresh:
            self.refresh_affected(report.changed_doc_ids, trigger="ingest")
        return report

    def remove(self, doc_ids: Sequence[str] = (), source: str | None = None, refresh: bool = True) -> dict:
        """Remove documents by id, or every document of one source; watched entities are refreshed
        (unless `refresh` is False, as for `ingest`)."""
        res = self.ingestor.remove(doc_ids, source=source)
        if refresh:
            self.refresh_affected(res["removed_documents"], trigger="remove")
        return res

    def refresh_affected(self, changed_doc_ids: Sequence[str], trigger: str = "ingest",
                         on_progress: Callable[[int, int], None] | None = None) -> dict:
        """Regenerate the briefings of watched entities whose evidence is among the changed documents:
        {"regenerated": [{entity, briefing_id, changed_docs}], "unchanged": [names]}. The API runs this
        in a background job after an upload or a deletion, and reports it."""
        return watching.refresh(self, changed_doc_ids, trigger=trigger, on_progress=on_progress)

    def sources(self) -> dict:
        """What the store holds: documents, chunks, formats, dates, files."""
        return self.store.stats()

    def document(self, doc_id: str) -> dict | None:
        return self.store.document(doc_id)

    def check(self) -> dict:
        """Finish interrupted writes, then report the store's consistency."""
        self.store.recover()
        return {**self.store.check(), "embedding": self.store.embedding_signature()}

    def reembed(self) -> dict:
        """Re-embed every chunk with the configured embedder (crash-safe; a re-run resumes)."""
        return self.store.reembed(self.embedder)

    # --- questions ------------------------------------------------------------------------------
    def search(self, query: str, k: int = 10, filters: Filters | None = None, mode: str = "hybrid"):
        return self.retriever.search(query, k=k, filters=filters, mode=mode)

    def ask(self, question: str, filters: Filters | None = None, *, conversation_id: str | None = None,
            backend: str | None = None, keep_unsupported: bool = False, record: bool = True):
        """A cited, verified Answer. With a conversation id, earlier turns are used to rewrite a
        follow-up into a standalone question, and this turn is added to the conversation."""
        return answer_question(self, question, filters, conversation_id=conversation_id, backend=backend,
                               keep_unsupported=keep_unsupported, record=record)

    def brief(self, entity: str, as_of: dt.date | None = None, *, backend: str | None = None,
              record: bool = True):
        """A cited, verified Briefing on an entity."""
        return build_briefing(self, entity, as_of=as_of, backend=backend, record=record)

    def compare_briefings(self, old_id: str, new_id: str):
        """What changed between two recorded briefings of one subject (BriefingComparison): relations
        added, ended or no longer stated, changed percentages or listings, the rating. KeyError for an id
        that is not a briefing; rag.briefing.compare.DifferentSubjects for briefings of two subjects."""
        from rag.briefing.compare import compare
        from rag.core.models import Briefing

        got = []
        for bid in (old_id, new_id):
            rec = self.show(bid)
            if rec is None or rec["kind"] != "briefing":
                raise KeyError(bid)
            got.append(Briefing.model_validate_json(rec["result"]))
        return compare(*got)

    # --- entities -------------------------------------------------------------------------------
    def screen(self, names: list, type: str | None = None, threshold: float | None = None,
               limit: int | None = None):
        """Screen names (str) or queries (rag.core.models.ScreenQuery: a name with a schema, birth date, country and
        identifiers) against every list entry: one ScreenResult each, in order, and the lists screened."""
        return screening.screen_names(
            self.store.entities, names, type,
            screening.DEFAULT_THRESHOLD if threshold is None else threshold,
            screening.MAX_MATCHES if limit is None else limit)

    def screen_file(self, names, type: str | None = None, threshold: float | None = None, limit: int | None = None,
                    *, analyst: str):
        """Screen a names file (rag.entities.screenings.NamesFile) and keep the screening record in the audit
        trail: what was screened, when, by whom (`analyst`: a key's short hash, never the key), against which
        list versions. Returns the ScreeningRecord."""
        from rag.entities.screenings import list_versions, new_record

        resp = self.screen(names.queries, type=type, threshold=threshold, limit=limit)
        store = self.store
        versions = list_versions(list(store.entities.entries.values()), resp.lists, store.sources(),
                                 store.doc_hashes, store.file_hash)
        rec = new_record(resp, names, versions, analyst)
        self.history.record("screening", rec.id, names.name, rec.model_dump_json(by_alias=True),
                            filters={"type": type, "threshold": resp.threshold, "limit": limit},
                            backend="screen", model=None, prompt_versions={}, created_at=rec.created_at)
        return rec

    def screening(self, screening_id: str):
        """A screening record (ScreeningRecord) with every decision on its hits, or None."""
        from rag.entities.screenings import ScreeningDecision, ScreeningRecord

        row = self.history.get(screening_id)
        if row is None or row["kind"] != "screening":
            return None
        rec = ScreeningRecord.model_validate_json(row["result"])
        rec.decisions = [ScreeningDecision.model_validate(d) for d in self.history.decisions(screening_id)]
        return rec

    def decide(self, screening_id: str, query_index: int, entity_id: str, decision: str, note: str = "", *,
               analyst: str):
        """Record an analyst's decision (true_match, false_positive, needs_review) on one hit of a screening;
        KeyError for an unknown screening, ValueError naming the field for a hit that is not one of its own."""
        from rag.entities.screenings import DECISIONS, ScreeningDecision, check_decision

        rec = self.screening(screening_id)
        if rec is None:
            raise KeyError(f"no screening with id {screening_id!r}")
        if decision not in DECISIONS:
            raise ValueError(f"decision: {decision!r} is not one of {', '.join(DECISIONS)}")
        check_decision(rec, query_index, entity_id)
        row = self.history.decide(screening_id, query_index, entity_id, decision, note.strip(), analyst)
        return ScreeningDecision.model_validate(row)

    @query_entry
    def links(self, entity: str):
        """An entity's names, listings and cited relations (EntityLinks)."""
        return linking.links(self, entity)

    @query_entry
    def exposure(self, entity: str, depth: int = 3, max_paths: int = 50, relations: Sequence[str] | None = None):
        """Cited paths from an entity to listed entities (ExposureResponse)."""
        return linking.exposure(self, entity, depth=depth, max_paths=max_paths, relations=relations)

    # --- audit trail ----------------------------------------------------------------------------
    def past(self, kind: str | None = None, limit: int = 50, offset: int = 0, subject: str | None = None) -> list[dict]:
        """Past answers and briefings, newest first."""
        return self.history.list(kind=kind, limit=limit, offset=offset, subject=subject)

    def show(self, record_id: str) -> dict | None:
        """One past answer or briefing, with the exact JSON that was returned."""
        return self.history.get(record_id)

    # --- watchlist ------------------------------------------------------------------------------
    def watch(self, name: str, aliases: Sequence[str] = (), brief: bool = True) -> dict:
        """Watch an entity (and build its first briefing unless `brief` is False)."""
        entry = self.watchlist.add(name, aliases)
        if brief:
            b = watching.regenerate(self, self.watchlist, entry["name"], trigger="added")
            entry = {**self.watchlist.get(entry["name"]), "briefing_id": b.id}
        return entry

    def unwatch(self, name: str) -> bool:
        return self.watchlist.remove(name)

    def watched(self) -> list[dict]:
        return self.watchlist.list()

    def refresh_watched(self, name: str | None = None) -> list[dict]:
        """Fresh briefings now for every watched entity, or one; KeyError for an unwatched name."""
        names = [name] if name else [e["name"] for e in self.watchlist.list()]
        out = []
        for n in names:
            entry = self.watchlist.get(n)
            if entry is None:
                raise KeyError(f"{n} is not on the watchlist")
            b = watching.regenerate(self, self.watchlist, entry["name"], trigger="manual")
            out.append({"entity": b.entity, "briefing_id": b.id})
        return out

    # --- feeds ----------------------------------------------------------------------------------
    def add_feed(self, name: str, url: str, format: str | None = None, every: str | int = "24h", *,
                 guarded: bool = False):
        """Add (or redefine) a feed; ValueError for a bad name, URL, format or schedule. `guarded` (the API):
        the URL, and every redirect it takes, must reach a public address unless the operator allows
        private ones (REGBRIEF_FEEDS_ALLOW_PRIVATE)."""
        check_name(name)
        if format and format != NEWS and format not in formats():
            raise ValueError(f"unknown format {format!r}; known: {', '.join(sorted([*formats(), NEWS]))}")
        guarded = guarded and not self.settings.feeds_allow_private
        try:
            check_url(url, guarded)
        except FetchError as e:
            raise ValueError(str(e)) from None
        return Feed.of(self.store.feeds.add(name, url, format or None, parse_every(every), guarded))

    def remove_feed(self, name: str) -> bool:
        """Stop syncing a feed (its documents and notices stay in the store: `remove --source URL`)."""
        gone = self.store.feeds.remove(check_name(name))
        if gone:
            shutil.rmtree(feed_dir(self.settings, name), ignore_errors=True)
        return gone

    def feeds(self) -> list:
        """Every feed with its state and when it is next due."""
        return [Feed.of(f, next_due(f).isoformat(timespec="seconds") if f["last_attempt"] else None)
                for f in self.store.feeds.list()]

    def sync_feeds(self, names: Sequence[str] | None = None) -> list:
        """Sync the named feeds (all when none), one at a time: a SyncResult each; KeyError for a name
        that is not a feed."""
        return sync_feeds(self, list(names or []))

    def changes(self, since: str | None = None, feed: str | None = None, limit: int = 1000) -> list:
        """Changes the feeds' syncs found (FeedChange), oldest first."""
        return [FeedChange.model_validate(c) for c in self.store.feeds.changes(since, feed, limit)]

    # --- backup ---------------------------------------------------------------------------------
    def backup(self, out: Path) -> dict:
        """A consistent archive of the data directory and its workspaces, safe while serving."""
        return backups.backup(self.settings, Path(out))

    def restore(self, archive: Path) -> dict:
        """Restore an archive into an empty data directory (ValueError otherwise)."""
        return backups.restore(self.settings, Path(archive))
