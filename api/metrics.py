"""Prometheus metrics through prometheus-client.

Counters and histograms live in a registry per app (tests run several apps in one process). With several
worker processes (`uvicorn --workers N`), set PROMETHEUS_MULTIPROC_DIR to an empty directory shared by the
workers: every worker then writes its samples there and a scrape of any worker sums them all
(prometheus-client's multiprocess mode). Gauges that describe the store are read at scrape time; the
`process_*` metrics describe the process that answers the scrape, and in multiprocess mode
`regbrief_worker_resident_memory_bytes{pid}` gives each live worker's memory.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterable

from prometheus_client import (CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector,
                               disable_created_metrics, generate_latest, multiprocess)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
CONTENT_TYPE = CONTENT_TYPE_LATEST

disable_created_metrics()  # no `*_created` series beside each counter: nothing here reads them


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


class LiveGauges(Collector):
    """Gauges computed when scraped: `read()` returns {name: (help, [(labels, value), ...])}."""

    def __init__(self, read: Callable[[], dict[str, tuple[str, list[tuple[dict[str, str], float]]]]]):
        self.read = read

    def collect(self) -> Iterable[GaugeMetricFamily]:
        for name, (help, samples) in sorted(self.read().items()):
            labels = sorted({k for lbls, _ in samples for k in lbls})
            family = GaugeMetricFamily(name, help, labels=labels)
            for lbls, value in samples:
                family.add_metric([lbls.get(k, "") for k in labels], value)
            yield family


class Metrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.requests = Counter("regbrief_http_requests", "HTTP requests by method, route and status.",
                                ["method", "route", "status"], registry=r)
        self.latency = Histogram("regbrief_http_request_duration_seconds", "HTTP request latency.",
                                 ["method", "route"], buckets=BUCKETS, registry=r)
        self.answers = Counter("regbrief_answers", "Answers given, by backend and whether they refused.",
                               ["backend", "refused"], registry=r)
        self.ingest_documents = Counter("regbrief_ingest_documents", "Documents ingested, by operation.",
                                        ["op"], registry=r)
        self.ingest_files = Counter("regbrief_ingest_files", "Files ingested, by status.", ["status"], registry=r)
        self.jobs = Counter("regbrief_jobs", "Background jobs finished, by kind and status.",
                            ["kind", "status"], registry=r)
        self.worker_rss = None
        if multiprocess_dir():
            self.worker_rss = Gauge("regbrief_worker_resident_memory_bytes", "Resident memory of each live worker.",
                                    registry=r, multiprocess_mode="liveall")

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)
        if self.worker_rss is not None:
            self.worker_rss.set(rss_bytes())

    def render(self, live: LiveGauges | None = None) -> bytes:
        """The exposition text: counters and histograms (every worker's, summed, in multiprocess mode),
        then the scrape-time gauges and this process's own metrics."""
        if multiprocess_dir():
            shared = CollectorRegistry()
            multiprocess.MultiProcessCollector(shared)
        else:
            shared = self.registry
        here = CollectorRegistry()
        ProcessCollector(registry=here)
        if live is not None:
            here.register(live)
        return generate_latest(shared) + generate_latest(here)


def worker_exited() -> None:
    """Drop this worker's live gauges from the shared directory (multiprocess mode only)."""
    if multiprocess_dir():
        multiprocess.mark_process_dead(os.getpid())
