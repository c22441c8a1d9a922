"""What the `regbrief` commands print for people (scripts use --json, which prints the API's model)."""
from __future__ import annotations

import json
import sys
import textwrap


def emit(obj, as_json: bool, human) -> None:
    """Print `obj` as JSON (the API's model) with --json, else through `human`."""
    if not as_json:
        human(obj)
    elif hasattr(obj, "model_dump_json"):
        print(obj.model_dump_json(indent=2))
    else:
        print(json.dumps(obj, indent=2, default=str))


def ingest_report(r, quiet: bool) -> None:
    for f in r.files:
        if f.status == "failed":
            print(f"FAILED  {f.error}", file=sys.stderr)
        elif not quiet:
            print(f"{f.status:<9} {f.source} [{f.format}] +{f.added} ~{f.updated} -{f.removed} "
                  f"={f.unchanged} ({f.chunks} chunks)")
    t = r.totals()
    print(f"{t['files']} files: {t['added']} documents added, {t['updated']} updated, {t['removed']} removed, "
          f"{t['unchanged']} unchanged, {t['chunks']} chunks embedded, {t['failed']} failed")


def formats(rows: list[dict]) -> None:
    width = max(len(r["name"]) for r in rows)
    for r in rows:
        print(f"{r['name']:<{width}}  {' '.join(r['extensions'])}")
        print(textwrap.indent(textwrap.fill(r["description"], 96), "    "))
    print("\n`regbrief ingest` detects the format of each file; --format NAME forces one.")


def sources(s: dict, where: str) -> None:
    print(f"{s['documents']} documents, {s['chunks']} chunks in {where}")
    for f in s["formats"]:
        span = f"{f['first_date'] or '?'} .. {f['last_date'] or '?'}"
        print(f"  {f['format']:<20} {f['doc_type']:<11} {f['documents']:>7} docs {f['chunks']:>7} chunks  {span}")
    print("files:")
    for f in s["files"]:
        print(f"  {f['source']} [{f['format']}] {f['documents']} docs, ingested {f['ingested_at']}")


def removed(r: dict) -> None:
    print(f"removed {len(r['removed_documents'])} documents ({r['removed_chunks']} chunks)"
          + (f"; not found: {', '.join(r['not_found'])}" if r["not_found"] else ""))


def search_results(r) -> None:
    if not r.results:
        print("no passages found")
    for i, x in enumerate(r.results, 1):
        where = x.source + (f" p.{x.metadata['page']}" if "page" in x.metadata else "")
        print(f"[{i}] {x.score:.4f}  {x.title}  ({x.date or 'undated'}, {x.doc_type})")
        print(f"    {where}\n    chunk {x.chunk_id}")
        print(textwrap.indent(textwrap.shorten(x.text, 400), "    "))


def answer(a) -> None:
    print(a.answer)
    for n in a.notes:
        print(f"  note: {n}")
    if a.standalone_question:
        print(f"  (read as: {a.standalone_question})")
    for c in a.citations:
        where = c.url or c.source
        extra = ", ".join(x for x in [f"p. {c.page}" if c.page else "",
                                        f"uid {c.metadata['uid']}" if c.metadata.get("uid") else ""] if x)
        print(f"\n[{c.n}] {c.title} — {c.publisher or ''} {c.date or ''}")
        print(textwrap.indent(textwrap.fill(f'"{c.quote}"', 100), "    "))
        print(f"    {where}{' (' + extra + ')' if extra else ''}")
    if a.refused and a.closest:
        print("\nclosest passages:")
        for r in a.closest:
            print(f"  - {r.title} ({r.date or 'undated'}): {textwrap.shorten(r.text, 160)}")


def history_rows(rows: list[dict]) -> None:
    for r in rows:
        print(f"{r['id']}  {r['created_at'][:19]}  {r['kind']:<8} {r['backend']:<10} {r['subject']}")


def watch_entry(e: dict) -> None:
    print(f"watching {e['name']}" + (f" (aliases: {', '.join(e['aliases'])})" if e["aliases"] else "")
          + (f"; briefing {e['briefing_id']}" if e.get("briefing_id") else ""))


def watched(es: list[dict]) -> None:
    if not es:
        print("the watchlist is empty (regbrief watch add NAME)")
    for e in es:
        aka = f" (aka {', '.join(e['aliases'])})" if e["aliases"] else ""
        last = f"latest briefing {e['latest_briefing_id']} at {e['latest_briefing_at']}" \
            if e["latest_briefing_id"] else "no briefing yet"
        print(f"{e['name']}{aka}: {e['briefings']} briefings, {last}")


