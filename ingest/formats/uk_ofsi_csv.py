"""UK OFSI Consolidated List of Financial Sanctions Targets, legacy CSV (ConList.csv).

Columns: Name 6 (surname), Name 1..5, Title, DOB, Town/Country of Birth, Nationality, Passport
Details, NI Number, Position, Address 1..6, Post/Zip Code, Country, Other Information, Group Type,
Alias Type, Regime, Listed On, Last Updated, Group ID. Dates are day first (01/04/2016).
One row per name variant: rows are grouped by Group ID into one list_entry Document per target
(the "Prime Alias" row gives the name, the others its aliases), so the file is read whole.

OFSI published this file in Windows-1252, so text that is not UTF-8 is read as cp1252. Some copies
start with a "Last Updated" line before the header, or a header with an extra leading empty
column; both are tolerated.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ingest.formats._errors import FormatError
from ingest.formats._common import (
    column_count_error,
    entry_text,
    guarded,
    head_text,
    human_date,
    iso,
    iter_csv,
    make_doc_id,
    parse_date,
    read_bytes,
    safe_sniff,
    uniq,
)
from rag.core.models import Document, EntryName, Identifier, ListEntry, entity_type_of

NAME = "uk_ofsi_csv"
EXTENSIONS = (".csv",)
PUBLISHER = "UK OFSI"
ENCODINGS = ("utf-8", "cp1252")
REQUIRED = ("Name 6", "Group ID")


@safe_sniff
def sniff(path: Path, head: bytes) -> bool:
    text = head_text(head)
    first = "\n".join(text.splitlines()[:3])
    return "Group ID" in first and "Name 6" in first


def _decode(path: Path) -> tuple[str, str]:
    data = read_bytes(path)
    for encoding in ENCODINGS:
        try:
            text = data.decode("utf-8-sig" if encoding == "utf-8" else encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" in text:
            raise FormatError(path, "contains NUL bytes: binary data, not CSV")
        return text, encoding
    raise FormatError(path, "not valid UTF-8 or Windows-1252 text")


def _full_name(row: dict[str, str]) -> str:
    given = " ".join(row.get(f"Name {i}", "") for i in range(1, 6) if row.get(f"Name {i}"))
    return " ".join(p for p in (given, row.get("Name 6", "")) if p)


def _address(row: dict[str, str]) -> str:
    parts = [row.get(f"Address {i}", "") for i in range(1, 7)] + [row.get("Post/Zip Code", ""), row.get("Country", "")]
    return ", ".join(p for p in parts if p)


def _rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    text, encoding = _decode(path)
    header: list[str] | None = None
    for line, row in iter_csv(path, text=text, encoding=encoding):
        cells = [c.strip() for c in row]
        if header is None:
            if "Group ID" in cells and "Name 6" in cells:
                header = cells
                continue
            if line > 3:
                raise FormatError(path, "no header row with 'Name 6' and 'Group ID' in the first lines")
            continue  # a "Last Updated,dd/mm/yyyy" preamble
        if len(cells) < len(header) and not any(header[: len(header) - len(cells)]):
            header = header[len(header) - len(cells):]  # header has extra leading empty columns
        if len(cells) == len(header) + 1 and not cells[-1]:
            cells = cells[:-1]  # a trailing comma
        if len(cells) != len(header):
            raise column_count_error(path, line, len(header), len(cells))
        yield line, dict(zip(header, cells))
    if header is None:
        raise FormatError(path, "no header row with 'Name 6' and 'Group ID'")


def _is_primary(row: dict[str, str]) -> bool:
    return row.get("Alias Type", "").lower() in ("prime alias", "primary name")


def _name_kind(row: dict[str, str]) -> str:
    """A non-primary row's name: "FKA" is a former name, anything else ("AKA") an alias."""
    return "fka" if "fka" in row.get("Alias Type", "").lower().replace(".", "") else "aka"


