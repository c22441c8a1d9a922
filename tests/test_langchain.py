"""LangChain where it is natural: the hybrid retriever as a LangChain BaseRetriever, usable in any chain."""
from __future__ import annotations


def test_retriever_as_a_langchain_retriever(demo_rb):
    from langchain_core.runnables import RunnableLambda

    from rag.core.models import Filters
    from rag.retrieval.retrieve import RegbriefRetriever

    q = "Is SenseTime on the NS-CMIC list?"
    lc = RegbriefRetriever(retriever=demo_rb.retriever, k=5, filters=Filters(doc_type=["list_entry"]))
    docs = lc.invoke(q)
    ours = demo_rb.search(q, k=5, filters=Filters(doc_type=["list_entry"])).results
    assert [d.id for d in docs] == [r.chunk_id for r in ours] and docs
    assert [d.page_content for d in docs] == [r.text for r in ours]
    assert all(d.metadata["doc_type"] == "list_entry" and d.metadata["chunk_id"] == d.id for d in docs)
    assert "SENSETIME" in docs[0].page_content.upper()
    # It composes like any LangChain runnable: a chain that numbers the passages for a prompt.
    chain = lc | RunnableLambda(lambda ds: "\n".join(f"[{i}] {d.metadata['title']}" for i, d in enumerate(ds, 1)))
    assert chain.invoke(q).startswith("[1] ")
