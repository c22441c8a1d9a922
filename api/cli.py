"""The `regbrief` command line. Every command takes --json for scripts; the JSON is the API's model."""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import textwrap
from pathlib import Path

from rag.models import Filters


def _workspace(s: str) -> str:
    from rag.settings import check_workspace

    try:
        return check_workspace(s)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e))


def _date(s: str) -> dt.date:
    try:
        return dt.date.fromisoformat(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (use YYYY-MM-DD): {s!r}")


def _emit(obj, as_json: bool, human) -> None:
    if as_json:
        if hasattr(obj, "model_dump_json"):
            print(obj.model_dump_json(indent=2))
        else:
            print(json.dumps(obj, indent=2, default=str))
    else:
        human(obj)


def add_filter_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--type", dest="doc_type", action="append",
                   choices=["list_entry", "notice", "article", "regulation"], help="document type (repeatable)")
    p.add_argument("--source", help="only documents whose source path or URL contains this")
    p.add_argument("--jurisdiction", action="append", choices=["US", "EU", "UK", "UN"], help="repeatable")
    p.add_argument("--since", type=_date, help="only documents dated on or after (YYYY-MM-DD)")
    p.add_argument("--until", type=_date, help="only documents dated on or before (YYYY-MM-DD)")


def filters_from(args) -> Filters:
    until = args.until
    as_of = getattr(args, "as_of", None)
    if as_of and (until is None or as_of < until):
        until = as_of
    return Filters(doc_type=args.doc_type, source=args.source, jurisdiction=args.jurisdiction,
                   since=args.since, until=until)


# --- commands -------------------------------------------------------------------------------------

def cmd_ingest(rb, args) -> int:
    report = rb.ingestor.ingest(args.paths, fmt=args.format, progress=not args.quiet and not args.json)

    def human(r):
        for f in r.files:
            if f.status == "failed":
                print(f"FAILED  {f.error}", file=sys.stderr)
            elif not args.quiet:
                print(f"{f.status:<9} {f.source} [{f.format}] +{f.added} ~{f.updated} -{f.removed} "
                      f"={f.unchanged} ({f.chunks} chunks)")
        t = r.totals()
        print(f"{t['files']} files: {t['added']} documents added, {t['updated']} updated, {t['removed']} removed, "
              f"{t['unchanged']} unchanged, {t['chunks']} chunks embedded, {t['failed']} failed")

    _emit(report.to_dict(), args.json, lambda _: human(report))
    from rag.watchlist import refresh

    refresh(rb, report.changed_doc_ids, trigger="ingest")
    return 0 if report.ok else 1


def cmd_sources(rb, args) -> int:
    stats = rb.store.keyword.stats()

    def human(s):
        print(f"{s['documents']} documents, {s['chunks']} chunks in {rb.store.vectors.describe()}")
        for f in s["formats"]:
            span = f"{f['first_date'] or '?'} .. {f['last_date'] or '?'}"
            print(f"  {f['format']:<20} {f['doc_type']:<11} {f['documents']:>7} docs {f['chunks']:>7} chunks  {span}")
        print("files:")
        for f in s["files"]:
            print(f"  {f['source']} [{f['format']}] {f['documents']} docs, ingested {f['ingested_at']}")

    _emit(stats, args.json, human)
    return 0


def cmd_remove(rb, args) -> int:
    if not args.doc_ids and not args.source:
        print("remove: give document ids or --source PATH", file=sys.stderr)
        return 2
    res = rb.ingestor.remove(args.doc_ids, source=args.source)
    from rag.watchlist import refresh

    refresh(rb, res["removed_documents"], trigger="remove")
    _emit(res, args.json, lambda r: print(
        f"removed {len(r['removed_documents'])} documents ({r['removed_chunks']} chunks)"
        + (f"; not found: {', '.join(r['not_found'])}" if r["not_found"] else "")))
    return 0 if res["removed_documents"] else 1


