"""/metrics through prometheus-client with several worker processes: `uvicorn --workers 2` with
PROMETHEUS_MULTIPROC_DIR set, a real server on an empty store. Whichever worker answers a scrape, the
request counters are the sum over all workers; process metrics are there; each live worker reports its
memory."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow
HITS = 40


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthz_count(text: str) -> float:
    m = re.search(r'^regbrief_http_requests_total\{method="GET",route="/healthz",status="200"\} (\S+)$', text, re.M)
    return float(m.group(1)) if m else 0.0


def test_counters_add_up_over_worker_processes(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REGBRIEF_", "PROMETHEUS_"))}
    (tmp_path / "prom").mkdir()
    env.update(REGBRIEF_HOME=str(tmp_path / "home"), PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "prom"),
               REGBRIEF_RATE_LIMIT_PER_MINUTE="100000", HF_HUB_OFFLINE="1")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    # --timeout-worker-healthcheck: each worker's warm-up loads rigour's name tables, which holds the
    # interpreter for several seconds; uvicorn's default 5 s makes the supervisor kill and restart it (README).
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "--factory", "api.app:app_from_env", "--workers", "2",
                             "--timeout-worker-healthcheck", "60",
                             "--port", str(port), "--log-level", "warning"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while True:  # both workers load the model before they serve
            try:
                if httpx.get(url + "/readyz", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.5)

        def hit(_):  # a new connection each time, so the kernel may hand it to either worker
            with httpx.Client() as c:
                assert c.get(url + "/healthz").status_code == 200

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(hit, range(HITS)))
        for _ in range(6):  # every scrape, whichever worker answers it, sees all the workers' requests
            with httpx.Client() as c:
                r = c.get(url + "/metrics")
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
            assert _healthz_count(r.text) == HITS, r.text[:2000]
            assert re.search(r"^process_resident_memory_bytes \S+$", r.text, re.M)
            assert re.search(r"^regbrief_store_documents 0\.0$", r.text, re.M)
            pids = re.findall(r'^regbrief_worker_resident_memory_bytes\{pid="(\d+)"\} \S+$', r.text, re.M)
            assert pids and len(pids) <= 2
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
