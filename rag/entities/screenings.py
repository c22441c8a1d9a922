"""Screening records: a file (or list) of names screened once, kept in the audit trail as proof of what was
screened, when, by whom, against which list versions; the analysts' decisions on its hits; its exports.

A record is the screening response (`ScreenResponse`: results, threshold, type, entries, lists) with what
makes it evidence: its id and time, the analyst (an API key's short hash, never the key), the input file's
name and SHA-256, every query as screened (with the file's other columns kept beside it), each list's
version (name, publication date, authority, the SHA-256 of the files it came from and a content hash of its
entries as stored), and a digest over all of that. Decisions are added rows (rag/store/history.py): the
latest per hit is current, every earlier one stays in the trail.

Input files (`parse_names_file`): CSV with a `name` column and optional `type` (or `schema`), `birth_date`,
`country` and `identifiers` (several separated by ';' or '|') columns; any other column is kept with its
row and exported with it. Or plain text, one name per line (a line may also be a JSON query). A bad file
is refused whole, with every problem named by file, row and column: nothing is screened half.
"""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import html
import io
import json
import re
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Literal

from pydantic import BaseModel, Field

from rag.core.models import ScreenQuery, ScreenResponse

Decision = Literal["true_match", "false_positive", "needs_review"]
DECISIONS: dict[str, str] = {"true_match": "true match", "false_positive": "false positive",
                             "needs_review": "needs review"}
MAX_ROWS = 10_000  # names in one screening
MAX_PROBLEMS = 20  # problems listed in one refusal
COLUMNS = {"name": "name", "full_name": "name", "type": "schema", "schema": "schema", "entity_type": "schema",
           "birth_date": "birth_date", "date_of_birth": "birth_date", "dob": "birth_date", "country": "country",
           "identifiers": "identifiers", "identifier": "identifiers", "id_numbers": "identifiers"}
BIRTH_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")


class NamesFileError(ValueError):
    """A names file that cannot be screened; `problems` are "file, row N, column C: what is wrong"."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        more = f" (and {len(problems) - MAX_PROBLEMS} more)" if len(problems) > MAX_PROBLEMS else ""
        super().__init__("; ".join(problems[:MAX_PROBLEMS]) + more)


class NamesFile(BaseModel):
    """A parsed names file: the queries in file order, each row's other columns, and what the file was."""

    name: str
    sha256: str
    format: Literal["csv", "text", "json"]
    queries: list[ScreenQuery]
    references: list[dict[str, str]] = Field(default_factory=list)  # per query: the file's other columns


class ScreeningDecision(BaseModel):
    id: int
    query_index: int
    entity_id: str
    decision: Decision
    note: str = ""
    analyst: str
    created_at: str


class ListVersion(BaseModel):
    """One list as screened: what a 'not listed' rests on."""

    list: str
    published: str | None = None
    authority: str | None = None
    entries: int = 0
    content_hash: str  # SHA-256 over the entries' stored content hashes (doc id order)
    files: list[dict] = Field(default_factory=list)  # [{"source", "sha256"}] the files or feeds it came from


class ScreeningRecord(ScreenResponse):
    """POST /v1/screenings, GET /v1/screenings/{id}, `regbrief screen --file ... --json`: the screening
    contract (results, threshold, type, entries, lists) with the record's proof and decisions."""

    id: str
    created_at: dt.datetime
    analyst: str
    input: dict  # {"name", "sha256", "format", "rows"}
    queries: list[ScreenQuery]
    references: list[dict[str, str]] = Field(default_factory=list)
    list_versions: list[ListVersion] = Field(default_factory=list)
    digest: str = ""  # SHA-256 of the record without its decisions (see `record_digest`)
    decisions: list[ScreeningDecision] = Field(default_factory=list)  # every decision, oldest first
    url: str = ""


# --- input ------------------------------------------------------------------------------------------

