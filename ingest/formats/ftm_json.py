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

from ingest.formats._errors import FormatError
from ingest.formats import _ftm as ftm
from ingest.formats._common import (
    entry_text,
    guarded,
    head_text,
    human_date,
    make_doc_id,
    parse_date,
    safe_sniff,
    sentence,
    uniq,
)
from rag.core.models import Document, EntryLink, EntryName, Identifier, Jurisdiction, ListEntry, entity_type_of

NAME = "ftm_json"
EXTENSIONS = (".json", ".jsonl", ".ftm", ".ndjson")
PUBLISHER = "OpenSanctions"

MAX_LISTED = 12  # sanctions / relations written into one thing's text


@safe_sniff
def sniff(path: Path, head: bytes) -> bool:
    text = head_text(head).lstrip()
    if not text.startswith("{"):
        return False
    first = text.split("\n", 1)[0]
    return '"schema"' in first and '"properties"' in first


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


def _sanction_doc(path: Path, e: dict[str, Any], index: ftm.Index) -> Document:
    props = ftm.properties(e)
    s = ftm.sanction_summary(str(e["id"]), props)
    targets = props.get("entity", [])
    names = [index.caption(t) for t in targets] or ["an unnamed entity"]
    head = f"{' and '.join(names)} sanctioned by {ftm.sanction_phrase(s)}"
    program_name = ftm.first_value(props, "program")
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
        countries=uniq([ftm.country_name(s["country"])]), remarks="\n".join(props.get("reason", [])) or None,
        links=[EntryLink(relation="Sanction", subject=s["authority"] or publisher, object=index.caption(t),
                         object_id=t, id=str(e["id"])) for t in targets],
    )
    return _document(path, e, title=f"{names[0]}: sanction by {s['authority'] or 'unknown authority'}", text=text,
                     metadata=metadata, entry=entry, date=parse_date(s["listed"]), jurisdiction=s["jurisdiction"],
                     publisher=publisher, url=ftm.first_value(props, "sourceUrl") or None)


def _relation_doc(path: Path, e: dict[str, Any], index: ftm.Index) -> Document:
    props = ftm.properties(e)
    subj_prop, obj_prop, _ = ftm.RELATIONS[e["schema"]]
    rels = [{"id": str(e["id"]), "schema": e["schema"], "subject": s, "object": o, "props": props}
            for s in props.get(subj_prop, []) for o in props.get(obj_prop, [])]
    if rels:
        text = " ".join(sentence(ftm.relation_phrase(r, index)) for r in rels)
        title = ftm.relation_phrase(rels[0], index).split(", from ")[0]
    else:
        text = sentence(f"{e['schema']} {e.get('caption') or e['id']} (incomplete: linked entities missing)")
        title = f"{e['schema']} {e['id']}"
    summary = props.get("summary", [])
    if summary:
        text += " " + sentence("Summary: " + "; ".join(summary))
    metadata = {
        **_base_metadata(e),
        "links": [ftm.relation_link(r, index) for r in rels],
        subj_prop: props.get(subj_prop, []),
        obj_prop: props.get(obj_prop, []),
        "role": ftm.first_value(props, "role") or ftm.first_value(props, "relationship") or None,
        "percentage": ftm.first_value(props, "percentage") or None,
        "start_date": ftm.first_value(props, "startDate") or None,
        "end_date": ftm.first_value(props, "endDate") or None,
    }
    entry = ListEntry(uid=str(e["id"]), record="relation", names=[EntryName(name=title)], source_type=e["schema"],
                      list=PUBLISHER, lists=[PUBLISHER], issuer=PUBLISHER, links=[ftm.entry_link(r, index) for r in rels])
    return _document(path, e, title=title, text=text, metadata=metadata, entry=entry,
                     date=parse_date(ftm.first_value(props, "startDate")))


# Long by design: one line per FollowTheMoney property mapped to the typed entry.
def _thing_doc(path: Path, e: dict[str, Any], index: ftm.Index) -> Document:
    eid, props = str(e["id"]), ftm.properties(e)
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
    countries = uniq(ftm.country_name(c) for k in ("country", "jurisdiction", "nationality", "citizenship")
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
    typed_ids = [Identifier(type=p, number=v) for p in ftm.IDENTIFIER_PROPS for v in props.get(p, [])]
    typed_ids += index.identifiers.get(eid, [])
    identifiers = uniq(str(i) for i in typed_ids)
    addresses = uniq(props.get("address", []) + [index.addresses[a] for a in props.get("addressEntity", [])
                                                  if a in index.addresses])
    sanction_phrases = [ftm.sanction_phrase(s) for s in sanctions]
    relation_phrases = uniq(ftm.relation_phrase(r, index) for r in relations)
    sections: list[tuple[str, Any]] = [
        ("Sanctions", _limited(sanction_phrases)),
        ("Relations", _limited(relation_phrases)),
        ("Position", props.get("position", [])),
        ("Born", [ftm.date_text(d) for d in props.get("birthDate", [])]),
        ("Incorporated", [ftm.date_text(d) for d in props.get("incorporationDate", [])]),
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
        "relations": [ftm.relation_link(r, index) for r in relations],
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
        nationalities=[ftm.country_name(c) for c in props.get("nationality", [])],
        citizenships=[ftm.country_name(c) for c in props.get("citizenship", [])],
        countries=countries, positions=props.get("position", []), gender=ftm.first_value(props, "gender") or None,
        identifiers=list({str(i): i for i in typed_ids}.values()), addresses=addresses,
        remarks="\n".join(props.get("notes", [])) or None,
        links=[ftm.entry_link(r, index) for r in relations],
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
    index = ftm.Index()
    count = 0
    for _, entity in ftm.load(path):
        index.add(entity)
        count += 1
    if not count:
        raise FormatError(path, "no FollowTheMoney entities found")
    for _, entity in ftm.load(path):
        schema = entity["schema"]
        if schema in ftm.FOLDED:
            continue
        if schema == "Sanction":
            yield _sanction_doc(path, entity, index)
        elif schema in ftm.RELATIONS:
            yield _relation_doc(path, entity, index)
        else:
            yield _thing_doc(path, entity, index)
