"""The `regbrief` command line. Every command takes --json for scripts; the JSON is the API's model."""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import uuid
from pathlib import Path

from api import cli_output as out
from api.cli_feeds import feed_commands
from api.cli_output import emit
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
    try:
        return Filters(doc_type=args.doc_type, source=args.source, jurisdiction=args.jurisdiction,
                       since=args.since, until=until)
    except ValueError as e:  # an inverted date range: name the options, exit 2 as argparse does
        msg = e.errors()[0]["msg"].removeprefix("Value error, ") if hasattr(e, "errors") else str(e)
        print(f"regbrief: error: --since/--until: {msg}", file=sys.stderr)
        raise SystemExit(2)


# --- commands: each calls one Regbrief method and prints its result (api/cli_output.py) -------------

def cmd_ingest(rb, args) -> int:
    report = rb.ingest(args.paths, fmt=args.format, progress=not args.quiet and not args.json)
    emit(report.to_dict(), args.json, lambda _: out.ingest_report(report, args.quiet))
    return 0 if report.ok else 1


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

    b = rb.brief(args.entity, as_of=args.as_of, backend=args.backend)
    text = render(b, "json" if args.json else args.format)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"briefing {b.id} on {b.entity} (rating {b.rating}) written to {args.out}")
    else:
        print(text)
    return 0


def cmd_history(rb, args) -> int:
    emit(rb.past(kind=args.kind, limit=args.limit), args.json, out.history_rows)
    return 0


def cmd_show(rb, args) -> int:
    from rag.briefing import render
    from rag.models import Answer, Briefing

    rec = rb.show(args.id)
    if not rec:
        print(f"show: no answer or briefing with id {args.id!r}", file=sys.stderr)
        return 1
    if args.json:
        print(rec["result"])
    elif rec["kind"] == "answer":
        out.answer(Answer.model_validate_json(rec["result"]))
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
    names = list(args.names)
    if args.file:
        names += [ln.strip() for ln in Path(args.file).read_text(encoding="utf-8").splitlines() if ln.strip()]
    if not names:
        print("screen: give names, or --file with one name per line", file=sys.stderr)
        return 2
    resp = rb.screen(names, type=args.entity_type, threshold=args.threshold, limit=args.limit)
    emit(resp, args.json, lambda r: out.screening(r, args.all))
    return 0 if any(m.match for r in resp.results for m in r.matches) else 1


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

    _document_commands(command)
    _question_commands(command)
    _entity_commands(command)
    _service_commands(command)
    feed_commands(command)
    return p


def _document_commands(command) -> None:
    sp = command("ingest", cmd_ingest, "ingest files or folders into the store")
    sp.add_argument("paths", nargs="+")
    sp.add_argument("--format", help="force a format (see `regbrief formats`)")
    sp.add_argument("--quiet", "-q", action="store_true", help="no progress bars or per-file lines")

    command("sources", cmd_sources, "what is in the store: documents, chunks, formats, dates")

    sp = command("remove", cmd_remove, "remove documents by id, or all documents of a source file")
    sp.add_argument("doc_ids", nargs="*")
    sp.add_argument("--source", help="path of an ingested file")


def _question_commands(command) -> None:
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


def _entity_commands(command) -> None:
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


def _service_commands(command) -> None:
    sp = command("backup", cmd_backup, "write a consistent backup archive (.tar.gz) of the store, while it serves",
                 scoped=False)
    sp.add_argument("file")
    sp = command("restore", cmd_restore, "restore a backup archive into an empty data directory", scoped=False)
    sp.add_argument("file")

    command("check", cmd_check, "check that the store is consistent (and finish interrupted writes)")
    command("reembed", cmd_reembed, "re-embed the store with the configured model and backend "
            "(REGBRIEF_EMBEDDING_BACKEND); crash-safe, re-run to resume")

    sp = command("eval", cmd_eval, "run the evaluation suite and write a report under eval/reports/")
    sp.add_argument("--suite", choices=["facts", "injection", "retrieval", "briefings", "gate", "all"], default="all")
    sp.add_argument("--backend", choices=["extractive", "openai", "llamacpp"],
                    help="answering backend (default: REGBRIEF_LLM or extractive)")
    sp.add_argument("--limit", type=int, help="only the first N cases of each dataset (by id)")

    sp = command("serve", cmd_serve, "serve the HTTP API and the web chat page (uvicorn)", scoped=False)
    sp.add_argument("--host", default="127.0.0.1")
    sp.add_argument("--port", type=int, default=8000)
    sp.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])

    command("mcp", cmd_mcp, "serve the MCP tools (search, ask, brief, screen, exposure) over stdio")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from rag.service import Regbrief
    from rag.settings import get_settings
    from rag.store import SchemaTooNew, StoreUnavailable

    try:
        return args.fn(Regbrief(get_settings().for_workspace(getattr(args, "workspace", "default"))), args) or 0
    except (StoreUnavailable, SchemaTooNew) as e:
        print(f"error: {e}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