def parse_names_file(filename: str, data: bytes) -> NamesFile:
    """A CSV or plain-text file of names -> queries; NamesFileError names every problem (file, row, column)."""
    name = filename.rsplit("/", 1)[-1].rsplit("\\", 1)[-1] or "names"
    digest = hashlib.sha256(data).hexdigest()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        raise NamesFileError([f"{name}, row {line}: not UTF-8 text (byte {e.start}); save the file as UTF-8"]) from None
    if not text.strip():
        raise NamesFileError([f"{name}: the file holds no names"])
    first = text.lstrip().splitlines()[0]
    is_csv = name.lower().endswith((".csv", ".tsv")) or (
        not first.startswith("{") and any(h.strip().lower() == "name" for h in re.split(r"[,;\t]", first)))
    if is_csv:
        queries, refs = _csv_queries(name, text)
        fmt = "csv"
    else:
        queries, refs, fmt = _text_queries(name, text)
    if not queries:
        raise NamesFileError([f"{name}: the file holds no names"])
    if len(queries) > MAX_ROWS:
        raise NamesFileError([f"{name}: {len(queries)} names is over the limit of {MAX_ROWS} in one screening; "
                              "split the file"])
    return NamesFile(name=name, sha256=digest, format=fmt, queries=queries, references=refs)


def _csv_queries(name: str, text: str) -> tuple[list[ScreenQuery], list[dict[str, str]]]:
    from rag.entities.screen import schema_type

    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    header = next(reader, [])
    keys = ["_".join(h.strip().lower().replace("-", " ").split()) for h in header]
    fields = [COLUMNS.get(k) for k in keys]
    if "name" not in fields:
        raise NamesFileError([f"{name}, row 1: no 'name' column (the columns are {', '.join(map(repr, header))}); "
                              "a CSV needs a 'name' column, and may have type, birth_date, country and identifiers"])
    for f in set(fields) - {None}:
        if fields.count(f) > 1:
            dup = [header[i] for i, x in enumerate(fields) if x == f]
            raise NamesFileError([f"{name}, row 1: columns {', '.join(map(repr, dup))} both give the {f}"])
    problems: list[str] = []
    queries: list[ScreenQuery] = []
    refs: list[dict[str, str]] = []
    for row in reader:
        line = reader.line_num
        if not any(c.strip() for c in row):
            continue
        if len(row) > len(header):
            problems.append(f"{name}, row {line}: {len(row)} cells but {len(header)} columns in the header "
                            "(a name with a comma needs quotes)")
            continue
        row = row + [""] * (len(header) - len(row))
        got: dict = {"identifiers": []}
        ref: dict[str, str] = {}
        for h, f, cell in zip(header, fields, row):
            cell = cell.strip()
            where = f"{name}, row {line}, column {h.strip()!r}"
            if f is None:
                if cell:
                    ref[h.strip()] = cell
            elif f == "name":
                if not cell:
                    problems.append(f"{where}: the name is empty")
                elif len(cell) > 500:
                    problems.append(f"{where}: {len(cell)} characters is over the limit of 500")
                got["name"] = cell
            elif f == "schema" and cell:
                try:
                    schema_type(cell)
                except ValueError as e:
                    problems.append(f"{where}: {e}")
                got["schema"] = cell
            elif f == "birth_date" and cell:
                if not BIRTH_DATE.match(cell) or not _valid_date(cell):
                    problems.append(f"{where}: {cell!r} is not a date as YYYY-MM-DD, YYYY-MM or YYYY")
                got["birth_date"] = cell
            elif f == "country" and cell:
                if len(cell) > 80:
                    problems.append(f"{where}: over 80 characters")
                got["country"] = cell
            elif f == "identifiers" and cell:
                ids = [x.strip() for x in re.split(r"[;|]", cell) if x.strip()]
                if len(ids) > 20:
                    problems.append(f"{where}: {len(ids)} identifiers is over the limit of 20")
                got["identifiers"] = ids
        if got.get("name"):
            queries.append(ScreenQuery.model_validate(got))
            refs.append(ref)
    if problems:
        raise NamesFileError(problems)
    return queries, refs


