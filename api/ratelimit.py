"""Requests per minute per caller (an API key's hash, or the client address)."""
from __future__ import annotations

import threading
import time
from collections import deque


class RateLimiter:
    """A sliding one-minute window per caller, in this process's memory, or in a table every API worker
    shares (RateLimits of rag/store/protocol.py, with REGBRIEF_DATABASE_URL): then N per minute holds in total."""

    def __init__(self, per_minute: int, shared=None):
        self.per_minute = per_minute
        self.shared = shared
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    async def acheck(self, who: str) -> float | None:
        """check() from the event loop: a shared table is asked from a worker thread."""
        if self.shared is None:
            return self.check(who)
        import anyio.to_thread

        return await anyio.to_thread.run_sync(self.check, who)

    def check(self, who: str) -> float | None:
        """None when allowed; else seconds until the next request would be allowed."""
        if self.per_minute <= 0:
            return None
        if self.shared is not None:
            return self.shared.hit(who, self.per_minute)
        now = time.monotonic()
        with self._lock:
            q = self._hits.setdefault(who, deque())
            while q and q[0] <= now - 60.0:
                q.popleft()
            if len(q) >= self.per_minute:
                return max(0.0, q[0] + 60.0 - now)
            q.append(now)
            if len(self._hits) > 10000:  # forget idle callers
                for k in [k for k, v in self._hits.items() if not v or v[-1] <= now - 60.0]:
                    del self._hits[k]
            return None
