"""Two API processes against one `chroma run` server (the way to run several workers: embedded Chroma
allows one writer process). Both serve the same store; a document uploaded through one is found
through the other."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "ingest" / "demo_corpus"

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(url: str, proc: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"{url}: process exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url} not ready")


def test_two_api_processes_share_one_chroma_server(tmp_path):
    chroma_port = _free_port()
    chroma = subprocess.Popen(
        [str(Path(sys.executable).parent / "chroma"), "run", "--path", str(tmp_path / "chroma"),
         "--port", str(chroma_port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs: list[subprocess.Popen] = []
    try:
        home = tmp_path / "home"
        env = {k: v for k, v in os.environ.items() if not k.startswith("REGBRIEF_")}
        env.update({"REGBRIEF_HOME": str(home), "REGBRIEF_CHROMA_URL": f"http://127.0.0.1:{chroma_port}",
                    "REGBRIEF_COLLECTION": "scaleout", "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"})
        deadline = time.monotonic() + 60
        while True:  # the server takes a moment to listen
            try:
                httpx.get(f"http://127.0.0.1:{chroma_port}/api/v2/heartbeat", timeout=2)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        # Ingest in this process (the session's model), then serve from two others.
        from rag.service import Regbrief
        from rag.core.settings import Settings

        rb = Regbrief(Settings(home=home, chroma_url=env["REGBRIEF_CHROMA_URL"], collection="scaleout"))
        assert rb.ingestor.ingest([DEMO / "lists"]).ok

        ports = [_free_port(), _free_port()]
        for port in ports:
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "api.cli", "serve", "--port", str(port), "--log-level", "warning"],
                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        urls = [f"http://127.0.0.1:{p}" for p in ports]
        for url, proc in zip(urls, procs):
            _wait(url + "/readyz", proc)
        assert not (home / "chroma").exists(), "server mode must not write an embedded store"

        tops = []
        for url in urls:
            r = httpx.get(url + "/v1/search", params={"q": "Sensetime", "k": 1}, timeout=60)
            assert r.status_code == 200, r.text
            tops.append(r.json()["results"][0]["metadata"]["uid"])
        assert tops == ["33114", "33114"]

        # Written through the first process, read through the second.
        article = ("---\ntitle: \"Test fixture: Pellingham Dredging\"\ndate: 2025-04-01\n---\n\n"
                   "Pellingham Dredging Ltd deepened the harbour channel at Falmouth in March 2025.\n")
        r = httpx.post(urls[0] + "/v1/documents", files=[("files", ("pellingham.md", article.encode()))], timeout=60)
        assert r.status_code == 202
        job_url = urls[0] + r.json()["url"]
        for _ in range(600):
            job = httpx.get(job_url, timeout=30).json()
            if job["status"] in ("succeeded", "failed"):
                break
            time.sleep(0.2)
        assert job["status"] == "succeeded", job
        r = httpx.get(urls[1] + "/v1/search", params={"q": "Pellingham Dredging harbour", "k": 3}, timeout=60)
        assert any(x["source"].startswith("pellingham.md") for x in r.json()["results"]), r.json()
        r = httpx.get(urls[1] + "/v1/documents", params={"source": "upload:pellingham.md"}, timeout=60)
        assert r.json()["total"] == 1
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
        chroma.terminate()
        chroma.wait(timeout=30)
