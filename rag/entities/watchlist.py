"""The watchlist: entities whose briefings regenerate themselves when their evidence changes.

Stored in SQLite beside the store (REGBRIEF_HOME/watchlist.sqlite3): the watched names with their
aliases, and one row per briefing generated for them (the briefing itself lives in the audit trail,
`rag.history`, like every other briefing).

After every ingest or removal, `refresh(rb, changed_doc_ids)` looks at each watched entity:
its evidence is the documents its latest briefing cited plus the changed documents that now mention
its name or one of its aliases. When a changed document is part of that evidence, a fresh briefing is
built with `Regbrief.brief` and gets a "What changed since the previous briefing" section (citations
added and dropped, changed documents that mention the entity). Entities whose evidence did not change
are not regenerated. Writers call this in the one process that writes the store (the CLI or the API).
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from rag.store.watchlist import Watchlist
from rag.core.models import Briefing, BriefingSection, Sentence
from rag.entities.names import names_any

CHANGES_TITLE = "What changed since the previous briefing"

def get_watchlist(settings) -> Watchlist:
    """The watchlist of a workspace (its store's)."""
    from rag.store import get_store

    return get_store(settings).watchlist


# --- regeneration -----------------------------------------------------------------------------

def _previous(rb, wl: Watchlist, entity: str) -> Briefing | None:
    latest = wl.latest(entity)
    if not latest:
        return None
    rec = rb.history.get(latest["briefing_id"])
    if not rec:
        return None
    try:
        return Briefing.model_validate_json(rec["result"])
    except ValueError:
        return None


def _mentioning(rb, doc_ids: Sequence[str], names: Sequence[str]) -> list[str]:
    """The documents among `doc_ids` (still in the store) whose title or text names the entity."""
    return [doc_id for doc_id, title, text in rb.store.document_texts(doc_ids) if names_any(f"{title}\n{text}", names)]


def named_docs(rb, names: Sequence[str], limit: int = 200) -> set[str]:
    """Documents that a keyword search for the entity's names finds and that really name it."""
    from rag.core.models import Filters

    out: set[str] = set()
    for name in names:
        hits = rb.store.keyword_search(name, Filters(), limit)
        rows = rb.store.chunk_rows([cid for cid, _ in hits])
        out.update(row["doc_id"] for row in rows.values() if names_any(f"{row['title']}\n{row['text']}", [name]))
    return out


def affected(rb, wl: Watchlist, entry: dict, changed_doc_ids: Sequence[str]) -> list[str]:
    """The changed documents that are part of this entity's evidence (empty: nothing to redo).

    Its evidence: what its latest briefing was based on (the documents it cited and those naming the
    entity then), plus the changed documents that name it now."""
    changed = set(changed_doc_ids)
    if not changed:
        return []
    latest = wl.latest(entry["name"])
    known = set(json.loads(latest["evidence"])) if latest else set()
    prev = _previous(rb, wl, entry["name"])
    if prev:
        known |= {c.doc_id for c in prev.citations}
    hits = known & changed
    hits.update(_mentioning(rb, sorted(changed - hits), [entry["name"], *entry["aliases"]]))
    return sorted(hits)


def changes_section(prev: Briefing | None, new: Briefing, changed_docs: Sequence[str], rb=None) -> BriefingSection:
    """Notes on what differs from the previous briefing: citations added and dropped, changed documents."""
    sentences: list[Sentence] = []

    def note(text: str, cites: list[int] | None = None) -> None:
        sentences.append(Sentence(text=text, citations=cites or [], kind="note", support=0.0))

    def label(c) -> str:
        when = f", {c.date.isoformat()}" if c.date else ""
        return f"{c.title} ({c.source}{when})"

    if prev is None:
        note(f"This is the first briefing on {new.entity}; there is no previous briefing to compare with.")
    else:
        note(f"Compared with the previous briefing of {prev.created_at.isoformat(timespec='seconds')} "
             f"(id {prev.id}); rating then: {prev.rating}, now: {new.rating}.")
        old_keys = {c.chunk_id for c in prev.citations}
        new_keys = {c.chunk_id for c in new.citations}
        added = [c for c in new.citations if c.chunk_id not in old_keys]
        dropped = [c for c in prev.citations if c.chunk_id not in new_keys]
        for c in added:
            note(f"New source cited: {label(c)}.", [c.n])
        for c in dropped:
            note(f"No longer cited: {label(c)}.")
        if not added and not dropped:
            note("The cited passages are the same as in the previous briefing.")
    if changed_docs and rb is not None:
        titles = []
        for doc_id in list(changed_docs)[:20]:
            d = rb.store.document(doc_id)
            titles.append(f"{d['title']} ({d['source']})" if d else f"{doc_id} (removed from the store)")
        more = f" and {len(changed_docs) - 20} more" if len(changed_docs) > 20 else ""
        note("Documents added, changed or removed since then that concern this entity: "
             + "; ".join(titles) + more + ".")
    return BriefingSection(title=CHANGES_TITLE, sentences=sentences)


def regenerate(rb, wl: Watchlist, entity: str, changed_docs: Sequence[str] = (), trigger: str = "manual") -> Briefing:
    """A fresh briefing on a watched entity with a "what changed" section, recorded in the history."""
    from rag.store.history import text_hash

    prev = _previous(rb, wl, entity)
    new = rb.brief(entity, record=False)
    new.sections.append(changes_section(prev, new, changed_docs, rb))
    import prompts

    try:
        prompt_version = prompts.version("briefing")
    except Exception:
        prompt_version = new.prompt_version
    rb.history.record(
        "briefing", new.id, entity, new.model_dump_json(),
        filters={"as_of": new.as_of.isoformat() if new.as_of else None, "watchlist": trigger},
        evidence=[{"chunk_id": c.chunk_id, "hash": text_hash(c.chunk_text or c.quote)} for c in new.citations],
        backend=new.backend, model=new.model, prompt_versions={"briefing": new.prompt_version or prompt_version},
        created_at=new.created_at,
    )
    entry = wl.get(entity)
    names = [entity, *(entry["aliases"] if entry else [])]
    evidence = {c.doc_id for c in new.citations} | named_docs(rb, names)
    wl.record(entity, new.id, trigger, changed_docs, evidence)
    return new


def refresh(rb, changed_doc_ids: Sequence[str], *, trigger: str = "ingest", wl: Watchlist | None = None,
            on_progress=None) -> dict[str, Any]:
    """Regenerate the briefings of watched entities whose evidence changed.

    Returns {"regenerated": [{"entity", "briefing_id", "changed_docs"}], "unchanged": [names]}.
    Cheap when nothing is watched or nothing changed.
    """
    wl = wl or get_watchlist(rb.settings)
    entries = wl.list()
    out: dict[str, Any] = {"regenerated": [], "unchanged": []}
    if not entries:
        return out
    # One refresh at a time per watchlist: two uploads touching one entity must not both compare against
    # the same previous briefing and record two "what changed" briefings for one change.
    with wl.refresh_lock:
        for n, entry in enumerate(entries):
            hits = affected(rb, wl, entry, changed_doc_ids)
            if hits:
                b = regenerate(rb, wl, entry["name"], hits, trigger)
                out["regenerated"].append({"entity": entry["name"], "briefing_id": b.id, "changed_docs": hits[:50]})
            else:
                out["unchanged"].append(entry["name"])
            if on_progress:
                on_progress(n + 1, len(entries))
    return out

