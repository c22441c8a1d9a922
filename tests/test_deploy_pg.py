"""The README's multi-machine commands, run as written (section 'Several machines: PostgreSQL'): a database,
a Chroma server, `regbrief ingest` / `check` / `search` against them, then a backup with pg_dump and the
Chroma data directory, restored into a new database and a new Chroma server, answering as before."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import DEMO, ROOT
from tests.pg import ChromaServer

pytestmark = pytest.mark.slow


def sh(cmd: list[str], env: dict | None = None, ok: bool = True) -> subprocess.CompletedProcess:
    r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    if ok:
        assert r.returncode == 0, f"{cmd}: {r.returncode}\n{r.stdout[-2000:]}\n{r.stderr[-3000:]}"
    return r


def test_readme_deployment_backup_and_restore(pg_server, tmp_path, embedder):
    pg = pg_server
    conn = ["-h", "127.0.0.1", "-p", str(pg.port), "-U", "postgres"]
    regbrief = [sys.executable, "-m", "api.cli"]
    # createdb regbrief; chroma run --path /srv/chroma --port 8001
    sh([pg.command("createdb"), *conn, "regbrief_deploy"])
    chroma = ChromaServer(tmp_path / "chroma").start()
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGBRIEF_")}
    env.update({"REGBRIEF_DATABASE_URL": pg.url("regbrief_deploy"), "REGBRIEF_CHROMA_URL": chroma.url,
                "REGBRIEF_HOME": str(tmp_path / "cache"), "HF_HUB_OFFLINE": "1"})
    try:
        sh([*regbrief, "ingest", "--quiet", str(DEMO / "lists"), str(DEMO / "articles")], env)
        check = json.loads(sh([*regbrief, "check", "--json"], env).stdout)
        assert check["ok"] and check["chunks"] > 0, check
        before = json.loads(sh([*regbrief, "search", "--json", "SenseTime listing"], env).stdout)["results"]
        assert before
        # `regbrief backup` cannot hold a PostgreSQL store and says what to use instead
        r = sh([*regbrief, "backup", str(tmp_path / "x.tar.gz")], env, ok=False)
        assert r.returncode == 2 and "pg_dump" in r.stderr
        # pg_dump --format=custom --file regbrief.pgdump "$REGBRIEF_DATABASE_URL"
        dump = tmp_path / "regbrief.pgdump"
        sh([pg.command("pg_dump"), "--format=custom", "--file", str(dump), env["REGBRIEF_DATABASE_URL"]])
        # stop the Chroma server, then: tar -C /srv/chroma -czf chroma.tar.gz .
        chroma.stop()
        sh(["tar", "-C", str(chroma.path), "-czf", str(tmp_path / "chroma.tar.gz"), "."])
    finally:
        chroma.stop()
    # restore: createdb regbrief_restored; pg_restore --dbname URL regbrief.pgdump; untar; chroma run
    sh([pg.command("createdb"), *conn, "regbrief_restored"])
    sh([pg.command("pg_restore"), "--dbname", pg.url("regbrief_restored"), str(dump)])
    (tmp_path / "chroma-restored").mkdir()
    sh(["tar", "-C", str(tmp_path / "chroma-restored"), "-xzf", str(tmp_path / "chroma.tar.gz")])
    with ChromaServer(tmp_path / "chroma-restored") as restored:
        env.update({"REGBRIEF_DATABASE_URL": pg.url("regbrief_restored"), "REGBRIEF_CHROMA_URL": restored.url,
                    "REGBRIEF_HOME": str(tmp_path / "cache2")})
        check = json.loads(sh([*regbrief, "check", "--json"], env).stdout)
        assert check["ok"] and check["pending"] == 0, check
        after = json.loads(sh([*regbrief, "search", "--json", "SenseTime listing"], env).stdout)["results"]
        assert [(r["chunk_id"], round(r["score"], 6)) for r in after] == \
               [(r["chunk_id"], round(r["score"], 6)) for r in before]
