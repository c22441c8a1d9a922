"""Helpers shared by the format modules: ids, dates, safe reading of text, CSV, JSON and XML,
and the readable rendering of list entries.

Every reader here raises `FormatError(path, reason)` with a reason that says what is wrong and
where (line, column, byte offset), never a bare UnicodeDecodeError, csv.Error or ParseError.
"""
from __future__ import annotations

import codecs
import csv
import datetime as dt
import functools
import hashlib
import json
import os
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element, ParseError

import defusedxml
import defusedxml.ElementTree as safe_et

from ingest.formats import MAX_FILE_BYTES, FormatError

# Long free-text cells (EU "reason", OFAC remarks) exceed csv's 128 KiB default field limit.
csv.field_size_limit(max(csv.field_size_limit(), 16 * 1024 * 1024))

# --------------------------------------------------------------------------- ids


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


# --------------------------------------------------------------------------- dates

_MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8,
    "sep": 9, "sept": 9, "oct": 10, "nov": 11, "dec": 12,
}
_MONTH_ABBR = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:$|[T ])")
_NUMERIC = re.compile(r"^(\d{1,2})([./-])(\d{1,2})\2(\d{4})$")
_DAY_MONTH_YEAR = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)?\s+([A-Za-z]{3,9})\.?,?\s+(\d{4})$")
_MONTH_DAY_YEAR = re.compile(r"^([A-Za-z]{3,9})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})$")
_COMPACT = re.compile(r"^(?:D:)?(\d{4})(\d{2})(\d{2})")  # 20211210, PDF "D:20211210120000Z"


def _month(name: str) -> int | None:
    name = name.lower().rstrip(".")
    if name in _MONTHS:
        return _MONTHS[name]
    return _MONTHS.get(name[:3]) if len(name) > 3 else None


def _date(y: int, m: int, d: int) -> dt.date | None:
    try:
        return dt.date(y, m, d)
    except ValueError:
        return None


def parse_date(value: Any, *, dayfirst: bool = False) -> dt.date | None:
    """A full calendar date from the forms the sources use, else None.

    ISO "2021-12-10" (also with a time), OFAC "10 Dec 2021" / "12/10/2021" (month first),
    EU "2.3.2021" (dotted: always day first), "2 December 1985", "26 Feb. 2011",
    "December 10, 2021", compact "20211210" and PDF "D:20211210...". Slashed dates are month first
    unless `dayfirst` (UK OFSI) or the first number cannot be a month. Partial dates ("2011",
    "2011-02", "00/00/1980") give None: a day is never invented.
    """
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    s = str(value).strip()
    if not s:
        return None
    if m := _ISO.match(s):
        return _date(int(m[1]), int(m[2]), int(m[3]))
    if m := _NUMERIC.match(s):
        a, sep, b, y = int(m[1]), m[2], int(m[3]), int(m[4])
        first_is_day = dayfirst or sep == "." or a > 12
        return _date(y, b, a) if first_is_day else _date(y, a, b)
    if m := _DAY_MONTH_YEAR.match(s):
        month = _month(m[2])
        return _date(int(m[3]), month, int(m[1])) if month else None
    if m := _MONTH_DAY_YEAR.match(s):
        month = _month(m[1])
        return _date(int(m[3]), month, int(m[2])) if month else None
    if m := _COMPACT.match(s):
        return _date(int(m[1]), int(m[2]), int(m[3]))
    return None


def iso(d: dt.date | None) -> str | None:
    return d.isoformat() if d else None


def human_date(d: dt.date) -> str:
    """OFAC's own style, locale-independent: "10 Dec 2021"."""
    return f"{d.day:02d} {_MONTH_ABBR[d.month - 1]} {d.year}"


def date_in_name(path: str | Path) -> dt.date | None:
    """A date written in a file name: "sdn_2024-05-03.csv" or "sdn_20240503.csv"."""
    stem = Path(path).stem
    for m in re.finditer(r"(?<!\d)(\d{4})[-_.]?(\d{2})[-_.]?(\d{2})(?!\d)", stem):
        d = _date(int(m[1]), int(m[2]), int(m[3]))
        if d:
            return d
    return None


# --------------------------------------------------------------------------- reading files


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


# --------------------------------------------------------------------------- CSV


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
        import io

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


# --------------------------------------------------------------------------- JSON


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


# --------------------------------------------------------------------------- XML


