"""Reading a source file safely: size checks, decoding with errors that say where, and the guards
that make every parser raise FormatError and every sniffer answer False rather than raise."""
from __future__ import annotations

import codecs
import functools
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from ingest.formats._errors import MAX_FILE_BYTES, FormatError


def check_file(path: Path) -> int:
    """The file's size, after checking it exists, is not empty and is not too big."""
    try:
        size = path.stat().st_size
    except OSError as e:
        raise FormatError(path, f"cannot read file: {e.strerror or e}") from e
    if not path.is_file():
        raise FormatError(path, "not a file")
    if size == 0:
        raise FormatError(path, "file is empty")
    if size > MAX_FILE_BYTES:
        raise FormatError(path, f"file is {size} bytes, over the {MAX_FILE_BYTES}-byte limit")
    return size


def read_bytes(path: Path) -> bytes:
    check_file(path)
    try:
        return path.read_bytes()
    except OSError as e:
        raise FormatError(path, f"cannot read file: {e.strerror or e}") from e


def _position(data: bytes, offset: int) -> str:
    line = data.count(b"\n", 0, offset) + 1
    return f"line {line}, byte offset {offset}"


def decode_error(path: Path, e: UnicodeDecodeError, data: bytes | None = None) -> FormatError:
    where = _position(data, e.start) if data is not None else f"byte offset {e.start}"
    bad = e.object[e.start : e.start + 1].hex() if e.object else "?"
    return FormatError(path, f"not valid {e.encoding.upper()} text: byte 0x{bad} at {where} ({e.reason})")


def streamed_decode_error(path: Path, encoding: str, e: UnicodeDecodeError) -> FormatError:
    """A decode error met while streaming: find the exact bad byte (text readers decode in blocks,
    so their position is not the file's) and report its line and offset."""
    decoder = codecs.getincrementaldecoder(encoding)()
    offset, line = 0, 1
    try:
        with open(path, "rb") as f:
            while block := f.read(1 << 16):
                pending = len(decoder.getstate()[0])  # bytes of a character split across blocks
                try:
                    decoder.decode(block)
                except UnicodeDecodeError as inner:
                    line += inner.object[pending:inner.start].count(b"\n")
                    byte = inner.object[inner.start:inner.start + 1].hex()
                    return FormatError(path, f"not valid {encoding.upper()} text: byte 0x{byte} at line {line}, "
                                             f"byte offset {offset - pending + inner.start} ({inner.reason})")
                offset += len(block)
                line += block.count(b"\n")
    except OSError:
        pass
    return FormatError(path, f"not valid {encoding.upper()} text ({e.reason})")


def decode_text(path: Path, data: bytes, encodings: tuple[str, ...] = ("utf-8",)) -> str:
    """Bytes to text: a leading BOM is dropped; NUL bytes mean binary data, not text."""
    if b"\x00" in data:
        raise FormatError(path, f"contains NUL bytes at {_position(data, data.index(0))}: binary data, not text")
    first_error: UnicodeDecodeError | None = None
    for encoding in encodings:
        try:
            text = data.decode("utf-8-sig" if encoding.lower() in ("utf-8", "utf8") else encoding)
            break
        except UnicodeDecodeError as e:
            first_error = first_error or e
    else:
        assert first_error is not None
        raise decode_error(path, first_error, data)
    if not text.strip():
        raise FormatError(path, "file contains only whitespace")
    return text


def read_text(path: Path, encodings: tuple[str, ...] = ("utf-8",)) -> str:
    return decode_text(path, read_bytes(path), encodings)


def head_text(head: bytes) -> str:
    """The sniffed head bytes as text (lenient: a cut multi-byte character is fine)."""
    return head.decode("utf-8", errors="replace").lstrip("\ufeff")


def head_is_utf8(head: bytes) -> bool:
    """True when the head is valid UTF-8, allowing a character cut off at the end."""
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return True


def extension_in(path: str | Path, extensions: Iterable[str]) -> bool:
    return Path(path).suffix.lower() in extensions


def guarded(name: str) -> Callable[[Callable[..., Iterator[Any]]], Callable[..., Iterator[Any]]]:
    """Makes a parse(path) generator raise only FormatError, whatever goes wrong inside."""

    def decorate(fn: Callable[..., Iterator[Any]]) -> Callable[..., Iterator[Any]]:
        @functools.wraps(fn)
        def wrapper(path: str | Path, *args: Any, **kwargs: Any) -> Iterator[Any]:
            path = Path(path)
            try:
                yield from fn(path, *args, **kwargs)
            except FormatError:
                raise
            except UnicodeDecodeError as e:
                raise decode_error(path, e) from e
            except OSError as e:
                raise FormatError(path, f"cannot read file: {e.strerror or e}") from e
            except RecursionError as e:
                raise FormatError(path, f"could not be parsed as {name}: nested too deeply") from e
            except Exception as e:  # noqa: BLE001 - the contract: FormatError, never anything else
                raise FormatError(path, f"could not be parsed as {name}: {type(e).__name__}: {e}") from e

        return wrapper

    return decorate


def safe_sniff(fn: Callable[[Path, bytes], bool]) -> Callable[[str | Path, bytes], bool]:
    """Sniffers answer False rather than raise."""

    @functools.wraps(fn)
    def wrapper(path: str | Path, head: bytes) -> bool:
        try:
            return bool(fn(Path(path), head or b""))
        except Exception:  # noqa: BLE001
            return False

    return wrapper
