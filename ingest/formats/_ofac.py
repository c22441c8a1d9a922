"""What the OFAC formats (SDN CSV, consolidated/SDN XML, SDN change log) share: entity types,
program lists, which OFAC list an entry is on, the Remarks mini-language, and one way to turn an
entry into a Document."""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

from ingest.formats._common import entry_text, human_date, iso, make_doc_id, uniq
from rag.core.models import Document, EntryLink, EntryName, Identifier, ListEntry, entity_type_of

NULL = "-0-"
PUBLISHER = "OFAC"

# Program tag -> the non-SDN list it puts an entry on (OFAC's Consolidated Sanctions List).
_PROGRAM_LISTS = {
    "CMIC-EO13959": "NS-CMIC",
    "UKRAINE-EO13662": "SSI",
    "RUSSIA-EO14024": "NS-MBS",
    "CAATSA - RUSSIA": "NS-MBS",
    "BURMA-EO14014": "NS-MBS",
    "ILLICIT-DRUGS-EO14059": "NS-MBS",
    "NS-PLC": "NS-PLC",
    "561-RELATED": "CAPTA",
    "IFSR-CAPTA": "CAPTA",
}
CONSOLIDATED_DEFAULT = "non-SDN consolidated"


def value(cell: str | None) -> str:
    """A legacy-CSV cell with OFAC's "-0-" null mapped to ""."""
    cell = (cell or "").strip()
    return "" if cell == NULL else cell


def entity_type(raw: str | None) -> str:
    """"individual" | "entity" | "vessel" | "aircraft" (OFAC leaves entities' type null)."""
    raw = value(raw).lower()
    return raw if raw in ("individual", "vessel", "aircraft") else "entity"


def split_programs(raw: str | None) -> list[str]:
    """"SDGT] [SYRIA" (the legacy CSV's several-programs form) -> ["SDGT", "SYRIA"]."""
    raw = value(raw)
    return uniq(p.strip(" []") for p in re.split(r"\]\s*\[|;", raw)) if raw else []


def program_lists(programs: list[str]) -> list[str]:
    out = []
    for p in programs:
        key = p.upper()
        lst = _PROGRAM_LISTS.get(key) or ("FSE" if key.startswith("FSE-") else None)
        if lst:
            out.append(lst)
    return uniq(out)


def is_sdn_file(path: Path, default: bool) -> bool:
    """Which list a file holds, from its name: "cons_prim.csv", "consolidated_nonSDN_*.xml" are the
    consolidated (non-SDN) list; "sdn*.csv", "sdn.xml" the SDN list; otherwise `default`."""
    name = re.sub(r"[^a-z]", "", path.stem.lower())
    if "cons" in name or "nonsdn" in name:
        return False
    if "sdn" in name:
        return True
    return default


def list_names(path: Path, programs: list[str], default_sdn: bool) -> tuple[str, list[str]]:
    """(primary list, all lists) for an entry: "SDN", or NS-CMIC / SSI / ... from the program."""
    if is_sdn_file(path, default_sdn):
        return "SDN", ["SDN"]
    lists = program_lists(programs)
    return (lists[0] if lists else CONSOLIDATED_DEFAULT), (lists or [CONSOLIDATED_DEFAULT])


# ---------------------------------------------------------------- the Remarks mini-language

_NAME_MARK = re.compile(r"\b(a\.k\.a\.|f\.k\.a\.|n\.k\.a\.)\s*,?\s*['\u2018\u2019]")


def _quoted_names(remarks: str, mark: str) -> list[str]:
    """Names after a.k.a./f.k.a.: "a.k.a. 'ABU-'UMAR'." -> ["ABU-'UMAR"] (inner quotes kept)."""
    out = []
    for m in _NAME_MARK.finditer(remarks):
        if m.group(1) != mark:
            continue
        rest = remarks[m.end():]
        # The name ends at the quote followed by ";", "." at the end, "," + mark, or the end.
        end = re.search(r"['\u2018\u2019](?=\s*(?:;|\.?\s*$|\)|,?\s*[afn]\.k\.a\.))", rest)
        name = rest[: end.start()] if end else rest.split(";")[0]
        out.append(name.strip())
    return uniq(out)


