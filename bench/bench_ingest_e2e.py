"""`regbrief ingest` end to end, as a user runs it, against a stock LangChain script over the same files in
the same run. `python -m bench ingest` times the Ingestor alone in a warm process; this times everything a
user waits for.

  regbrief   `python -m api.cli ingest --json FILES` in a fresh process, into a fresh store directory
             (REGBRIEF_HOME): interpreter start, imports, model load, parse, chunk, embed, relations, the
             Chroma and SQLite writes, the watchlist refresh, exit. Timed from spawn to exit; afterwards
             (untimed) `regbrief check --json` must report a consistent store.
             The ONNX file the command loads is built (once per machine) before the timing starts;
             the backend is the command's default for a new store (REGBRIEF_* settings are cleared).
  langchain  bench/stock_langchain_ingest.py in a fresh process: json.load, one Document per passage,
             RecursiveCharacterTextSplitter(1000, 200), sentence-transformers all-MiniLM-L6-v2 (torch)
             behind LangChain's Embeddings, Chroma.from_documents into a fresh directory. Timed the same way.

Both are measured in passages per second (the non-empty ObliQA passages of the files over the wall
seconds); the ratio is regbrief's over LangChain's, in wall and in CPU seconds (on the shared machine the
load can change several-fold between the two sides of one round, which moves the wall ratio; CPU seconds
move far less). Each round runs both, the order alternating between
rounds. The regbrief report's per-file seconds add up to the Ingestor's own time; the rest of the wall time
is the process around it (start, imports, model load, refresh, exit).

    nice -n 10 .venv/bin/python -m bench ingest_e2e                 # the 40 ObliQA documents
    nice -n 10 .venv/bin/python -m bench ingest_e2e --e2e-files 10  # quick: documents 1-10
    .venv/bin/python -m bench ingest_e2e --e2e-profile              # regbrief under cProfile as well
    .venv/bin/python -m bench ingest_e2e --e2e-baseline ../main     # and another tree's command, same run

torch threads of the LangChain process follow the benchmarks' rule (rag.embeddings.threads_for_load, or
--torch-threads): one thread on an oversubscribed machine, where two spinning OpenMP threads made it
many times slower. regbrief runs with its own defaults.
"""
from __future__ import annotations

import argparse
import json
import os
import pstats
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import OBLIQA_DOCS, ROOT, TMP, child_json, log, table, write_result

NAME = "bench_ingest_e2e"
STOCK = ROOT / "bench" / "stock_langchain_ingest.py"


def obliqa_files(n: int = 0) -> list[Path]:
    """The ObliQA documents in their numeric order (1 = AML and Sanctions Rules); the first n when n > 0."""
    files = sorted(OBLIQA_DOCS.glob("*.json"), key=lambda f: int(f.stem))
    return files[:n] if n > 0 else files


def passages(files: list[Path]) -> int:
    """Non-empty passages in the files: what both pipelines store (regbrief one document each)."""
    return sum(1 for f in files for p in json.loads(f.read_text(encoding="utf-8"))
               if str(p.get("Passage", "")).strip())


def _env(home: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("REGBRIEF_") or k == "REGBRIEF_BENCH_TORCH_THREADS"}
    env.update({"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False"})
    if home is not None:
        env["REGBRIEF_HOME"] = str(home)
    return env


