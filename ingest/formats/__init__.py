"""One module per source format. Each module exposes:

    NAME: str                         the --format name, e.g. "ofac_sdn_csv"
    EXTENSIONS: tuple[str, ...]       file extensions it usually comes with, e.g. (".csv",)
    def sniff(path, head: bytes) -> bool
        True when the first bytes of the file look like this format (cheap, no full parse).
    def parse(path) -> Iterator[Document]
        Yields normalised documents; raises FormatError (never anything else) for bad input.

`detect()` picks the format for a file; `parse()` runs it. The order of FORMATS matters: specific
structured formats are tried before the generic article formats.
"""
from __future__ import annotations

from pathlib import Path
from types import ModuleType

from ingest.formats import (
    article_html,
    article_pdf,
    article_text,
    eu_oj_csv,
    federal_register,
    ftm_json,
    obliqa_json,
    ofac_changelog_csv,
    ofac_sdn_csv,
    ofac_xml,
    uk_ofsi_csv,
)
from ingest.formats._errors import HEAD_BYTES, MAX_DOCUMENT_CHARS, MAX_FILE_BYTES, FormatError
from rag.core.models import Document

__all__ = ["HEAD_BYTES", "MAX_DOCUMENT_CHARS", "MAX_FILE_BYTES", "FormatError", "detect", "formats", "parse",
           "parse_with", "read_head", "resolve"]

# Structured formats first; generic article formats last.
FORMATS: list[ModuleType] = [
    ofac_xml,
    ofac_sdn_csv,
    ofac_changelog_csv,
    eu_oj_csv,
    uk_ofsi_csv,
    federal_register,
    ftm_json,
    obliqa_json,
    article_pdf,
    article_html,
    article_text,
]


def formats() -> dict[str, ModuleType]:
    return {m.NAME: m for m in FORMATS}


def read_head(path: Path) -> bytes:
    with open(path, "rb") as f:
        return f.read(HEAD_BYTES)


def detect(path: str | Path) -> ModuleType:
    """The format module for a file, from its content and extension, or FormatError."""
    path = Path(path)
    if not path.is_file():
        raise FormatError(path, "not a file")
    size = path.stat().st_size
    if size == 0:
        raise FormatError(path, "file is empty")
    if size > MAX_FILE_BYTES:
        raise FormatError(path, f"file is {size} bytes, over the {MAX_FILE_BYTES}-byte limit")
    head = read_head(path)
    for module in FORMATS:
        if module.sniff(path, head):
            return module
    raise FormatError(path, "unrecognised format (not a known list, notice, regulation or article file)")


def resolve(path: str | Path, fmt: str | None = None) -> ModuleType:
    """The module for `fmt` if given, else the detected one; FormatError when neither works."""
    path = Path(path)
    if not fmt:
        return detect(path)
    known = formats()
    if fmt not in known:
        raise FormatError(path, f"unknown format {fmt!r}; known: {', '.join(sorted(known))}")
    if not path.is_file():
        raise FormatError(path, "not a file")
    return known[fmt]


def parse_with(module: ModuleType, path: str | Path) -> list[Document]:
    """All documents of one file, or FormatError: a file is read whole before anything is stored."""
    path = Path(path)
    try:
        docs = list(module.parse(path))
    except FormatError:
        raise
    except UnicodeDecodeError as e:
        raise FormatError(path, f"not valid UTF-8 text ({e.reason} at byte {e.start})") from e
    except Exception as e:  # a parser bug must not take down a batch; report it against the file
        raise FormatError(path, f"could not be parsed as {module.NAME}: {type(e).__name__}: {e}") from e
    if not docs:
        raise FormatError(path, f"no documents found (read as {module.NAME})")
    for d in docs:
        if len(d.text) > MAX_DOCUMENT_CHARS:
            raise FormatError(path, f"document {d.doc_id} has {len(d.text):,} characters of text, over the "
                                    f"{MAX_DOCUMENT_CHARS:,}-character limit for one document")
    return docs


def parse(path: str | Path, fmt: str | None = None) -> list[Document]:
    """Documents from one file; `fmt` forces a format by name."""
    return parse_with(resolve(path, fmt), path)
