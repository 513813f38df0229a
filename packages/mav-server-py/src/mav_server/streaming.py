"""An ASGI response that runs a generation in a worker thread and streams its events as SSE.

The worker never blocks the event loop; events cross over through the loop's queue. The response
watches the ASGI receive channel: when the reader disconnects (or a write fails) it sets the cancel flag,
which the engine polls before each forward pass, and it releases the run's slot only once the worker has
really stopped, so `/health` counts exactly the runs still computing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

from starlette.responses import Response

from .protocol import Event
from .sse import PING, encode_event

log = logging.getLogger("mav_server.streaming")

Work = Callable[[Callable[[Event], None], Callable[[], bool]], object]

HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache, no-transform"),
    (b"x-accel-buffering", b"no"),
]


class EventStreamResponse(Response):
    """`work(emit, cancelled)` runs in `executor`; `on_finish()` runs after it has returned."""

    media_type = "text/event-stream"

    def __init__(
        self,
        work: Work,
        *,
        executor: Executor,
        on_finish: Callable[[], None],
        heartbeat_seconds: float,
        extra_headers: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        # Starlette's Response.__init__ would add `content-length: 0`; this response writes its own start.
        self.status_code = 200
        self.background = None
        self.body = b""
        self.raw_headers = HEADERS + (extra_headers or [])
        self._work = work
        self._executor = executor
        self._on_finish = on_finish
        self._heartbeat = heartbeat_seconds

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        cancel = threading.Event()

        def put(item: bytes | None) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:  # the loop is closed: nobody is reading any more
                cancel.set()

        def emit(event: Event) -> None:
            put(encode_event(event))

        def run() -> None:
            try:
                self._work(emit, cancel.is_set)
            except Exception:
                log.exception("run worker failed")
            finally:
                put(None)

        async def watch_disconnect() -> None:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    cancel.set()
                    queue.put_nowait(None)
                    return

        worker = loop.run_in_executor(self._executor, run)
        watcher = asyncio.create_task(watch_disconnect())
        getter: asyncio.Task[bytes | None] | None = None
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            while not cancel.is_set():
                # One pending get() across heartbeats, so no event is lost to a timeout.
                getter = getter or asyncio.ensure_future(queue.get())
                finished, _ = await asyncio.wait({getter}, timeout=self._heartbeat)
                if finished:
                    chunk, getter = getter.result(), None
                else:
                    chunk = PING
                if chunk is None:
                    break
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            if not cancel.is_set():
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        except Exception as exc:  # the reader went away mid-write (OSError, ClientDisconnect, ...)
            log.info("stream closed while writing: %r", exc)
        finally:
            cancel.set()
            if getter is not None:
                getter.cancel()
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await watcher
            try:
                await asyncio.shield(worker)
            finally:
                self._on_finish()
