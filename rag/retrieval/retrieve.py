"""Hybrid retrieval: dense (Chroma) and keyword (FTS5/BM25) candidates, fused by weighted RRF.

Both sides apply the same filters; results come back only for chunks the registry holds, with their
document fields, ready to cite.
"""
from __future__ import annotations

import datetime as dt
from typing import Literal

from langchain_core.documents import Document as LCDocument
from langchain_core.retrievers import BaseRetriever

from rag.embeddings import Embedder
from rag.core.models import Filters, SearchResponse, SearchResult
from rag.core.priority import query_entry
from rag.core.settings import Settings
from rag.store import Store

Mode = Literal["hybrid", "dense", "keyword"]


class Retriever:
    def __init__(self, store: Store, embedder: Embedder, settings: Settings):
        self.store = store
        self.embedder = embedder
        self.settings = settings

    @query_entry
    def search(
        self, query: str, k: int = 10, filters: Filters | None = None, mode: Mode = "hybrid"
    ) -> SearchResponse:
        filters = filters or Filters()
        n = max(self.settings.retrieve_candidates, k)
        # A source filter is applied after the dense search (Chroma has no substring filter on
        # metadata), so ask it for more candidates.
        dense_n = n * 4 if filters.source else n
        ranked: dict[str, list[tuple[str, float]]] = {}
        if mode in ("hybrid", "dense"):
            vec = self.embedder.encode([query])[0]
            ranked["dense"] = self.store.dense_search(vec, filters, dense_n, getattr(self.embedder, "signature", None))
        if mode in ("hybrid", "keyword"):
            ranked["keyword"] = self.store.keyword_search(query, filters, n)
        if mode == "hybrid" and (not filters.doc_type or "list_entry" in filters.doc_type):
            ranked["names"] = self._name_hits(query)

        rows = self.store.chunk_rows(
            list({cid for hits in ranked.values() for cid, _ in hits}), filters
        )
        weights = {"dense": self.settings.dense_weight, "keyword": self.settings.keyword_weight,
                   "names": self.settings.names_weight}
        fused: dict[str, float] = {}
        ranks: dict[str, dict[str, int]] = {}
        for side, hits in ranked.items():
            rank = 0
            for cid, _score in hits:
                if cid not in rows:  # filtered out, or not (yet) registered
                    continue
                rank += 1
                fused[cid] = fused.get(cid, 0.0) + weights[side] / (self.settings.rrf_k + rank)
                ranks.setdefault(cid, {})[side] = rank
        raw = {side: dict(hits) for side, hits in ranked.items()}
        order = sorted(fused, key=lambda c: (-fused[c], c))[:k]
        results = []
        for cid in order:
            r = rows[cid]
            score = fused[cid] if mode == "hybrid" else raw[mode][cid]
            results.append(
                SearchResult(
                    chunk_id=cid,
                    doc_id=r["doc_id"],
                    text=r["text"],
                    score=round(score, 6),
                    title=r["title"],
                    source=r["source"],
                    date=dt.date.fromisoformat(r["date"]) if r["date"] else None,
                    doc_type=r["doc_type"],
                    jurisdiction=r["jurisdiction"],
                    publisher=r["publisher"],
                    url=r["url"],
                    metadata={**r["metadata"], **({"page": r["page"]} if r["page"] is not None else {}),
                              "format": r["format"], "start": r["start"], "end": r["end"]},
                    ranks=ranks[cid],
                )
            )
        return SearchResponse(query=query, results=results)

    def _name_hits(self, query: str) -> list[tuple[str, float]]:
        """List entries whose name or alias the query names, spelled any way the entity index folds
        together ("Sensetime", "SenseTime Group Ltd"): a third ranked list for the fusion."""
        matches = self.store.entities.find_in_text(query)
        if not matches or len(matches) > 20:  # a generic word matching many entries is no name
            return []
        ids = [m.entry.doc_id for m in matches]
        first = self.store.first_chunks(ids)
        return [(first[d], 1.0) for d in ids if d in first]


class RegbriefRetriever(BaseRetriever):
    """The hybrid retriever as a LangChain `BaseRetriever`, for LangChain chains and agents:
    `RegbriefRetriever(retriever=rb.retriever, k=5).invoke("Is SenseTime sanctioned?")` gives Documents whose
    page_content is the passage and whose metadata is the search result's fields (chunk_id, doc_id, title,
    source, date, doc_type, score, ...), so a chain can still cite the exact passage."""

    retriever: Retriever
    k: int = 10
    filters: Filters | None = None
    mode: Mode = "hybrid"

    model_config = {"arbitrary_types_allowed": True}

    def _get_relevant_documents(self, query: str, *, run_manager=None) -> list[LCDocument]:
        hits = self.retriever.search(query, k=self.k, filters=self.filters, mode=self.mode).results
        return [LCDocument(page_content=r.text, id=r.chunk_id,
                           metadata=r.model_dump(mode="json", exclude={"text"})) for r in hits]
