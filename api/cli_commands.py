"""The commands of `regbrief`: each calls one Regbrief method (rag/service.py) and prints its result
(api/cli_output.py); api/cli.py parses the command line and dispatches here."""
from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path

from api import cli_output as out
from api.cli_output import emit
from api.cli_args import filters_from

def cmd_ingest(rb, args) -> int:
    report = rb.ingest(args.paths, fmt=args.format, progress=not args.quiet and not args.json)
    emit(report.to_dict(), args.json, lambda _: out.ingest_report(report, args.quiet))
    return 0 if report.ok else 1


def _first_sentence(doc: str) -> str:
    """A format module's docstring's first sentence, up to its first example when that is long."""
    text = " ".join(doc.strip().split("\n\n")[0].split()).split(". ")[0]
    if len(text) > 100:
        text = text[:min((i for i in (text.find("`"), text.find(": ")) if i > 0), default=len(text))]
    return text.rstrip(" .:,(")


def cmd_formats(rb, args) -> int:
    """The source formats `ingest` reads (ingest/formats), in the order detection tries them."""
    from ingest.formats import formats

    rows = [{"name": m.NAME, "extensions": list(m.EXTENSIONS), "description": _first_sentence(m.__doc__ or "")}
            for m in formats().values()]
    emit({"formats": rows}, args.json, lambda r: out.formats(r["formats"]))
    return 0


def cmd_sources(rb, args) -> int:
    emit(rb.sources(), args.json, lambda s: out.sources(s, rb.store.describe()))
    return 0


def cmd_remove(rb, args) -> int:
    if not args.doc_ids and not args.source:
        print("remove: give document ids or --source PATH", file=sys.stderr)
        return 2
    res = rb.remove(args.doc_ids, source=args.source)
    emit(res, args.json, out.removed)
    return 0 if res["removed_documents"] else 1


def cmd_search(rb, args) -> int:
    emit(rb.search(args.query, k=args.k, filters=filters_from(args), mode=args.mode), args.json, out.search_results)
    return 0


def cmd_ask(rb, args) -> int:
    # An answer from an empty store would only ever be "the sources do not say": say what is wrong instead.
    missing = not rb.settings.database_url and not rb.settings.db_path.exists()
    if missing or rb.store.count_documents() == 0:
        where = "no store" if missing else "an empty store"
        print(f"ask: {where} at {rb.settings.home} (workspace {getattr(args, 'workspace', 'default')}): there are "
              f"no documents to answer from. Ingest some first: regbrief ingest PATH", file=sys.stderr)
        return 3
    a = rb.ask(args.question, filters_from(args), backend=args.backend, keep_unsupported=args.keep_unsupported)
    emit(a, args.json, out.answer)
    return 0


def cmd_chat(rb, args) -> int:
    conversation = uuid.uuid4().hex[:12]
    print("regbrief chat: ask a question; follow-ups work. An empty line or Ctrl-D ends.")
    while True:
        try:
            q = input("\n> ").strip()
        except EOFError:
            break
        if not q:
            break
        emit(rb.ask(q, filters_from(args), conversation_id=conversation, backend=args.backend), args.json, out.answer)
    return 0


def cmd_brief(rb, args) -> int:
    from rag.briefing import render

    if args.format == "pdf" and not args.out:
        print("brief: --format pdf needs --out FILE", file=sys.stderr)
        return 2
    b = rb.brief(args.entity, as_of=args.as_of, backend=args.backend)
    if args.format == "pdf" and not args.json:
        from rag.briefing import render_pdf

        try:
            Path(args.out).write_bytes(render_pdf(b))
        except RuntimeError as e:
            print(f"brief: {e}", file=sys.stderr)
            return 2
        print(f"briefing {b.id} on {b.entity} (rating {b.rating}) written to {args.out}")
        return 0
    text = render(b, "json" if args.json else args.format)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"briefing {b.id} on {b.entity} (rating {b.rating}) written to {args.out}")
    else:
        print(text)
    return 0


