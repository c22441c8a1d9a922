"""OFAC's legacy SDN CSV (sdn.csv; also cons_prim.csv, the consolidated list's primary file).

Headerless, 12 columns (see OFAC's dat_spec.txt):
ent_num,SDN_Name,SDN_Type,Program,Title,Call_Sign,Vess_type,Tonnage,GRT,Vess_flag,Vess_owner,Remarks
"-0-" is null; several programs are written "SDGT] [SYRIA"; aliases, former names, links, dates
of birth and identifiers live in Remarks ("a.k.a. 'BNC'; Linked To: HAMAS."). The file often ends
with a DOS end-of-file (\\x1a) line. One row -> one list_entry Document.

The list's date is not in the file: it is taken from the file name ("sdn_2024-05-03.csv") when
there is one. A file named like cons_*.csv holds the consolidated (non-SDN) list.
"""
from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from pathlib import Path

from ingest.formats._errors import FormatError
from ingest.formats import _ofac as ofac
from ingest.formats._common import (
    column_count_error,
    date_in_name,
    guarded,
    head_text,
    iter_csv,
    safe_sniff,
)
from rag.core.models import Document

NAME = "ofac_sdn_csv"
EXTENSIONS = (".csv",)
COLUMNS = ("ent_num", "SDN_Name", "SDN_Type", "Program", "Title", "Call_Sign", "Vess_type",
           "Tonnage", "GRT", "Vess_flag", "Vess_owner", "Remarks")


@safe_sniff
def sniff(path: Path, head: bytes) -> bool:
    text = head_text(head)
    if ofac.NULL not in text:
        return False
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines or not re.match(r'^\d+,"', lines[0]):
        return False
    # The first line must be whole (or the head would have cut it) and have 12 fields.
    if len(lines) == 1 and len(head) >= 8192:
        return True
    return len(next(csv.reader([lines[0]]))) == len(COLUMNS)


@guarded(NAME)
def parse(path: Path) -> Iterator[Document]:
    published = date_in_name(path)
    count = 0
    for line, row in iter_csv(path):
        if len(row) != len(COLUMNS):
            raise column_count_error(path, line, len(COLUMNS), len(row))
        cells = dict(zip(COLUMNS, (ofac.value(c) for c in row)))
        ent_num = cells["ent_num"]
        if not ent_num.isdigit():
            if count == 0 and ent_num.lower() == "ent_num":
                continue  # a header row someone added
            raise FormatError(path, f"line {line}: ent_num {row[0]!r} is not a number")
        name = cells["SDN_Name"]
        if not name:
            raise FormatError(path, f"line {line}: entry {ent_num} has no name")
        programs = ofac.split_programs(cells["Program"])
        list_name, lists = ofac.list_names(path, programs, default_sdn=True)
        remarks = cells["Remarks"]
        parsed = ofac.parse_remarks(remarks)
        etype = ofac.entity_type(cells["SDN_Type"])
        vessel = {
            "call sign": cells["Call_Sign"],
            "vessel type": cells["Vess_type"],
            "tonnage": cells["Tonnage"],
            "GRT": cells["GRT"],
            "flag": cells["Vess_flag"],
            "owner": cells["Vess_owner"],
        }
        count += 1
        yield ofac.entry_document(
            path,
            NAME,
            key=ent_num,
            name=name,
            etype=etype,
            programs=programs,
            list_name=list_name,
            lists=lists,
            aliases=parsed.get("aliases", []),
            former_names=parsed.get("former_names", []),
            position=cells["Title"],
            vessel=vessel if any(vessel.values()) else None,
            remarks=remarks,
            list_published=published,
            extra={"ent_num": int(ent_num)},
            parsed=parsed,
        )
    if count == 0:
        raise FormatError(path, "no SDN entries found")
