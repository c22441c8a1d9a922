"""Verify drafted sentences against the passages they cite and number the citations (answers and
briefings alike); render an answer's text with its [n] markers.
"""
from __future__ import annotations

from rag.answering.evidence import Draft
from rag.core.models import Citation, SearchResult, Sentence
from rag.answering.verify import TypedFacts, Verifier


class Assembler:
    """Verifies drafted sentences and numbers their citations; one per answer or briefing, so
    citation numbers are shared across a briefing's sections."""

    def __init__(self, rb, keep_unsupported: bool = False, typed: TypedFacts | None = None):
        self.verifier = Verifier(rb.embedder)
        self.keep_unsupported = keep_unsupported
        self.typed = typed  # the list records a sentence must not contradict
        self._citations: dict[tuple, Citation] = {}

    @property
    def citations(self) -> list[Citation]:
        return list(self._citations.values())

    def sentences(self, draft: Draft) -> list[Sentence]:
        out: list[Sentence] = []
        self.verifier.prepare([(text, {i: ev.result.text for i, ev in enumerate(evs)}) for text, evs in draft.sentences])
        for text, evs in draft.sentences:
            check = self.verifier.check(text, {i: ev.result.text for i, ev in enumerate(evs)})
            if self.typed is not None:
                check.contradicts = self.typed.contradiction(text)
            verdict = "supported" if check.ok else ("unsupported" if self.keep_unsupported else "removed")
            nums = []
            if check.ok or self.keep_unsupported:
                for i, ev in enumerate(evs):
                    # Extractive evidence knows its exact span; an LLM's citation gets the best one.
                    a, b = (ev.start, ev.end) if draft.backend == "extractive" else check.quotes.get(i, (0, len(ev.result.text)))
                    key = (ev.result.chunk_id, a, b)
                    if key not in self._citations:
                        self._citations[key] = _citation(len(self._citations) + 1, ev.result, a, b)
                    nums.append(self._citations[key].n)
            out.append(Sentence(text=text, citations=nums, support=check.support, verdict=verdict,
                                reason=check.reason()))
        out += [Sentence(text=note, kind="note", support=1.0) for note in draft.notes]
        return out


def _citation(n: int, r: SearchResult, a: int, b: int) -> Citation:
    return Citation(
        n=n, chunk_id=r.chunk_id, doc_id=r.doc_id, title=r.title, source=r.source, date=r.date,
        quote=r.text[a:b], start=a, end=b, publisher=r.publisher, url=r.url, page=r.metadata.get("page"),
        doc_type=r.doc_type, chunk_text=r.text,
        metadata={k: v for k, v in r.metadata.items()
                  if k in ("uid", "programs", "list", "DocumentID", "PassageID", "document_number", "celex",
                           "record_id", "page", "listing_date", "url", "file")},
    )


def render_text(sentences: list[Sentence]) -> str:
    parts = []
    for s in sentences:
        if s.verdict == "removed":
            continue
        marks = "".join(f"[{n}]" for n in s.citations)
        flag = " (unsupported)" if s.verdict == "unsupported" else ""
        parts.append(f"{s.text.rstrip()}{(' ' + marks) if marks else ''}{flag}")
    return " ".join(parts)
