"""CSV sources, streamed: records with the line they start on, header checks, multi-valued cells."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from pathlib import Path

from ingest.formats._errors import FormatError
from ingest.formats._entry_text import uniq
from ingest.formats._files import check_file, streamed_decode_error

# Long free-text cells (EU "reason", OFAC remarks) exceed csv's 128 KiB default field limit.
csv.field_size_limit(max(csv.field_size_limit(), 16 * 1024 * 1024))


def _blank_row(row: list[str]) -> bool:
    # Blank lines, and the DOS end-of-file mark (\x1a) OFAC's legacy CSVs end with.
    return all(not cell.strip(" \t\r\n\x1a") for cell in row)


def iter_csv(path: Path, *, encoding: str = "utf-8", text: str | None = None) -> Iterator[tuple[int, list[str]]]:
    """(line number where the record starts, cells) for each non-blank CSV record, streamed.

    Blank records and a trailing \\x1a end-of-file line are skipped. Undecodable bytes and CSV
    syntax errors become FormatError naming the line. Pass `text` to parse already decoded text.
    """
    if text is None:
        check_file(path)
        enc = "utf-8-sig" if encoding.lower() in ("utf-8", "utf8") else encoding
        try:
            handle = open(path, encoding=enc, newline="")
        except OSError as e:
            raise FormatError(path, f"cannot read file: {e.strerror or e}") from e
    else:
        handle = io.StringIO(text, newline="")
    with handle:
        reader = csv.reader(handle, strict=True)
        start = 1
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except UnicodeDecodeError as e:
                raise streamed_decode_error(path, encoding, e) from e
            except csv.Error as e:
                raise FormatError(path, f"line {start}: malformed CSV: {e}") from e
            if not _blank_row(row):
                yield start, row
            start = reader.line_num + 1


def column_count_error(path: Path, line: int, expected: int, found: int) -> FormatError:
    hint = " (truncated or broken row?)" if found < expected else ""
    return FormatError(path, f"line {line}: expected {expected} columns, found {found}{hint}")


def iter_csv_dicts(
    path: Path, *, required: Iterable[str] = (), encoding: str = "utf-8", text: str | None = None
) -> Iterator[tuple[int, dict[str, str]]]:
    """CSV with a header row: (line number, {column: stripped value}) per record."""
    rows = iter_csv(path, encoding=encoding, text=text)
    try:
        _, header = next(rows)
    except StopIteration:
        raise FormatError(path, "no header row") from None
    header = [h.strip() for h in header]
    missing = [c for c in required if c not in header]
    if missing:
        raise FormatError(path, f"line 1: header lacks required column(s) {', '.join(missing)}")
    for line, row in rows:
        if len(row) != len(header):
            raise column_count_error(path, line, len(header), len(row))
        yield line, {h: v.strip() for h, v in zip(header, row)}


def split_multi(cell: str, delimiter: str = ";") -> list[str]:
    """A multi-valued cell ("Foo; Bar", or "\\"Foo; Bar\\"; Baz") as a list of unique values."""
    if not cell or not cell.strip():
        return []
    try:
        values = next(csv.reader([cell], delimiter=delimiter, skipinitialspace=True))
    except (csv.Error, StopIteration):
        values = cell.split(delimiter)
    return uniq(v.strip() for v in values)