_LINKED = re.compile(r"Linked To:\s*(.+)$")
_LINKED_PAREN = re.compile(r"\(Linked To:\s*([^()]*(?:\([^()]*\)[^()]*)*)\)")
_PERSONAL = re.compile(r"(?:alt\. )?(DOB|POB|nationality|citizen)\s+(.+)$")
_PERSONAL_KEYS = {"DOB": "dob", "POB": "pob", "nationality": "nationality", "citizen": "citizenship"}
_GENDER = re.compile(r"Gender\s+(\w+)$")
_SPLIT = re.compile(r";\s+")
# "Passport 1084010 (Egypt)", "Tax ID No. 100036386 (Serbia)": a type, a number with a digit, a country.
_IDENTIFIER = re.compile(r"(?:alt\. )?(?P<type>[A-Za-z][\w.#/\-' ()]*?)\s+(?P<number>[\w\-/.]*\d[\w\-/.]*)"
                         r"(?:\s*\((?P<country>[^()]+)\)?)?")
# idTypes (XML) and remark labels that are facts about the listing or the entity, not identifiers.
DETAIL_TYPES = re.compile(
    r"secondary sanctions|directive|target type|organization type|caatsa|information|gender|"
    r"website|email|established date|nationality of registration|issuer name",
    re.I,
)
_NOT_IDENTIFIER = re.compile(DETAIL_TYPES.pattern + r"|date|executive order|phone|aircraft model|a\.k\.a", re.I)


def _parts(remarks: str) -> list[str]:
    return [p.strip().strip("()").strip() for p in _SPLIT.split(remarks.strip().rstrip(".")) if p.strip()]


def parse_remarks(remarks: str) -> dict[str, Any]:
    """Aliases, former names, links, identifiers and a few personal facts from an OFAC Remarks field."""
    remarks = value(remarks)
    out: dict[str, Any] = {}
    if not remarks:
        return out
    facts: dict[str, list[str]] = {"linked_to": [], "dob": [], "pob": [], "nationality": [], "citizenship": []}
    for part in _parts(remarks):
        if part.startswith("(") and part.endswith(")"):
            part = part[1:-1]
        if m := _LINKED.match(part):
            target = m[1].strip().rstrip(".")
            if target.count("(") < target.count(")") and target.endswith(")"):
                target = target[:-1]
            facts["linked_to"].append(target)
        elif m := _PERSONAL.match(part):
            facts[_PERSONAL_KEYS[m[1]]].append(m[2])
        elif m := _GENDER.match(part):
            out["gender"] = m[1]
        elif (m := _IDENTIFIER.match(part)) and not _NOT_IDENTIFIER.search(m["type"]):
            out.setdefault("identifiers", []).append(
                Identifier(type=m["type"].strip(), number=m["number"].rstrip("."), country=m["country"]))
    # "(Linked To: X)" inside a longer part (the XML's remarks put links in parentheses).
    if "(Linked To:" in remarks:
        for m in _LINKED_PAREN.finditer(remarks):
            facts["linked_to"].append(m[1].strip().rstrip("."))
    has_marks = ".k.a." in remarks
    aliases = _quoted_names(remarks, "a.k.a.") if has_marks else []
    former = _quoted_names(remarks, "f.k.a.") if has_marks else []
    now_known = _quoted_names(remarks, "n.k.a.") if has_marks else []
    if aliases:
        out["aliases"] = aliases
    if former:
        out["former_names"] = former
    if now_known:
        out["now_known_as"] = now_known
    for key, values in facts.items():
        if values := uniq(values):
            out[key] = values
    return out


# ---------------------------------------------------------------- one entry -> Document


def program_fact(programs: list[str], list_name: str) -> str:
    label = "program" if len(programs) == 1 else "programs"
    progs = ", ".join(programs) if programs else "no program stated"
    return f"{label} {progs} (OFAC {list_name} list)"


