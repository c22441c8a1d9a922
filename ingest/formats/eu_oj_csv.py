"""EU sanctions annex listings transcribed from the Official Journal (OpenSanctions' journal CSVs).

Two kinds, both UTF-8 with a fixed header (see ../shared/data/eu/FORMAT.md):
- consolidated: `celex,recordId,programKey,annex,measure,startDate,reason,schema,name,alias,...`
  (a framework act's annexes; the file is named after the act's CELEX);
- amendments:   `amendedCelex,amendmentCelex,recordId,...` (what one amending act added/changed).
Entity columns other than `name` are multi-valued, "; "-separated with CSV quoting.
One row -> one list_entry Document; key = annex/recordId (row number when the act prints no id).
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ingest.formats._errors import FormatError
from ingest.formats._common import (
    KeyDeduper,
    entry_text,
    guarded,
    head_text,
    human_date,
    iso,
    iter_csv_dicts,
    make_doc_id,
    parse_date,
    safe_sniff,
    split_multi,
)
from rag.core.models import Document, EntryName, Identifier, ListEntry, entity_type_of

NAME = "eu_oj_csv"
EXTENSIONS = (".csv",)
PUBLISHER = "EU Official Journal"
REQUIRED = ("recordId", "programKey", "measure", "schema", "name")

# Columns that name an identifier, with how to label it.
_IDENTIFIERS = {
    "passportNumber": "passport", "registrationNumber": "registration number", "taxNumber": "tax number",
    "idNumber": "ID number", "innCode": "INN", "ogrnCode": "OGRN", "kppCode": "KPP", "okpoCode": "OKPO",
    "leiCode": "LEI", "swiftBic": "SWIFT/BIC", "ticker": "ticker", "imoNumber": "IMO", "mmsi": "MMSI",
}
# Other multi-valued entity columns -> metadata keys.
_MULTI = {
    "alias": "aliases", "weakAlias": "weak_aliases", "previousName": "former_names",
    "country": "country", "nationality": "nationality", "jurisdiction": "registered_in",
    "birthDate": "birth_date", "birthPlace": "birth_place", "position": "position", "gender": "gender",
    "appearance": "appearance", "ethnicity": "ethnicity", "fatherName": "father_name",
    "motherName": "mother_name", "incorporationDate": "incorporation_date", "legalForm": "legal_form",
    "sector": "sector", "flag": "flag", "address": "addresses", "phone": "phone", "email": "email",
    "website": "website", "notes": "notes",
}
_KINDS = {"R": "Regulation", "D": "Decision", "L": "Directive"}


@safe_sniff
def sniff(path: Path, head: bytes) -> bool:
    text = head_text(head).lstrip()
    return text.startswith("celex,recordId,") or text.startswith("amendedCelex,amendmentCelex,")


def act_label(celex: str) -> str:
    """"32020R1998" -> "Regulation (EU) 2020/1998"; "32014R0269" -> "Regulation (EU) No 269/2014"."""
    m = re.fullmatch(r"3(\d{4})([RDL])(\d{4})", celex or "")
    if not m:
        return celex
    year, kind, num = int(m[1]), _KINDS[m[2]], int(m[3])
    return f"{kind} {year}/{num}" if year >= 2015 else f"{kind} No {num}/{year}"


def eurlex_url(celex: str) -> str | None:
    return f"https://eur-lex.europa.eu/legal-content/EN/TXT/?uri=CELEX:{celex}" if celex else None


@guarded(NAME)
# Long by design: the EU file's columns mapped to one typed entry in one place (the CSV layout is the
# reference a reader checks it against).
def parse(path: Path) -> Iterator[Document]:
    dedupe = KeyDeduper()
    for row_no, (line, row) in enumerate(iter_csv_dicts(path, required=REQUIRED), start=1):
        amendment = "amendmentCelex" in row
        celex = row["amendmentCelex"] if amendment else row.get("celex", "")
        framework = row["amendedCelex"] if amendment else celex
        name = row["name"]
        if not name:
            raise FormatError(path, f"line {line}: empty 'name'")
        record_id, annex, program, measure = row["recordId"], row.get("annex", ""), row["programKey"], row["measure"]
        key = dedupe("/".join(p for p in (annex, record_id or f"row{row_no}") if p),
                     f"{program}/{measure}/{row['schema']}".replace(" ", "-"))

        start_raw = row.get("startDate", "")
        start = parse_date(start_raw, dayfirst=True)
        multi = {meta: split_multi(row.get(col, "")) for col, meta in _MULTI.items()}
        typed_ids = [Identifier(type=label, number=v) for col, label in _IDENTIFIERS.items()
                     for v in split_multi(row.get(col, ""))]
        identifiers = [f"{i.type} {i.number}" for i in typed_ids]
        schema = row["schema"]

        where = f"{act_label(framework)}" + (f", Annex {annex}" if annex else "") + (
            f", entry {record_id}" if record_id else "")
        facts = [
            re.sub(r"(?<=[a-z])(?=[A-Z])", " ", schema).lower(),
            f"EU {measure.lower()} under program {program} ({where})",
            f"listed {human_date(start)}" if start else (f"listed {start_raw}" if start_raw else None),
        ]
        if amendment:
            facts.append(f"added or amended by {act_label(celex)}")
        born = ", ".join(filter(None, ["; ".join(multi["birth_date"]),
                                       ("in " + "; ".join(multi["birth_place"])) if multi["birth_place"] else ""]))
        sections: list[tuple[str, Any]] = [
            ("Position", multi["position"]),
            ("Born", born),
            ("Nationality", multi["nationality"]),
            ("Registered in", multi["registered_in"]),
            ("Country", multi["country"]),
            ("Flag", multi["flag"]),
            ("Legal form", multi["legal_form"]),
            ("Incorporated", multi["incorporation_date"]),
            ("Identifiers", identifiers),
            ("Address" if len(multi["addresses"]) == 1 else "Addresses", multi["addresses"]),
            ("Reasons", row.get("reason", "")),
            ("Notes", multi["notes"]),
            ("Low-quality aliases", multi["weak_aliases"]),
        ]
        text = entry_text(name, aliases=multi["aliases"], former_names=multi["former_names"],
                          facts=facts, sections=sections)
        metadata: dict[str, Any] = {
            "record_id": record_id or None,
            "celex": celex,
            "amended_celex": framework if amendment else None,
            "act": act_label(celex),
            "program": program,
            "programs": [program],
            "annex": annex or None,
            "measure": measure,
            "start_date": iso(start) or (start_raw or None),
            "start_date_text": start_raw or None,
            "reason": row.get("reason") or None,
            "schema": schema,
            "name": name,
            "authority": PUBLISHER,
            "list": program,
            "identifiers": identifiers,
            **multi,
        }
        entry = ListEntry(
            uid=record_id or None,
            names=[EntryName(name=name)] + [EntryName(name=n, kind=kind) for kind, key in
                                            (("aka", "aliases"), ("fka", "former_names"), ("weak", "weak_aliases"))
                                            for n in multi[key] if n != name],
            entity_type=entity_type_of(schema),
            source_type=schema,
            list=program,
            lists=[program],
            issuer=PUBLISHER,
            jurisdiction="EU",
            programs=[program],
            measures=[measure] if measure else [],
            listing_date=start,
            birth_dates=multi["birth_date"],
            birth_places=multi["birth_place"],
            nationalities=multi["nationality"],
            countries=list(dict.fromkeys(multi["country"] + multi["registered_in"])),
            positions=multi["position"],
            gender="; ".join(multi["gender"]) or None,
            identifiers=typed_ids,
            addresses=multi["addresses"],
            remarks=row.get("reason") or None,
        )
        keep = {"aliases", "former_names", "programs", "name"}
        yield Document(
            doc_id=make_doc_id(path, key),
            title=name,
            text=text,
            doc_type="list_entry",
            format=NAME,
            source=str(path),
            date=start,
            jurisdiction="EU",
            publisher=PUBLISHER,
            url=eurlex_url(celex),
            metadata={k: v for k, v in metadata.items() if k in keep or v not in (None, "", [])},
            entry=entry,
            single_chunk=True,
        )
