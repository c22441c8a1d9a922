"""The typed ListEntry of a list-entry document stored by the previous release, which kept list facts
only in the document's metadata, under keys that differ by format:

  OFAC (CSV, XML)  name, aliases, former_names, now_known_as, entity_type, list, lists, programs,
                   listing_date/effective_date/divestment_date, list_published, dob, pob, nationality,
                   citizenship, gender, title (a position), identifiers ("type: number (country)"),
                   addresses, remarks, linked_to, uid
  EU OJ            name, aliases, weak_aliases, former_names, schema, program(s), start_date, birth_date,
                   birth_place, nationality, country, registered_in, position, gender, identifiers
                   ("label number"), addresses, reason, record_id
  UK OFSI          name, aliases, entity_type, programs, listing_date, last_updated, dob, nationality,
                   passport, position, addresses, other_information, group_id
  FollowTheMoney   things: schema, caption, names, aliases, former_names, programs, authorities, sanctioned,
                   jurisdictions, listing_date, countries, birth_date, identifiers, addresses, relations;
                   Sanction records: authority, program(_id), listing_date/start_date/end_date (lists),
                   entity, entity_captions; relations: links

This is the one place those keys are read: the store migrates old stores with it, and nothing else
guesses list facts from metadata.
"""
from __future__ import annotations

import re
from typing import Any

from rag.core.dates import parse_date
from rag.core.models import EntryLink, EntryName, Identifier, ListEntry, entity_type_of

# FollowTheMoney relation schemas: (subject property, object property), as ingest/formats/ftm_json.py wrote.
_FTM_RELATIONS = {
    "Ownership": ("owner", "asset"), "Directorship": ("director", "organization"),
    "Membership": ("member", "organization"), "Employment": ("employee", "employer"),
    "Family": ("person", "relative"), "Associate": ("person", "associate"), "Representation": ("agent", "client"),
    "Succession": ("predecessor", "successor"), "UnknownLink": ("subject", "object"), "Occupancy": ("holder", "post"),
}


def _list(v: Any) -> list[str]:
    if v in (None, ""):
        return []
    if isinstance(v, (list, tuple)):
        return [str(x) for x in v if x not in (None, "")]
    return [str(v)]


def _earliest(*values: Any):
    found = [d for v in values for d in map(parse_date, _list(v)) if d]
    return min(found, default=None)


# The labels the EU parser put before identifiers ("passport 123"), longest first.
_EU_LABELS = sorted("""passport|registration number|tax number|ID number|INN|OGRN|KPP|OKPO|LEI|SWIFT/BIC|ticker|IMO|
MMSI""".replace("\n", "").split("|"), key=len, reverse=True)


def _identifier(text: str) -> Identifier:
    """"Registration ID: 123 (China)" (OFAC, FtM) or "registration number 123" (EU)."""
    if ":" not in text or any(text.startswith(label + " ") for label in _EU_LABELS):
        label = next((x for x in _EU_LABELS if text.startswith(x + " ")), "")
        return Identifier(type=label, number=text[len(label):].strip())
    kind, number = text.split(":", 1)
    m = re.search(r"\s*\(([^()]*)\)$", number)
    return Identifier(type=kind.strip(), number=(number[: m.start()] if m else number).strip(),
                      country=m[1] if m else None)


def _link(d: dict[str, Any]) -> EntryLink | None:
    spec = _FTM_RELATIONS.get(d.get("schema", ""))
    if not spec:
        return None
    sp, op = spec
    if not d.get(sp) or not d.get(op):
        return None
    return EntryLink(relation=d["schema"], subject=d.get(f"{sp}_caption") or d[sp], object=d.get(f"{op}_caption") or d[op],
                     subject_id=d[sp], object_id=d[op], id=d.get("id"), role=d.get("role"),
                     percentage=d.get("percentage"), shares=d.get("shares_count"),
                     start_date=d.get("start_date"), end_date=d.get("end_date"))


