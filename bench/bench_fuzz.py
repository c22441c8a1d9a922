"""Fuzz every format parser with hypothesis for a fixed time each: only FormatError, never another exception
or a hang.

    .venv/bin/python -m bench.bench_fuzz --fuzz-minutes 10          # the issue's bar: >= 10 minutes per parser
    .venv/bin/python -m bench.bench_fuzz --fuzz-minutes 1 --parsers ofac_xml,ofac_sdn_csv

`--fuzz-minutes` is the wall time per parser (default 10); `--parsers` limits the set (default: all).
Inputs are mutations (cuts, splices, byte flips, repeated blocks, random bytes, hostile XML/JSON/CSV
constructs) of a real seed file for that parser (a slice of ../shared/data or the demo corpus), so the fuzzer
spends its time inside the parser, not in its sniffer. Each input is parsed under a time limit
(`--file-seconds`, default 10 s of CPU time, so a loaded machine's slow imports do not count): a parse
that runs longer counts as a hang. Results:
bench/results/bench_fuzz.json (cases run per parser, failures with their reproducing input, base64).
The CI version is tests/test_fuzz.py (the same harness, a few seconds per parser).
"""
from __future__ import annotations

import base64
import json
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
DEMO = ROOT / "ingest" / "demo_corpus"


class Hang(BaseException):
    """Raised by the alarm when one parse exceeds its time limit (BaseException: parsers cannot catch it)."""


def _lines(path: Path, n: int, skip: int = 0) -> bytes:
    with open(path, "rb") as f:
        out = [line for _, line in zip(range(n + skip), f)]
    return b"".join(out[skip:])


def _xml_seed() -> bytes:
    text = (DEMO / "lists" / "ofac_ns_cmic_extract.xml").read_bytes()
    head, _, rest = text.partition(b"<sdnEntry>")
    entries = rest.split(b"</sdnEntry>")[:3]
    return head + b"<sdnEntry>" + b"</sdnEntry>".join(entries) + b"</sdnEntry></sdnList>\n"


def _pdf_seed() -> bytes:
    from tests.test_formats import _pdf_bytes

    return _pdf_bytes([["OFAC designates SenseTime Group Limited.", "Program: NS-CMIC."],
                       ["Listed on 10 December 2021."]], title="Notice")


def seeds() -> dict[str, tuple[str, bytes]]:
    """(file name, seed bytes) per parser NAME: small real inputs."""
    return {
        "ofac_xml": ("consolidated_nonSDN_2025-06-30.xml", _xml_seed()),
        "ofac_sdn_csv": ("sdn_2024-05-03.csv", _lines(DATA / "ofac" / "sdn_2024-05-03.csv", 8, 100)),
        "ofac_changelog_csv": ("sdn_changelog.csv",
                               _lines(DATA / "ofac" / "sdn_changelog_2021-08-18_to_2024-05-03.csv", 8)),
        "eu_oj_csv": ("32026R1720.csv", _lines(DATA / "eu" / "amendments" / "32026R1720.csv", 6)),
        "uk_ofsi_csv": ("ConList.csv", _lines(DATA / "uk" / "ConList_excerpt_2020.csv", 8)),
        "federal_register": ("fr.jsonl", _lines(DATA / "federal_register" /
                                                "fr_sanctions_export_controls_abstracts.jsonl", 3)),
        "ftm_json": ("entities.ftm.json", _lines(DATA / "opensanctions" / "yente_fixtures" / "zala" /
                                                 "entities.ftm.json", 6)),
        "obliqa_json": ("1.json", json.dumps(json.loads(
            (DATA / "obliqa" / "StructuredRegulatoryDocuments" / "1.json").read_bytes())[:6]).encode()),
        "article_pdf": ("notice.pdf", _pdf_seed()),
        "article_html": ("article.html", b"<!doctype html><html><head><title>OFAC adds SenseTime</title>"
                                         b"<meta name='date' content='2021-12-10'></head><body><article><h1>OFAC"
                                         b"</h1><p>SenseTime was added to the NS-CMIC list.</p><script>alert(1)"
                                         b"</script></article></body></html>"),
        "article_text": ("2021-12-10_sensetime.md",
                         (DEMO / "articles" / "2021-12-10_sensetime_ns_cmic_listing.md").read_bytes()[:3000]),
    }


