"""Server-Sent Events through sse-starlette: keep-alive pings while an answer is being worked out, and the
stream (and the generator feeding it) is cancelled as soon as the client goes away."""
from __future__ import annotations

import json
from collections.abc import AsyncIterator

from sse_starlette import EventSourceResponse

PING_SECONDS = 15
HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def event(name: str | None, data) -> dict:
    """One event; `data` is sent as is when it is already text, else as JSON."""
    payload = data if isinstance(data, str) else json.dumps(data, default=str, ensure_ascii=False)
    return {"event": name, "data": payload} if name else {"data": payload}


def stream(events: AsyncIterator[dict]) -> EventSourceResponse:
    # "\n" between lines, as before sse-starlette: the page's reader splits events on a blank line.
    return EventSourceResponse(events, ping=PING_SECONDS, sep="\n", headers=HEADERS)