def cmd_search(rb, args) -> int:
    resp = rb.retriever.search(args.query, k=args.k, filters=filters_from(args), mode=args.mode)

    def human(r):
        if not r.results:
            print("no passages found")
        for i, x in enumerate(r.results, 1):
            where = x.source + (f" p.{x.metadata['page']}" if "page" in x.metadata else "")
            print(f"[{i}] {x.score:.4f}  {x.title}  ({x.date or 'undated'}, {x.doc_type})")
            print(f"    {where}\n    chunk {x.chunk_id}")
            print(textwrap.indent(textwrap.shorten(x.text, 400), "    "))

    _emit(resp, args.json, human)
    return 0


def print_answer(a) -> None:
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


def cmd_ask(rb, args) -> int:
    a = rb.ask(args.question, filters_from(args), backend=args.backend, keep_unsupported=args.keep_unsupported)
    _emit(a, args.json, print_answer)
    return 0


def cmd_chat(rb, args) -> int:
    import uuid

    conversation = uuid.uuid4().hex[:12]
    print("regbrief chat: ask a question; follow-ups work. An empty line or Ctrl-D ends.")
    while True:
        try:
            q = input("\n> ").strip()
        except EOFError:
            break
        if not q:
            break
        a = rb.ask(q, filters_from(args), conversation_id=conversation, backend=args.backend)
        _emit(a, args.json, print_answer)
    return 0


def cmd_brief(rb, args) -> int:
    from rag.briefing import render

    b = rb.brief(args.entity, as_of=args.as_of, backend=args.backend)
    text = render(b, "json" if args.json else args.format)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"briefing {b.id} on {b.entity} (rating {b.rating}) written to {args.out}")
    else:
        print(text)
    return 0


def cmd_history(rb, args) -> int:
    rows = rb.history.list(kind=args.kind, limit=args.limit)
    _emit(rows, args.json, lambda rs: [print(f"{r['id']}  {r['created_at'][:19]}  {r['kind']:<8} {r['backend']:<10} "
                                             f"{r['subject']}") for r in rs])
    return 0


def cmd_show(rb, args) -> int:
    rec = rb.history.get(args.id)
    if not rec:
        print(f"show: no answer or briefing with id {args.id!r}", file=sys.stderr)
        return 1
    if args.json:
        print(rec["result"])
    elif rec["kind"] == "answer":
        from rag.models import Answer

        print_answer(Answer.model_validate_json(rec["result"]))
    else:
        from rag.briefing import render
        from rag.models import Briefing

        print(render(Briefing.model_validate_json(rec["result"]), "md"))
    return 0


def cmd_check(rb, args) -> int:
    rb.store.recover()
    res = rb.store.check()
    _emit(res, args.json, lambda r: print(json.dumps(r, indent=2)))
    return 0 if res["ok"] else 1


def cmd_serve(rb, args) -> int:
    """Serve the HTTP API and the chat page on an existing store."""
    import uvicorn

    from api.app import create_app

    print(f"regbrief serving on http://{args.host}:{args.port} (API docs at /docs)", file=sys.stderr)
    uvicorn.run(create_app(rb.settings), host=args.host, port=args.port, log_level=args.log_level)
    return 0


