"""python -m eval run [--suite S] [--backend B] [--limit N]   a report under eval/reports/<timestamp>/
python -m eval gate [--backend B]                          the CI subset, checked against eval/thresholds.toml

The gate prints every metric that is below its floor (or above its ceiling) and exits 1 when any is.
"""
from __future__ import annotations

import argparse
import sys
import tomllib

from eval import THRESHOLDS


def load_thresholds() -> dict:
    with open(THRESHOLDS, "rb") as f:
        return tomllib.load(f)


def run_and_report(suite: str, backend: str | None = None, limit: int | None = None, base_settings=None,
                   gate: bool = False, as_json: bool = False) -> int:
    """Run a suite, write its report, print a summary; the exit code is 1 when a gate threshold fails.
    With as_json the summary goes to stderr and stdout gets {"report", "metrics", "targets", "gate"}."""
    import json

    from eval import report as R
    from eval import runner

    out = sys.stderr if as_json else sys.stdout
    rep = runner.run(suite, backend=backend, limit=limit, base_settings=base_settings)
    results = runner.check_thresholds(rep["metrics"], load_thresholds()) if gate else None
    out_dir = R.write(rep, gate=results)
    m = rep["metrics"]
    if as_json:
        saved = json.loads((out_dir / "report.json").read_text(encoding="utf-8"))
        print(json.dumps({"report": str(out_dir), "metrics": m, "targets": saved["targets"], "gate": results},
                         indent=2, default=str))
    print(f"report: {out_dir / 'report.md'}", file=out)
    for key, label in R.HEADLINE:
        v = runner.lookup(m, key)
        if v is not None:
            print(f"  {label:<45} {v:.4f}" if isinstance(v, float) else f"  {label:<45} {v}", file=out)
    print(f"  wall time {rep['timings']['total']}s {rep['timings']}; cpu {rep['cpu_seconds']}", file=out)
    short = [t for t in R.TARGETS if runner.lookup(m, t[0]) is not None
             and not R._target_met(runner.lookup(m, t[0]), t[1], t[2])]
    for key, kind, target, what in short:
        print(f"  target not met: {what} ({key} = {runner.lookup(m, key):.4f}, target {kind} {target})", file=out)
    if not gate:
        return 0
    bad = [g for g in results if not g["ok"]]
    if bad:
        print(f"GATE FAILED: {len(bad)} of {len(results)} thresholds not met", file=out)
        for g in bad:
            rel = "below its floor" if g["kind"] == "min" else "above its ceiling"
            print(f"  {g['metric']} = {g['value']} is {rel} {g['threshold']} (eval/thresholds.toml)", file=out)
        return 1
    print(f"gate passed: {len(results)} thresholds met", file=out)
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m eval", description="regbrief's evaluation suite")
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="run a suite and write a report")
    r.add_argument("--suite", choices=["facts", "injection", "prose", "retrieval", "briefings", "gate", "all"], default="all")
    r.add_argument("--backend", choices=["extractive", "openai", "llamacpp"])
    r.add_argument("--limit", type=int, help="only the first N cases of each dataset (by id)")
    g = sub.add_parser("gate", help="the CI subset, checked against eval/thresholds.toml")
    g.add_argument("--backend", choices=["extractive", "openai", "llamacpp"])
    args = p.parse_args(argv)
    if args.cmd == "gate":
        return run_and_report("gate", backend=args.backend, gate=True)
    return run_and_report(args.suite, backend=args.backend, limit=args.limit)


if __name__ == "__main__":
    sys.exit(main())