def _valid_date(s: str) -> bool:
    parts = [int(x) for x in s.split("-")] + [1, 1]
    try:
        dt.date(parts[0], parts[1], parts[2])
        return True
    except ValueError:
        return False


def _text_queries(name: str, text: str) -> tuple[list[ScreenQuery], list[dict[str, str]], str]:
    from pydantic import ValidationError

    from rag.entities.screen import schema_type

    problems: list[str] = []
    queries: list[ScreenQuery] = []
    json_lines = 0
    for i, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        try:
            if line.startswith("{"):
                json_lines += 1
                q = ScreenQuery.model_validate(json.loads(line))
                schema_type(q.schema_)
            else:
                q = ScreenQuery(name=line)
            queries.append(q)
        except json.JSONDecodeError as e:
            problems.append(f"{name}, row {i}: not a JSON query ({e.msg})")
        except ValidationError as e:
            err = e.errors()[0]
            problems.append(f"{name}, row {i}, field {'.'.join(map(str, err['loc'])) or 'name'}: {err['msg']}")
        except ValueError as e:
            problems.append(f"{name}, row {i}, field schema: {e}")
    if problems:
        raise NamesFileError(problems)
    return queries, [{} for _ in queries], "json" if json_lines and json_lines == len(queries) else "text"


def names_input(names: Sequence[str | ScreenQuery], label: str = "request") -> NamesFile:
    """Names given in a request (not a file) as a NamesFile, hashed as their canonical JSON."""
    queries = [q if isinstance(q, ScreenQuery) else ScreenQuery(name=q) for q in names]
    canon = json.dumps([q.model_dump(by_alias=True, exclude_none=True) for q in queries], sort_keys=True,
                       ensure_ascii=False).encode()
    return NamesFile(name=label, sha256=hashlib.sha256(canon).hexdigest(), format="json", queries=queries,
                     references=[{} for _ in queries])


# --- list versions ------------------------------------------------------------------------------------

def list_versions(entries: Sequence, lists: Sequence[dict], sources: Sequence[str],
                  doc_hashes: Callable[[str], dict[str, str]],
                  file_hash: Callable[[str], tuple[str, str] | None]) -> list[ListVersion]:
    """Each list screened (`lists`: EntityIndex.lists_loaded()) with a content hash of its entries as stored
    and the SHA-256 of the files (or feeds) they came from. `entries` are the ListEntry objects screened;
    `sources`, `doc_hashes(source)` and `file_hash(source)` are the registry's (store keys, shown by file
    name or URL only)."""
    from rag.core.dates import iso
    from rag.core.sources import file_name

    where: dict[str, tuple[str, str]] = {}  # doc_id -> (source key, content hash)
    for key in sources:
        for doc_id, h in doc_hashes(key).items():
            where[doc_id] = (key, h)
    by_list: dict[tuple, list] = defaultdict(list)
    for e in entries:
        by_list[(e.list or "", iso(e.list_published) or "", e.issuer or "")].append(e.doc_id)
    out = []
    for x in lists:
        members = sorted(by_list.get((x["list"] or "", x.get("published") or "", x.get("authority") or ""), []))
        h = hashlib.sha256()
        for doc_id in members:
            h.update(f"{doc_id}\t{where.get(doc_id, ('', ''))[1]}\n".encode())
        files = []
        for key in sorted({where[d][0] for d in members if d in where}):
            fh = file_hash(key)
            files.append({"source": file_name(key) or key, "sha256": fh[0] if fh else None})
        out.append(ListVersion(list=x["list"] or "(no list name)", published=x.get("published"),
                               authority=x.get("authority"), entries=x.get("entries", len(members)),
                               content_hash=h.hexdigest(), files=files))
    return out


# --- the record -------------------------------------------------------------------------------------

def new_record(resp: ScreenResponse, names: NamesFile, versions: list[ListVersion], analyst: str) -> ScreeningRecord:
    rec = ScreeningRecord(
        **resp.model_dump(), id="scr_" + uuid.uuid4().hex[:16], created_at=dt.datetime.now(dt.timezone.utc),
        analyst=analyst, input={"name": names.name, "sha256": names.sha256, "format": names.format,
                                "rows": len(names.queries)},
        queries=names.queries, references=names.references, list_versions=versions)
    rec.digest = record_digest(rec)
    return rec


