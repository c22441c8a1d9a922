"""Idempotent ingest: files -> documents -> chunks -> store.

- A file whose bytes have not changed since its last complete ingest is skipped without parsing.
- A changed file is parsed whole first (a bad file writes nothing); then only documents whose content
  hash changed are chunked and embedded, documents that disappeared from it are removed.
- Documents are written in batches through `Store.write`, which makes each one all-or-nothing across
  Chroma and the keyword index, and `Store.recover()` cleans up after a killed process.
"""
from __future__ import annotations

import hashlib
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path

from tqdm import tqdm

from ingest.formats import FormatError, resolve
from ingest.prepare import Diff, Failed, parse_file, prepare, prepare_file
from ingest.worker import WorkerFailed, ingest_worker
from rag.core.models import Document
from rag.core.priority import step_aside
from rag.core.settings import Settings
from rag.core.sources import file_key
from rag.embeddings import Embedder
from rag.store import Store
from rag.store.embedding_cache import EmbeddingCache

# Inputs at least this big are prepared in the ingest worker process when there is one; a smaller one (an
# article, a short list: under a second of model work) is prepared at once here rather than wait behind a
# big list in the worker. 64 KB is about 300 SDN entries.
WORKER_MIN_BYTES = 64 * 1024
WORKER_MIN_DOCUMENTS = 64


@dataclass
class FileResult:
    source: str
    format: str | None = None
    status: str = "ingested"  # ingested | unchanged | failed
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    chunks: int = 0
    error: str | None = None
    seconds: float = 0.0
    # ids of documents added, changed or removed (what a watchlist needs to know); not in to_dict()
    changed: list[str] = field(default_factory=list, repr=False)
    # the file read, for the caller only: not in to_dict(), since responses never show server paths
    path: Path | None = field(default=None, repr=False)


@dataclass
class IngestReport:
    files: list[FileResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(f.status != "failed" for f in self.files)

    @property
    def changed_doc_ids(self) -> list[str]:
        return [d for f in self.files for d in f.changed]

    def totals(self) -> dict[str, int]:
        keys = ("added", "updated", "removed", "unchanged", "chunks")
        out = {k: sum(getattr(f, k) for f in self.files) for k in keys}
        out["files"] = len(self.files)
        out["failed"] = sum(f.status == "failed" for f in self.files)
        return out

    def to_dict(self) -> dict:
        return {"ok": self.ok, "totals": self.totals(), "files": [
            {k: v for k, v in asdict(f).items() if k not in ("changed", "path")} for f in self.files
        ]}


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files named directly, and every file under named folders (hidden ones skipped), in a stable order."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(
                f
                for f in sorted(p.rglob("*"))
                if f.is_file() and not any(part.startswith(".") for part in f.relative_to(p).parts)
            )
        else:
            out.append(p)
    return out