# Long by design: every old metadata key in one place (the only place they are read).
def entry_from_legacy(md: dict[str, Any], title: str, publisher: str | None = None, date: Any = None,
                      jurisdiction: str | None = None) -> ListEntry:
    """The entry of one stored list-entry document, from its metadata and columns. The publisher is the
    list's issuer; `date` (the document's date) is not needed: every date of an entry is in its metadata."""
    schema = md.get("schema")
    record = "sanction" if schema == "Sanction" else "relation" if schema in _FTM_RELATIONS else "entity"
    primary = md.get("name") or title
    names = [EntryName(name=primary)] + [
        EntryName(name=n, kind=kind)
        for kind, key in (("aka", "aliases"), ("fka", "former_names"), ("nka", "now_known_as"), ("weak", "weak_aliases"))
        for n in _list(md.get(key)) if n != primary]
    type_label = md.get("entity_type") if schema is None else schema
    links = [EntryLink(relation="Linked To", subject=primary, object=t) for t in _list(md.get("linked_to"))]
    links += [x for x in map(_link, (md.get("links") or []) + (md.get("relations") or [])) if x]
    if record == "sanction":
        targets, captions = _list(md.get("entity")), _list(md.get("entity_captions"))
        links += [EntryLink(relation="Sanction", subject=md.get("authority") or publisher or "", object=c,
                            object_id=t, id=md.get("id")) for t, c in zip(targets, captions)]
    authorities = _list(md.get("authorities"))
    if record == "sanction":
        authorities = [a for a in (md.get("authority") or "").split("; ") if a]
    programs = _list(md.get("programs")) or _list(md.get("program_id") or md.get("program"))
    title_position = [md["title"]] if isinstance(md.get("title"), str) else []  # OFAC's Title column
    # OFAC XML kept birth dates and places, nationalities and citizenships as "DOB 1962" details.
    personal: dict[str, list[str]] = {"DOB": [], "POB": [], "nationality": [], "citizen": []}
    for d in _list(md.get("details")):
        if (m := re.match(r"(DOB|POB|nationality|citizen) (.+)$", d)) and m[1] in personal:
            personal[m[1]].append(m[2])
    return ListEntry(
        uid=str(md.get("uid") or md.get("record_id") or md.get("group_id") or md.get("id") or "") or None,
        record=record,
        names=names,
        entity_type=entity_type_of(type_label),
        source_type=type_label,
        list=md.get("list") or md.get("list_name") or publisher,
        lists=_list(md.get("lists")) or _list(md.get("list") or md.get("list_name") or publisher),
        issuer=publisher,
        authorities=authorities,
        jurisdiction=jurisdiction,
        programs=programs,
        measures=_list(md.get("measure")),
        sanctioned=bool(md.get("sanctioned", True)),
        listing_date=None if record == "relation" else _earliest(md.get("listing_date"), md.get("start_date"),
                                                                  md.get("listed_on")),
        effective_date=_earliest(md.get("effective_date")),
        divestment_date=_earliest(md.get("divestment_date")),
        end_date=_earliest(md.get("end_date")) if record == "sanction" else None,
        list_published=_earliest(md.get("list_published")),
        last_updated=_earliest(md.get("last_updated")),
        birth_dates=list(dict.fromkeys(_list(md.get("dob") or md.get("birth_date")) + personal["DOB"])),
        birth_places=list(dict.fromkeys(_list(md.get("pob") or md.get("birth_place")) + personal["POB"])),
        nationalities=list(dict.fromkeys(_list(md.get("nationality")) + personal["nationality"])),
        citizenships=list(dict.fromkeys(_list(md.get("citizenship")) + personal["citizen"])),
        countries=list(dict.fromkeys(_list(md.get("countries") or md.get("country")) + _list(md.get("registered_in")))),
        positions=title_position + _list(md.get("position")),
        gender="; ".join(_list(md.get("gender"))) or None,
        identifiers=[_identifier(i) for i in _list(md.get("identifiers"))]
        + [Identifier(type="passport", number=p) for p in _list(md.get("passport"))],
        addresses=_list(md.get("addresses")),
        remarks=md.get("remarks") or md.get("other_information") or "\n".join(_list(md.get("reason"))) or None,
        links=links,
    )