def _timed(cmd: list[str], env: dict[str, str], cwd: Path = ROOT) -> tuple[subprocess.CompletedProcess, float, float]:
    """(result, wall seconds, CPU seconds of the child) for one process run to its end."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=3600)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return r, wall, cpu


def run_regbrief(home: Path, files: list[Path], profile: Path | None = None, tree: Path = ROOT) -> dict:
    """`regbrief ingest` of the files into the fresh store `home`, then its consistency check. `tree` is the
    source tree the command runs from (another checkout, to compare two versions in one run)."""
    cli = [sys.executable, "-m", "api.cli"]
    if profile is not None:
        cli = [sys.executable, "-m", "cProfile", "-o", str(profile), "-m", "api.cli"]
    r, wall, cpu = _timed([*cli, "ingest", "--json", *map(str, files)], _env(home), tree)
    if r.returncode != 0:
        raise RuntimeError(f"regbrief ingest failed ({r.returncode}): {r.stderr[-1500:]}")
    report = json.loads(r.stdout)
    check = subprocess.run([sys.executable, "-m", "api.cli", "check", "--json"], cwd=tree, env=_env(home),
                           capture_output=True, text=True, timeout=600)
    state = json.loads(check.stdout) if check.stdout.strip() else {"ok": False, "stderr": check.stderr[-500:]}
    ingestor = sum(f["seconds"] for f in report["files"])
    return {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "ingestor_s": round(ingestor, 2),
            "around_ingestor_s": round(wall - ingestor, 2), "documents": report["totals"]["added"],
            "chunks": report["totals"]["chunks"], "failed": report["totals"]["failed"],
            "store_check_ok": bool(state.get("ok")), "store_check": state}


def build_model_files(tree: Path) -> None:
    """Build (once per machine, untimed) the ONNX file `tree`'s code loads for a new store (its default
    backend), so no timed run pays for it."""
    code = "from rag.embeddings import get_embedder; get_embedder()"
    r = subprocess.run([sys.executable, "-c", code], cwd=tree, env=_env(), capture_output=True, text=True,
                       timeout=1800)
    if r.returncode != 0:
        raise RuntimeError(f"building the ONNX model in {tree} failed: {r.stderr[-1500:]}")


def run_langchain(persist: Path, files: list[Path], torch_threads: int) -> dict:
    """The stock LangChain script over the files, into the fresh directory `persist`."""
    r, wall, cpu = _timed([sys.executable, str(STOCK), str(persist), str(torch_threads), *map(str, files)], _env())
    if r.returncode != 0:
        raise RuntimeError(f"stock LangChain ingest failed ({r.returncode}): {r.stderr[-1500:]}")
    out = child_json(r.stdout)
    return {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "documents": out["passages"],
            "chunks": out["chunks"], "vectors": out["vectors"]}


def profile_summary(path: Path, top: int = 25) -> list[dict]:
    """The profile's functions by cumulative time (the first `top`), for the result file."""
    st = pstats.Stats(str(path))
    rows = sorted(st.stats.items(), key=lambda kv: -kv[1][3])[:top]
    return [{"function": f"{Path(file).name}:{line}({fn})", "calls": nc, "tottime_s": round(tt, 2),
             "cumtime_s": round(ct, 2)} for (file, line, fn), (_cc, nc, tt, ct, _callers) in rows]


