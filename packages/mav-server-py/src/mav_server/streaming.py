"""An ASGI response that runs a generation in a worker thread and streams its events as SSE.

The worker never blocks the event loop; events cross over through a bounded handoff, so a reader that
falls behind pauses generation instead of making the server buffer the run. The response watches the
ASGI receive channel: when the reader disconnects, or a write stalls past the stall timeout, it sets the
cancel flag, which the engine polls before each forward pass, and it releases the run's slot only once
the worker has really stopped, so `/health` counts exactly the runs still computing.
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

BUFFERED_EVENTS = 16
"""Events a run may have written ahead of its reader before the worker waits."""

HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache, no-transform"),
    (b"x-accel-buffering", b"no"),
]


class StalledReader(Exception):
    """A write to the reader did not complete within the stall timeout."""


class Handoff:
    """A bounded queue of SSE chunks from the worker thread to the event loop.

    `put` (worker thread) waits while `capacity` chunks are queued; `cancel` (event loop) wakes it and
    makes every later `put` a no-op, so a cancelled worker never blocks.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, capacity: int) -> None:
        self._loop = loop
        self._capacity = capacity
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._room = threading.Semaphore(capacity)
        self._cancelled = threading.Event()

    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def put(self, chunk: bytes) -> None:
        if self._cancelled.is_set():
            return
        self._room.acquire()
        if not self._cancelled.is_set():
            self._call(chunk)

    def close(self) -> None:
        """The worker is done: ends the stream after the queued chunks."""
        self._call(None)

    def cancel(self) -> None:
        """Stops the worker's writes and ends `get` at once (call it on the event loop)."""
        if self._cancelled.is_set():
            return
        self._cancelled.set()
        for _ in range(self._capacity):
            self._room.release()
        self._queue.put_nowait(None)

    async def get(self) -> bytes | None:
        chunk = await self._queue.get()
        if chunk is not None:
            self._room.release()
        return chunk

    def _call(self, chunk: bytes | None) -> None:
        try:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, chunk)
        except RuntimeError:  # the loop is closed: nobody is reading any more
            self._cancelled.set()


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
        stall_timeout_seconds: float,
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
        self._stall_timeout = stall_timeout_seconds

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        loop = asyncio.get_running_loop()
        handoff = Handoff(loop, BUFFERED_EVENTS)

        def run() -> None:
            try:
                self._work(lambda event: handoff.put(encode_event(event)), handoff.cancelled)
            except Exception:
                log.exception("run worker failed")
            finally:
                handoff.close()

        async def watch_disconnect() -> None:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    handoff.cancel()
                    return

        async def write(message: dict[str, Any]) -> None:
            try:
                await asyncio.wait_for(send(message), self._stall_timeout)
            except TimeoutError:
                raise StalledReader from None

        worker = loop.run_in_executor(self._executor, run)
        watcher = asyncio.create_task(watch_disconnect())
        getter: asyncio.Task[bytes | None] | None = None
        try:
            await write({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            while not handoff.cancelled():
                # One pending get() across heartbeats, so no event is lost to a timeout.
                getter = getter or asyncio.ensure_future(handoff.get())
                finished, _ = await asyncio.wait({getter}, timeout=self._heartbeat)
                if finished:
                    chunk, getter = getter.result(), None
                else:
                    chunk = PING
                if chunk is None:
                    break
                await write({"type": "http.response.body", "body": chunk, "more_body": True})
            if not handoff.cancelled():
                await write({"type": "http.response.body", "body": b"", "more_body": False})
        except StalledReader:
            log.warning(
                "a reader stalled for %.1f s; ending its stream to free the run slot", self._stall_timeout
            )
        except Exception as exc:  # the reader went away mid-write (OSError, ClientDisconnect, ...)
            log.info("stream closed while writing: %r", exc)
        finally:
            handoff.cancel()
            if getter is not None:
                getter.cancel()
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await watcher
            try:
                await asyncio.shield(worker)
            finally:
                self._on_finish()
