"""The soak test, short: 8 clients of mixed search, ask, chat (plain and streamed) and upload traffic
from this process against `regbrief serve` in another, on loopback, while an 800-entry slice of the 2024
SDN list is uploaded and ingested. Zero errors, every upload ingested and findable, the store consistent.

The full run (about 13 minutes: 10,000 entries, latency ratios against a baseline, the memory-growth
target) is `python -m bench soak`; a run this short shows no memory trend, so memory is printed, not judged.
"""
from __future__ import annotations

import json

from bench.bench_soak import soak


def test_short_soak_with_a_large_ingest(tmp_path):
    fig = soak(tmp_path / "home", baseline_s=0, soak_max_s=90, steady_s=15, warmup_s=5, sdn_rows=800,
               upload_every=8)
    print(json.dumps({k: fig[k] for k in ("phases", "large_ingest", "uploads", "memory")}, indent=1))
    assert fig["errors"] == 0, [p["error_examples"] for p in fig["phases"].values()]
    kinds = {k for p in fig["phases"].values() for k in p["by_kind"]}
    assert {"search", "ask", "chat", "upload"} <= kinds, kinds  # every kind of request was sent
    assert fig["large_ingest"]["status"] == "succeeded" and fig["large_ingest"]["documents"] >= 700, \
        fig["large_ingest"]
    assert fig["uploads"] >= 8 and fig["lost_uploads"] == [], fig["lost_uploads"]
    assert fig["store_check"]["ok"], fig["store_check"]
    # the server prepared the list in its low-priority ingest worker process, not beside the queries
    assert fig["memory"]["ingest_worker_peak_mb"], fig["memory"]
