"""Three API worker processes, each with its own empty REGBRIEF_HOME (three machines, as far as the store is
concerned), one PostgreSQL and one Chroma server: what goes in through one worker comes out of the others,
jobs and rate limits are shared, concurrent and killed ingests leave one consistent store, and a PostgreSQL
restart under load gives 503s that name it, then recovery without restarting any worker."""
from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import DATA, DEMO, make_rb
from tests.pg import ApiWorker, PgServer

pytestmark = pytest.mark.slow

KEYS = ["key-upload", "key-read", "key-rate", "key-kill", "key-load"]
RATE = 60  # requests per minute per key, in total over the workers
FR = DATA / "federal_register" / "fr_sanctions_export_controls_abstracts.jsonl"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, chroma_server):
    root = tmp_path_factory.mktemp("scaleout")
    pg = PgServer().start()  # its own server: one test restarts it
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGBRIEF_")}
    env.update({"REGBRIEF_DATABASE_URL": pg.create_database("regbrief"), "REGBRIEF_CHROMA_URL": chroma_server.url,
                "REGBRIEF_COLLECTION": "scaleout", "REGBRIEF_API_KEYS": ",".join(KEYS),
                "REGBRIEF_RATE_LIMIT_PER_MINUTE": str(RATE), "REGBRIEF_INGEST_BATCH_CHUNKS": "50",
                "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"})
    workers = [ApiWorker(root / f"home{n}", env, root / f"worker{n}.log") for n in (1, 2, 3)]
    try:
        for w in workers:
            w.wait_ready()
        yield {"pg": pg, "workers": workers, "env": env, "root": root}
    finally:
        for w in workers:
            w.stop()
        pg.close()


def store_of(cluster, embedder=None):
    """The shared store as one more process sees it (to check consistency)."""
    e = cluster["env"]
    return make_rb(cluster["root"] / "checker", database_url=e["REGBRIEF_DATABASE_URL"],
                   chroma_url=e["REGBRIEF_CHROMA_URL"], collection=e["REGBRIEF_COLLECTION"])


def upload(client: httpx.Client, paths: list[Path]) -> str:
    files = [("files", (p.name, p.read_bytes(), "application/octet-stream")) for p in paths]
    r = client.post("/v1/documents", files=files)
    assert r.status_code == 202, r.text
    return r.json()["job_id"]


def wait(client: httpx.Client, job_id: str, timeout: float = 600) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = client.get(f"/v1/jobs/{job_id}")
        assert r.status_code == 200, r.text
        if r.json()["status"] in ("succeeded", "failed"):
            return r.json()
        time.sleep(1.5)
    raise AssertionError(f"job {job_id} did not finish")


def test_upload_through_one_worker_is_served_by_the_others(cluster, embedder):
    w1, w2, w3 = cluster["workers"]
    demo = sorted((DEMO / "lists").iterdir()) + sorted((DEMO / "articles").iterdir())
    job_id = upload(w1.client("key-upload"), demo)
    job = wait(w2.client("key-upload"), job_id)  # polled through another worker
    assert job["status"] == "succeeded", job
    assert job_id in {j["id"] for j in w3.client("key-upload").get("/v1/jobs").json()["jobs"]}
    tops = []
    for w in (w2, w3):
        r = w.client("key-read").get("/v1/search", params={"q": "Sensetime", "k": 3})
        assert r.status_code == 200, r.text
        tops.append([x["chunk_id"] for x in r.json()["results"]])
    assert tops[0] == tops[1] and tops[0]
    a = w3.client("key-read").post("/v1/ask", json={"question": "Is SenseTime sanctioned?"}).json()
    assert "SenseTime" in a["answer"].replace("SENSETIME", "SenseTime") and a["citations"], a
    # the answer is in the audit trail every worker reads
    assert w1.client("key-read").get(f"/v1/history/{a['id']}").status_code == 200
    for w in (w1, w2, w3):
        assert not (Path(cluster["root"]) / f"home{cluster['workers'].index(w) + 1}" / "regbrief.sqlite3").exists()
        assert not (Path(cluster["root"]) / f"home{cluster['workers'].index(w) + 1}" / "chroma").exists()


