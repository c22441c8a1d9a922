"""Hostile input, short CI runs: every parser fuzzed (a few seconds each; the >= 10-minute runs are
`python -m bench.bench_fuzz`), entity-expansion and external-entity XML refused, and the HTTP API fuzzed
with schemathesis over /openapi.json for server errors *and* responses that break their own schema
(the >= 2,000-case run is `python -m bench.bench_fuzz --api-cases 2000`)."""
from __future__ import annotations

import pytest

from bench.bench_fuzz import fuzz_parser, seeds
from ingest.formats import FormatError, formats, parse

SECONDS_PER_PARSER = 3.0


@pytest.mark.parametrize("name", sorted(formats()))
def test_parser_fuzz_only_format_error(name):
    r = fuzz_parser(name, SECONDS_PER_PARSER, file_seconds=10.0)
    assert r["failure"] is None, r["failure"]
    assert r["cases"] >= 20, r


def test_every_parser_has_a_real_seed_that_parses(tmp_path):
    for name, (fname, data) in seeds().items():
        p = tmp_path / fname
        p.write_bytes(data)
        assert list(formats()[name].parse(p)), name


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE sdnList [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<sdnList><publshInformation><Publish_Date>06/30/2025</Publish_Date></publshInformation>
<sdnEntry><uid>1</uid><lastName>&lol9;</lastName><sdnType>Entity</sdnType></sdnEntry></sdnList>
"""
# SECRET_FILE is replaced by a file of the test's own, holding a word found nowhere else: it shows up in the parsed
# text only if the external entity was read.
XXE_FILE = """<?xml version="1.0"?>
<!DOCTYPE sdnList [<!ENTITY xxe SYSTEM "file://SECRET_FILE">]>
<sdnList><sdnEntry><uid>1</uid><lastName>&xxe;</lastName><sdnType>Entity</sdnType></sdnEntry></sdnList>
"""
XXE_PARAM = """<?xml version="1.0"?>
<!DOCTYPE sdnList [<!ENTITY % ext SYSTEM "http://127.0.0.1:9/evil.dtd"> %ext;]>
<sdnList><sdnEntry><uid>1</uid><lastName>X</lastName><sdnType>Entity</sdnType></sdnEntry></sdnList>
"""
XXE_DTD = """<?xml version="1.0"?>
<!DOCTYPE sdnList SYSTEM "file:///etc/passwd">
<sdnList><sdnEntry><uid>1</uid><lastName>X</lastName><sdnType>Entity</sdnType></sdnEntry></sdnList>
"""


@pytest.mark.parametrize("content", [BILLION_LAUGHS, XXE_FILE, XXE_PARAM, XXE_DTD],
                         ids=["billion-laughs", "xxe-file", "xxe-parameter-entity", "external-dtd"])
@pytest.mark.parametrize("fmt", [None, "ofac_xml", "article_html", "article_text"])
def test_hostile_xml_is_rejected_or_inert(tmp_path, content, fmt):
    """Auto-detected or forced to the XML parser: entity declarations are refused. A DOCTYPE that only names
    an external DTD (no entity) is accepted but never fetched (expat does not load external DTDs), so the
    file's content cannot leak. Forced to an article parser: plain text, no entity expanded or fetched."""
    secret = tmp_path / "secret.txt"
    secret.write_text("quixotrelmanwidget\n", encoding="utf-8")
    p = tmp_path / "sdn.xml"
    p.write_text(content.replace("SECRET_FILE", str(secret)), encoding="utf-8")
    try:
        docs = parse(p, fmt)
    except FormatError as e:
        assert p.name in str(e)
    else:
        assert fmt in ("article_html", "article_text") or content is XXE_DTD, f"{fmt} accepted hostile XML"
        text = " ".join(d.text + d.title for d in docs)
        assert "lollollol" not in text and "root:x:" not in text
        assert "quixotrelmanwidget" not in text  # the external entity was not expanded
        assert len(text) < 10 * len(content)


@pytest.mark.e2e
def test_schemathesis_no_5xx_and_responses_match_their_schema(tmp_path, embedder):
    """A short schemathesis run (the bench runs >= 2,000 cases): no 5xx, status codes, content types and
    bodies conform to the OpenAPI document."""
    from bench.bench_fuzz import run_schemathesis

    res = run_schemathesis(tmp_path, max_examples=4, max_time=60)
    assert res["returncode"] == 0, res["tail"]
