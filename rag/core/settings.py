"""All settings, read from REGBRIEF_* environment variables (and a .env file if present)."""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


DEFAULT_WORKSPACE = "default"
# Workspace names become directory and Chroma collection names: lower case, 3-40 characters.
WORKSPACE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{2,39}$")


def check_workspace(name: str) -> str:
    if not WORKSPACE_NAME.match(name or ""):
        raise ValueError(f"invalid workspace name {name!r}: use 3-40 characters a-z, 0-9, '-' or '_', "
                         f"starting with a letter or digit")
    return name


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REGBRIEF_", env_file=".env", extra="ignore")

    # Where the embedded Chroma store, the SQLite keyword index/registry and the audit trail live.
    home: Path = Field(default=Path(".regbrief"))
    # When set (e.g. http://127.0.0.1:8001), use a Chroma server instead of the embedded store.
    chroma_url: str | None = None
    # When set (postgresql://...), the registry, keyword index, relations, audit trail and watchlist live in
    # PostgreSQL instead of SQLite files under `home`: with chroma_url too, a worker keeps no state on disk.
    database_url: str | None = None
    collection: str = "regbrief"
    # Relations from the learned extractor (rag/relations/learned.py) besides the phrase list's. Off until its
    # precision on the held-out relations (python -m bench relations) reaches the phrase list's: a relation a
    # briefing states wrongly costs an analyst more than one it leaves out.
    relation_model: bool = False

    # A sentence-transformers model directory or name; empty means the packaged all-MiniLM-L6-v2.
    embedding_model: str = ""
    # Texts per model call: 32 beat 64 on ONNX here (less padding and attention work per call), and a
    # question waits at most one such call of a running ingest.
    embedding_batch_size: int = 32
    # How the model runs (rag/embeddings/backends.py): torch, onnx (same vectors, faster) or onnx-int8
    # (faster still, vectors a float store must be re-embedded for). auto (the default): onnx-int8 for a
    # new store, and for a store that already has vectors a backend of their family (rag/embeddings/backends.py,
    # AUTO).
    embedding_backend: Literal["auto", "torch", "onnx", "onnx-int8"] = "auto"
    # cpu, or cuda (an accelerator, when present: bigger batches; untested here).
    embedding_device: str = "cpu"
    # Where exported ONNX models are cached (built on first use); empty: ~/.cache/regbrief/models.
    model_cache: str = ""
    # Chunks stay under the embedding model's 256 word-piece window, measured with its tokenizer.
    chunk_max_tokens: int = 200
    chunk_overlap_sentences: int = 1
    # Prepare big ingests (parse, chunk, embed) in a worker process at the lowest CPU priority
    # (ingest/worker.py), so queries served meanwhile keep their speed. Unset: on in the HTTP server
    # (`regbrief serve`), off for the CLI, whose ingest has no queries beside it.
    ingest_worker: bool | None = None
    # Chunks embedded and stored per batch (each batch is one all-or-nothing write): big enough for
    # sentence-transformers' length bucketing to pay off.
    ingest_batch_chunks: int = 1024

    # Retrieval: how many candidates each side contributes before fusion, and the fusion weights.
    retrieve_candidates: int = 50
    # Tuned on ObliQA dev (bench/bench_quality.py): rrf_k 10 and keyword weight 1.5 beat RRF's usual
    # 60 / 1.0 (Recall@10 0.790 against 0.775); keyword search is the stronger side on regulatory text.
    rrf_k: int = 10
    dense_weight: float = 1.0
    keyword_weight: float = 1.5
    names_weight: float = 1.0  # list entries whose name or alias the query names

    # Answering backend: extractive (no model), openai (any OpenAI-compatible endpoint), llamacpp (GGUF).
    llm: Literal["extractive", "openai", "llamacpp"] = "extractive"
    openai_base_url: str | None = None
    openai_model: str = "gpt-4o-mini"
    openai_api_key: str = "not-needed"
    llamacpp_model_path: str | None = None
    llm_timeout_s: float = 60.0
    llm_max_tokens: int = 400

    # HTTP service. Comma-separated keys, each `KEY` (the default workspace) or `KEY:WORKSPACE`: a key
    # sees only its workspace's documents, conversations, briefings, history, watchlist and jobs.
    # Empty disables auth (everything is the default workspace).
    api_keys: str = ""
    max_upload_bytes: int = 50 * 1024 * 1024
    max_question_chars: int = 2000
    rate_limit_per_minute: int = 600
    max_concurrent_jobs: int = 4

    # Feeds (ingest/feeds/): fetch limits, retries, and the schedule `regbrief serve` runs them on.
    # Adding a feed over the API refuses loopback, link-local and private addresses unless this is set.
    feeds_allow_private: bool = False
    feed_max_bytes: int = 200 * 1024 * 1024  # the parsers' own file limit
    feed_timeout_s: float = 120.0  # a whole response, headers to last byte
    feed_retries: int = 3  # further attempts after a connection error, a timeout, a 429 or a 5xx
    feed_backoff_s: float = 2.0  # doubled after each attempt
    feed_max_redirects: int = 5
    # A sync that would remove more than this share of a list's entries is refused: lists do not lose
    # a third of their entries in a day, a cut-off or wrong file does.
    feed_max_removed_share: float = 0.3
    feed_schedule: bool = True  # `regbrief serve` syncs feeds when they are due
    feed_tick_s: float = 60.0  # how often the scheduler looks for due feeds

    @property
    def db_path(self) -> Path:
        return self.home / "regbrief.sqlite3"

    @property
    def chroma_path(self) -> Path:
        return self.home / "chroma"

    def for_workspace(self, name: str) -> "Settings":
        """The settings of one workspace: the default workspace is the data directory itself; another
        has its own directory (REGBRIEF_HOME/workspaces/NAME: keyword index, registry, history, watchlist)
        and its own Chroma collection, so nothing, not even keyword statistics, is shared."""
        if name == DEFAULT_WORKSPACE:
            return self
        check_workspace(name)
        return self.model_copy(update={"home": self.home / "workspaces" / name,
                                       "collection": f"{self.collection}-{name}"})


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