def local(tag: str) -> str:
    """Element tag without its namespace: "{ns}sdnEntry" -> "sdnEntry"."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def iterparse_xml(path: Path, events: tuple[str, ...] = ("start", "end")) -> Iterator[tuple[str, Element]]:
    """Streamed, safe XML parsing (defusedxml): entity declarations (XXE, billion laughs) and
    external references are refused; malformed XML is reported with its line and column."""
    check_file(path)
    try:
        for event, elem in safe_et.iterparse(str(path), events=events, forbid_dtd=False,
                                              forbid_entities=True, forbid_external=True):
            yield event, elem
    except ParseError as e:
        line, col = getattr(e, "position", (None, None))
        msg = str(e).split(":")[0]
        raise FormatError(path, f"malformed XML at line {line}, column {col}: {msg}") from e
    except defusedxml.EntitiesForbidden as e:
        raise FormatError(path, f"XML declares entities ({e}): refused (possible XXE or entity-expansion attack)") from e
    except defusedxml.ExternalReferenceForbidden as e:
        raise FormatError(path, f"XML refers to external resources ({e}): refused") from e
    except defusedxml.DefusedXmlException as e:
        raise FormatError(path, f"unsafe XML refused: {e}") from e


def xml_text(elem: Element | None, name: str) -> str:
    """Stripped text of the first direct child called `name` (any namespace), or ""."""
    if elem is None:
        return ""
    for child in elem:
        if local(child.tag) == name:
            return (child.text or "").strip()
    return ""


def xml_children(elem: Element | None, name: str) -> list[Element]:
    return [c for c in elem if local(c.tag) == name] if elem is not None else []


def xml_child(elem: Element | None, name: str) -> Element | None:
    found = xml_children(elem, name)
    return found[0] if found else None


# --------------------------------------------------------------------------- guarding parsers


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


# --------------------------------------------------------------------------- rendering


def uniq(values: Iterable[Any]) -> list[Any]:
    """Non-empty values, first occurrence kept, order preserved."""
    seen: set[Any] = set()
    out = []
    for v in values:
        if v is None or (isinstance(v, str) and not v.strip()):
            continue
        if isinstance(v, str):
            v = v.strip()
        if v not in seen:
            seen.add(v)
            out.append(v)
    return out


def sentence(text: str) -> str:
    text = text.strip()
    if text and text[-1] not in ".!?":
        text += "."
    return text


def clean_space(text: str) -> str:
    return re.sub(r"\s+", " ", text or "").strip()


HEAD_ALIASES = 3  # aliases named right after the name; the rest go to a later "Also known as"


def entry_text(
    name: str,
    *,
    aliases: Iterable[str] = (),
    former_names: Iterable[str] = (),
    facts: Iterable[str | None] = (),
    sections: Iterable[tuple[str, Any]] = (),
    more_aliases_at: int = 0,
) -> str:
    """A list entry as readable text, key facts first (embedding models see ~256 word pieces):

    "NAME (a.k.a. A; B; f.k.a. C), fact, fact, fact. Label: value; value. Label: value."
    Aliases beyond the first few become an "Also known as" section at `more_aliases_at`.
    """
    aliases = uniq(a for a in aliases if a != name)
    former = uniq(f for f in former_names if f != name)
    parens = []
    if aliases:
        parens.append("a.k.a. " + "; ".join(aliases[:HEAD_ALIASES]))
    if former:
        parens.append("f.k.a. " + "; ".join(former[:2]))
    head = name + (f" ({'; '.join(parens)})" if parens else "")
    head = ", ".join([head, *[f for f in facts if f]])
    parts = [sentence(head)]
    more_sections = list(sections)
    extra_names = []
    if len(aliases) > HEAD_ALIASES:
        extra_names.append(("Also known as", aliases[HEAD_ALIASES:]))
    if len(former) > 2:
        extra_names.append(("Formerly known as", former[2:]))
    more_sections[more_aliases_at:more_aliases_at] = extra_names
    for label, value in more_sections:
        if isinstance(value, (list, tuple)):
            value = "; ".join(uniq(str(v) for v in value))
        value = clean_space(str(value)) if value else ""
        if value:
            parts.append(sentence(f"{label}: {value}"))
    return " ".join(parts)


def plural(word: str, values: list[Any], plural_word: str | None = None) -> str:
    return word if len(values) == 1 else (plural_word or word + "s")


# --------------------------------------------------------------------------- articles

_JURISDICTION_NAMES = {
    "US": "US", "USA": "US", "UNITED STATES": "US", "U.S.": "US",
    "EU": "EU", "EUROPEAN UNION": "EU",
    "UK": "UK", "GB": "UK", "UNITED KINGDOM": "UK", "GREAT BRITAIN": "UK",
    "UN": "UN", "UNITED NATIONS": "UN",
}


def jurisdiction_of(value: Any) -> str | None:
    """"United States" / "us" / "GB" -> "US" / "US" / "UK"; None when not one of US, EU, UK, UN."""
    if not isinstance(value, str):
        return None
    return _JURISDICTION_NAMES.get(value.strip().upper())


def guess_title(text: str, path: Path) -> str:
    """The first Markdown heading, else the first non-empty line (shortened), else the file name."""
    lines = [ln.strip() for ln in text.splitlines()]
    for i, ln in enumerate(lines):
        if m := re.match(r"^#{1,6}\s+(.+?)\s*#*$", ln):
            return m[1].strip()
        if ln and i + 1 < len(lines) and re.fullmatch(r"=+|-+", lines[i + 1] or " ") and len(lines[i + 1]) >= 3:
            return ln
    for ln in lines:
        ln = re.sub(r"^[>*\-+#\s]+", "", ln).strip()
        if ln:
            return ln if len(ln) <= 150 else ln[:147].rsplit(" ", 1)[0] + "..."
    return path.stem.replace("_", " ").replace("-", " ").strip() or path.name


def json_safe(value: Any) -> Any:
    """Front-matter values as JSON: dates to ISO strings, nested containers converted, others str()."""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [json_safe(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)
