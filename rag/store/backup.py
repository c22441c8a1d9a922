"""`regbrief backup FILE` / `regbrief restore FILE`: a consistent archive of a data directory, taken while
the service runs.

What goes in (a .tar.gz):
- every SQLite database of the data directory (registry + keyword index, history, watchlist), copied
  with SQLite's online backup API: each copy is a transaction-consistent snapshot even while the API
  writes;
- the vectors of exactly the chunks registered in that registry snapshot (ids, embeddings, metadata),
  exported from Chroma (embedded or server) into `vectors.npz` instead of copying Chroma's files, which
  are not safe to copy under a writer;
- workspaces (REGBRIEF_HOME/workspaces/<name>) the same way, each with its own collection.

Consistency: the registry snapshot is the truth. A chunk the snapshot holds whose vector was replaced by a
write after the snapshot (so Chroma no longer has it) is re-embedded from its stored text at backup time
(the same model, so the same vector). Pending intents in the snapshot are dropped on restore, since the
restored collection holds exactly the registry's chunks.

Restore goes into an empty data directory (or a new collection on a Chroma server) and refuses otherwise.
"""
from __future__ import annotations

import io
import json
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np

from rag.core.settings import WORKSPACE_NAME, Settings
from rag.embeddings import get_embedder
from rag.store.facade import LEGACY_SIGNATURE
from rag.store.history import History
from rag.store.registry import SqliteRegistry
from rag.store.sqlite import snapshot
from rag.store.vectors import VectorIndex
from rag.store.watchlist import Watchlist

FORMAT = "regbrief-backup/1"
DB_NAMES = ("regbrief.sqlite3", "history.sqlite3", "watchlist.sqlite3", "feeds.sqlite3")


def _homes(settings: Settings) -> list[tuple[str, Settings]]:
    """(archive prefix, settings) for the default data dir and each workspace under it."""
    out = [("", settings)]
    ws_root = settings.home / "workspaces"
    if ws_root.is_dir():
        for d in sorted(ws_root.iterdir()):
            if d.is_dir() and WORKSPACE_NAME.match(d.name) and (d / "regbrief.sqlite3").exists():
                out.append((f"workspaces/{d.name}/", settings.for_workspace(d.name)))
    return out


def _refuse_database(settings: Settings) -> None:
    if settings.database_url:
        raise ValueError("this store is in PostgreSQL (REGBRIEF_DATABASE_URL), which a backup archive does not "
                         "hold: back it up with pg_dump and the Chroma server's data directory (README, 'Several "
                         "machines: PostgreSQL')")


def backup(settings: Settings, out: Path, embedder=None) -> dict:
    """Write a backup archive of `settings.home` (and its workspaces) to `out`."""
    _refuse_database(settings)
    t0 = time.perf_counter()
    manifest: dict = {"format": FORMAT, "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                      "homes": []}
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp_out = out.with_name(out.name + ".partial")
    with tempfile.TemporaryDirectory(prefix="regbrief-backup-") as tmp, tarfile.open(tmp_out, "w:gz") as tar:
        for prefix, s in _homes(settings):
            entry = {"prefix": prefix, "files": [], "chunks": 0, "reembedded": 0}
            stage = Path(tmp) / (prefix or "root")
            stage.mkdir(parents=True, exist_ok=True)
            for name in DB_NAMES:
                if (s.home / name).exists():
                    snapshot(s.home / name, stage / name)
                    tar.add(stage / name, arcname=prefix + name)
                    entry["files"].append(name)
            if "regbrief.sqlite3" in entry["files"]:
                staged = SqliteRegistry(stage / "regbrief.sqlite3")
                rows = staged.all_chunks()
                ids = [r[0] for r in rows]
                got = VectorIndex(s).vectors(ids)
                missing = [(cid, text) for cid, text in rows if cid not in got]
                if missing:  # replaced after the snapshot: the same model gives the same vector
                    if embedder is None:
                        # Vectors of the family the store has: its recorded signature decides under "auto".
                        recorded = json.loads(staged.get_meta("vectors") or "{}").get("embedding") or LEGACY_SIGNATURE
                        embedder = get_embedder(s.embedding_model, s.embedding_batch_size, recorded=recorded)
                    embs = embedder.encode([t for _, t in missing])
                    meta_rows = staged.vector_metadata([c for c, _ in missing])
                    for (cid, _), emb in zip(missing, embs):
                        got[cid] = (list(emb), meta_rows[cid])
                entry["chunks"], entry["reembedded"] = len(ids), len(missing)
                dim = len(next(iter(got.values()))[0]) if got else 0
                arr = np.array([got[c][0] for c in ids], dtype=np.float32).reshape(len(ids), dim)
                buf = io.BytesIO()
                np.savez_compressed(buf, ids=np.array(ids, dtype=object), embeddings=arr,
                                    metadatas=np.array([json.dumps(got[c][1]) for c in ids], dtype=object))
                _add_bytes(tar, prefix + "vectors.npz", buf.getvalue())
            manifest["homes"].append(entry)
        manifest["seconds"] = round(time.perf_counter() - t0, 2)
        _add_bytes(tar, "manifest.json", json.dumps(manifest, indent=2).encode())
    tmp_out.replace(out)
    return manifest


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(time.time())
    tar.addfile(info, io.BytesIO(data))


def restore(settings: Settings, archive: Path) -> dict:
    """Restore an archive into an empty data directory (`settings.home`). Databases of an earlier release
    are migrated as they are opened; a newer release's are refused (SchemaTooNew)."""
    _refuse_database(settings)
    home = settings.home
    if home.exists() and any(home.iterdir()):
        raise ValueError(f"{home} is not empty; restore only into an empty data directory")
    with tarfile.open(archive, "r:gz") as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())
        if manifest.get("format") != FORMAT:
            raise ValueError(f"{archive}: not a regbrief backup ({manifest.get('format')!r})")
        names = set(tar.getnames())
        for entry in manifest["homes"]:
            prefix = entry["prefix"]
            if prefix and (not prefix.startswith("workspaces/") or prefix.count("/") != 2
                           or not WORKSPACE_NAME.match(prefix.split("/")[1])):
                raise ValueError(f"{archive}: unexpected entry {prefix!r}")
            s = settings if not prefix else settings.for_workspace(prefix.split("/")[1])
            s.home.mkdir(parents=True, exist_ok=True)
            for name in entry["files"]:
                if name not in DB_NAMES:
                    raise ValueError(f"{archive}: unexpected file {name!r}")
                (s.home / name).write_bytes(tar.extractfile(prefix + name).read())
            if "regbrief.sqlite3" in entry["files"]:
                SqliteRegistry(s.home / "regbrief.sqlite3").clear_pending(None)
            if "history.sqlite3" in entry["files"]:
                History(s.home / "history.sqlite3")
            if "watchlist.sqlite3" in entry["files"]:
                Watchlist(s.home / "watchlist.sqlite3")
            if prefix + "vectors.npz" in names:
                data = np.load(io.BytesIO(tar.extractfile(prefix + "vectors.npz").read()), allow_pickle=True)
                ids = [str(x) for x in data["ids"]]
                embs, metas = data["embeddings"], [json.loads(m) for m in data["metadatas"]]
                vectors = VectorIndex(s)
                if vectors.count():
                    raise ValueError(f"collection {s.collection} is not empty; restore into a new one")
                vectors.put_vectors(ids, embs, metas)
    return manifest
