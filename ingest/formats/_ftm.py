"""Reading FollowTheMoney entities (ingest/formats/ftm_json.py): their properties, the first pass's
index of captions, sanctions, relations, addresses and identifiers, and how a sanction or a relation
reads as a phrase."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ingest.formats._errors import FormatError
from ingest.formats._common import human_date, iso, iter_jsonl, parse_date
from rag.core.models import EntryLink, Identifier, Jurisdiction

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
IDENTIFIER_PROPS = ("registrationNumber", "taxNumber", "idNumber", "innCode", "ogrnCode", "kppCode",
                    "okpoCode", "leiCode", "swiftBic", "bicCode", "imoNumber", "mmsi", "passportNumber",
                    "vatCode", "isin", "ticker", "uniqueEntityId", "permId", "dunsCode")
JURISDICTIONS: dict[str, Jurisdiction] = {"us": "US", "eu": "EU", "gb": "UK", "uk": "UK"}
COUNTRY_NAMES = {
    "us": "United States", "eu": "European Union", "gb": "United Kingdom", "ru": "Russia", "ua": "Ukraine",
    "ch": "Switzerland", "fr": "France", "be": "Belgium", "jp": "Japan", "au": "Australia", "ca": "Canada",
    "nz": "New Zealand", "mc": "Monaco", "cn": "China", "by": "Belarus", "ir": "Iran", "kp": "North Korea",
    "tw": "Taiwan", "lv": "Latvia", "de": "Germany", "it": "Italy", "nl": "Netherlands", "pl": "Poland",
}


def properties(entity: dict[str, Any]) -> dict[str, list[str]]:
    props = entity.get("properties") or {}
    if not isinstance(props, dict):
        return {}
    return {k: [str(v) for v in (vs if isinstance(vs, list) else [vs]) if v not in (None, "")] for k, vs in props.items()}


def first_value(props: dict[str, list[str]], key: str) -> str:
    values = props.get(key) or []
    return values[0] if values else ""


def country_name(code: str) -> str:
    return COUNTRY_NAMES.get(code.lower(), code.upper()) if code else ""


def jurisdiction_of(props: dict[str, list[str]]) -> Jurisdiction | None:
    found = {JURISDICTIONS[c.lower()] for c in props.get("country", []) if c.lower() in JURISDICTIONS}
    if any("united nations" in a.lower() for a in props.get("authority", [])):
        found.add("UN")
    return found.pop() if len(found) == 1 else None


def date_text(value: str) -> str:
    d = parse_date(value)
    return human_date(d) if d else value


def load(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    for line, value in iter_jsonl(path):
        if not isinstance(value, dict):
            raise FormatError(path, f"line {line}: expected a FollowTheMoney entity object, found {type(value).__name__}")
        if not value.get("id") or not value.get("schema"):
            raise FormatError(path, f"line {line}: entity has no 'id' or 'schema'")
        yield line, value


class Index:
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
        eid, schema, props = str(e["id"]), e["schema"], properties(e)
        self.captions[eid] = str(e.get("caption") or first_value(props, "name") or eid)
        if schema == "Sanction":
            for target in props.get("entity", []):
                self.sanctions.setdefault(target, []).append(sanction_summary(eid, props))
        elif schema in RELATIONS:
            subj_prop, obj_prop, _ = RELATIONS[schema]
            for s in props.get(subj_prop, []):
                for o in props.get(obj_prop, []):
                    rel = {"id": eid, "schema": schema, "subject": s, "object": o, "props": props}
                    self.relations.setdefault(s, []).append(rel)
                    self.relations.setdefault(o, []).append(rel)
        elif schema == "Address":
            self.addresses[eid] = first_value(props, "full") or ", ".join(
                v for k in ("street", "city", "postalCode", "region", "country") for v in props.get(k, [])[:1])
        elif schema in ("Identification", "Passport"):
            number = first_value(props, "number")
            if number:
                label = first_value(props, "type") or schema.lower()
                country = first_value(props, "country")
                for holder in props.get("holder", []):
                    self.identifiers.setdefault(holder, []).append(
                        Identifier(type=label, number=number, country=country_name(country) or None))


def sanction_summary(eid: str, props: dict[str, list[str]]) -> dict[str, Any]:
    dates = [d for d in (parse_date(v) for v in props.get("listingDate", []) + props.get("startDate", [])) if d]
    return {
        "id": eid,
        "authority": "; ".join(props.get("authority", [])),
        "program": first_value(props, "program"),
        "program_id": first_value(props, "programId"),
        "country": first_value(props, "country"),
        "listed": iso(min(dates)) if dates else None,
        "end_date": first_value(props, "endDate") or None,
        "jurisdiction": jurisdiction_of(props),
    }


def sanction_phrase(s: dict[str, Any]) -> str:
    who = s["authority"] or "an unnamed authority"
    if s["country"]:
        who += f" ({country_name(s['country'])})"
    prog = s["program_id"] or s["program"]
    if len(prog) > 80:
        prog = prog[:77].rstrip() + "..."
    out = who + (f", program {prog}" if prog else "")
    if s["listed"]:
        out += f", since {human_date(dt.date.fromisoformat(s['listed']))}"
    if s["end_date"]:
        out += f", ended {date_text(s['end_date'])}"
    return out


def relation_phrase(rel: dict[str, Any], index: Index) -> str:
    schema, props = rel["schema"], rel["props"]
    subj, obj = index.caption(rel["subject"]), index.caption(rel["object"])
    ended = bool(props.get("endDate"))
    role = first_value(props, "role") or first_value(props, "relationship")
    if schema == "Ownership":
        pct = first_value(props, "percentage")
        shares = first_value(props, "sharesCount")
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
    start, end = first_value(props, "startDate"), first_value(props, "endDate")
    if start:
        phrase += f", from {date_text(start)}"
    if end:
        phrase += f" until {date_text(end)}"
    return phrase


def relation_link(rel: dict[str, Any], index: Index) -> dict[str, Any]:
    props = rel["props"]
    subj_prop, obj_prop, _ = RELATIONS[rel["schema"]]
    link = {
        "id": rel["id"],
        "schema": rel["schema"],
        subj_prop: rel["subject"],
        f"{subj_prop}_caption": index.caption(rel["subject"]),
        obj_prop: rel["object"],
        f"{obj_prop}_caption": index.caption(rel["object"]),
        "role": first_value(props, "role") or first_value(props, "relationship") or None,
        "percentage": first_value(props, "percentage") or None,
        "shares_count": first_value(props, "sharesCount") or None,
        "start_date": first_value(props, "startDate") or None,
        "end_date": first_value(props, "endDate") or None,
    }
    return {k: v for k, v in link.items() if v is not None}


def entry_link(rel: dict[str, Any], index: Index) -> EntryLink:
    props = rel["props"]
    return EntryLink(
        relation=rel["schema"], subject=index.caption(rel["subject"]), object=index.caption(rel["object"]),
        subject_id=rel["subject"], object_id=rel["object"], id=rel["id"],
        role=first_value(props, "role") or first_value(props, "relationship") or None,
        percentage=first_value(props, "percentage") or None, shares=first_value(props, "sharesCount") or None,
        start_date=first_value(props, "startDate") or None, end_date=first_value(props, "endDate") or None,
    )