def cmd_watch(rb, args) -> int:
    """Watched entities get a fresh briefing whenever their evidence changes."""
    from rag import watchlist

    wl = watchlist.get_watchlist(rb.settings)
    if args.watch_command == "add":
        entry = wl.add(args.name, args.alias or [])
        if not args.no_brief:
            b = watchlist.regenerate(rb, wl, entry["name"], trigger="added")
            entry = {**wl.get(entry["name"]), "briefing_id": b.id}
        _emit(entry, args.json, lambda e: print(
            f"watching {e['name']}" + (f" (aliases: {', '.join(e['aliases'])})" if e["aliases"] else "")
            + (f"; briefing {e['briefing_id']}" if e.get("briefing_id") else "")))
        return 0
    if args.watch_command == "remove":
        ok = wl.remove(args.name)
        _emit({"removed": ok, "name": args.name}, args.json, lambda r: print(
            f"stopped watching {r['name']}" if r["removed"] else f"{r['name']} is not on the watchlist"))
        return 0 if ok else 1
    if args.watch_command == "refresh":
        names = [args.name] if args.name else [e["name"] for e in wl.list()]
        out = []
        for name in names:
            if wl.get(name) is None:
                print(f"{name} is not on the watchlist", file=sys.stderr)
                return 1
            b = watchlist.regenerate(rb, wl, wl.get(name)["name"], trigger="manual")
            out.append({"entity": b.entity, "briefing_id": b.id})
        _emit(out, args.json, lambda r: [print(f"{x['entity']}: briefing {x['briefing_id']}") for x in r])
        return 0
    entries = wl.list()

    def human(es):
        if not es:
            print("the watchlist is empty (regbrief watch add NAME)")
        for e in es:
            aka = f" (aka {', '.join(e['aliases'])})" if e["aliases"] else ""
            last = f"latest briefing {e['latest_briefing_id']} at {e['latest_briefing_at']}" \
                if e["latest_briefing_id"] else "no briefing yet"
            print(f"{e['name']}{aka}: {e['briefings']} briefings, {last}")

    _emit(entries, args.json, human)
    return 0


def cmd_screen(rb, args) -> int:
    from rag.screen import DEFAULT_THRESHOLD, screen

    names = list(args.names)
    if args.file:
        names += [ln.strip() for ln in Path(args.file).read_text(encoding="utf-8").splitlines() if ln.strip()]
    if not names:
        print("screen: give names, or --file with one name per line", file=sys.stderr)
        return 2
    threshold = DEFAULT_THRESHOLD if args.threshold is None else args.threshold
    resp = screen(rb, names, type=args.entity_type, threshold=threshold, limit=args.limit)

    def human(r):
        for res in r.results:
            hits = [m for m in res.matches if m.match]
            print(f"{res.query}: {len(hits)} match{'es' if len(hits) != 1 else ''} at threshold {r.threshold:.2f}"
                  f" ({r.entries} list entries screened)")
            for m in res.matches if args.all else hits or res.matches[:1]:
                facts = "; ".join(x for x in [m.list or "", ", ".join(m.programs),
                                              f"listed {m.listed_on}" if m.listed_on else "",
                                              "" if m.listed else "not sanctioned"] if x)
                print(f"  {'MATCH' if m.match else 'below'} {m.score:.2f}  {m.name}  ({facts})  [{m.entity_id}]")
                print(textwrap.indent(textwrap.fill(m.explanation, 96), "        "))

    _emit(resp, args.json, human)
    return 0 if any(m.match for r in resp.results for m in r.matches) else 1


def _print_citation(c, indent: str = "      ") -> None:
    print(f"{indent}\"{c.quote}\"")
    print(f"{indent}— {c.title} ({c.date or 'undated'}), chunk {c.chunk_id} [{c.start}:{c.end}]")


def cmd_links(rb, args) -> int:
    from rag.links import links

    res = links(rb, args.entity)

    def human(r):
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
            _print_citation(rel.citation)

    _emit(res, args.json, human)
    return 0 if res.entities else 1


def cmd_exposure(rb, args) -> int:
    from rag.links import exposure

    res = exposure(rb, args.entity, depth=args.depth, max_paths=args.max_paths, relations=args.relation)

    def human(r):
        print(f"{r.query}: {len(r.paths)} path{'s' if len(r.paths) != 1 else ''} to listed entities "
              f"(depth {r.depth}; from {', '.join(n.name for n in r.start) or 'nothing'})")
        for m in r.listed_start:
            print(f"  itself listed: {m.name} (" + ", ".join(x for x in [m.list or "", ", ".join(m.programs),
                                                                     f"listed {m.listed_on}" if m.listed_on else ""] if x) + ")")
        for i, p in enumerate(r.paths, 1):
            print(f"\n[{i}] " + " -> ".join(n.name for n in p.nodes))
            for e in p.edges:
                when = " (" + " to ".join(x for x in [e.date or "?", e.end_date or ""] if x) + ")" if e.date or e.end_date else ""
                print(f"    {e.relation}{when}: {e.phrase}")
                _print_citation(e.citation)
            end = p.end
            print(f"    ends at {end.name}: {end.list}, program {', '.join(end.programs) or '?'}"
                  + (f", listed {end.listed_on}" if end.listed_on else "")
                  + (f", effective {end.effective_date}" if end.effective_date else "")
                  + (f", divestment {end.divestment_date}" if end.divestment_date else ""))
        for n in r.notes:
            print(f"note: {n}")

    _emit(res, args.json, human)
    return 0