def record_digest(rec: ScreeningRecord) -> str:
    """SHA-256 of the record's canonical JSON without its digest, decisions and url: recompute it to show that
    what was screened, the results and the list versions are as recorded at the time."""
    body = rec.model_dump(mode="json", by_alias=True, exclude={"digest", "decisions", "url"})
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def current_decisions(rec: ScreeningRecord) -> dict[tuple[int, str], ScreeningDecision]:
    out: dict[tuple[int, str], ScreeningDecision] = {}
    for d in rec.decisions:
        out[(d.query_index, d.entity_id)] = d
    return out


def check_decision(rec: ScreeningRecord, query_index: int, entity_id: str) -> None:
    """ValueError naming the field when the hit is not one of the record's."""
    if not 0 <= query_index < len(rec.results):
        raise ValueError(f"query_index: {query_index} is not a screened name (0 to {len(rec.results) - 1})")
    if entity_id not in {m.entity_id for m in rec.results[query_index].matches}:
        raise ValueError(f"entity_id: {entity_id!r} is not a hit of name {query_index} "
                         f"({rec.results[query_index].query!r})")


# --- exports ------------------------------------------------------------------------------------------

CSV_COLUMNS = ["row", "query", "type", "birth_date", "country", "identifiers", "match", "score", "entity_id",
               "matched", "list", "programs", "listed_on", "explanation", "decision", "note", "analyst",
               "decided_at"]


def _cell(v) -> str:
    """A CSV cell a spreadsheet will not run: text starting with = + - @ gets a leading apostrophe."""
    s = "" if v is None else str(v)
    return "'" + s if s[:1] in ("=", "+", "-", "@", "\t", "\r") else s


def to_csv(rec: ScreeningRecord) -> str:
    """One row per candidate (one per name with none, so every name screened is in the file), with the
    current decision on it and the file's own other columns at the end."""
    current = current_decisions(rec)
    extra = list(dict.fromkeys(k for r in rec.references for k in r))
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(CSV_COLUMNS + extra)
    for i, res in enumerate(rec.results):
        q = rec.queries[i] if i < len(rec.queries) else ScreenQuery(name=res.query)
        ref = rec.references[i] if i < len(rec.references) else {}
        head = [i + 1, res.query, q.schema_ or "", q.birth_date or "", q.country or "", "; ".join(q.identifiers)]
        tail = [ref.get(k, "") for k in extra]
        if not res.matches:
            w.writerow([_cell(v) for v in head + ["no candidates"] + [""] * 11 + tail])
        for m in res.matches:
            d = current.get((i, m.entity_id))
            w.writerow([_cell(v) for v in head + [
                "match" if m.match else "below threshold", f"{m.score:.4f}", m.entity_id, m.name, m.list or "",
                "; ".join(m.programs), m.listed_on or "", m.explanation,
                DECISIONS[d.decision] if d else "", d.note if d else "", d.analyst if d else "",
                d.created_at if d else ""] + tail])
    return buf.getvalue()


