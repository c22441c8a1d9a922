"""Server-Sent Events through sse-starlette: keep-alive pings while an answer is being worked out; when
the client goes away the stream is cancelled, and so is the answer being worked out for it (`answered`).
`in_turn` hands over each verified sentence as soon as it passes, before the answer is finished."""
from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Callable
from typing import TypeVar

import anyio
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.runnables import RunnableLambda
from sse_starlette import EventSourceResponse

PING_SECONDS = 15
HEADERS = {"Cache-Control": "no-cache"}
T = TypeVar("T")


def event(name: str | None, data) -> dict:
    """One event; `data` is sent as is when it is already text, else as JSON."""
    payload = data if isinstance(data, str) else json.dumps(data, default=str, ensure_ascii=False)
    return {"event": name, "data": payload} if name else {"data": payload}


def stream(events: AsyncIterator[dict]) -> EventSourceResponse:
    # "\n" between lines, as before sse-starlette: the page's reader splits events on a blank line.
    return EventSourceResponse(events, ping=PING_SECONDS, sep="\n", headers=HEADERS)


class ClientGone(BaseException):
    """Raised inside the answer's chain once its client has left. A BaseException, so that no fallback
    (`with_fallbacks`, a step's own `except Exception`) mistakes it for a failure to recover from."""


class _StopWhenGone(BaseCallbackHandler):
    """Called by LangChain at the start of every step of the answer's chain (the steps inherit it through
    LangChain's run config): the chain stops at the first step that starts after the client left."""
    raise_error = True

    def __init__(self, gone: threading.Event):
        self.gone = gone

    def on_chain_start(self, *args, **kwargs) -> None:
        if self.gone.is_set():
            raise ClientGone()


async def answered(fn: Callable[..., T], *args, **kwargs) -> T:
    """`fn(*args, **kwargs)` (a Regbrief call) in a worker thread. If this task is cancelled (sse-starlette
    cancels it when the client disconnects), the wait ends at once and the call stops at its next step,
    so a departed client's answer is neither finished nor recorded."""
    gone = threading.Event()
    stop = {"callbacks": [_StopWhenGone(gone)]}
    try:
        return await anyio.to_thread.run_sync(
            lambda: RunnableLambda(lambda _: fn(*args, **kwargs)).invoke(None, config=stop), abandon_on_cancel=True)
    finally:
        gone.set()


async def in_turn(fn: Callable[..., T], *args, **kwargs) -> AsyncIterator[tuple[str, object]]:
    """Runs `fn(*args, on_sentence=..., **kwargs)` (an answer) as `answered` does, and yields
    ("sentence", (Sentence, [Citation])) for each sentence the moment it is verified, then ("answer", the
    Answer). An exception of `fn` is raised here after the sentences already sent; a client that leaves
    cancels the answer as with `answered`."""
    send, receive = anyio.create_memory_object_stream(1000)

    def on_sentence(sentence, citations) -> None:
        anyio.from_thread.run_sync(send.send_nowait, (sentence, citations))

    async def work():
        try:
            return await answered(fn, *args, on_sentence=on_sentence, **kwargs)
        finally:
            send.close()

    task = asyncio.ensure_future(work())
    try:
        async with receive:
            async for item in receive:
                yield "sentence", item
        yield "answer", await task
    finally:
        if not task.done():
            task.cancel()
