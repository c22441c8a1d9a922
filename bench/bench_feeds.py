"""Feed sync of an unchanged big list: the real SDN list of 3 May 2024 (14,965 entries) served by Python's
own http.server (SimpleHTTPRequestHandler: Last-Modified, and 304 to If-Modified-Since) on a loopback port.

  first sync     the whole list fetched, parsed, diffed and stored (vectors from the embedding cache, so
                 this measures the feed, not the model)
  conditional    re-syncs of the unchanged list: one If-Modified-Since request answered 304
  hash           re-syncs against a server that ignores conditional headers: the whole file is fetched
                 again and its SHA-256 found equal to the stored one; nothing parsed or written

The issue's bar: an unchanged 10,000-entry list syncs in under 2 s with one request.
"""
from __future__ import annotations

import functools
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

from bench import DATA, TMP, CachedEmbedder, fresh_dir, latency_summary, log, real_embedder, write_result

SDN = DATA / "ofac" / "sdn_2024-05-03.csv"
REPEATS = 10


class Counting(SimpleHTTPRequestHandler):
    requests = 0
    conditional = True

    def do_GET(self):
        type(self).requests += 1
        if not type(self).conditional:
            for h in ("If-Modified-Since", "If-None-Match"):
                del self.headers[h]
        super().do_GET()

    def log_message(self, *args):
        pass


def serve(conditional: bool):
    handler = type("Handler", (Counting,), {"conditional": conditional, "requests": 0})
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(SDN.parent)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, handler


def resyncs(rb, name: str, handler) -> dict:
    seconds, statuses, before = [], set(), handler.requests
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        r = rb.sync_feeds([name])[0]
        seconds.append(time.perf_counter() - t0)
        statuses.add(r.status)
    return {"statuses": sorted(statuses), "requests_per_sync": (handler.requests - before) / REPEATS,
            "seconds": latency_summary(seconds)}


def main() -> None:
    from rag.service import Regbrief
    from rag.core.settings import Settings

    rb = Regbrief(Settings(home=fresh_dir(TMP / "feeds_bench")))
    rb.__dict__["embedder"] = CachedEmbedder(real_embedder())
    plain, plain_handler = serve(conditional=True)
    deaf, deaf_handler = serve(conditional=False)
    try:
        rb.add_feed("sdn", f"http://127.0.0.1:{plain.server_port}/{SDN.name}", "ofac_sdn_csv")
        rb.add_feed("sdn-no-304", f"http://127.0.0.1:{deaf.server_port}/{SDN.name}", "ofac_sdn_csv")
        t0 = time.perf_counter()
        first = rb.sync_feeds(["sdn"])[0]
        first_s = time.perf_counter() - t0
        log(f"first sync: {first.status} {first.documents} documents in {first_s:.1f} s")
        assert first.status == "updated", first
        second = rb.sync_feeds(["sdn-no-304"])[0]  # same documents under its own source
        assert second.status == "updated", second
        result = {
            "list": {"file": SDN.name, "bytes": SDN.stat().st_size, "entries": first.documents},
            "first_sync_seconds": round(first_s, 2),
            "unchanged_conditional": resyncs(rb, "sdn", plain_handler),
            "unchanged_by_hash": resyncs(rb, "sdn-no-304", deaf_handler),
        }
    finally:
        plain.shutdown()
        deaf.shutdown()
    for k in ("unchanged_conditional", "unchanged_by_hash"):
        r = result[k]
        log(f"{k}: {r['statuses']} {r['requests_per_sync']} request(s) per sync, "
            f"p50 {r['seconds']['p50_ms']:.0f} ms, max {r['seconds']['max_ms']:.0f} ms")
    path = write_result("feeds", result)
    log(f"wrote {path}")


if __name__ == "__main__":
    main()
