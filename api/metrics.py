"""Prometheus metrics in the text exposition format, without a client library.

Request counts and latency histograms per route template (never per raw path, so the number of series
stays bounded), ingest counts, job counts, and gauges read at scrape time (store size, memory).
"""
from __future__ import annotations

import os
import threading
from collections import defaultdict

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def _labels(d: dict[str, str]) -> str:
    if not d:
        return ""
    inner = ",".join(f'{k}="{_escape(str(v))}"' for k, v in sorted(d.items()))
    return "{" + inner + "}"


def _escape(v: str) -> str:
    return v.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: dict[tuple[str, str, str], int] = defaultdict(int)
        self.latency_buckets: dict[tuple[str, str], list[int]] = {}
        self.latency_sum: dict[tuple[str, str], float] = defaultdict(float)
        self.latency_count: dict[tuple[str, str], int] = defaultdict(int)
        self.counters: dict[tuple[str, tuple], float] = defaultdict(float)
        self.help: dict[str, str] = {}

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        with self._lock:
            self.requests[(method, route, str(status))] += 1
            key = (method, route)
            buckets = self.latency_buckets.setdefault(key, [0] * len(BUCKETS))
            for i, b in enumerate(BUCKETS):
                if seconds <= b:
                    buckets[i] += 1
            self.latency_sum[key] += seconds
            self.latency_count[key] += 1

    def inc(self, name: str, value: float = 1.0, help: str = "", **labels: str) -> None:
        with self._lock:
            self.counters[(name, tuple(sorted(labels.items())))] += value
            if help:
                self.help.setdefault(name, help)

    def render(self, gauges: dict[str, tuple[str, list[tuple[dict[str, str], float]]]] | None = None) -> str:
        out: list[str] = []
        with self._lock:
            out += ["# HELP regbrief_http_requests_total HTTP requests by method, route and status.",
                    "# TYPE regbrief_http_requests_total counter"]
            for (m, r, s), n in sorted(self.requests.items()):
                out.append(f"regbrief_http_requests_total{_labels({'method': m, 'route': r, 'status': s})} {n}")
            out += ["# HELP regbrief_http_request_duration_seconds HTTP request latency.",
                    "# TYPE regbrief_http_request_duration_seconds histogram"]
            for key in sorted(self.latency_buckets):
                m, r = key
                base = {"method": m, "route": r}
                for b, n in zip(BUCKETS, self.latency_buckets[key]):
                    out.append(f"regbrief_http_request_duration_seconds_bucket{_labels({**base, 'le': str(b)})} {n}")
                out.append(f"regbrief_http_request_duration_seconds_bucket{_labels({**base, 'le': '+Inf'})} "
                           f"{self.latency_count[key]}")
                out.append(f"regbrief_http_request_duration_seconds_sum{_labels(base)} {self.latency_sum[key]:.6f}")
                out.append(f"regbrief_http_request_duration_seconds_count{_labels(base)} {self.latency_count[key]}")
            names = sorted({n for n, _ in self.counters})
            for name in names:
                out.append(f"# HELP {name} {self.help.get(name, name)}")
                out.append(f"# TYPE {name} counter")
                for (n, labels), v in sorted(self.counters.items()):
                    if n == name:
                        out.append(f"{name}{_labels(dict(labels))} {v:g}")
        for name, (help, samples) in sorted((gauges or {}).items()):
            out += [f"# HELP {name} {help}", f"# TYPE {name} gauge"]
            for labels, v in samples:
                out.append(f"{name}{_labels(labels)} {v:g}")
        return "\n".join(out) + "\n"