def test_rate_limit_holds_in_total_over_the_workers(cluster):
    clients = [w.client("key-rate") for w in cluster["workers"]]
    codes = [clients[i % 3].get("/v1/jobs").status_code for i in range(RATE + 30)]
    assert codes.count(200) == RATE and codes.count(429) == 30, codes


def test_two_ingests_at_once_through_two_workers(cluster, tmp_path, embedder):
    w1, w2, _ = cluster["workers"]
    lines = FR.read_text(encoding="utf-8").splitlines(keepends=True)
    a, b = tmp_path / "fr_a.jsonl", tmp_path / "fr_b.jsonl"
    a.write_text("".join(lines[:120]), encoding="utf-8")
    b.write_text("".join(lines[120:240]), encoding="utf-8")
    ja, jb = upload(w1.client("key-upload"), [a]), upload(w2.client("key-upload"), [b])
    assert wait(w2.client("key-upload"), ja)["status"] == "succeeded"
    assert wait(w1.client("key-upload"), jb)["status"] == "succeeded"
    rb = store_of(cluster)
    check = rb.store.check()
    assert check["ok"] and check["pending"] == 0, check
    by_source = {s: rb.store.count_documents(s) for s in rb.store.sources()}
    assert by_source.get("upload:fr_a.jsonl") == 120 and by_source.get("upload:fr_b.jsonl") == 120, by_source


def test_postgres_restart_under_load_gives_503_then_recovers(cluster):
    w1, w2, _ = cluster["workers"]
    pg = cluster["pg"]
    before = w1.client("key-read").get("/v1/search", params={"q": "Sensetime", "k": 3}).json()["results"]
    seen: list[tuple[float, int, str]] = []
    stop = threading.Event()

    def load(w):
        c = w.client("key-load")
        while not stop.is_set():
            t0 = time.monotonic()  # when the request was sent: one sent before the stop may still succeed
            try:
                r = c.get("/v1/search", params={"q": "Sensetime", "k": 3}, timeout=30)
                seen.append((t0, r.status_code, r.text[:300]))
            except httpx.HTTPError as e:
                seen.append((t0, 0, str(e)))
            time.sleep(0.8)  # stays under the per-key limit with two threads

    threads = [threading.Thread(target=load, args=(w,), daemon=True) for w in (w1, w2)]
    for t in threads:
        t.start()
    time.sleep(2)
    pg.stop()
    down = time.monotonic()
    time.sleep(15)
    pg.start()
    up = time.monotonic()
    time.sleep(15)
    stop.set()
    for t in threads:
        t.join(timeout=60)
    during = [s for s in seen if down < s[0] < up - 6]  # sent while the server was down
    assert during and all(code == 503 for _, code, _ in during), during
    assert all("PostgreSQL" in text for _, _, text in during), during[:2]
    tail = [s for s in seen if s[0] > up + 10]
    assert tail and all(code == 200 for _, code, _ in tail), tail
    assert w2.client("key-read").get("/v1/search", params={"q": "Sensetime", "k": 3}).json()["results"] == before


def test_worker_killed_mid_ingest_is_recovered_through_another(cluster, tmp_path, embedder):
    w1, _, w3 = cluster["workers"]
    big = tmp_path / "fr_big.jsonl"
    big.write_text("".join(FR.read_text(encoding="utf-8").splitlines(keepends=True)[:400]), encoding="utf-8")
    job_id = upload(w3.client("key-kill"), [big])
    rb = store_of(cluster)
    deadline = time.monotonic() + 300
    while rb.store.count_documents("upload:fr_big.jsonl") == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert 0 < rb.store.count_documents("upload:fr_big.jsonl") < 400, "the ingest finished before the kill"
    w3.proc.send_signal(signal.SIGKILL)
    w3.proc.wait()
    job = wait(w1.client("key-kill"), job_id, timeout=30)
    assert job["status"] == "failed" and "stopped" in job["error"], job
    again = wait(w1.client("key-kill"), upload(w1.client("key-kill"), [big]))
    assert again["status"] == "succeeded", again
    assert rb.store.count_documents("upload:fr_big.jsonl") == 400
    check = rb.store.check()
    assert check["ok"] and check["pending"] == 0 and check["duplicate_chunks"] == 0, check
