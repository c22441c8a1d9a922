"""An ASGI app served by uvicorn in a thread of this process, on a free loopback port: for the tests and
benchmarks that go through real HTTP with an app they built themselves (tests/test_screen.py,
bench/bench_screen.py). tests/test_api.py's LiveServer keeps one such server per configuration for a session."""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from tests.pg import free_port


@contextmanager
def serving(app, timeout: float = 120, **config) -> Iterator[str]:
    """`with serving(app) as url:` the app answers at `url` ("http://127.0.0.1:PORT") until the block ends;
    `config`: more uvicorn.Config options. RuntimeError when it has not started within `timeout` seconds."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, **config))
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"uvicorn did not start on port {port} within {timeout:.0f} s")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
