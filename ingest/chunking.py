"""Documents -> chunks that fit the embedding model's window, measured with its own tokenizer."""
from __future__ import annotations

import bisect
import re

from rag.embeddings import Embedder
from rag.core.models import Chunk, Document
from rag.core.text import sentence_spans


def chunk_document(doc: Document, embedder: Embedder, max_tokens: int, overlap: int = 1) -> list[Chunk]:
    """Split a document into chunks of whole sentences, each at most `max_tokens` word pieces.

    Structured records (doc.single_chunk: list entries, notices, regulatory passages) stay one chunk:
    their rendering puts the key facts first, so the embedding window sees them even when a long
    remarks field runs past it; the keyword index sees the whole text either way.
    PDF documents are split per page first, so every chunk has one page number to cite.
    """
    doc_hash = doc.hash()[:8]

    def make(index: int, start: int, end: int) -> Chunk:
        return Chunk(
            chunk_id=f"{doc.doc_id}#{doc_hash}-{index}",
            doc_id=doc.doc_id,
            index=index,
            text=doc.text[start:end],
            start=start,
            end=end,
            page=_page_of(doc, start),
        )

    text = doc.text
    if doc.single_chunk or not text.strip():
        return [make(0, 0, len(text))]

    segments = (
        [(s, doc.pages[i + 1][1] if i + 1 < len(doc.pages) else len(text)) for i, (_, s) in enumerate(doc.pages)]
        if doc.pages
        else [(0, len(text))]
    )
    spans: list[tuple[int, int]] = []
    for a, b in segments:
        spans.extend(sentence_spans(text, a, b))
    if not spans:
        return [make(0, 0, len(text))]
    spans = _split_long(text, spans, embedder, max_tokens)
    lengths = embedder.count_tokens([text[a:b] for a, b in spans])
    pages = [_page_of(doc, a) for a, _ in spans]

    chunks: list[Chunk] = []
    i = 0
    while i < len(spans):
        j, total = i, 0
        while j < len(spans) and total + lengths[j] <= max_tokens and pages[j] == pages[i]:
            total += lengths[j]
            j += 1
        j = max(j, i + 1)
        chunks.append(make(len(chunks), spans[i][0], spans[j - 1][1]))
        if j >= len(spans):
            break
        # Step back `overlap` sentences so a fact at a boundary is whole in at least one chunk.
        i = max(i + 1, j - overlap) if pages[j - 1] == pages[min(j, len(spans) - 1)] else j
    return chunks


def _page_of(doc: Document, offset: int) -> int | None:
    if not doc.pages:
        return None
    starts = [s for _, s in doc.pages]
    return doc.pages[max(0, bisect.bisect_right(starts, offset) - 1)][0]


def _split_long(text: str, spans, embedder: Embedder, max_tokens: int) -> list[tuple[int, int]]:
    """Break any sentence longer than the window at word boundaries."""
    lengths = embedder.count_tokens([text[a:b] for a, b in spans])
    out: list[tuple[int, int]] = []
    for (a, b), n in zip(spans, lengths):
        if n <= max_tokens:
            out.append((a, b))
            continue
        words = [(m.start() + a, m.end() + a) for m in re.finditer(r"\S+", text[a:b])]
        counts = embedder.count_tokens([text[x:y] for x, y in words])
        start, total = words[0][0], 0
        prev_end = words[0][1]
        for (x, y), c in zip(words, counts):
            if total + c > max_tokens and total > 0:
                out.append((start, prev_end))
                start, total = x, 0
            total += c
            prev_end = y
        out.append((start, prev_end))
    return out