def _listing(list_name, programs, listed_on=None, effective=None, divestment=None) -> str:
    return ", ".join(x for x in [list_name or "", ", ".join(programs), f"listed {listed_on}" if listed_on else "",
                                 f"effective {effective}" if effective else "",
                                 f"divestment {divestment}" if divestment else ""] if x)


def screening(r, show_all: bool) -> None:
    lists = "; ".join(f"{x['list']}" + (f" published {x['published']}" if x.get("published") else "")
                      for x in getattr(r, "lists", []))
    if lists:
        print(f"lists screened: {lists}")
    for res in r.results:
        hits = [m for m in res.matches if m.match]
        print(f"{res.query}: {len(hits)} match{'es' if len(hits) != 1 else ''} at threshold {r.threshold:.2f}"
              f" ({r.entries} list entries screened)")
        for m in res.matches if show_all else hits or res.matches[:1]:
            facts = "; ".join(x for x in [m.list or "", ", ".join(m.programs),
                                          f"listed {m.listed_on}" if m.listed_on else "",
                                          "" if m.listed else "not sanctioned"] if x)
            print(f"  {'MATCH' if m.match else 'below'} {m.score:.2f}  {m.name}  ({facts})  [{m.entity_id}]")
            print(textwrap.indent(textwrap.fill(m.explanation, 96), "        "))
            if m.features:
                print(f"        weighed: {', '.join(m.features)}")


def screening_record(rec) -> None:
    from rag.entities.screenings import DECISIONS, current_decisions

    print(f"screening record {rec.id}, {rec.created_at:%Y-%m-%d %H:%M:%S} UTC, by {rec.analyst}")
    print(f"input: {rec.input.get('name')} ({rec.input.get('rows')} names), SHA-256 {rec.input.get('sha256')}")
    for v in rec.list_versions:
        print(f"list: {v.list}" + (f" published {v.published}" if v.published else "") + f", {v.entries} entries, "
              f"content {v.content_hash[:16]}, files: " + ", ".join(f["source"] for f in v.files))
    print(f"digest: {rec.digest}")
    screening(rec, False)
    for (i, entity), d in current_decisions(rec).items():
        print(f"decision on name {i + 1} / {entity}: {DECISIONS[d.decision]} by {d.analyst} at {d.created_at[:19]}"
              + (f": {d.note}" if d.note else ""))


def citation(c, indent: str = "      ") -> None:
    print(f"{indent}\"{c.quote}\"")
    print(f"{indent}— {c.title} ({c.date or 'undated'}), chunk {c.chunk_id} [{c.start}:{c.end}]")


def links(r) -> None:
    if not r.entities:
        print(f"no party named {r.query!r} in the relations or lists of the store")
    for e in r.entities:
        print(f"{e.name}  [{e.node_id}]{'  LISTED' if e.listed else ''}")
        if e.aliases:
            print(textwrap.indent(textwrap.fill("aliases: " + "; ".join(e.aliases[:12]), 96), "  "))
        for m in e.listings:
            print(f"  listing: {m.list} {', '.join(m.programs)}" + (f", listed {m.listed_on}" if m.listed_on else "")
                  + (f", effective {m.effective_date}" if m.effective_date else "")
                  + (f", divestment {m.divestment_date}" if m.divestment_date else ""))
    if r.relations:
        print(f"\n{len(r.relations)} cited relations:")
    for rel in r.relations:
        extra = ", ".join(x for x in [rel.role or "", f"{rel.percentage}%" if rel.percentage else "",
                                        f"from {rel.date}" if rel.date else ""] if x)
        print(f"  - [{rel.relation}] {rel.phrase}" + (f" ({extra})" if extra else ""))
        citation(rel.citation)


def exposure(r) -> None:
    print(f"{r.query}: {len(r.paths)} path{'s' if len(r.paths) != 1 else ''} to listed entities "
          f"(depth {r.depth}; from {', '.join(n.name for n in r.start) or 'nothing'})")
    for m in r.listed_start:
        print(f"  itself listed: {m.name} (" + _listing(m.list, m.programs, m.listed_on) + ")")
    for i, p in enumerate(r.paths, 1):
        print(f"\n[{i}] " + " -> ".join(n.name for n in p.nodes))
        for e in p.edges:
            when = " (" + " to ".join(x for x in [e.date or "?", e.end_date or ""] if x) + ")" if e.date or e.end_date else ""
            print(f"    {e.relation}{when}: {e.phrase}")
            citation(e.citation)
        end = p.end
        print(f"    ends at {end.name}: {end.list}, program {', '.join(end.programs) or '?'}"
              + (f", listed {end.listed_on}" if end.listed_on else "")
              + (f", effective {end.effective_date}" if end.effective_date else "")
              + (f", divestment {end.divestment_date}" if end.divestment_date else ""))
    for n in r.notes:
        print(f"note: {n}")
