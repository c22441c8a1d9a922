"""JSON and JSON Lines sources, with errors that name the line and column."""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ingest.formats._errors import FormatError
from ingest.formats._files import check_file, read_text, streamed_decode_error


def json_error(path: Path, e: json.JSONDecodeError, line: int | None = None) -> FormatError:
    """`line` is the file line for JSON Lines (e.lineno is then 1)."""
    where = f"line {line}, column {e.colno}" if line is not None else f"line {e.lineno}, column {e.colno}"
    return FormatError(path, f"invalid JSON at {where}: {e.msg}")


def load_json(path: Path) -> Any:
    text = read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise json_error(path, e) from e
    except RecursionError as e:
        raise FormatError(path, "JSON nested too deeply") from e


def iter_jsonl(path: Path) -> Iterator[tuple[int, Any]]:
    """(line number, value) for each non-blank line of a JSON Lines file, streamed."""
    check_file(path)
    try:
        handle = open(path, encoding="utf-8-sig", newline="")
    except OSError as e:
        raise FormatError(path, f"cannot read file: {e.strerror or e}") from e
    with handle:
        line_no = 0
        while True:
            try:
                line = handle.readline()
            except UnicodeDecodeError as e:
                raise streamed_decode_error(path, "utf-8", e) from e
            if not line:
                return
            line_no += 1
            if not line.strip():
                continue
            if "\x00" in line:
                raise FormatError(path, f"line {line_no}: contains NUL bytes: binary data, not JSON")
            try:
                yield line_no, json.loads(line)
            except json.JSONDecodeError as e:
                raise json_error(path, e, line_no) from e
            except RecursionError as e:
                raise FormatError(path, f"line {line_no}: JSON nested too deeply") from e


def json_object_line(path: Path, line: int, value: Any, what: str = "JSON object") -> dict[str, Any]:
    if not isinstance(value, dict):
        raise FormatError(path, f"line {line}: expected a {what}, found {type(value).__name__}")
    return value