def cmd_compare(rb, args) -> int:
    from rag.briefing.compare import DifferentSubjects, render_comparison

    try:
        c = rb.compare_briefings(args.old_id, args.new_id)
    except KeyError as e:
        print(f"compare: no briefing with id {e.args[0]!r}", file=sys.stderr)
        return 1
    except DifferentSubjects as e:
        print(f"compare: {e}", file=sys.stderr)
        return 2
    print(c.model_dump_json(indent=2) if args.json else render_comparison(c), end="" if not args.json else "\n")
    return 0


def cmd_history(rb, args) -> int:
    emit(rb.past(kind=args.kind, limit=args.limit), args.json, out.history_rows)
    return 0


def cmd_show(rb, args) -> int:
    from rag.briefing import render
    from rag.core.models import Answer, Briefing

    rec = rb.show(args.id)
    if not rec:
        print(f"show: no answer or briefing with id {args.id!r}", file=sys.stderr)
        return 1
    if args.json:
        print(rec["result"])
    elif rec["kind"] == "answer":
        out.answer(Answer.model_validate_json(rec["result"]))
    elif rec["kind"] == "screening":
        return cmd_screening(rb, type("Args", (), {"screening_command": "show", "id": args.id, "json": False,
                                                   "format": "text"})())
    else:
        print(render(Briefing.model_validate_json(rec["result"]), "md"))
    return 0


def cmd_check(rb, args) -> int:
    res = rb.check()
    emit(res, args.json, lambda r: print(json.dumps(r, indent=2)))
    return 0 if res["ok"] else 1


def cmd_reembed(rb, args) -> int:
    """Convert the store's vectors to the configured embedding model and backend (crash-safe; re-run to resume)."""
    res = rb.reembed()
    emit(res, args.json, lambda r: print(
        f"store re-embedded with {r['signature']}: {r['reembedded']} chunks" if r["changed"]
        else f"the store's vectors are already from {r['signature']}: nothing to do"))
    return 0


def cmd_serve(rb, args) -> int:
    """Serve the HTTP API, the chat page and MCP over HTTP (/mcp) on an existing store."""
    import uvicorn

    from api.app import create_app

    print(f"regbrief serving on http://{args.host}:{args.port} (API docs at /docs)", file=sys.stderr)
    uvicorn.run(create_app(rb.settings), host=args.host, port=args.port, log_level=args.log_level)
    return 0


def cmd_mcp(rb, args) -> int:
    """Serve the MCP tools over stdin/stdout for one workspace (for MCP clients that start a process)."""
    from api.mcp_server import stdio_server

    stdio_server(rb).run("stdio")
    return 0


def cmd_watch(rb, args) -> int:
    """Watched entities get a fresh briefing whenever their evidence changes."""
    if args.watch_command == "add":
        emit(rb.watch(args.name, args.alias or [], brief=not args.no_brief), args.json, out.watch_entry)
        return 0
    if args.watch_command == "remove":
        ok = rb.unwatch(args.name)
        emit({"removed": ok, "name": args.name}, args.json, lambda r: print(
            f"stopped watching {r['name']}" if r["removed"] else f"{r['name']} is not on the watchlist"))
        return 0 if ok else 1
    if args.watch_command == "refresh":
        try:
            done = rb.refresh_watched(args.name)
        except KeyError as e:
            print(e.args[0], file=sys.stderr)
            return 1
        emit(done, args.json, lambda r: [print(f"{x['entity']}: briefing {x['briefing_id']}") for x in r])
        return 0
    emit(rb.watched(), args.json, out.watched)
    return 0


def cmd_screen(rb, args) -> int:
    from rag.entities.screen import screen_queries

    if args.file:  # a file is screened as a record kept in the audit trail (`regbrief screening show ID`)
        return _screen_file(rb, args)
    try:
        names = screen_queries(args.names, "", args.schema, args.birth_date, args.country, args.identifier)
    except ValueError as e:
        print(f"screen: {e}", file=sys.stderr)
        return 2
    if not names:
        print("screen: give names, or --file with a CSV (name, type, birth_date, country, identifiers columns) "
              "or one name per line", file=sys.stderr)
        return 2
    resp = rb.screen(names, type=args.entity_type, threshold=args.threshold, limit=args.limit)
    emit(resp, args.json, lambda r: out.screening(r, args.all))
    return 0 if any(m.match for r in resp.results for m in r.matches) else 1