@guarded(NAME)
def parse(path: Path) -> Iterator[Document]:
    groups: dict[str, list[dict[str, str]]] = {}
    for line, row in _rows(path):
        gid = row.get("Group ID", "")
        if not gid:
            raise FormatError(path, f"line {line}: empty 'Group ID'")
        if not _full_name(row):
            raise FormatError(path, f"line {line}: no name in 'Name 1'..'Name 6'")
        groups.setdefault(gid, []).append(row)
    for gid, rows in groups.items():
        yield _document(path, gid, rows)


# Long by design: the OFSI columns of one Group ID mapped to one typed entry in one place.
def _document(path: Path, gid: str, rows: list[dict[str, str]]) -> Document:
    primary = next((r for r in rows if _is_primary(r)), rows[0])
    name = _full_name(primary)
    aliases = uniq(_full_name(r) for r in rows)

    def values(column: str) -> list[str]:
        return uniq(r.get(column, "") for r in rows)

    listed = parse_date(primary.get("Listed On"), dayfirst=True)
    updated = parse_date(primary.get("Last Updated"), dayfirst=True)
    group_type = primary.get("Group Type", "")
    regimes = values("Regime")
    dobs = values("DOB")
    birth = uniq(", ".join(filter(None, [r.get("Town of Birth", ""), r.get("Country of Birth", "")])) for r in rows)
    facts = [
        group_type.lower() or None,
        f"UK OFSI consolidated list, regime {'; '.join(regimes)}" if regimes else "UK OFSI consolidated list",
        f"listed {human_date(listed)}" if listed else None,
        f"last updated {human_date(updated)}" if updated else None,
    ]
    addresses = uniq(_address(r) for r in rows)
    sections: list[tuple[str, Any]] = [
        ("Title", values("Title")),
        ("Position", values("Position")),
        ("DOB", dobs),
        ("Born in", birth),
        ("Nationality", values("Nationality")),
        ("Passport", values("Passport Details")),
        ("National ID", values("NI Number")),
        ("Address" if len(addresses) == 1 else "Addresses", addresses),
        ("Other information", values("Other Information")),
    ]
    text = entry_text(name, aliases=aliases, facts=facts, sections=sections)
    metadata: dict[str, Any] = {
        "group_id": gid,
        "uid": gid,
        "name": name,
        "aliases": [a for a in aliases if a != name],
        "entity_type": group_type.lower() or None,
        "regime": "; ".join(regimes) or None,
        "programs": regimes,
        "list": "UK OFSI consolidated",
        "authority": PUBLISHER,
        "listing_date": iso(listed),
        "last_updated": iso(updated),
        "dob": dobs,
        "nationality": values("Nationality"),
        "passport": values("Passport Details"),
        "position": values("Position"),
        "title": values("Title"),
        "addresses": addresses,
        "other_information": "\n".join(values("Other Information")) or None,
    }
    entry = ListEntry(
        uid=gid,
        names=[EntryName(name=name)] + [EntryName(name=n, kind=k) for n, k in
                                        dict.fromkeys((_full_name(r), _name_kind(r)) for r in rows) if n != name],
        entity_type=entity_type_of(group_type),
        source_type=group_type.lower() or None,
        list="UK OFSI consolidated",
        lists=["UK OFSI consolidated"],
        issuer=PUBLISHER,
        jurisdiction="UK",
        programs=regimes,
        listing_date=listed,
        last_updated=updated,
        birth_dates=dobs,
        birth_places=birth,
        nationalities=values("Nationality"),
        countries=values("Country"),
        positions=values("Position"),
        identifiers=[Identifier(type=t, number=v) for t, col in (("passport", "Passport Details"),
                                                                 ("national ID", "NI Number")) for v in values(col)],
        addresses=addresses,
        remarks=metadata["other_information"],
    )
    keep = {"aliases", "programs", "name"}
    return Document(
        doc_id=make_doc_id(path, gid),
        title=name,
        text=text,
        doc_type="list_entry",
        format=NAME,
        source=str(path),
        date=listed,
        jurisdiction="UK",
        publisher=PUBLISHER,
        metadata={k: v for k, v in metadata.items() if k in keep or v not in (None, "", [])},
        entry=entry,
        single_chunk=True,
    )