def cmd_eval(rb, args) -> int:
    """Run an evaluation suite; the report goes to eval/reports/<timestamp>/ (see eval/)."""
    from eval.__main__ import run_and_report

    return run_and_report(args.suite, backend=args.backend, limit=args.limit, base_settings=rb.settings,
                          gate=args.suite == "gate", as_json=args.json)


def cmd_backup(rb, args) -> int:
    """A consistent archive of the data directory, safe while the service runs (see api/backup.py)."""
    from api.backup import backup

    manifest = backup(rb.settings, Path(args.file))
    _emit(manifest, args.json, lambda m: print(f"backup written to {args.file}: " + ", ".join(
        f"{h['prefix'] or 'default'} {h['chunks']} chunks" for h in m["homes"])))
    return 0


def cmd_restore(rb, args) -> int:
    """Restore a backup archive into an empty data directory (REGBRIEF_HOME)."""
    from api.backup import restore

    try:
        manifest = restore(rb.settings, Path(args.file))
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    _emit(manifest, args.json, lambda m: print(f"restored {args.file} into {rb.settings.home}"))
    return 0


# --- parser ---------------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="regbrief", description="Cited answers and risk briefings from sanctions data.")
    sub = p.add_subparsers(dest="command", required=True)

    def command(name, fn, help, scoped=True):
        sp = sub.add_parser(name, help=help, description=help)
        sp.add_argument("--json", action="store_true", help="print JSON (the API's model) for scripts")
        if scoped:  # serve, backup and restore cover every workspace
            sp.add_argument("--workspace", type=_workspace, default=os.environ.get("REGBRIEF_WORKSPACE", "default"),
                            help="the workspace to use (default: REGBRIEF_WORKSPACE or 'default'); the API "
                                 "serves it to keys given as KEY:WORKSPACE")
        sp.set_defaults(fn=fn)
        return sp

    sp = command("ingest", cmd_ingest, "ingest files or folders into the store")
    sp.add_argument("paths", nargs="+")
    sp.add_argument("--format", help="force a format (see `regbrief formats`)")
    sp.add_argument("--quiet", "-q", action="store_true", help="no progress bars or per-file lines")

    command("sources", cmd_sources, "what is in the store: documents, chunks, formats, dates")

    sp = command("remove", cmd_remove, "remove documents by id, or all documents of a source file")
    sp.add_argument("doc_ids", nargs="*")
    sp.add_argument("--source", help="path of an ingested file")

    sp = command("search", cmd_search, "ranked passages for a query")
    sp.add_argument("query")
    sp.add_argument("--k", type=int, default=10)
    sp.add_argument("--mode", choices=["hybrid", "dense", "keyword"], default="hybrid")
    add_filter_args(sp)

    def answer_args(sp):
        add_filter_args(sp)
        sp.add_argument("--as-of", type=_date, help="only documents published on or before this date")
        sp.add_argument("--backend", choices=["extractive", "openai", "llamacpp"],
                        help="answering backend (default: REGBRIEF_LLM or extractive)")

    sp = command("ask", cmd_ask, "a cited, verified answer to a question")
    sp.add_argument("question")
    sp.add_argument("--keep-unsupported", action="store_true", help="keep and mark sentences the verifier rejects")
    answer_args(sp)

    sp = command("chat", cmd_chat, "a terminal conversation; follow-up questions work")
    answer_args(sp)

    sp = command("brief", cmd_brief, "a cited risk briefing on an entity")
    sp.add_argument("entity")
    sp.add_argument("--as-of", type=_date)
    sp.add_argument("--format", choices=["md", "html", "json"], default="md")
    sp.add_argument("--out", help="write to this file")
    sp.add_argument("--backend", choices=["extractive", "openai", "llamacpp"])

    sp = command("history", cmd_history, "the audit trail: past answers and briefings")
    sp.add_argument("--kind", choices=["answer", "briefing"])
    sp.add_argument("--limit", type=int, default=20)

    sp = command("show", cmd_show, "reprint a past answer or briefing exactly")
    sp.add_argument("id")

    sp = command("backup", cmd_backup, "write a consistent backup archive (.tar.gz) of the store, while it serves",
                 scoped=False)
    sp.add_argument("file")
    sp = command("restore", cmd_restore, "restore a backup archive into an empty data directory", scoped=False)
    sp.add_argument("file")

    command("check", cmd_check, "check that the store is consistent (and finish interrupted writes)")

    sp = command("eval", cmd_eval, "run the evaluation suite and write a report under eval/reports/")
    sp.add_argument("--suite", choices=["facts", "injection", "retrieval", "briefings", "gate", "all"], default="all")
    sp.add_argument("--backend", choices=["extractive", "openai", "llamacpp"],
                    help="answering backend (default: REGBRIEF_LLM or extractive)")
    sp.add_argument("--limit", type=int, help="only the first N cases of each dataset (by id)")

    sp = command("serve", cmd_serve, "serve the HTTP API and the web chat page (uvicorn)", scoped=False)
    sp.add_argument("--host", default="127.0.0.1")
    sp.add_argument("--port", type=int, default=8000)
    sp.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])

    sp = command("watch", cmd_watch, "watched entities: briefings regenerate when their evidence changes")
    wsub = sp.add_subparsers(dest="watch_command", required=True)
    wp = wsub.add_parser("add", help="watch an entity (and build its first briefing)")
    wp.add_argument("name")
    wp.add_argument("--alias", action="append", help="another name it goes by (repeatable)")
    wp.add_argument("--no-brief", action="store_true", help="do not build a first briefing now")
    wsub.add_parser("list", help="watched entities and their latest briefings")
    wp = wsub.add_parser("remove", help="stop watching an entity (its briefings stay in the history)")
    wp.add_argument("name")
    wp = wsub.add_parser("refresh", help="build fresh briefings now (all watched entities, or NAME)")
    wp.add_argument("name", nargs="?")
    for wp in wsub.choices.values():  # `watch list --json` as well as `watch --json list`
        wp.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON")

    sp = command("screen", cmd_screen, "screen names against every list entry in the store")
    sp.add_argument("names", nargs="*")
    sp.add_argument("--file", help="a file with one name per line")
    sp.add_argument("--type", dest="entity_type", choices=["company", "person"], help="only companies or persons")
    sp.add_argument("--threshold", type=float, help="match threshold in [0, 1] (default rag.screen.DEFAULT_THRESHOLD)")
    sp.add_argument("--limit", type=int, default=10, help="candidates shown per name")
    sp.add_argument("--all", action="store_true", help="show candidates below the threshold too")

    sp = command("links", cmd_links, "an entity's names, listings and cited relations")
    sp.add_argument("entity")

    sp = command("exposure", cmd_exposure, "cited paths from an entity to listed entities")
    sp.add_argument("entity")
    sp.add_argument("--depth", type=int, default=3, help="longest path, in relations (default 3)")
    sp.add_argument("--max-paths", type=int, default=50)
    sp.add_argument("--relation", action="append", help="only these relation types (repeatable): ownership, "
                    "supplier, customer, partner, director, ...")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from rag.service import Regbrief
    from rag.settings import get_settings
    from rag.store import StoreUnavailable

    try:
        return args.fn(Regbrief(get_settings().for_workspace(getattr(args, "workspace", "default"))), args) or 0
    except StoreUnavailable as e:
        print(f"error: {e}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
