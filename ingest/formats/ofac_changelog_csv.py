"""A dated log of OFAC SDN list changes (additions, removals, modifications), one row per change.

Header: observed_at_utc,prev_commit,commit,change,ent_num,sdn_name,sdn_type,program,changed_fields,remarks
`observed_at_utc` is when the change was first seen (a scrape time: up to a day after OFAC
published it). Each row becomes one "notice" Document; its key is the row number, which stays put
because the log only grows at the end.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ingest.formats._errors import FormatError
from ingest.formats import _ofac as ofac
from ingest.formats._common import (
    entry_text,
    guarded,
    head_text,
    iter_csv_dicts,
    make_doc_id,
    parse_date,
    safe_sniff,
    uniq,
)
from rag.core.models import Document, EntryLink, EntryName, ListEntry, entity_type_of

NAME = "ofac_changelog_csv"
EXTENSIONS = (".csv",)
REQUIRED = ("observed_at_utc", "change", "ent_num", "sdn_name")
# The log's change words -> ListEntry.change (one row says "change" for a modification).
_CHANGES = {"added": "added", "removed": "removed", "modified": "modified", "change": "modified"}


@safe_sniff
def sniff(path: Path, head: bytes) -> bool:
    return head_text(head).lstrip().startswith("observed_at_utc,")


@guarded(NAME)
# Long by design: the change log's row layout read top to bottom in one place.
def parse(path: Path) -> Iterator[Document]:
    for row_no, (line, row) in enumerate(iter_csv_dicts(path, required=REQUIRED), start=1):
        observed_raw = row["observed_at_utc"]
        observed = parse_date(observed_raw)
        if not observed:
            raise FormatError(path, f"line {line}: observed_at_utc {observed_raw!r} is not a date")
        change = row["change"].lower()
        if not change:
            raise FormatError(path, f"line {line}: empty 'change' column")
        name = ofac.value(row["sdn_name"])
        etype = ofac.entity_type(row.get("sdn_type"))
        programs = ofac.split_programs(row.get("program"))
        changed = uniq(f.strip() for f in (row.get("changed_fields") or "").split(";"))
        remarks = ofac.value(row.get("remarks"))
        parsed = ofac.parse_remarks(remarks)

        head = f"OFAC SDN list change observed {observed.isoformat()}: {change} {name}"
        facts = [etype, ofac.program_fact(programs, "SDN"), f"entry {row['ent_num']}"]
        text = entry_text(
            head,
            facts=facts,
            sections=[("Changed fields", changed), ("Aliases", parsed.get("aliases", [])),
                      ("Linked to", parsed.get("linked_to", [])), ("Remarks", remarks)],
        )
        metadata = {
            "change": change,
            "ent_num": row["ent_num"],
            "uid": row["ent_num"],
            "sdn_name": name,
            "name": name,
            "entity_type": etype,
            "program": row.get("program", ""),
            "programs": programs,
            "list": "SDN",
            "changed_fields": changed,
            "observed_at": observed_raw,
            "prev_commit": row.get("prev_commit") or None,
            "commit": row.get("commit") or None,
            "remarks": remarks or None,
            "aliases": parsed.get("aliases", []),
            "former_names": parsed.get("former_names", []),
            "linked_to": parsed.get("linked_to", []),
        }
        # The entry the notice names, as the log shows it (added, removed or modified).
        entry = ListEntry(
            uid=row["ent_num"] or None,
            names=[EntryName(name=name)] + [EntryName(name=n, kind=k) for k, key in (("aka", "aliases"),
                                                                                   ("fka", "former_names"))
                                            for n in parsed.get(key, []) if n != name],
            entity_type=entity_type_of(etype), source_type=etype, list="SDN", lists=["SDN"],
            issuer=ofac.PUBLISHER, jurisdiction="US", programs=programs,
            identifiers=parsed.get("identifiers", []), remarks=remarks or None,
            links=[EntryLink(relation="Linked To", subject=name, object=t) for t in parsed.get("linked_to", [])],
            change=_CHANGES.get(change),
        )
        yield Document(
            doc_id=make_doc_id(path, row_no),
            title=f"OFAC SDN {change}: {name} ({observed.isoformat()})",
            text=text,
            doc_type="notice",
            format=NAME,
            source=str(path),
            date=observed,
            jurisdiction="US",
            publisher=ofac.PUBLISHER,
            metadata={k: v for k, v in metadata.items() if v not in (None, "", [])
                      or k in ("aliases", "programs", "changed_fields")},
            entry=entry,
            single_chunk=True,
        )
