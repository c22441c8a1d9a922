"""Real servers for the PostgreSQL variants of the tests (and the benchmarks): a PostgreSQL cluster of our
own (Debian's postgresql package, /usr/lib/postgresql/N/bin; .ci/run installs it) and a `chroma run`, each
on a free loopback port, in a temporary directory removed at the end.

initdb refuses to run as root, so as root the cluster belongs to the `postgres` user (runuser)."""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def terminate(proc: subprocess.Popen, timeout: float = 30) -> None:
    """Stop a server process we started: SIGTERM, then SIGKILL after `timeout` seconds."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def pg_bin() -> Path | None:
    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]), reverse=True):
        if (Path(d) / "initdb").exists():
            return Path(d)
    found = shutil.which("initdb")
    return Path(found).parent if found else None


class PgServer:
    """`with PgServer() as pg:` a running cluster; `pg.url(db)` a database URL; stop/start/restart."""

    def __init__(self, port: int | None = None, root: Path | None = None):
        """A new cluster in a temporary directory, or the one kept at `root` (created when missing)."""
        self.bin = pg_bin()
        if self.bin is None:
            raise RuntimeError("PostgreSQL server binaries not found (apt-get install postgresql)")
        self.port = port or free_port()
        self.keep = root is not None
        self.dir = Path(root).resolve() if root else Path(tempfile.mkdtemp(prefix="regbrief-pg-"))
        self.data, self.log, self.sock = self.dir / "data", self.dir / "server.log", self.dir / "sock"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.sock.mkdir(exist_ok=True)
        self.as_root = os.geteuid() == 0
        if self.as_root:
            subprocess.run(["chown", "-R", "postgres:postgres", str(self.dir)], check=True)
            # every directory above the cluster must be passable for the postgres user
            for parent in self.dir.resolve().parents:
                if parent != Path("/") and not os.stat(parent).st_mode & 0o001:
                    os.chmod(parent, os.stat(parent).st_mode | 0o011)
        if (self.data / "PG_VERSION").exists():
            return
        self._run(["initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8",
                   "--locale", "C.UTF-8"])

    def _run(self, cmd: list[str], check: bool = True) -> subprocess.CompletedProcess:
        full = [str(self.bin / cmd[0]), *cmd[1:]]
        if self.as_root:
            full = ["runuser", "-u", "postgres", "--", *full]
        return subprocess.run(full, check=check, capture_output=True, text=True, cwd="/")

    def start(self) -> "PgServer":
        opts = (f"-k {self.sock} -p {self.port} -c listen_addresses=127.0.0.1 -c max_connections=300 "
                f"-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c shared_buffers=256MB")
        self._run(["pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", opts, "-w", "-t", "60", "start"])
        return self

    def stop(self, mode: str = "fast") -> None:
        self._run(["pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop"], check=False)

    def restart(self) -> None:
        self.stop()
        self.start()

    def url(self, db: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{db}"

    def create_database(self, name: str | None = None) -> str:
        """A new empty database; returns its URL."""
        import psycopg

        name = name or f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def command(self, name: str) -> str:
        return str(self.bin / name)

    def __enter__(self) -> "PgServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.stop("immediate" if not self.keep else "fast")
        if not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)


class ChromaServer:
    """A real `chroma run` on a free loopback port."""

    def __init__(self, path: Path | None = None, port: int | None = None):
        self.port = port or free_port()
        self.own_dir = path is None
        self.path = Path(path or tempfile.mkdtemp(prefix="regbrief-chroma-"))
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 90) -> "ChromaServer":
        chroma = Path(sys.executable).parent / "chroma"
        self.proc = subprocess.Popen([str(chroma), "run", "--path", str(self.path), "--port", str(self.port)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while True:
            try:
                httpx.get(f"{self.url}/api/v2/heartbeat", timeout=2).raise_for_status()
                return self
            except httpx.HTTPError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError(f"chroma run did not start on {self.url}")
                time.sleep(0.3)

    def stop(self) -> None:
        if self.proc:
            terminate(self.proc)

    def __enter__(self) -> "ChromaServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
        if self.own_dir:
            shutil.rmtree(self.path, ignore_errors=True)


class ApiWorker:
    """`regbrief serve` in its own process with its own REGBRIEF_HOME (one machine, as far as the store knows)."""

    def __init__(self, home: Path, env: dict, log: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(log, "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "serve", "--port", str(self.port), "--log-level", "warning"],
            cwd=Path(__file__).resolve().parents[1], env={**env, "REGBRIEF_HOME": str(home)}, stdout=self.log, stderr=subprocess.STDOUT)

    def client(self, key: str) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {key}"}, timeout=120)

    def wait_ready(self, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"worker on {self.url} exited ({self.proc.returncode})"
            try:
                if httpx.get(self.url + "/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise AssertionError(f"{self.url} not ready")

    def stop(self) -> None:
        terminate(self.proc)
        self.log.close()