HOSTILE = [
    b'<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>',
    b'<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>', b"&xxe;", b"<![CDATA[", b"\x00", b"\xff\xfe",
    b"\xef\xbb\xbf", b'"' * 50, b"," * 200, b"\r", b"\n" * 50, b"[" * 2000, b"{" * 2000, b'{"a":' * 500,
    b"1e999999", b"NaN", b"-0-", b"<" * 100, b"</sdnEntry>", b"<sdnEntry>", b"stream\n", b"endobj",
    b"/Length 999999999", b"0 0 R", b"%%EOF", b"\\u0000", b"\xed\xa0\x80", b"9" * 400,
]


def mutations():
    """A hypothesis strategy of functions seed -> bytes."""
    from hypothesis import strategies as st

    def build(seed: bytes, ops) -> bytes:
        data = bytearray(seed)
        for kind, pos, blob, n in ops:
            p = pos % (len(data) + 1)
            if kind == "cut":
                data = data[:p]
            elif kind == "insert":
                data[p:p] = blob
            elif kind == "delete":
                del data[p:p + n]
            elif kind == "flip" and data:
                data[p % len(data)] ^= (n % 255) + 1
            elif kind == "repeat":
                data[p:p] = bytes(data[p:p + 64]) * (n % 50)
        return bytes(data)

    op = st.tuples(st.sampled_from(["cut", "insert", "delete", "flip", "repeat"]),
                   st.integers(0, 1 << 16), st.one_of(st.sampled_from(HOSTILE), st.binary(max_size=64)),
                   st.integers(0, 500))
    return st.builds(lambda ops: (lambda seed: build(seed, ops)), st.lists(op, max_size=6)) | \
        st.builds(lambda b: (lambda seed: b), st.binary(max_size=2048))


def parse_one(module, path: Path, data: bytes, file_seconds: float) -> str:
    """'ok' | 'format_error'; raises AssertionError on any other exception or a hang."""
    from ingest.formats import FormatError

    path.write_bytes(data)
    # CPU time, not wall time: on a shared, loaded machine a first-use import (e.g. date-parser language
    # data) can take many wall seconds; a real hang burns CPU and is caught.
    old = signal.signal(signal.SIGPROF, lambda *a: (_ for _ in ()).throw(Hang()))
    signal.setitimer(signal.ITIMER_PROF, file_seconds)
    try:
        module.sniff(path, data[:8192])
        docs = list(module.parse(path))
        for d in docs:
            assert d.doc_id and d.format == module.NAME, f"bad document {d.doc_id!r}"
        return "ok"
    except FormatError as e:
        assert path.name in str(e), f"FormatError does not name the file: {e}"
        return "format_error"
    except Hang:
        raise AssertionError(f"parse used more than {file_seconds} s of CPU (hang)") from None
    except Exception as e:
        raise AssertionError(f"{type(e).__name__}: {e}\n{traceback.format_exc()[-1500:]}") from e
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, old)


