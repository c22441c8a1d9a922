"""Screening (rag/screen.py) on real lists: the demo store (with the real 2025-06-30 consolidated list),
the full 2024 SDN list plus the consolidated list, and a store that changes under the index."""
from __future__ import annotations

import importlib.util
import random
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from tests.conftest import DEMO, ROOT

NEGATIVES = ["Toyota Motor Corporation", "Nestle S.A.", "Siemens AG", "iFlytek Co., Ltd.", "Dahua Technology",
             "Zhejiang Dahua Technology Co., Ltd.", "SoftBank Group Corp", "Japan Computer Vision Corp."]


def _bench():
    spec = importlib.util.spec_from_file_location("bench_screen", ROOT / "bench" / "bench_screen.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("query", ["Sensetime Group Ltd", "SENSETIME", "Sense Time Group", "sensetime group limited"])
def test_sensetime_found(demo_rb, query):
    from rag.screen import screen

    res = screen(demo_rb, [query])
    assert [r.query for r in res.results] == [query]
    top = res.results[0].matches[0]
    assert top.match and 0.0 <= top.score <= 1.0
    assert top.name == "SENSETIME GROUP LIMITED"
    assert top.list == "NS-CMIC" and top.programs == ["CMIC-EO13959"]
    assert top.listed_on == "2021-12-10" and top.divestment_date == "2022-12-10"
    assert "SENSETIME GROUP" in top.explanation and top.matched_name in top.explanation
    # The other facts come from the stored typed entry, not from metadata keys.
    assert (top.effective_date, top.authority, top.lists, top.entity_type) == ("2022-02-08", "OFAC", ["NS-CMIC"],
                                                                              "organisation")
    assert top.identifiers == ["C.R. No.: 2162198 (Hong Kong)"] and top.countries == ["China"]


def test_explanations_name_the_normalisations(demo_rb):
    from rag.screen import screen

    ltd, spaced, bare = screen(demo_rb, ["Sensetime Group Ltd", "Sense Time Group", "SENSETIME"]).results
    assert "legal form" in ltd.matches[0].normalisations and "case" in ltd.matches[0].normalisations
    assert "ltd" in ltd.matches[0].explanation  # which legal-form words were set aside
    assert "spacing" in spaced.matches[0].normalisations
    assert "generic words" in bare.matches[0].normalisations and "group" in bare.matches[0].explanation


def test_negatives_not_matched(demo_rb):
    from rag.screen import screen

    res = screen(demo_rb, NEGATIVES)
    assert [r.query for r in res.results] == NEGATIVES
    for r in res.results:
        assert not any(m.match for m in r.matches), (r.query, r.matches[:1])
        assert all(a.score >= b.score for a, b in zip(r.matches, r.matches[1:]))


def test_type_filter(demo_rb):
    from rag.screen import screen

    assert screen(demo_rb, ["SENSETIME"], type="company").results[0].matches[0].match
    assert not any(m.match for m in screen(demo_rb, ["SENSETIME"], type="person").results[0].matches)
    with pytest.raises(ValueError):
        screen(demo_rb, ["SENSETIME"], type="vessel")


def test_index_follows_the_registry(rb, tmp_path):
    """Ingest a list: its entries are screened; remove it: they are gone (the index is rebuilt)."""
    from rag.screen import screen

    src = tmp_path / "ofac_sdn_extract.csv"
    shutil.copy(DEMO / "lists" / "ofac_sdn_extract.csv", src)
    assert not screen(rb, ["Bank Melli Iran"]).results[0].matches
    assert rb.ingestor.ingest([src]).ok
    top = screen(rb, ["bank meli iran"]).results[0].matches[0]
    assert top.match and top.name == "BANK MELLI IRAN" and top.list == "SDN" and "IRAN" in top.programs
    by_alias = screen(rb, ["BMI"]).results[0].matches[0]
    assert by_alias.name == "BANK MELLI IRAN" and by_alias.matched_name == "BMI"
    # An identifier written in the SDN Remarks (a Tax ID, a digital currency address) is matched exactly.
    by_id = screen(rb, ["funds sent to 0x910Cbd523D972eb0a6f4cAe4618aD62622b39DbF"]).results[0].matches[0]
    assert by_id.match and by_id.name == "TORNADO CASH" and by_id.explanation.endswith("an identifier of TORNADO CASH.")
    tax = screen(rb, ["Tax ID 801326153"]).results[0].matches[0]
    assert tax.name == "INTELLEXA S.A." and "Tax ID No.: 801326153 (Greece)" in tax.identifiers
    rb.ingestor.remove(source=str(src))
    assert not any(m.match for m in screen(rb, ["Bank Melli Iran"]).results[0].matches)


def test_full_sdn_list_quality_and_speed():
    """The full 2024 SDN list plus the consolidated list: entries found by their own (corrupted) names,
    negatives not matched, and 1,000 names screened in well under the budget."""
    from rag.entities import EntityIndex
    from rag.screen import DEFAULT_THRESHOLD, name_index, screen_names

    bench = _bench()
    tmp = Path(tempfile.mkdtemp())
    try:
        ei = EntityIndex(bench.build_registry(tmp))
        index = name_index(ei)
        assert len(index.entries) > 15000
        pos = bench.positives(index.entries, 400, seed=11)
        rows = bench.run(bench.Regbrief(index), pos, bench.NEGATIVES)
        m = bench.metrics(rows, DEFAULT_THRESHOLD)
        assert m["f1"] > 0.95, m
        assert m["negatives_matched"] == 0, m
        names = [p["query"] for p in bench.positives(index.entries, 1000, seed=12)]
        t0 = time.perf_counter()
        res = screen_names(ei, names)
        elapsed = time.perf_counter() - t0
        assert len(res.results) == 1000 and [r.query for r in res.results] == names
        assert elapsed < 10, elapsed  # 5 s is the target on an idle machine (see bench/results/screen.json)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_corruption_is_deterministic():
    bench = _bench()
    a = [bench.corrupt("SENSETIME GROUP LIMITED", False, random.Random(5)) for _ in range(3)]
    b = [bench.corrupt("SENSETIME GROUP LIMITED", False, random.Random(5)) for _ in range(3)]
    assert a == b
