"""Preparing a source for the store: its documents flagged, diffed against the store's document hashes,
chunked, embedded and their relations extracted, as `Batch`es for `Store.write`.

Everything here works from the parsed documents and the store's hashes alone, never the store itself, so it
runs the same in the serving process (ingest/pipeline.py) and in the ingest worker process (ingest/worker.py).
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ingest.chunking import chunk_document
from ingest.formats import FormatError, parse_with, resolve
from rag.core.models import Chunk, Document
from rag.core.settings import Settings
from rag.core.text import instruction_snippets
from rag.relations.extract import extract_relations


@dataclass
class Diff:
    """What a source's new content changes against the store's document hashes, known before any write."""
    unchanged: int
    added: int
    updated: int
    changed: list[str]  # ids of documents added, changed or removed
    gone: list[str]  # ids no longer in the source


@dataclass
class Batch:
    """One all-or-nothing `Store.write`: documents with their chunks, vectors and relations."""
    docs: list[Document]
    chunks: list[Chunk]
    embeddings: Any
    relations: dict[str, list]

    def parts(self, n: int) -> Iterator["Batch"]:
        """The batch in parts of `n` documents, each with its own chunks (to send it in pieces)."""
        rows: dict[str, list[int]] = {}
        for i, c in enumerate(self.chunks):
            rows.setdefault(c.doc_id, []).append(i)
        for k in range(0, len(self.docs), n):
            docs = self.docs[k:k + n]
            idx = [i for d in docs for i in rows.get(d.doc_id, [])]
            yield Batch(docs, [self.chunks[i] for i in idx], self.embeddings[idx],
                        {d.doc_id: self.relations[d.doc_id] for d in docs if d.doc_id in self.relations})

    @staticmethod
    def joined(parts: list["Batch"]) -> "Batch":
        return Batch([d for p in parts for d in p.docs], [c for p in parts for c in p.chunks],
                     np.concatenate([p.embeddings for p in parts]),
                     {k: v for p in parts for k, v in p.relations.items()})


@dataclass
class Failed:
    """The file could not be read; the message names it. Nothing of it is written."""
    message: str


def prepare(docs: list[Document], source: str, existing: dict[str, str], embedder, cache,
            settings: Settings) -> Iterator:
    """The costly part of an ingest, computed from the parsed documents and the store's document hashes
    alone (so it can run in another process, ingest/worker.py): flags, the diff, chunks, vectors (only
    texts `cache` lacks go to the model), relations. Yields the `Diff`, then a `Batch` per write."""
    for d in docs:
        d.source = source
        flag_instructions(d)
    todo = [d for d in docs if existing.get(d.doc_id) != d.hash()]
    added = sum(d.doc_id not in existing for d in todo)
    gone = sorted(set(existing) - {d.doc_id for d in docs})
    yield Diff(len(docs) - len(todo), added, len(todo) - added, [d.doc_id for d in todo] + gone, gone)
    batch_docs: list[Document] = []
    batch_chunks: list[Chunk] = []
    for i, d in enumerate(todo):
        batch_docs.append(d)
        batch_chunks.extend(chunk_document(d, embedder, settings.chunk_max_tokens, settings.chunk_overlap_sentences))
        if len(batch_chunks) >= settings.ingest_batch_chunks or i == len(todo) - 1:
            embeddings = cache.encode(embedder, [c.text for c in batch_chunks])
            yield Batch(batch_docs, batch_chunks, embeddings, extract_relations(batch_docs, batch_chunks))
            batch_docs, batch_chunks = [], []


def parse_file(path: Path, fmt: str) -> list[Document]:
    """The documents of a file read as format `fmt` (FormatError if it cannot be)."""
    return unique_ids(parse_with(resolve(path, fmt), path))


def prepare_file(path: Path, fmt: str, source: str, existing: dict[str, str], embedder, cache,
                 settings: Settings) -> Iterator:
    """`prepare` for a file, parsed first: a file that cannot be read yields only `Failed`."""
    try:
        docs = parse_file(path, fmt)
    except FormatError as e:
        yield Failed(str(e))
        return
    except OSError as e:
        yield Failed(f"{path}: cannot read file: {e.strerror or e}")
        return
    yield from prepare(docs, source, existing, embedder, cache, settings)


def flag_instructions(doc: Document) -> None:
    """Mark a document that addresses the answering system (prompt injection): answers and briefings
    never use any of it as evidence (a source that tries to steer the answer is compromised as a whole,
    so its other sentences are not trusted either); search still shows it, with the flag."""
    found = instruction_snippets(doc.title + "\n" + doc.text)
    if found:
        doc.metadata["injected_instructions"] = found


def unique_ids(docs: list[Document]) -> list[Document]:
    """Ids must be unique within a file; real lists do repeat a record now and then."""
    seen: dict[str, int] = {}
    for d in docs:
        if d.doc_id in seen:
            seen[d.doc_id] += 1
            d.doc_id = f"{d.doc_id}~{seen[d.doc_id]}"
        else:
            seen[d.doc_id] = 1
    return docs
