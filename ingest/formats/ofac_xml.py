"""OFAC list XML (`<sdnList>`: the Consolidated non-SDN list, or sdn.xml).

`publshInformation/Publish_Date` (MM/DD/YYYY) is the list's date; each `sdnEntry` becomes one
list_entry Document. NS-CMIC and directive entries carry their dates as pseudo-identifiers
("Listing Date (CMIC)", "Effective Date (EO 14024 Directive 2):", "Purchase/Sales For Divestment
Date (CMIC)"): these become listing_date / effective_date / divestment_date. The list an entry is
on comes from its program (CMIC-EO13959 -> NS-CMIC, UKRAINE-EO13662 -> SSI, ...), or is "SDN"
when the file is named like sdn.xml.

Parsed with defusedxml, streamed: entity declarations (XXE, billion laughs) are refused.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

from ingest.formats._errors import FormatError
from ingest.formats import _ofac as ofac
from ingest.formats._common import (
    guarded,
    head_text,
    iterparse_xml,
    local,
    parse_date,
    safe_sniff,
    uniq,
    xml_child,
    xml_children,
    xml_text,
)
from rag.core.models import Document, Identifier

NAME = "ofac_xml"
EXTENSIONS = (".xml",)



@safe_sniff
def sniff(path: Path, head: bytes) -> bool:
    text = head_text(head)
    # Skip the declaration, comments and a DOCTYPE (whose entities parse() then refuses clearly).
    text = re.sub(r"<\?xml[^>]*\?>|<!--.*?-->|<!DOCTYPE[^\[>]*(?:\[.*?\])?\s*>", "", text, flags=re.S).lstrip()
    return bool(re.match(r"<(?:\w+:)?sdnList[\s>]", text))


def _qualifier(id_type: str) -> str:
    m = re.search(r"\(([^)]*)\)", id_type)
    q = m[1].strip() if m else ""
    return "" if q.upper() == "CMIC" else q


def _person_name(elem) -> str:
    last, first = xml_text(elem, "lastName"), xml_text(elem, "firstName")
    return f"{last}, {first}" if last and first else (last or first)


def _address(elem) -> str:
    parts = [xml_text(elem, k) for k in ("address1", "address2", "address3", "city",
                                         "stateOrProvince", "postalCode", "country")]
    return ", ".join(p for p in parts if p)


# Long by design: one line per element of an OFAC XML entry mapped to the typed entry.
def _entry(path: Path, entry, published: dt.date | None) -> Document:
    uid = xml_text(entry, "uid")
    if not uid:
        raise FormatError(path, "an sdnEntry has no <uid>")
    name = _person_name(entry)
    if not name:
        raise FormatError(path, f"sdnEntry uid {uid} has no name")
    programs = uniq(p.text for p in xml_children(xml_child(entry, "programList"), "program") if p.text)
    list_name, lists = ofac.list_names(path, programs, default_sdn=False)

    aliases, former = [], []
    for aka in xml_children(xml_child(entry, "akaList"), "aka"):
        alias = _person_name(aka)
        (former if xml_text(aka, "type").lower() == "f.k.a." else aliases).append(alias)

    listing, effective, divestment = [], [], []
    identifiers, details = [], []
    for ident in xml_children(xml_child(entry, "idList"), "id"):
        id_type, number, country = (xml_text(ident, k) for k in ("idType", "idNumber", "idCountry"))
        kind = id_type.lower()
        when = parse_date(number)
        if when and "listing date" in kind:
            listing.append((when, _qualifier(id_type)))
        elif when and "effective date" in kind:
            effective.append((when, _qualifier(id_type)))
        elif when and "divestment date" in kind:
            divestment.append((when, _qualifier(id_type)))
        elif ofac.DETAIL_TYPES.search(id_type) or when:
            details.append(f"{id_type.rstrip(' :-')}: {number}")
        else:
            identifiers.append(Identifier(type=id_type, number=number, country=country or None))

    facts = {
        "dob": [xml_text(i, "dateOfBirth") for i in xml_children(xml_child(entry, "dateOfBirthList"), "dateOfBirthItem")],
        "pob": [xml_text(i, "placeOfBirth") for i in xml_children(xml_child(entry, "placeOfBirthList"), "placeOfBirthItem")],
        "nationality": [xml_text(i, "country") for i in xml_children(xml_child(entry, "nationalityList"), "nationality")],
        "citizenship": [xml_text(i, "country") for i in xml_children(xml_child(entry, "citizenshipList"), "citizenship")],
    }
    labels = {"dob": "DOB", "pob": "POB", "nationality": "nationality", "citizenship": "citizen"}
    personal = [f"{labels[k]} {v}" for k, vs in facts.items() for v in vs]

    vessel_elem = xml_child(entry, "vesselInfo")
    vessel = None
    if vessel_elem is not None:
        vessel = {
            "call sign": xml_text(vessel_elem, "callSign"),
            "vessel type": xml_text(vessel_elem, "vesselType"),
            "flag": xml_text(vessel_elem, "vesselFlag"),
            "owner": xml_text(vessel_elem, "vesselOwner"),
            "tonnage": xml_text(vessel_elem, "tonnage"),
            "GRT": xml_text(vessel_elem, "grossRegisteredTonnage"),
        }

    address_elems = xml_children(xml_child(entry, "addressList"), "address")
    addresses = uniq(_address(a) for a in address_elems)
    return ofac.entry_document(
        path,
        NAME,
        key=uid,
        name=name,
        etype=ofac.entity_type(xml_text(entry, "sdnType")),
        programs=programs,
        list_name=list_name,
        lists=lists,
        aliases=aliases,
        former_names=former,
        listing=listing,
        effective=effective,
        divestment=divestment,
        position=xml_text(entry, "title"),
        vessel=vessel,
        identifiers=list({str(i): i for i in identifiers}.values()),
        personal=facts,
        countries=[xml_text(a, "country") for a in address_elems],
        details=uniq(personal + details),
        addresses=addresses,
        remarks=xml_text(entry, "remarks"),
        list_published=published,
    )


@guarded(NAME)
def parse(path: Path) -> Iterator[Document]:
    published: dt.date | None = None
    root_seen = False
    count = 0
    for event, elem in iterparse_xml(path):
        tag = local(elem.tag)
        if event == "start":
            if not root_seen:
                root_seen = True
                if tag != "sdnList":
                    raise FormatError(path, f"root element is <{tag}>, expected OFAC's <sdnList>")
            continue
        if tag == "publshInformation":
            raw = xml_text(elem, "Publish_Date")
            published = parse_date(raw)
            if raw and not published:
                raise FormatError(path, f"Publish_Date {raw!r} is not a date")
        elif tag == "sdnEntry":
            count += 1
            yield _entry(path, elem, published)
            elem.clear()
    if not count:
        raise FormatError(path, "no sdnEntry elements found")