def file_hash(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def source_key(path: str | Path) -> str:
    """The store's key for a file of this machine: its name and a hash of its path (rag/core/sources.py)."""
    return file_key(path)


class Ingestor:
    """Stores files and parsed documents. The preparation (parse, chunk, embed) runs in this thread, or,
    with REGBRIEF_INGEST_WORKER (the HTTP server's default), for bigger inputs in a worker process at the
    lowest CPU priority (ingest/worker.py), so that queries served meanwhile keep their speed; the writes
    are this process's either way."""

    def __init__(self, store: Store, embedder: Embedder, settings: Settings):
        self.store = store
        self.embedder = embedder
        self.settings = settings

    def ingest(
        self,
        paths: Sequence[str | Path],
        fmt: str | None = None,
        progress: bool = False,
        on_progress: Callable[[int, int], None] | None = None,
        source_name: Callable[[Path], str] = source_key,
    ) -> IngestReport:
        """Ingest files and folders; never raises for a bad file (it is reported in the result).

        `on_progress(done, total)` is called as files finish (the HTTP service's job progress).
        `source_name` maps a path to the source recorded for its documents.
        """
        self.store.recover()
        files = expand_paths(paths)
        report = IngestReport()
        for n, path in enumerate(files):
            source = source_name(path)
            with self.store.source_lock(source):
                result = self._ingest_file(path, fmt, progress, source)
            report.files.append(result)
            if on_progress:
                on_progress(n + 1, len(files))
        return report

    def _ingest_file(self, path: Path, fmt: str | None, progress: bool, source: str) -> FileResult:
        t0 = time.perf_counter()
        result = FileResult(source=source, path=path)
        try:
            module = resolve(path, fmt)
            result.format = module.NAME
            digest = file_hash(path)
            if self.store.file_hash(source) == (digest, module.NAME):
                result.status = "unchanged"
                result.unchanged = len(self.store.doc_hashes(source))
                return result
        except FormatError as e:
            result.status, result.error = "failed", str(e)
            return result
        except OSError as e:
            result.status, result.error = "failed", f"{path}: cannot read file: {e.strerror or e}"
            return result
        with self.store.ingesting():
            existing = self.store.doc_hashes(source)
            worker = self._worker(path.stat().st_size >= WORKER_MIN_BYTES)
            items = (worker.prepare_file(path, module.NAME, source, existing, self.settings) if worker else
                     prepare_file(path, module.NAME, source, existing, self.embedder, self._vectors_by_text,
                                  self.settings))
            self._store(items, source, digest, module.NAME, progress, result, path.name)
        result.seconds = round(time.perf_counter() - t0, 3)
        return result

    def store_documents(self, docs: list[Document], source: str, digest: str, fmt: str, progress: bool = False,
                        result: FileResult | None = None, label: str = "") -> FileResult:
        """Store the parsed documents of one source as its whole content: changed ones re-embedded, ones
        no longer there removed, the file's hash recorded. Feeds call this with what they parsed."""
        t0 = time.perf_counter()
        result = result or FileResult(source=source, format=fmt)
        with self.store.ingesting():
            existing = self.store.doc_hashes(source)
            worker = self._worker(len(docs) > WORKER_MIN_DOCUMENTS)
            items = (worker.prepare(docs, source, existing, self.settings) if worker else
                     prepare(docs, source, existing, self.embedder, self._vectors_by_text, self.settings))
            self._store(items, source, digest, fmt, progress, result, label or source)
        result.seconds = round(result.seconds + time.perf_counter() - t0, 3)
        return result

    def _store(self, items: Iterator, source: str, digest: str, fmt: str, progress: bool, result: FileResult,
               label: str) -> None:
        """Write what `prepare` yields: each batch all or nothing; then the removals and the file's hash."""
        bar = None
        try:
            for item in _reported(items):
                if isinstance(item, Failed):
                    result.status, result.error = "failed", item.message
                    return
                if isinstance(item, Diff):
                    diff = item
                    result.unchanged, result.added, result.updated = diff.unchanged, diff.added, diff.updated
                    result.changed = diff.changed
                    todo = diff.added + diff.updated
                    bar = _progress_bar(todo, label) if progress and todo else None
                    continue
                step_aside()  # queries go first (rag/core/priority.py)
                self.store.write(item.docs, item.chunks, item.embeddings, item.relations,
                                 signature=getattr(self.embedder, "signature", None))
                result.chunks += len(item.chunks)
                if bar:
                    bar.update(len(item.docs))
        except BaseException:
            items.close()  # a worker still sending this source's batches is stopped
            raise
        finally:
            if bar:
                bar.close()
        with self.store.write_lock:
            if diff.gone:
                self.store.delete(diff.gone)
                result.removed = len(diff.gone)
            self.store.record_file(source, digest, fmt, diff.unchanged + diff.added + diff.updated)

    def parse(self, path: Path, fmt: str) -> list[Document]:
        """`parse_file`, in the ingest worker for a big file when the settings ask for one (a feed parses
        its whole list before it stores it); FormatError either way."""
        worker = self._worker(path.stat().st_size >= WORKER_MIN_BYTES)
        return worker.parse_file(path, fmt, self.settings) if worker else parse_file(path, fmt)

    def _worker(self, big: bool):
        """The ingest worker process for a big input when the settings ask for one (else None: here)."""
        if not (big and self.settings.ingest_worker):
            return None
        return ingest_worker(self.embedder)

    @cached_property
    def _vectors_by_text(self):
        # vectors by content, beside the store: a changed file re-embeds only its new text
        return EmbeddingCache(self.settings.home / "embeddings.sqlite3")

    def remove(self, doc_ids: Sequence[str] = (), source: str | None = None) -> dict:
        """Remove documents by id, or every document from one source file."""
        self.store.recover()
        with self.store.write_lock:
            ids = list(doc_ids)
            if source is not None:
                key = source if source in self.store.sources() else source_key(source)
                ids += list(self.store.doc_hashes(key))
                self.store.forget_file(key)
            known = [i for i in ids if self.store.document(i) is not None]
            chunks = self.store.delete(known) if known else 0
        return {"removed_documents": known, "removed_chunks": chunks, "not_found": sorted(set(ids) - set(known))}


def _reported(items: Iterator) -> Iterator:
    """The items, with a worker that stopped mid-input reported as a failed input (the batches written
    stay; the file's hash is not recorded, so ingesting it again finishes it)."""
    try:
        yield from items
    except WorkerFailed as e:
        yield Failed(f"{e}; run the ingest again to finish it")


def _progress_bar(total: int, name: str):
    if not sys.stderr.isatty():
        return None
    return tqdm(total=total, desc=name[:30], unit="doc", leave=False)