def fuzz_parser(name: str, seconds: float, file_seconds: float = 10.0, max_examples: int = 10**9) -> dict:
    """Run hypothesis on one parser for `seconds` (or `max_examples`); returns counts and any failure."""
    from hypothesis import HealthCheck, Phase, Verbosity, given, settings

    from ingest.formats import formats

    module = formats()[name]
    fname, seed = seeds()[name]
    counts = {"ok": 0, "format_error": 0}
    failure: dict = {}
    deadline = time.monotonic() + seconds

    class Stop(BaseException):
        pass

    with tempfile.TemporaryDirectory(prefix="fuzz-") as tmp:
        path = Path(tmp) / fname

        # quiet: the Stop raised at the time limit is not a failure, so no "reproduce with @seed" message
        @settings(max_examples=max_examples, deadline=None, database=None, derandomize=False,
                  phases=[Phase.generate], suppress_health_check=list(HealthCheck), verbosity=Verbosity.quiet)
        @given(mutate=mutations())
        def run(mutate):
            if time.monotonic() > deadline:
                raise Stop()
            data = mutate(seed)
            try:
                counts[parse_one(module, path, data, file_seconds)] += 1
            except AssertionError as e:
                failure.update(error=str(e)[:3000], input_b64=base64.b64encode(data[:20000]).decode())
                raise Stop() from None

        try:
            # The seed itself and the hostile snippets first, then hypothesis's inputs.
            for data in [seed, *(h + seed for h in HOSTILE), *(seed[:len(seed) // 2] + h for h in HOSTILE)]:
                try:
                    counts[parse_one(module, path, data, file_seconds)] += 1
                except AssertionError as e:
                    failure.update(error=str(e)[:3000], input_b64=base64.b64encode(data[:20000]).decode())
                    raise Stop() from None
            while time.monotonic() < deadline and not failure:
                run()  # each call is one hypothesis run of up to max_examples
                if max_examples < 10**9:
                    break
        except Stop:
            pass
    return {"parser": name, "cases": counts["ok"] + counts["format_error"], **counts,
            "failure": failure or None}


CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"


def run_schemathesis(tmp: Path, max_examples: int, max_time: int, seed: int = 7) -> dict:
    """schemathesis over a real server's /openapi.json (uvicorn on loopback, a small real store)."""
    import re
    import subprocess

    from tests.test_api import DEMO_ARTICLE, LiveServer

    srv = LiveServer("schemathesis", tmp / "st-home", rate_limit_per_minute=10**6, max_concurrent_jobs=2,
                     max_question_chars=300, openai_base_url="http://127.0.0.1:9/v1", llm_max_tokens=8,
                     llm_timeout_s=5)
    try:
        assert srv.rb.ingestor.ingest([DEMO_ARTICLE, DEMO / "lists"]).ok
        exe = Path(sys.executable).with_name("schemathesis")
        cmd = [str(exe), "run", f"{srv.url}/openapi.json", "--checks", CHECKS,
               "--max-examples", str(max_examples), "--max-time", str(max_time), "--seed", str(seed),
               "--workers", "1", "--request-timeout", "60", "--no-color", "--suppress-health-check", "all",
               "--phases", "examples,coverage,fuzzing,stateful"]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=max_time * 3 + 600)
        out = proc.stdout + proc.stderr
        m = re.search(r"Test cases:\s*(\d+) generated", out)
        return {"returncode": proc.returncode, "cases": int(m.group(1)) if m else None, "checks": CHECKS,
                "seconds": round(time.perf_counter() - t0, 1), "tail": out[-6000:]}
    finally:
        srv.stop()


def add_arguments(parser) -> None:
    parser.add_argument("--fuzz-minutes", type=float, default=10.0, help="wall time per parser (default 10)")
    parser.add_argument("--parsers", default="", help="comma-separated parser names (default: all)")
    parser.add_argument("--api-cases", type=int, default=0,
                        help="schemathesis --max-examples per operation for the HTTP API run (0 = skip)")
    parser.add_argument("--api-minutes", type=float, default=20.0, help="time cap of the API run")
    parser.add_argument("--file-seconds", type=float, default=10.0, help="per-input time limit (default 10 s)")


def run(args) -> int:
    from bench import log, table, write_result
    from ingest.formats import formats

    names = [n for n in args.parsers.split(",") if n] or sorted(formats())
    if args.parsers == "none":
        names = []
    api = None
    if args.api_cases:
        with tempfile.TemporaryDirectory(prefix="fuzz-api-") as tmp:
            api = run_schemathesis(Path(tmp), args.api_cases, int(args.api_minutes * 60))
        log(f"schemathesis: {api['cases']} cases, exit {api['returncode']}")
        print(api["tail"][-3000:])
        write_result("bench_fuzz_api", {"max_examples": args.api_cases, **api})
    rows, results = [], []
    for n in names:
        t0 = time.perf_counter()
        r = fuzz_parser(n, args.fuzz_minutes * 60, args.file_seconds)
        r["seconds"] = round(time.perf_counter() - t0, 1)
        results.append(r)
        rows.append([n, r["cases"], r["ok"], r["format_error"], r["seconds"], "FAIL" if r["failure"] else "ok"])
        log(f"{n}: {r['cases']} cases in {r['seconds']} s, failure: {bool(r['failure'])}")
        write_result("bench_fuzz", {"fuzz_minutes": args.fuzz_minutes, "file_seconds": args.file_seconds,
                                    "parsers": results})
    print(table(rows, ["parser", "cases", "parsed", "FormatError", "seconds", "result"]))
    return 0 if not any(r["failure"] for r in results) and (api is None or api["returncode"] == 0) else 1


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(ap)
    sys.exit(run(ap.parse_args()))
