"""Articles as plain text or Markdown (.txt, .md, .markdown), UTF-8.

An optional YAML front matter block (between "---" lines at the very top) gives title, publisher,
author, date, url and jurisdiction; any other keys go to metadata. The text is kept as written,
without the front matter. Title: front matter, else the first Markdown heading, else the first
line, else the file name. Binary data (NUL bytes) and non-UTF-8 text are refused.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from ingest.formats._errors import FormatError
from ingest.formats._common import (
    extension_in,
    guarded,
    guess_title,
    head_is_utf8,
    json_safe,
    jurisdiction_of,
    make_doc_id,
    parse_date,
    read_text,
    safe_sniff,
)
from rag.core.models import Document

NAME = "article_text"
EXTENSIONS = (".txt", ".md", ".markdown")

_FRONT = re.compile(r"\A---[ \t]*\r?\n(.*?)^(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.S | re.M)
_ALIASES = {
    "title": ("title",),
    "publisher": ("publisher", "source", "site", "sitename", "site_name"),
    "author": ("author", "authors", "byline"),
    "date": ("date", "published", "published_at", "pubdate", "publication_date"),
    "url": ("url", "link", "canonical_url"),
    "jurisdiction": ("jurisdiction",),
}


@safe_sniff
def sniff(path: Path, head: bytes) -> bool:
    return extension_in(path, EXTENSIONS) and b"\x00" not in head and head_is_utf8(head)


def split_front_matter(path: Path, text: str) -> tuple[dict[str, Any], str]:
    """(front matter mapping, body). No front matter -> ({}, text)."""
    m = _FRONT.match(text)
    if not m:
        return {}, text
    block = m[1]
    looks_like_yaml = bool(re.match(r"\s*[\w-]+\s*:", block))
    try:
        data = yaml.safe_load(block) if block.strip() else {}
    except yaml.YAMLError as e:
        if not looks_like_yaml:
            return {}, text  # a Markdown rule, not front matter
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 2}" if mark is not None else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise FormatError(path, f"invalid YAML front matter{where}: {problem}") from e
    if not isinstance(data, dict):
        if looks_like_yaml:
            raise FormatError(path, "YAML front matter is not a mapping of keys to values")
        return {}, text
    return data, text[m.end():]


def _pick(front: dict[str, Any], field: str) -> Any:
    for key in _ALIASES[field]:
        for k in list(front):
            if str(k).lower() == key:
                return front.pop(k)
    return None


@guarded(NAME)
def parse(path: Path) -> Iterator[Document]:
    text = read_text(path)
    front, body = split_front_matter(path, text)
    body = body.strip("\r\n")
    if not body.strip():
        raise FormatError(path, "no article text (only front matter or whitespace)")
    title = _pick(front, "title")
    publisher = _pick(front, "publisher")
    author = _pick(front, "author")
    raw_date = _pick(front, "date")
    url = _pick(front, "url")
    raw_jurisdiction = _pick(front, "jurisdiction")

    date = parse_date(raw_date)
    jurisdiction = jurisdiction_of(raw_jurisdiction)
    if isinstance(author, (list, tuple)):
        author = "; ".join(str(a) for a in author)
    metadata: dict[str, Any] = {str(k): json_safe(v) for k, v in front.items()}
    metadata.update({
        "author": str(author) if author else None,
        "markdown": path.suffix.lower() in (".md", ".markdown"),
        "date_text": str(raw_date) if raw_date and not date else None,
        "jurisdiction_text": str(raw_jurisdiction) if raw_jurisdiction and not jurisdiction else None,
    })
    yield Document(
        doc_id=make_doc_id(path, "doc"),
        title=str(title).strip() if title else guess_title(body, path),
        text=body,
        doc_type="article",
        format=NAME,
        source=str(path),
        date=date,
        jurisdiction=jurisdiction,
        publisher=str(publisher) if publisher else None,
        url=str(url) if url else None,
        metadata={k: v for k, v in metadata.items() if v is not None},
    )
