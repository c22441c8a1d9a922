"""The feed commands: `regbrief feeds add/list/remove`, `regbrief sync`, `regbrief changes`.
Each calls one Regbrief method; --json prints the API's model."""
from __future__ import annotations

import argparse
import sys

from api.cli_output import emit


def cmd_feeds(rb, args) -> int:
    if args.feeds_command == "add":
        try:
            feed = rb.add_feed(args.name, args.url, args.format, args.every)
        except ValueError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        emit(feed, args.json, lambda f: print(f"feed {f.name}: {f.url} [{f.format or 'format detected at first sync'}]"
                                              f" every {f.every}; run `regbrief sync {f.name}` to fetch it now"))
        return 0
    if args.feeds_command == "remove":
        ok = rb.remove_feed(args.name)
        emit({"removed": ok, "name": args.name}, args.json, lambda r: print(
            f"feed {r['name']} removed (its documents stay: `regbrief remove --source URL`)" if r["removed"]
            else f"no feed named {r['name']}"))
        return 0 if ok else 1
    emit({"feeds": [f.model_dump() for f in rb.feeds()]}, args.json, lambda r: _feeds(rb.feeds()))
    return 0


def _feeds(feeds) -> None:
    if not feeds:
        print("no feeds: add one with `regbrief feeds add NAME URL`")
    for f in feeds:
        state = f.last_status or "never synced"
        print(f"{f.name:<16} {state:<12} every {f.every:<4} [{f.format or '?'}] {f.url}")
        if f.version:
            print(f"{'':<16} version {f.version}, {f.documents} documents, last success {f.last_success}")
        if f.last_status == "failed":
            print(f"{'':<16} last error: {f.last_error}")


def cmd_sync(rb, args) -> int:
    try:
        results = rb.sync_feeds(args.names)
    except KeyError as e:
        print(f"error: {e.args[0]}", file=sys.stderr)
        return 2
    emit({"results": [r.model_dump() for r in results]}, args.json, lambda _: sync_results(results))
    return 1 if any(r.status == "failed" for r in results) else 0


def sync_results(results) -> None:
    if not results:
        print("no feeds to sync: add one with `regbrief feeds add NAME URL`")
    for r in results:
        if r.status == "failed":
            print(f"FAILED    {r.feed}: {r.error}", file=sys.stderr)
            continue
        line = f"{r.status:<9} {r.feed}: +{r.added} -{r.removed} ~{r.changed}, version {r.version}"
        line += f", {r.documents} documents" if r.documents is not None else ""
        print(f"{line} ({r.requests} request{'s' * (r.requests != 1)}, {r.seconds:.2f} s)")
        if r.notice_id:
            print(f"          changes recorded in notice {r.notice_id}")
        if r.error:
            print(f"          some items failed: {r.error}", file=sys.stderr)


def cmd_changes(rb, args) -> int:
    from ingest.feeds.notice import field_change

    changes = rb.changes(since=args.since, feed=args.feed, limit=args.limit)
    emit({"changes": [c.model_dump() for c in changes]}, args.json, lambda _: [print(
        f"{c.date or c.synced_at[:10]}  {c.feed}  {c.change:<8} {c.name} [{c.key}]"
        + "".join(f"\n{'':<12}{field_change(k, old, new)}" for k, (old, new) in c.fields.items()))
        for c in changes])
    return 0


def feed_commands(command) -> None:
    sp = command("feeds", cmd_feeds, "feeds of official lists and news, synced on a schedule by `regbrief serve`")
    fsub = sp.add_subparsers(dest="feeds_command", required=True)
    fp = fsub.add_parser("add", help="add (or redefine) a feed: a named URL with a format and a schedule")
    fp.add_argument("name", help="a short name for the feed, e.g. ofac-sdn")
    fp.add_argument("url", help="where to fetch it (http or https)")
    fp.add_argument("--format", help="a list format (see the README's table), 'rss' for a news feed; default: "
                                     "detected at the first sync")
    fp.add_argument("--every", default="24h", help="how often `regbrief serve` syncs it (30m, 6h, 1d)")
    fsub.add_parser("list", help="feeds with their state")
    fp = fsub.add_parser("remove", help="stop syncing a feed (its documents stay)")
    fp.add_argument("name", help="the feed's name")
    for fp in fsub.choices.values():  # `feeds list --json` as well as `feeds --json list`
        fp.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON")

    sp = command("sync", cmd_sync, "sync feeds now (all, or the named ones), one at a time")
    sp.add_argument("names", nargs="*", help="feeds to sync; default: all of them")

    sp = command("changes", cmd_changes, "what feed syncs found: entries added, removed and changed")
    sp.add_argument("--since", help="YYYY-MM-DD: changes dated on or after")
    sp.add_argument("--feed", help="only this feed's changes")
    sp.add_argument("--limit", type=int, default=1000, help="at most this many changes, in the order found")
