"""FollowTheMoney entities as JSON Lines (OpenSanctions / yente exports):
`{"id", "schema", "caption", "properties": {prop: [values]}, "datasets", "target", ...}` per line.

Two passes over the file. The first collects every entity's caption, the sanctions against it, its
relations and its addresses; the second yields Documents:
- things (Person, Company, Organization, LegalEntity, Vessel, ...): names, aliases, identifiers,
  and, written out, the sanctions against them and their ownership/directorship/family links;
- Sanction entities: who is sanctioned by which authority, program, date and reason;
- relations (Ownership, Directorship, Family, ...): "X owns 51% of Y", with the referenced
  entities' captions.
Address, Identification and Passport entities are folded into the entities that refer to them.
All are single-chunk "list_entry" documents; a relation's links (entity ids, role, percentage,
dates) are kept in its metadata.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ingest.formats import FormatError
from ingest.formats._common import (
    entry_text,
    guarded,
    head_text,
    human_date,
    iso,
    iter_jsonl,
    make_doc_id,
    parse_date,
    safe_sniff,
    sentence,
    uniq,
)
from rag.models import Document, EntryLink, EntryName, Identifier, Jurisdiction, ListEntry, entity_type_of

NAME = "ftm_json"
EXTENSIONS = (".json", ".jsonl", ".ftm", ".ndjson")
PUBLISHER = "OpenSanctions"

# schema: (subject property, object property, verb)
RELATIONS: dict[str, tuple[str, str, str]] = {
    "Ownership": ("owner", "asset", "owns"),
    "Directorship": ("director", "organization", "is a director of"),
    "Membership": ("member", "organization", "is a member of"),
    "Employment": ("employee", "employer", "is employed by"),
    "Family": ("person", "relative", "is a relative of"),
    "Associate": ("person", "associate", "is an associate of"),
    "Representation": ("agent", "client", "represents"),
    "Succession": ("predecessor", "successor", "was succeeded by"),
    "UnknownLink": ("subject", "object", "is linked to"),
    "Occupancy": ("holder", "post", "holds"),
}
FOLDED = {"Address", "Identification", "Passport"}
_IDENTIFIER_PROPS = ("registrationNumber", "taxNumber", "idNumber", "innCode", "ogrnCode", "kppCode",
                     "okpoCode", "leiCode", "swiftBic", "bicCode", "imoNumber", "mmsi", "passportNumber",
                     "vatCode", "isin", "ticker", "uniqueEntityId", "permId", "dunsCode")
_JURISDICTIONS: dict[str, Jurisdiction] = {"us": "US", "eu": "EU", "gb": "UK", "uk": "UK"}
_COUNTRY_NAMES = {
    "us": "United States", "eu": "European Union", "gb": "United Kingdom", "ru": "Russia", "ua": "Ukraine",
    "ch": "Switzerland", "fr": "France", "be": "Belgium", "jp": "Japan", "au": "Australia", "ca": "Canada",
    "nz": "New Zealand", "mc": "Monaco", "cn": "China", "by": "Belarus", "ir": "Iran", "kp": "North Korea",
    "tw": "Taiwan", "lv": "Latvia", "de": "Germany", "it": "Italy", "nl": "Netherlands", "pl": "Poland",
}
MAX_LISTED = 12  # sanctions / relations written into one thing's text


@safe_sniff
def sniff(path: Path, head: bytes) -> bool:
    text = head_text(head).lstrip()
    if not text.startswith("{"):
        return False
    first = text.split("\n", 1)[0]
    return '"schema"' in first and '"properties"' in first


def _props(entity: dict[str, Any]) -> dict[str, list[str]]:
    props = entity.get("properties") or {}
    if not isinstance(props, dict):
        return {}
    return {k: [str(v) for v in (vs if isinstance(vs, list) else [vs]) if v not in (None, "")] for k, vs in props.items()}


def _first(props: dict[str, list[str]], key: str) -> str:
    values = props.get(key) or []
    return values[0] if values else ""


def _country(code: str) -> str:
    return _COUNTRY_NAMES.get(code.lower(), code.upper()) if code else ""


def _jurisdiction(props: dict[str, list[str]]) -> Jurisdiction | None:
    found = {_JURISDICTIONS[c.lower()] for c in props.get("country", []) if c.lower() in _JURISDICTIONS}
    if any("united nations" in a.lower() for a in props.get("authority", [])):
        found.add("UN")
    return found.pop() if len(found) == 1 else None


def _date_text(value: str) -> str:
    d = parse_date(value)
    return human_date(d) if d else value


def _load(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    for line, value in iter_jsonl(path):
        if not isinstance(value, dict):
            raise FormatError(path, f"line {line}: expected a FollowTheMoney entity object, found {type(value).__name__}")
        if not value.get("id") or not value.get("schema"):
            raise FormatError(path, f"line {line}: entity has no 'id' or 'schema'")
        yield line, value


class _Index:
    """What the first pass learns: captions, and per entity its sanctions, relations, addresses."""

    def __init__(self) -> None:
        self.captions: dict[str, str] = {}
        self.sanctions: dict[str, list[dict[str, Any]]] = {}
        self.relations: dict[str, list[dict[str, Any]]] = {}
        self.addresses: dict[str, str] = {}
        self.identifiers: dict[str, list[Identifier]] = {}

    def caption(self, entity_id: str) -> str:
        return self.captions.get(entity_id, entity_id)

    def add(self, e: dict[str, Any]) -> None:
        eid, schema, props = str(e["id"]), e["schema"], _props(e)
        self.captions[eid] = str(e.get("caption") or _first(props, "name") or eid)
        if schema == "Sanction":
            for target in props.get("entity", []):
                self.sanctions.setdefault(target, []).append(_sanction_summary(eid, props))
        elif schema in RELATIONS:
            subj_prop, obj_prop, _ = RELATIONS[schema]
            for s in props.get(subj_prop, []):
                for o in props.get(obj_prop, []):
                    rel = {"id": eid, "schema": schema, "subject": s, "object": o, "props": props}
                    self.relations.setdefault(s, []).append(rel)
                    self.relations.setdefault(o, []).append(rel)
        elif schema == "Address":
            self.addresses[eid] = _first(props, "full") or ", ".join(
                v for k in ("street", "city", "postalCode", "region", "country") for v in props.get(k, [])[:1])
        elif schema in ("Identification", "Passport"):
            number = _first(props, "number")
            if number:
                label = _first(props, "type") or schema.lower()
                country = _first(props, "country")
                for holder in props.get("holder", []):
                    self.identifiers.setdefault(holder, []).append(
                        Identifier(type=label, number=number, country=_country(country) or None))


def _sanction_summary(eid: str, props: dict[str, list[str]]) -> dict[str, Any]:
    dates = [d for d in (parse_date(v) for v in props.get("listingDate", []) + props.get("startDate", [])) if d]
    return {
        "id": eid,
        "authority": "; ".join(props.get("authority", [])),
        "program": _first(props, "program"),
        "program_id": _first(props, "programId"),
        "country": _first(props, "country"),
        "listed": iso(min(dates)) if dates else None,
        "end_date": _first(props, "endDate") or None,
        "jurisdiction": _jurisdiction(props),
    }


def _sanction_phrase(s: dict[str, Any]) -> str:
    who = s["authority"] or "an unnamed authority"
    if s["country"]:
        who += f" ({_country(s['country'])})"
    prog = s["program_id"] or s["program"]
    if len(prog) > 80:
        prog = prog[:77].rstrip() + "..."
    out = who + (f", program {prog}" if prog else "")
    if s["listed"]:
        out += f", since {human_date(dt.date.fromisoformat(s['listed']))}"
    if s["end_date"]:
        out += f", ended {_date_text(s['end_date'])}"
    return out


def _relation_phrase(rel: dict[str, Any], index: _Index) -> str:
    schema, props = rel["schema"], rel["props"]
    subj, obj = index.caption(rel["subject"]), index.caption(rel["object"])
    ended = bool(props.get("endDate"))
    role = _first(props, "role") or _first(props, "relationship")
    if schema == "Ownership":
        pct = _first(props, "percentage")
        shares = _first(props, "sharesCount")
        verb = "owned" if ended else "owns"
        if role.lower().endswith(" of"):  # "subsidiary of": the asset is the owner's subsidiary
            phrase = f"{obj} {'was' if ended else 'is'} {role} {subj}"
            if pct:
                phrase += f" ({subj} {verb} {pct}%)"
        else:
            phrase = f"{subj} {verb} {pct}% of {obj}" if pct else f"{subj} {verb} shares in {obj}"
            if role:
                phrase += f" (role: {role})"
        if shares:
            phrase += f" ({shares} shares)"
    elif schema == "Directorship" and role:
        of = "" if role.lower().endswith(" of") else " of"
        phrase = f"{subj} {'was' if ended else 'is'} {role}{of} {obj}"
    else:
        verb = RELATIONS[schema][2]
        if ended and verb.startswith("is "):
            verb = "was " + verb[3:]
        redundant = role.lower() in ("family member of", "associate of", "relative of")
        phrase = f"{subj} {verb} {obj}" + (f" ({role})" if role and not redundant else "")
    start, end = _first(props, "startDate"), _first(props, "endDate")
    if start:
        phrase += f", from {_date_text(start)}"
    if end:
        phrase += f" until {_date_text(end)}"
    return phrase


def _relation_link(rel: dict[str, Any], index: _Index) -> dict[str, Any]:
    props = rel["props"]
    subj_prop, obj_prop, _ = RELATIONS[rel["schema"]]
    link = {
        "id": rel["id"],
        "schema": rel["schema"],
        subj_prop: rel["subject"],
        f"{subj_prop}_caption": index.caption(rel["subject"]),
        obj_prop: rel["object"],
        f"{obj_prop}_caption": index.caption(rel["object"]),
        "role": _first(props, "role") or _first(props, "relationship") or None,
        "percentage": _first(props, "percentage") or None,
        "shares_count": _first(props, "sharesCount") or None,
        "start_date": _first(props, "startDate") or None,
        "end_date": _first(props, "endDate") or None,
    }
    return {k: v for k, v in link.items() if v is not None}


def _entry_link(rel: dict[str, Any], index: _Index) -> EntryLink:
    props = rel["props"]
    return EntryLink(
        relation=rel["schema"], subject=index.caption(rel["subject"]), object=index.caption(rel["object"]),
        subject_id=rel["subject"], object_id=rel["object"], id=rel["id"],
        role=_first(props, "role") or _first(props, "relationship") or None,
        percentage=_first(props, "percentage") or None, shares=_first(props, "sharesCount") or None,
        start_date=_first(props, "startDate") or None, end_date=_first(props, "endDate") or None,
    )


def _base_metadata(e: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(e["id"]),
        "schema": e["schema"],
        "caption": e.get("caption"),
        "datasets": e.get("datasets") or [],
        "first_seen": e.get("first_seen"),
        "last_seen": e.get("last_seen"),
        "last_change": e.get("last_change"),
    }


def _document(path: Path, e: dict[str, Any], *, title: str, text: str, metadata: dict[str, Any], entry: ListEntry,
              date: dt.date | None = None, jurisdiction: Jurisdiction | None = None,
              publisher: str = PUBLISHER, url: str | None = None) -> Document:
    keep = {"aliases", "names", "name"}
    return Document(
        doc_id=make_doc_id(path, e["id"]),
        title=title,
        text=text,
        doc_type="list_entry",
        format=NAME,
        source=str(path),
        date=date,
        jurisdiction=jurisdiction,
        publisher=publisher,
        url=url,
        metadata={k: v for k, v in metadata.items() if k in keep or v not in (None, "", [], {})},
        entry=entry,
        single_chunk=True,
    )


def _sanction_doc(path: Path, e: dict[str, Any], index: _Index) -> Document:
    props = _props(e)
    s = _sanction_summary(str(e["id"]), props)
    targets = props.get("entity", [])
    names = [index.caption(t) for t in targets] or ["an unnamed entity"]
    head = f"{' and '.join(names)} sanctioned by {_sanction_phrase(s)}"
    program_name = _first(props, "program")
    sections = [
        ("Program", program_name if program_name and program_name != s["program_id"] else ""),
        ("Provisions", props.get("provisions", [])),
        ("Status", props.get("status", [])),
        ("Duration", props.get("duration", [])),
        ("Summary", props.get("summary", [])),
        ("Reason", props.get("reason", [])),
    ]
    text = entry_text(head, sections=sections)
    metadata = {
        **_base_metadata(e),
        "entity": targets,
        "entity_captions": [index.caption(t) for t in targets],
        "name": names[0],
        "authority": s["authority"] or None,
        "program": program_name or None,
        "program_id": s["program_id"] or None,
        "country": s["country"] or None,
        "listing_date": props.get("listingDate", []),
        "start_date": props.get("startDate", []),
        "end_date": props.get("endDate", []),
        "reason": props.get("reason", []),
        "provisions": props.get("provisions", []),
        "status": props.get("status", []),
        "source_url": props.get("sourceUrl", []),
    }
    publisher = (props.get("authority") or [PUBLISHER])[0]
    # A Sanction record is stored as a list entry named after its target (not an entity to screen).
    entry = ListEntry(
        uid=str(e["id"]), record="sanction", names=[EntryName(name=names[0])], source_type="Sanction",
        list=publisher, lists=[publisher], issuer=publisher, authorities=props.get("authority", []),
        jurisdiction=s["jurisdiction"], programs=uniq([s["program_id"] or s["program"]]),
        listing_date=parse_date(s["listed"]), end_date=parse_date(s["end_date"]),
        countries=uniq([_country(s["country"])]), remarks="\n".join(props.get("reason", [])) or None,
        links=[EntryLink(relation="Sanction", subject=s["authority"] or publisher, object=index.caption(t),
                         object_id=t, id=str(e["id"])) for t in targets],
    )
    return _document(path, e, title=f"{names[0]}: sanction by {s['authority'] or 'unknown authority'}", text=text,
                     metadata=metadata, entry=entry, date=parse_date(s["listed"]), jurisdiction=s["jurisdiction"],
                     publisher=publisher, url=_first(props, "sourceUrl") or None)


def _relation_doc(path: Path, e: dict[str, Any], index: _Index) -> Document:
    props = _props(e)
    subj_prop, obj_prop, _ = RELATIONS[e["schema"]]
    rels = [{"id": str(e["id"]), "schema": e["schema"], "subject": s, "object": o, "props": props}
            for s in props.get(subj_prop, []) for o in props.get(obj_prop, [])]
    if rels:
        text = " ".join(sentence(_relation_phrase(r, index)) for r in rels)
        title = _relation_phrase(rels[0], index).split(", from ")[0]
    else:
        text = sentence(f"{e['schema']} {e.get('caption') or e['id']} (incomplete: linked entities missing)")
        title = f"{e['schema']} {e['id']}"
    summary = props.get("summary", [])
    if summary:
        text += " " + sentence("Summary: " + "; ".join(summary))
    metadata = {
        **_base_metadata(e),
        "links": [_relation_link(r, index) for r in rels],
        subj_prop: props.get(subj_prop, []),
        obj_prop: props.get(obj_prop, []),
        "role": _first(props, "role") or _first(props, "relationship") or None,
        "percentage": _first(props, "percentage") or None,
        "start_date": _first(props, "startDate") or None,
        "end_date": _first(props, "endDate") or None,
    }
    entry = ListEntry(uid=str(e["id"]), record="relation", names=[EntryName(name=title)], source_type=e["schema"],
                      list=PUBLISHER, lists=[PUBLISHER], issuer=PUBLISHER, links=[_entry_link(r, index) for r in rels])
    return _document(path, e, title=title, text=text, metadata=metadata, entry=entry,
                     date=parse_date(_first(props, "startDate")))


def _thing_doc(path: Path, e: dict[str, Any], index: _Index) -> Document:
    eid, props = str(e["id"]), _props(e)
    caption = index.caption(eid)
    names = uniq(props.get("name", []))
    aliases = [n for n in uniq(names + props.get("alias", [])) if n != caption]
    former = uniq(props.get("previousName", []))
    sanctions = index.sanctions.get(eid, [])
    # Current links first, then ended ones; ownership before other links.
    relations = sorted(index.relations.get(eid, []),
                       key=lambda r: (bool(r["props"].get("endDate")), r["schema"] != "Ownership"))
    topics = props.get("topics", [])
    sanctioned = bool(sanctions) or "sanction" in topics
    countries = uniq(_country(c) for k in ("country", "jurisdiction", "nationality", "citizenship")
                     for c in props.get(k, []))
    kind = {"LegalEntity": "legal entity"}.get(e["schema"], e["schema"].lower())
    facts = [kind, ", ".join(countries) if countries else None]
    if sanctioned:
        facts.append("sanctioned" + (f" by {len(uniq(s['authority'] for s in sanctions))} authorities"
                                     if len(uniq(s['authority'] for s in sanctions)) > 1 else ""))
    elif "sanction.linked" in topics:
        facts.append("linked to sanctioned parties")
    listed = sorted(s["listed"] for s in sanctions if s["listed"])
    if listed:
        facts.append(f"first listed {human_date(dt.date.fromisoformat(listed[0]))}")
    typed_ids = [Identifier(type=p, number=v) for p in _IDENTIFIER_PROPS for v in props.get(p, [])]
    typed_ids += index.identifiers.get(eid, [])
    identifiers = uniq(str(i) for i in typed_ids)
    addresses = uniq(props.get("address", []) + [index.addresses[a] for a in props.get("addressEntity", [])
                                                  if a in index.addresses])
    sanction_phrases = [_sanction_phrase(s) for s in sanctions]
    relation_phrases = uniq(_relation_phrase(r, index) for r in relations)
    sections: list[tuple[str, Any]] = [
        ("Sanctions", _limited(sanction_phrases)),
        ("Relations", _limited(relation_phrases)),
        ("Position", props.get("position", [])),
        ("Born", [_date_text(d) for d in props.get("birthDate", [])]),
        ("Incorporated", [_date_text(d) for d in props.get("incorporationDate", [])]),
        ("Identifiers", identifiers),
        ("Address" if len(addresses) == 1 else "Addresses", addresses),
        ("Topics", topics),
        ("Notes", props.get("notes", [])[:5]),
    ]
    text = entry_text(caption, aliases=aliases, former_names=former, facts=facts, sections=sections,
                      more_aliases_at=2)
    jurisdictions = uniq(s["jurisdiction"] for s in sanctions)
    metadata = {
        **_base_metadata(e),
        "name": caption,
        "names": names,
        "aliases": aliases,
        "former_names": former,
        "entity_type": kind,
        "countries": countries,
        "topics": topics,
        "target": e.get("target"),
        "sanctioned": sanctioned,
        "sanctions": [{k: v for k, v in s.items() if v} for s in sanctions],
        "programs": uniq(s["program_id"] or s["program"] for s in sanctions),
        "authorities": uniq(s["authority"] for s in sanctions),
        "jurisdictions": jurisdictions,
        "listing_date": listed[0] if listed else None,
        "relations": [_relation_link(r, index) for r in relations],
        "identifiers": identifiers,
        "addresses": addresses,
        "birth_date": props.get("birthDate", []),
    }
    entry = ListEntry(
        uid=eid,
        names=[EntryName(name=caption)] + [EntryName(name=n, kind=k) for k, ns in
                                           (("aka", aliases), ("fka", former), ("weak", props.get("weakAlias", [])))
                                           for n in uniq(ns) if n != caption],
        entity_type=entity_type_of(e["schema"]), source_type=e["schema"],
        list=PUBLISHER, lists=[PUBLISHER], issuer=PUBLISHER, authorities=metadata["authorities"],
        jurisdiction=jurisdictions[0] if len(jurisdictions) == 1 else None,
        programs=metadata["programs"], sanctioned=sanctioned,
        listing_date=parse_date(listed[0]) if listed else None,
        birth_dates=props.get("birthDate", []), birth_places=props.get("birthPlace", []),
        nationalities=[_country(c) for c in props.get("nationality", [])],
        citizenships=[_country(c) for c in props.get("citizenship", [])],
        countries=countries, positions=props.get("position", []), gender=_first(props, "gender") or None,
        identifiers=list({str(i): i for i in typed_ids}.values()), addresses=addresses,
        remarks="\n".join(props.get("notes", [])) or None,
        links=[_entry_link(r, index) for r in relations],
    )
    return _document(path, e, title=caption, text=text, metadata=metadata, entry=entry,
                     date=parse_date(listed[0]) if listed else None,
                     jurisdiction=jurisdictions[0] if len(jurisdictions) == 1 else None)


def _limited(items: list[str]) -> list[str]:
    if len(items) <= MAX_LISTED:
        return items
    return items[:MAX_LISTED] + [f"and {len(items) - MAX_LISTED} more"]


@guarded(NAME)
def parse(path: Path) -> Iterator[Document]:
    index = _Index()
    count = 0
    for _, entity in _load(path):
        index.add(entity)
        count += 1
    if not count:
        raise FormatError(path, "no FollowTheMoney entities found")
    for _, entity in _load(path):
        schema = entity["schema"]
        if schema in FOLDED:
            continue
        if schema == "Sanction":
            yield _sanction_doc(path, entity, index)
        elif schema in RELATIONS:
            yield _relation_doc(path, entity, index)
        else:
            yield _thing_doc(path, entity, index)