def _screen_file(rb, args) -> int:
    import getpass

    from rag.entities.screen import schema_type
    from rag.entities.screenings import NamesFileError, parse_names_file

    path = Path(args.file)
    try:
        names = parse_names_file(path.name, path.read_bytes())
        if args.names:
            print("screen: give names or --file, not both", file=sys.stderr)
            return 2
        schema_type(args.schema)
    except OSError as e:
        print(f"screen: {path.name}: {e.strerror}", file=sys.stderr)
        return 2
    except (NamesFileError, ValueError) as e:
        print(f"screen: {e}", file=sys.stderr)
        return 2
    for q in names.queries:  # the options fill in what the file's rows leave out
        q.schema_ = q.schema_ or args.schema
        q.birth_date = q.birth_date or args.birth_date
        q.country = q.country or args.country
        q.identifiers = q.identifiers or list(args.identifier)
    rec = rb.screen_file(names, type=args.entity_type, threshold=args.threshold, limit=args.limit,
                         analyst=f"cli:{getpass.getuser()}")
    emit(rec, args.json, lambda r: (out.screening(r, args.all),
                                    print(f"screening record {r.id} (regbrief screening show {r.id})")))
    return 0 if any(m.match for r in rec.results for m in r.matches) else 1


def cmd_screening(rb, args) -> int:
    """`screening show ID [--format json|csv|html]`, `screening list`, `screening decide ID N ENTITY DECISION`."""
    import getpass

    from rag.entities.screenings import to_csv, to_html

    if args.screening_command == "list":
        rows = rb.past(kind="screening", limit=args.limit)
        emit(rows, args.json, lambda r: [print(f"{x['id']}  {x['created_at'][:19]}  {x['subject']}") for x in r])
        return 0
    if args.screening_command == "decide":
        try:
            d = rb.decide(args.id, args.query - 1, args.entity, args.decision.replace("-", "_"), args.note or "",
                          analyst=f"cli:{getpass.getuser()}")
        except (KeyError, ValueError) as e:
            print(f"screening decide: {e.args[0]}", file=sys.stderr)
            return 1
        emit(d, args.json, lambda x: print(f"recorded: {x.decision} on {x.entity_id} (name {x.query_index + 1}) "
                                           f"by {x.analyst}"))
        return 0
    rec = rb.screening(args.id)
    if rec is None:
        print(f"screening show: no screening with id {args.id!r}", file=sys.stderr)
        return 1
    fmt = "json" if args.json else args.format
    if fmt == "json":
        print(rec.model_dump_json(indent=2, by_alias=True))
    elif fmt == "csv":
        sys.stdout.write(to_csv(rec))
    elif fmt == "html":
        sys.stdout.write(to_html(rec))
    else:
        out.screening_record(rec)
    return 0


def cmd_links(rb, args) -> int:
    res = rb.links(args.entity)
    emit(res, args.json, out.links)
    return 0 if res.entities else 1


def cmd_exposure(rb, args) -> int:
    emit(rb.exposure(args.entity, depth=args.depth, max_paths=args.max_paths, relations=args.relation),
         args.json, out.exposure)
    return 0


def cmd_eval(rb, args) -> int:
    """Run an evaluation suite; the report goes to eval/reports/<timestamp>/ (see eval/)."""
    from eval.__main__ import run_and_report

    return run_and_report(args.suite, backend=args.backend, limit=args.limit, base_settings=rb.settings,
                          gate=args.suite == "gate", as_json=args.json)


def cmd_backup(rb, args) -> int:
    """A consistent archive of the data directory, safe while the service runs."""
    try:
        manifest = rb.backup(Path(args.file))
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    emit(manifest, args.json, lambda m: print(f"backup written to {args.file}: " + ", ".join(
        f"{h['prefix'] or 'default'} {h['chunks']} chunks" for h in m["homes"])))
    return 0


def cmd_restore(rb, args) -> int:
    """Restore a backup archive into an empty data directory (REGBRIEF_HOME)."""
    try:
        manifest = rb.restore(Path(args.file))
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    emit(manifest, args.json, lambda m: print(f"restored {args.file} into {rb.settings.home}"))
    return 0
