"""Articles as HTML pages (saved news pages, press releases), main text extracted by trafilatura
(boilerplate such as navigation and footers dropped) with its metadata: title, author, date,
site name (publisher) and canonical URL. Paragraphs are separated by blank lines. Nothing is
fetched from the network. A page with no extractable text is a FormatError.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import trafilatura

from ingest.formats._errors import FormatError
from ingest.formats._common import (
    extension_in,
    guarded,
    guess_title,
    head_text,
    make_doc_id,
    parse_date,
    read_bytes,
    safe_sniff,
)
from rag.core.models import Document

NAME = "article_html"
EXTENSIONS = (".html", ".htm", ".xhtml")


@safe_sniff
def sniff(path: Path, head: bytes) -> bool:
    if b"\x00" in head:
        return False
    text = head_text(head)
    text = re.sub(r"\A(?:\s|<\?xml[^>]*\?>|<!--.*?-->)*", "", text, flags=re.S).lower()
    if text.startswith("<!doctype html") or text.startswith("<html"):
        return True
    return extension_in(path, EXTENSIONS) and text.startswith("<")


def _extract(path: Path, data: bytes) -> Any:
    try:
        return trafilatura.bare_extraction(
            data, with_metadata=True, include_comments=False, include_tables=True, favor_recall=True
        )
    except Exception as e:  # noqa: BLE001 - lxml/trafilatura errors on hostile input
        raise FormatError(path, f"HTML could not be parsed: {type(e).__name__}: {e}") from e


@guarded(NAME)
def parse(path: Path) -> Iterator[Document]:
    data = read_bytes(path)
    if b"\x00" in data[:65536]:
        raise FormatError(path, "contains NUL bytes: binary data, not HTML")
    result = _extract(path, data)
    if result is None:
        raise FormatError(path, "no article text could be extracted from the HTML")
    info = result.as_dict() if hasattr(result, "as_dict") else dict(result)
    text = (info.get("text") or "").strip()
    if not text:
        raise FormatError(path, "no article text could be extracted from the HTML")
    # trafilatura puts one block (paragraph, heading, list item) per line: make them paragraphs.
    text = re.sub(r"\n+", "\n\n", text)
    title = (info.get("title") or "").strip() or guess_title(text, path)
    metadata = {
        "author": info.get("author"),
        "sitename": info.get("sitename"),
        "hostname": info.get("hostname"),
        "description": info.get("description"),
        "categories": info.get("categories") or None,
        "tags": info.get("tags") or None,
        "language": info.get("language"),
    }
    yield Document(
        doc_id=make_doc_id(path, "doc"),
        title=title,
        text=text,
        doc_type="article",
        format=NAME,
        source=str(path),
        date=parse_date(info.get("date")),
        jurisdiction=None,
        publisher=info.get("sitename") or info.get("hostname") or None,
        url=info.get("url") or None,
        metadata={k: v for k, v in metadata.items() if v},
    )
