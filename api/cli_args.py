"""The command line's argument types and help: defaults shown as they really are, dates, workspaces,
and the search filters every question command takes."""
from __future__ import annotations

import argparse
import datetime as dt
import sys

from rag.core.models import Filters


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
    from rag.core.settings import get_settings

    return lambda: getattr(get_settings(), name)


def _threshold():
    from rag.entities.screen import DEFAULT_THRESHOLD

    return DEFAULT_THRESHOLD


def _workspace(s: str) -> str:
    from rag.core.settings import check_workspace

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


# --- parser ---------------------------------------------------------------------------------------
