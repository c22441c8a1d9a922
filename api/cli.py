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


class HelpFormatter(argparse.HelpFormatter):
    """Every option's help ends with its real default (argparse's %(default)s), unless it has none."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "%(default)" in text or "default:" in text or action.default in (None, False, [], argparse.SUPPRESS):
            return text
        return f"{text} (default: %(default)s)"


class Deferred:
    """A default shown in --help that is only worked out when the help is printed (an import or the settings)."""

    def __init__(self, fn):
        self.fn = fn

    def __str__(self) -> str:
        return str(self.fn())


def shown_default(action: argparse.Action, fn) -> argparse.Action:
    """`--help` shows `fn()` as the option's default, while the option itself stays None (the library picks)."""
    action.real_default = Deferred(fn)
    action.help = f"{action.help} (default: %(real_default)s)"
    return action


def _setting(name: str):
    from rag.settings import get_settings

    return lambda: getattr(get_settings(), name)


def _threshold():
    from rag.screen import DEFAULT_THRESHOLD

    return DEFAULT_THRESHOLD


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
    p.add_argument("--source", help="only documents whose source (file name, list, publisher or URL) contains this")
    p.add_argument("--jurisdiction", action="append", choices=["US", "EU", "UK", "UN"],
                   help="only documents of this jurisdiction (repeatable)")
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
    from rag.screen import screen_queries

    try:
        names = screen_queries(args.names, Path(args.file).read_text(encoding="utf-8") if args.file else "",
                               args.schema, args.birth_date, args.country, args.identifier)
    except ValueError as e:
        print(f"screen: {e}", file=sys.stderr)
        return 2
    if not names:
        print("screen: give names, or --file with one name (or JSON query) per line", file=sys.stderr)
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
    p = argparse.ArgumentParser(prog="regbrief", description="Cited answers and risk briefings from sanctions data.",
                                formatter_class=HelpFormatter)
    p.add_argument("--verbose", "-v", action="store_true",
                   help="show what the libraries print while loading models (progress bars, warnings, logs)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name, fn, help, scoped=True, needs_store=True):
        sp = sub.add_parser(name, help=help, description=help, formatter_class=HelpFormatter)
        sp.add_argument("--json", action="store_true", help="print JSON (the API's model) for scripts")
        sp.add_argument("--verbose", "-v", action="store_true", default=argparse.SUPPRESS,
                        help="show what the libraries print while loading models (progress bars, warnings, logs)")
        if scoped:  # serve, backup and restore cover every workspace
            sp.add_argument("--workspace", type=_workspace, default=os.environ.get("REGBRIEF_WORKSPACE", "default"),
                            help="the workspace to use (REGBRIEF_WORKSPACE sets the default); the API "
                                 "serves it to keys given as KEY:WORKSPACE")
        sp.set_defaults(fn=fn, needs_store=needs_store)
        return sp

    _document_commands(command)
    _question_commands(command)
    _entity_commands(command)
    _service_commands(command)
    feed_commands(command)
    _every_parser(p, lambda parser: setattr(parser, "formatter_class", HelpFormatter))
    return p


def _every_parser(p: argparse.ArgumentParser, fn) -> None:
    fn(p)
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sp in action.choices.values():
                _every_parser(sp, fn)


def _document_commands(command) -> None:
    sp = command("ingest", cmd_ingest, "ingest files or folders into the store")
    sp.add_argument("paths", nargs="+", help="files or folders (folders are read recursively)")
    sp.add_argument("--format", help="force a format (see `regbrief formats`); default: detected per file")
    sp.add_argument("--quiet", "-q", action="store_true", help="no progress bars or per-file lines")

    command("sources", cmd_sources, "what is in the store: documents, chunks, formats, dates")
    command("formats", cmd_formats, "the source formats `ingest` reads, with their usual file extensions",
            scoped=False, needs_store=False)

    sp = command("remove", cmd_remove, "remove documents by id, or all documents of a source file")
    sp.add_argument("doc_ids", nargs="*", help="document ids (as `search` and `sources` show them)")
    sp.add_argument("--source", help="an ingested file, as `regbrief sources` lists it")


def backend_arg(sp: argparse.ArgumentParser) -> None:
    shown_default(sp.add_argument("--backend", choices=["extractive", "openai", "llamacpp"],
                                  help="answering backend (REGBRIEF_LLM sets the default)"), _setting("llm"))


def _question_commands(command) -> None:
    sp = command("search", cmd_search, "ranked passages for a query")
    sp.add_argument("query", help="words or a question")
    sp.add_argument("--k", type=int, default=10, help="passages to return")
    sp.add_argument("--mode", choices=["hybrid", "dense", "keyword"], default="hybrid",
                    help="dense (embeddings), keyword (BM25) or both fused")
    add_filter_args(sp)

    def answer_args(sp):
        add_filter_args(sp)
        sp.add_argument("--as-of", type=_date, help="only documents published on or before this date (YYYY-MM-DD)")
        backend_arg(sp)

    sp = command("ask", cmd_ask, "a cited, verified answer to a question")
    sp.add_argument("question", help="the question, in quotes")
    sp.add_argument("--keep-unsupported", action="store_true", help="keep and mark sentences the verifier rejects")
    answer_args(sp)

    sp = command("chat", cmd_chat, "a terminal conversation; follow-up questions work")
    answer_args(sp)

    sp = command("brief", cmd_brief, "a cited risk briefing on an entity")
    sp.add_argument("entity", help="a company's or person's name")
    sp.add_argument("--as-of", type=_date, help="the briefing as of this date: later documents are left out (YYYY-MM-DD)")
    sp.add_argument("--format", choices=["md", "html", "json", "pdf"], default="md",
                    help="Markdown, HTML, JSON or PDF (PDF needs --out and WeasyPrint: pip install 'regbrief[pdf]')")
    sp.add_argument("--out", help="write to this file; default: print it")
    backend_arg(sp)

    sp = command("history", cmd_history, "the audit trail: past answers and briefings")
    sp.add_argument("--kind", choices=["answer", "briefing"], help="only answers or only briefings; default: both")
    sp.add_argument("--limit", type=int, default=20, help="newest first, this many")

    sp = command("show", cmd_show, "reprint a past answer or briefing exactly")
    sp.add_argument("id", help="an answer's or briefing's id (see `regbrief history`)")


def _entity_commands(command) -> None:
    sp = command("watch", cmd_watch, "watched entities: briefings regenerate when their evidence changes")
    wsub = sp.add_subparsers(dest="watch_command", required=True)
    wp = wsub.add_parser("add", help="watch an entity (and build its first briefing)")
    wp.add_argument("name", help="the entity's name")
    wp.add_argument("--alias", action="append", help="another name it goes by (repeatable)")
    wp.add_argument("--no-brief", action="store_true", help="do not build a first briefing now")
    wsub.add_parser("list", help="watched entities and their latest briefings")
    wp = wsub.add_parser("remove", help="stop watching an entity (its briefings stay in the history)")
    wp.add_argument("name", help="the watched entity's name")
    wp = wsub.add_parser("refresh", help="build fresh briefings now (all watched entities, or NAME)")
    wp.add_argument("name", nargs="?", help="one watched entity; default: all of them")
    for wp in wsub.choices.values():  # `watch list --json` as well as `watch --json list`
        wp.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON")

    sp = command("screen", cmd_screen, "screen names against every list entry in the store")
    sp.add_argument("names", nargs="*", help="names to screen (quote names with spaces)")
    sp.add_argument("--file", help="a file with one name per line")
    sp.add_argument("--type", dest="entity_type", choices=["company", "person"], help="only companies or persons")
    shown_default(sp.add_argument("--threshold", type=float, help="match threshold in [0, 1]"), _threshold)
    sp.add_argument("--limit", type=int, default=10, help="candidates shown per name")
    sp.add_argument("--all", action="store_true", help="show candidates below the threshold too")
    sp.add_argument("--schema", help="what the names are: person, company, organization, vessel, aircraft")
    sp.add_argument("--birth-date", help="birth date of the person named (YYYY-MM-DD, YYYY-MM or YYYY)")
    sp.add_argument("--country", help="country of the party named (a name or ISO code)")
    sp.add_argument("--id", dest="identifier", action="append", default=[],
                    help="an identifier of the party (registration number, passport, IMO ...); repeatable")

    sp = command("links", cmd_links, "an entity's names, listings and cited relations")
    sp.add_argument("entity", help="a company's or person's name")

    sp = command("exposure", cmd_exposure, "cited paths from an entity to listed entities")
    sp.add_argument("entity", help="a company's or person's name")
    sp.add_argument("--depth", type=int, default=3, help="longest path, in relations")
    sp.add_argument("--max-paths", type=int, default=50, help="at most this many paths")
    sp.add_argument("--relation", action="append", help="only these relation types (repeatable): ownership, "
                    "supplier, customer, partner, director, ...")


def _service_commands(command) -> None:
    sp = command("backup", cmd_backup, "write a consistent backup archive (.tar.gz) of the store, while it serves",
                 scoped=False)
    sp.add_argument("file", help="the archive to write (.tar.gz)")
    sp = command("restore", cmd_restore, "restore a backup archive into an empty data directory", scoped=False)
    sp.add_argument("file", help="an archive written by `regbrief backup`")

    command("check", cmd_check, "check that the store is consistent (and finish interrupted writes)")
    command("reembed", cmd_reembed, "re-embed the store with the configured model and backend "
            "(REGBRIEF_EMBEDDING_BACKEND); crash-safe, re-run to resume")

    sp = command("eval", cmd_eval, "run the evaluation suite and write a report under eval/reports/")
    sp.add_argument("--suite", choices=["facts", "injection", "retrieval", "briefings", "gate", "all"], default="all",
                    help="which datasets; gate checks the thresholds CI enforces")
    backend_arg(sp)
    sp.add_argument("--limit", type=int, help="only the first N cases of each dataset (by id); default: all")

    sp = command("serve", cmd_serve, "serve the HTTP API and the web chat page (uvicorn)", scoped=False)
    sp.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0: every interface)")
    sp.add_argument("--port", type=int, default=8000, help="port to listen on")
    sp.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"],
                    help="uvicorn's log level")

    command("mcp", cmd_mcp, "serve the MCP tools (search, ask, brief, screen, exposure) over stdio")


def quiet_libraries() -> None:
    """No model-loading noise on the terminal: the libraries' progress bars ("Loading weights"), warnings
    and INFO logs stay off unless --verbose (regbrief's own progress bars and errors are unaffected)."""
    import logging
    import warnings

    for var, value in (("HF_HUB_DISABLE_PROGRESS_BARS", "1"), ("TRANSFORMERS_VERBOSITY", "error"),
                       ("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1"), ("TOKENIZERS_PARALLELISM", "false")):
        os.environ.setdefault(var, value)
    warnings.filterwarnings("ignore")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "verbose", False):
        import logging

        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    else:
        quiet_libraries()
    from rag.store import SchemaTooNew, StoreUnavailable

    try:
        if not args.needs_store:
            return args.fn(None, args) or 0
        from rag.service import Regbrief
        from rag.settings import get_settings

        return args.fn(Regbrief(get_settings().for_workspace(getattr(args, "workspace", "default"))), args) or 0
    except (StoreUnavailable, SchemaTooNew) as e:
        print(f"error: {e}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `regbrief ... | head`: the reader has gone, nothing more to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
