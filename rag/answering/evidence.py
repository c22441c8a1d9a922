"""What answers and briefings state from: citable spans (Evidence) and drafts, the passages and named
list entries for a question, and the documents set aside because they address the answering system.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from rag.core.dates import iso
from rag.core.models import Filters, SearchResult
from rag.core.text import looks_like_instruction, sentence_spans


@dataclass
class Evidence:
    """One citable span: a sentence of a retrieved chunk, or a list fact rendered from metadata."""

    text: str  # the sentence as stated in the answer
    result: SearchResult
    start: int
    end: int
    score: float = 0.0


EXTRACTIVE_VERSION = "extractive-v2"  # recorded as the prompt version of extractive answers


@dataclass
class Draft:
    sentences: list[tuple[str, list[Evidence]]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # answer sentences that state no fact from the sources
    backend_notes: list[str] = field(default_factory=list)  # e.g. "the model failed; extractive answer"
    refused: bool = False
    lead_notes: bool = False  # the notes answer the question ("No: X has no entry on ..."): they come first
    backend: str = "extractive"
    model: str | None = None
    prompt_version: str = ""


# --- filters on list entries ----------------------------------------------------------------

def passes_filters(filters: Filters, date: str | dt.date | None, doc_type: str, jurisdiction: str | None) -> bool:
    date = iso(date)  # a stored ISO string, or a list entry's typed date
    if filters.doc_type and doc_type not in filters.doc_type:
        return False
    if filters.jurisdiction and jurisdiction not in filters.jurisdiction:
        return False
    if filters.until and (not date or date > filters.until.isoformat()):
        return False
    if filters.since and (not date or date < filters.since.isoformat()):
        return False
    return True


# --- passages ---------------------------------------------------------------------------------------

def set_aside(results: list[SearchResult]) -> tuple[list[SearchResult], list[SearchResult]]:
    """(usable, set aside): documents flagged at ingest for text addressed to the answering system
    (ingest.pipeline.flag_instructions) are never evidence, for answers and briefings alike."""
    usable = [r for r in results if not r.metadata.get("injected_instructions")]
    return usable, [r for r in results if r.metadata.get("injected_instructions")]


def set_aside_note(results: list[SearchResult]) -> str | None:
    """Names the set-aside documents by source, never by title or text: those are the attacker's words."""
    # the file name (or feed URL): a label can hold the document's own publisher text, the attacker's words
    sources = sorted({r.metadata.get("file") or r.url or r.doc_id for r in results})
    if not sources:
        return None
    return (f"Not used: {len(sources)} document{'s' if len(sources) > 1 else ''} among the closest passages "
            f"contain{'s' if len(sources) == 1 else ''} instructions addressed to the answering system, so none of "
            f"{'it' if len(sources) == 1 else 'them'} is evidence ({', '.join(sources[:5])}).")


def gather(retriever, store, question: str, filters: Filters, entry_ids: list[str] = (),
           k: int = 12) -> tuple[list[SearchResult], list[SearchResult]]:
    """(passages, passages set aside) for a question: what retrieval finds, and the chunks of the list
    entries the question's plan resolved to (`entry_ids`), under the filters in force; documents that
    address the answering system are set aside (see set_aside)."""
    # A few extra results, so that passages set aside do not leave the answer with fewer than k.
    results, aside = set_aside(retriever.search(question, k=k + 4, filters=filters).results)
    results = results[:k]
    index = store.entities
    have = {r.doc_id for r in results}
    missing = [i for i in dict.fromkeys(entry_ids) if i not in have and i in index.entries
               and passes_filters(filters, index.entries[i].date, "list_entry", index.entries[i].jurisdiction)]
    if missing:
        results = results + chunks_of(store, missing[:6])
    return results, aside


def chunks_of(store, doc_ids: list[str]) -> list[SearchResult]:
    """The first chunk of each document (a list entry is one chunk), documents set aside left out."""
    ids = list(store.first_chunks(doc_ids).values())
    return set_aside([row_to_result(r, 0.0) for r in store.chunk_rows(ids).values()])[0]


def chunks_of_docs(rb, doc_ids: list[str]) -> list[SearchResult]:
    return chunks_of(rb.store, doc_ids)


def row_to_result(r: dict, score: float) -> SearchResult:
    return SearchResult(
        chunk_id=r["chunk_id"], doc_id=r["doc_id"], text=r["text"], score=score, title=r["title"],
        source=r["source"], date=dt.date.fromisoformat(r["date"]) if r["date"] else None, doc_type=r["doc_type"],
        jurisdiction=r["jurisdiction"], publisher=r["publisher"], url=r["url"],
        metadata={**r["metadata"], **({"page": r["page"]} if r["page"] is not None else {})},
    )


def passages_block(passages: list[SearchResult]) -> str:
    """Numbered passages for a prompt, fenced as data, with instruction-like sentences cut out."""
    def clean(text: str) -> str:
        return " ".join(text[a:b] for a, b in sentence_spans(text) if not looks_like_instruction(text[a:b]))

    return "\n\n".join(f"[{i}] {p.title} ({p.date or 'undated'})\n<<<\n{clean(p.text)}\n>>>"
                       for i, p in enumerate(passages, 1))
