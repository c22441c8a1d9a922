"""The `regbrief` command line. Every command takes --json for scripts; the JSON is the API's model."""
from __future__ import annotations

import argparse
import os
import sys

from api.cli_args import HelpFormatter, _date, _setting, _threshold, _workspace, add_filter_args, shown_default
from api.cli_commands import (
    cmd_ask, cmd_backup, cmd_brief, cmd_chat, cmd_compare, cmd_check, cmd_eval, cmd_exposure, cmd_formats, cmd_history,
    cmd_ingest, cmd_links, cmd_mcp, cmd_reembed, cmd_remove, cmd_restore, cmd_screen, cmd_screening, cmd_search,
    cmd_serve, cmd_show, cmd_sources, cmd_watch,
)
from api.cli_feeds import feed_commands


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

    sp = command("history", cmd_history, "the audit trail: past answers, briefings and screenings")
    sp.add_argument("--kind", choices=["answer", "briefing", "screening"], help="only answers, briefings or screenings; default: all")
    sp.add_argument("--limit", type=int, default=20, help="newest first, this many")

    sp = command("compare", cmd_compare, "what changed between two briefings of one subject")
    sp.add_argument("old_id", help="a briefing's id (see `regbrief history --kind briefing`)")
    sp.add_argument("new_id", help="another briefing of the same subject")

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
    sp.add_argument("--file", help="a CSV of names (columns name and, optional, type, birth_date, country, "
                    "identifiers) or a text file with one name per line; screened as a record kept in the audit "
                    "trail (see `regbrief screening`)")
    sp.add_argument("--type", dest="entity_type", choices=["company", "person"], help="only companies or persons")
    shown_default(sp.add_argument("--threshold", type=float, help="match threshold in [0, 1]"), _threshold)
    sp.add_argument("--limit", type=int, default=10, help="candidates shown per name")
    sp.add_argument("--all", action="store_true", help="show candidates below the threshold too")
    sp.add_argument("--schema", help="what the names are: person, company, organization, vessel, aircraft")
    sp.add_argument("--birth-date", help="birth date of the person named (YYYY-MM-DD, YYYY-MM or YYYY)")
    sp.add_argument("--country", help="country of the party named (a name or ISO code)")
    sp.add_argument("--id", dest="identifier", action="append", default=[],
                    help="an identifier of the party (registration number, passport, IMO ...); repeatable")

    sp = command("screening", cmd_screening, "screening records: show one (text, JSON, CSV or printable HTML), "
                 "list them, record a decision on a hit")
    ssub = sp.add_subparsers(dest="screening_command", required=True)
    wp = ssub.add_parser("show", help="a screening record with its decisions")
    wp.add_argument("id", help="the record's id (scr_...)")
    wp.add_argument("--format", choices=["text", "json", "csv", "html"], default="text",
                    help="text for reading, json, csv (one row per candidate) or html (printable)")
    wp = ssub.add_parser("list", help="screenings, newest first")
    wp.add_argument("--limit", type=int, default=20, help="newest first, this many")
    wp = ssub.add_parser("decide", help="record a decision on one hit (kept in the audit trail)")
    wp.add_argument("id", help="the record's id (scr_...)")
    wp.add_argument("query", type=int, help="which name, counted from 1 in the order screened")
    wp.add_argument("entity", help="the hit's entity id (as the record shows it)")
    wp.add_argument("decision", choices=["true-match", "false-positive", "needs-review"], help="the decision")
    wp.add_argument("--note", help="why")
    for wp in ssub.choices.values():
        wp.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON")

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
        from rag.core.settings import get_settings

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