def run(args: argparse.Namespace | None = None) -> dict:
    from rag.embeddings import threads_for_load

    n_files = getattr(args, "e2e_files", 0) or 0
    rounds = max(1, getattr(args, "e2e_rounds", 1) or 1)
    profile = bool(getattr(args, "e2e_profile", False))
    files = obliqa_files(n_files)
    total = passages(files)
    threads, reason = threads_for_load(os.environ.get("REGBRIEF_BENCH_TORCH_THREADS", ""))
    log(f"{NAME}: {len(files)} ObliQA files, {total} passages; LangChain torch threads "
        f"{threads or 'default'} ({reason})")
    baseline = getattr(args, "e2e_baseline", "") or ""
    sides = ["regbrief", "langchain"] + (["baseline"] if baseline else [])
    for tree in [ROOT] + ([Path(baseline).resolve()] if baseline else []):
        build_model_files(tree)
    results = []
    with tempfile.TemporaryDirectory(prefix="regbrief-bench-e2e-") as tmpdir:
        tmp = Path(tmpdir)
        for k in range(rounds):
            order = sides if k % 2 == 0 else sides[::-1]
            row: dict = {"round": k + 1, "order": order, "load_at_start": round(os.getloadavg()[0], 2)}
            for side in order:
                log(f"round {k + 1}: {side}")
                if side == "langchain":
                    row[side] = run_langchain(tmp / f"langchain-{k}", files, threads)
                else:
                    tree = Path(baseline).resolve() if side == "baseline" else ROOT
                    row[side] = run_regbrief(tmp / f"{side}-{k}", files, tree=tree)
                row[side]["passages_per_s"] = round(total / row[side]["wall_s"], 2)
                log(f"  {row[side]['wall_s']} s wall, {row[side]['cpu_s']} s CPU")
            rb, lc = row["regbrief"], row["langchain"]
            row["ratio"] = round(lc["wall_s"] / rb["wall_s"], 3)
            row["cpu_ratio"] = round(lc["cpu_s"] / rb["cpu_s"], 3)
            if baseline:
                row["baseline_ratio"] = round(lc["wall_s"] / row["baseline"]["wall_s"], 3)
                row["speedup_over_baseline"] = round(row["baseline"]["wall_s"] / rb["wall_s"], 3)
            results.append(row)
            log(f"round {k + 1}: regbrief {rb['wall_s']} s, LangChain {lc['wall_s']} s: {row['ratio']}x"
                + (f"; baseline {row['baseline']['wall_s']} s: {row['baseline_ratio']}x" if baseline else ""))
        prof = None
        if profile:
            path = TMP / "ingest_e2e.prof"
            path.parent.mkdir(parents=True, exist_ok=True)
            log(f"regbrief under cProfile -> {path}")
            prof = run_regbrief(tmp / "regbrief-profiled", files, profile=path)
            prof["profile"] = str(path.relative_to(ROOT))
            prof["by_cumtime"] = profile_summary(path)

    ratios = [r["ratio"] for r in results]
    figures = {
        "corpus": {"files": [f.name for f in files], "passages": total},
        "langchain_torch_threads": {"threads": threads, "reason": reason},
        "rounds": results,
        "ratio_median": statistics.median(ratios),
        # CPU seconds move far less with the other processes' load than wall seconds do
        "cpu_ratio_median": statistics.median(r["cpu_ratio"] for r in results),
        "regbrief_passages_per_s_median": statistics.median(r["regbrief"]["passages_per_s"] for r in results),
        "langchain_passages_per_s_median": statistics.median(r["langchain"]["passages_per_s"] for r in results),
        "targets": {"end to end >= 2x stock LangChain": statistics.median(ratios) >= 2.0,
                    "store consistent": all(r["regbrief"]["store_check_ok"] for r in results)},
    }
    if baseline:
        figures["baseline"] = {"tree": str(Path(baseline).resolve()),
                               "ratio_median": statistics.median(r["baseline_ratio"] for r in results),
                               "speedup_median": statistics.median(r["speedup_over_baseline"] for r in results)}
    if prof is not None:
        figures["profiled_run"] = prof
    write_result(NAME if not n_files else f"{NAME}_{n_files}files", figures)
    print(f"\n{NAME}: {len(files)} ObliQA files, {total} passages, fresh processes and stores")
    print(table([[r["round"], " then ".join(r["order"]), r["load_at_start"],
                  r["regbrief"]["wall_s"], r["regbrief"]["ingestor_s"], r["regbrief"]["around_ingestor_s"],
                  r["regbrief"]["cpu_s"], r["regbrief"]["passages_per_s"],
                  r["langchain"]["wall_s"], r["langchain"]["cpu_s"], r["langchain"]["passages_per_s"],
                  r["ratio"]] for r in results],
                ["round", "order", "load", "rb wall s", "rb ingestor s", "rb around s", "rb CPU s",
                 "rb passages/s", "lc wall s", "lc CPU s", "lc passages/s", "ratio"]))
    if baseline:
        print(table([[r["round"], r["baseline"]["wall_s"], r["baseline"]["ingestor_s"],
                      r["baseline"]["around_ingestor_s"], r["baseline"]["cpu_s"], r["baseline"]["passages_per_s"],
                      r["baseline_ratio"], r["speedup_over_baseline"]] for r in results],
                    ["round", "baseline wall s", "ingestor s", "around s", "CPU s", "passages/s", "ratio",
                     "this tree's speed-up"]))
    print(f"end to end, regbrief / stock LangChain: {figures['ratio_median']}x wall, {figures['cpu_ratio_median']}x "
          f"CPU (median of {len(results)}; target >= 2x)")
    return figures


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--e2e-files", type=int, default=0,
                   help="only the first N ObliQA documents (default: all 40; 10 is a quick run)")
    p.add_argument("--e2e-rounds", type=int, default=1,
                   help="rounds of both pipelines, the order alternating (default 1)")
    p.add_argument("--e2e-baseline", default="",
                   help="another source tree (e.g. a worktree of main) whose `regbrief ingest` runs too, "
                        "for before/after in the same run")
    p.add_argument("--e2e-profile", action="store_true",
                   help="also run regbrief under cProfile (bench/results/tmp/ingest_e2e.prof)")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(ap)
    run(ap.parse_args())
