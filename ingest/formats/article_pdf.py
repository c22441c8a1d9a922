"""Articles and reports as PDF, text extracted page by page with pypdf.

Pages with text are joined with a blank line; `Document.pages` records (page number, offset of
the page's first character in `text`) so a passage can be cited by page. Title: the PDF's Title
metadata, else the first line of text, else the file name; date from CreationDate. A PDF with no
extractable text (e.g. scanned images) is a FormatError: OCR is out of scope.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

from pypdf import PdfReader
from pypdf.errors import PyPdfError

from ingest.formats._errors import FormatError
from ingest.formats._common import (
    check_file,
    guarded,
    guess_title,
    make_doc_id,
    parse_date,
    safe_sniff,
)
from rag.core.models import Document

NAME = "article_pdf"
EXTENSIONS = (".pdf",)
PAGE_SEPARATOR = "\n\n"

logging.getLogger("pypdf").setLevel(logging.ERROR)  # malformed-but-readable PDFs warn loudly


@safe_sniff
def sniff(path: Path, head: bytes) -> bool:
    return head.lstrip(b"\x00\t\r\n ")[:5] == b"%PDF-" or (head[:1024].find(b"%PDF-") != -1 and path.suffix.lower() == ".pdf")


def _clean(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    text = re.sub(r"[ \t]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


@guarded(NAME)
def parse(path: Path) -> Iterator[Document]:
    check_file(path)
    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted:
            try:
                reader.decrypt("")
            except Exception as e:  # noqa: BLE001
                raise FormatError(path, "PDF is encrypted and cannot be opened without a password") from e
        page_texts = []
        for number, page in enumerate(reader.pages, start=1):
            page_texts.append((number, _clean(page.extract_text() or "")))
        meta = reader.metadata or {}
        pdf_title = str(meta.get("/Title") or "").strip()
        author = str(meta.get("/Author") or "").strip()
        created = parse_date(str(meta.get("/CreationDate") or ""))
    except FormatError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, AssertionError) as e:
        raise FormatError(path, f"not a readable PDF: {type(e).__name__}: {e}") from e

    if not page_texts:
        raise FormatError(path, "PDF has no pages")
    parts, pages, offset = [], [], 0
    for number, text in page_texts:
        if not text:
            continue
        if parts:
            offset += len(PAGE_SEPARATOR)
        pages.append((number, offset))
        parts.append(text)
        offset += len(text)
    if not parts:
        raise FormatError(path, f"no extractable text in {len(page_texts)} page(s) (scanned images? OCR is not supported)")
    text = PAGE_SEPARATOR.join(parts)
    bad_titles = {"", "untitled", "microsoft word", "document"}
    title = pdf_title if pdf_title.lower() not in bad_titles and not pdf_title.lower().endswith((".doc", ".docx")) \
        else guess_title(text, path)
    metadata = {"page_count": len(page_texts), "author": author or None, "pdf_title": pdf_title or None}
    yield Document(
        doc_id=make_doc_id(path, "doc"),
        title=title,
        text=text,
        doc_type="article",
        format=NAME,
        source=str(path),
        date=created,
        jurisdiction=None,
        publisher=None,
        metadata={k: v for k, v in metadata.items() if v is not None},
        pages=pages,
    )