def to_html(rec: ScreeningRecord) -> str:
    """A standalone, printable page: what was screened, when, by whom, against which list versions, every
    hit with its explanation and decisions, and the digest."""
    e = html.escape
    current = current_decisions(rec)
    hits = sum(1 for r in rec.results for m in r.matches if m.match)
    lists = "".join(
        f"<tr><td>{e(v.list)}</td><td>{e(v.published or 'not stated')}</td><td>{e(v.authority or '')}</td>"
        f"<td>{v.entries}</td><td class='hash'>{e(v.content_hash)}</td>"
        f"<td>{'<br>'.join(e(f['source']) + (' <span class=hash>' + e(f['sha256']) + '</span>' if f.get('sha256') else '') for f in v.files)}</td></tr>"
        for v in rec.list_versions)
    rows = []
    for i, res in enumerate(rec.results):
        q = rec.queries[i] if i < len(rec.queries) else ScreenQuery(name=res.query)
        details = ", ".join(x for x in [q.schema_ or "", f"born {q.birth_date}" if q.birth_date else "",
                                        q.country or "", "; ".join(q.identifiers)] if x)
        shown = [m for m in res.matches if m.match] or res.matches[:1]
        cand = []
        for m in shown:
            d = current.get((i, m.entity_id))
            hist = [x for x in rec.decisions if x.query_index == i and x.entity_id == m.entity_id]
            decided = "".join(
                f"<li><b>{e(DECISIONS[x.decision])}</b> by {e(x.analyst)} at {e(x.created_at[:19].replace('T', ' '))}"
                f"{': ' + e(x.note) if x.note else ''}</li>" for x in hist)
            cand.append(
                f"<div class='cand {'hit' if m.match else 'below'}'><p><b>{'MATCH' if m.match else 'below threshold'}"
                f" {m.score:.2f}</b> {e(m.name)} <span class='meta'>[{e(m.entity_id)}] {e(m.list or '')} "
                f"{e(', '.join(m.programs))}{' · listed ' + e(m.listed_on) if m.listed_on else ''}</span></p>"
                f"<p class='why'>{e(m.explanation)}</p>"
                f"<p class='decision'>Decision: {e(DECISIONS[d.decision]) if d else 'none recorded'}</p>"
                f"{'<ul>' + decided + '</ul>' if decided else ''}</div>")
        rows.append(f"<tr><td>{i + 1}</td><td>{e(res.query)}{'<br><span class=meta>' + e(details) + '</span>' if details else ''}</td>"
                    f"<td>{''.join(cand) or 'no candidates'}</td></tr>")
    inp = rec.input
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Screening record {e(rec.id)}</title>
<style>
body {{ font: 11pt/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 60em; color: #111; }}
h1 {{ font-size: 1.4em; }} h2 {{ font-size: 1.1em; margin-top: 1.6em; }}
table {{ border-collapse: collapse; width: 100%; }} td, th {{ border: 1px solid #bbb; padding: .3em .5em; vertical-align: top; text-align: left; }}
.meta {{ color: #555; font-size: .9em; }} .hash {{ font-family: monospace; font-size: .8em; word-break: break-all; }}
.cand {{ margin-bottom: .5em; }} .cand p {{ margin: .15em 0; }} .hit b {{ color: #a00; }} .why {{ font-size: .92em; }}
dl {{ display: grid; grid-template-columns: max-content 1fr; gap: .2em 1em; }} dt {{ font-weight: 600; }} dd {{ margin: 0; }}
@media print {{ body {{ margin: 0; max-width: none; }} tr, .cand {{ break-inside: avoid; }} }}
</style></head><body>
<h1>Screening record {e(rec.id)}</h1>
<dl>
<dt>Screened at</dt><dd>{e(rec.created_at.strftime('%Y-%m-%d %H:%M:%S UTC'))}</dd>
<dt>Analyst</dt><dd>{e(rec.analyst)}</dd>
<dt>Input</dt><dd>{e(str(inp.get('name')))} ({e(str(inp.get('format')))}, {inp.get('rows')} names) <span class="hash">SHA-256 {e(str(inp.get('sha256')))}</span></dd>
<dt>Threshold</dt><dd>{rec.threshold:.2f}{' · only ' + e(rec.type) if rec.type else ''}</dd>
<dt>Result</dt><dd>{hits} match{'es' if hits != 1 else ''} among {len(rec.results)} names, against {rec.entries} list entries</dd>
<dt>Record digest</dt><dd class="hash">{e(rec.digest)}</dd>
</dl>
<h2>Lists screened against</h2>
<table><tr><th>List</th><th>Published</th><th>Authority</th><th>Entries</th><th>Content hash</th><th>Files</th></tr>{lists}</table>
<h2>Names and hits</h2>
<table><tr><th>#</th><th>Name screened</th><th>Hits, why, and decisions</th></tr>{''.join(rows)}</table>
</body></html>
"""