# Long by design: one line per field of an OFAC entry, in the list's own order; split, the mapping
# from the list's fields to the typed entry would be scattered over several functions.
def entry_document(
    path: Path,
    fmt: str,
    *,
    key: str,
    name: str,
    etype: str,
    programs: list[str],
    list_name: str,
    lists: list[str],
    aliases: list[str],
    former_names: list[str],
    listing: list[tuple[dt.date, str]] = (),  # (date, qualifier) pairs; qualifier "" when plain
    effective: list[tuple[dt.date, str]] = (),
    divestment: list[tuple[dt.date, str]] = (),
    position: str = "",
    vessel: dict[str, str] | None = None,
    identifiers: list[Identifier] = (),
    personal: dict[str, list[str]] | None = None,  # dob, pob, nationality, citizenship (XML lists)
    countries: list[str] = (),
    details: list[str] = (),
    addresses: list[str] = (),
    remarks: str = "",
    list_published: dt.date | None = None,
    extra: dict[str, Any] | None = None,
    parsed: dict[str, Any] | None = None,
) -> Document:
    """The Document for one OFAC list entry (SDN CSV row or XML sdnEntry)."""

    def dated(label: str, pairs: list[tuple[dt.date, str]]) -> str | None:
        if not pairs:
            return None
        return ", ".join(
            f"{label} {human_date(d)}" + (f" ({q})" if q else "") for d, q in sorted(set(pairs))
        )

    facts = [etype, program_fact(programs, list_name)]
    if position:
        facts.append(position)
    if vessel:
        facts.extend(f"{k} {v}" for k, v in vessel.items() if v)
    facts += [dated("listed", list(listing)), dated("effective", list(effective)),
              dated("divestment date", list(divestment))]
    if parsed is None:
        parsed = parse_remarks(remarks)
    id_texts = [f"{i.type}: {i.number}" + (f" ({i.country})" if i.country else "") for i in identifiers]
    sections: list[tuple[str, Any]] = [
        ("Linked to", parsed.get("linked_to", [])),
        ("Identifiers", id_texts),
        ("Details", list(details)),
        ("Address" if len(addresses) == 1 else "Addresses", list(addresses)),
        ("Remarks", remarks),
    ]
    text = entry_text(name, aliases=aliases, former_names=former_names, facts=facts, sections=sections)

    listing_date = min((d for d, _ in listing), default=None)
    metadata: dict[str, Any] = {
        "uid": key,
        "name": name,
        "aliases": [a for a in uniq(aliases) if a != name],
        "former_names": [f for f in uniq(former_names) if f != name],
        "entity_type": etype,
        "programs": programs,
        "list": list_name,
        "lists": lists,
        "authority": PUBLISHER,
        "listing_date": iso(listing_date),
        "effective_date": iso(min((d for d, _ in effective), default=None)),
        "divestment_date": iso(min((d for d, _ in divestment), default=None)),
        "identifiers": id_texts,
        "addresses": list(addresses),
        "remarks": remarks or None,
        "list_published": iso(list_published),
    }
    for k in ("linked_to", "dob", "pob", "nationality", "citizenship", "gender", "now_known_as"):
        if k in parsed and k not in metadata:
            metadata[k] = parsed[k]
    if position:
        metadata["title"] = position
    if details:
        metadata["details"] = list(details)
    if vessel:
        metadata["vessel"] = {k: v for k, v in vessel.items() if v}
    metadata.update(extra or {})
    always = {"uid", "name", "aliases", "former_names", "entity_type", "programs", "list", "identifiers", "addresses"}
    metadata = {k: v for k, v in metadata.items() if k in always or v not in (None, [], {}, "")}
    personal = {k: uniq(parsed.get(k, []) + (personal or {}).get(k, []))
                for k in ("dob", "pob", "nationality", "citizenship")}
    entry = ListEntry(
        uid=key,
        names=[EntryName(name=name)] + [EntryName(name=n, kind=kind) for kind, ns in
                                        (("aka", aliases), ("fka", former_names), ("nka", parsed.get("now_known_as", [])))
                                        for n in uniq(ns) if n != name],
        entity_type=entity_type_of(etype),
        source_type=etype,
        list=list_name,
        lists=lists,
        issuer=PUBLISHER,
        jurisdiction="US",
        programs=programs,
        listing_date=listing_date,
        effective_date=min((d for d, _ in effective), default=None),
        divestment_date=min((d for d, _ in divestment), default=None),
        list_published=list_published,
        birth_dates=personal["dob"],
        birth_places=personal["pob"],
        nationalities=personal["nationality"],
        citizenships=personal["citizenship"],
        countries=uniq(countries),
        positions=[position] if position else [],
        gender=parsed.get("gender"),
        identifiers=list(identifiers) + [i for i in parsed.get("identifiers", []) if i not in identifiers],
        addresses=list(addresses),
        remarks=remarks or None,
        links=[EntryLink(relation="Linked To", subject=name, object=t) for t in parsed.get("linked_to", [])],
    )
    return Document(
        doc_id=make_doc_id(path, key),
        title=name,
        text=text,
        doc_type="list_entry",
        format=fmt,
        source=str(path),
        date=listing_date or list_published,
        jurisdiction="US",
        publisher=PUBLISHER,
        metadata=metadata,
        entry=entry,
        single_chunk=True,
    )
