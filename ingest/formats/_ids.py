"""What names a parsed document: stable document ids, and what a file's name says (its date)."""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
import os
import re
import unicodedata
from pathlib import Path

from rag.core.dates import make_date


def slug(text: str) -> str:
    """Lowercase ASCII slug: "sdn_2024-05-03" -> "sdn-2024-05-03"."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return text or "file"


def file_tag(path: str | Path) -> str:
    """`slug(stem)~hash6`: names the file in every doc_id, stable for the same resolved path."""
    return _file_tag(str(path), os.getcwd())


@functools.lru_cache(maxsize=256)
def _file_tag(path: str, cwd: str) -> str:  # cwd: a relative path resolves against it
    p = Path(path)
    digest = hashlib.sha256(str(p.resolve()).encode("utf-8")).hexdigest()[:6]
    return f"{slug(p.stem)}~{digest}"


def make_doc_id(path: str | Path, key: object) -> str:
    """A document id stable across re-ingests: "<file slug>~<path hash>:<natural key>"."""
    key = re.sub(r"\s+", " ", str(key)).strip()
    return f"{file_tag(path)}:{key}"


class KeyDeduper:
    """Keeps natural keys unique within one file: a repeated key gets "@<fallback>" appended."""

    def __init__(self) -> None:
        self.seen: set[str] = set()

    def __call__(self, key: str, fallback: object) -> str:
        if key in self.seen:
            base = candidate = f"{key}@{fallback}"
            n = 2
            while candidate in self.seen:
                candidate, n = f"{base}-{n}", n + 1
            key = candidate
        self.seen.add(key)
        return key


def date_in_name(path: str | Path) -> dt.date | None:
    """A date written in a file name: "sdn_2024-05-03.csv" or "sdn_20240503.csv"."""
    stem = Path(path).stem
    for m in re.finditer(r"(?<!\d)(\d{4})[-_.]?(\d{2})[-_.]?(\d{2})(?!\d)", stem):
        d = make_date(int(m[1]), int(m[2]), int(m[3]))
        if d:
            return d
    return None
