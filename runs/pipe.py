"""An ordered, coalescing sender for one run's frames.

A frame is published at once when nothing of the run is in flight: the layer writes it to Redis in
the same loop turn as the model read that produced it (`events.publish_nowait`). Chunks that arrive
while a frame is in flight are merged into the next frame (up to MAX_CHUNK_CHARS), which goes out
as soon as the one in flight is acknowledged: latency stays low when quiet, and under load nothing
is lost or queued without bound. Stored messages and final frames go through the same queue, so a
message is never delivered before the chunks that preceded it.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

logger = logging.getLogger(__name__)

MAX_CHUNK_CHARS = 16 * 1024

# Starts publishing a frame before it returns; the awaitable completes once the frame is delivered.
Starter = Callable[[dict[str, Any]], Awaitable[None]]


class RunPipe:
    def __init__(self, start: Starter, chunk_frame: Callable[[int, str, str, int], dict[str, Any]]) -> None:
        self._start = start
        self._chunk_frame = chunk_frame
        self._pending: deque[dict[str, Any]] = deque()
        self._in_flight: asyncio.Future[Any] | None = None
        self._drained: asyncio.Future[None] | None = None
        self.frames_sent = 0

    def chunk(self, seq: int, source: str, content: str, offset: int) -> None:
        """Queue streamed text, merged into a waiting chunk frame of the same message when there is one.

        `offset` is where `content` starts in the message's text; a merged frame keeps the offset
        of its first piece. This is the per-token path: no frame is built unless a new one is needed.
        """
        if self._pending:
            last = self._pending[-1]
            if last["type"] == "message_chunk" and last["seq"] == seq:
                data = last["data"]
                if data["source"] == source and len(data["content"]) < MAX_CHUNK_CHARS:
                    data["content"] += content
                    return
        self._pending.append(self._chunk_frame(seq, source, content, offset))
        self._pump()

    def post(self, frame: dict[str, Any]) -> None:
        """Queue any frame behind those already queued, without waiting for it to be sent."""
        self._pending.append(frame)
        self._pump()

    async def send(self, frame: dict[str, Any]) -> None:
        """Queue any frame and wait until it (and everything before it) has been sent."""
        self.post(frame)
        await self.drain()

    async def drain(self) -> None:
        """Wait until every queued frame has been sent (or failed, which is logged)."""
        if self._in_flight is None and not self._pending:
            return
        if self._drained is None:
            self._drained = asyncio.get_running_loop().create_future()
        await asyncio.shield(self._drained)

    def _pump(self) -> None:
        while self._in_flight is None and self._pending:
            frame = self._pending.popleft()
            try:
                self._in_flight = asyncio.ensure_future(self._start(frame))
            except Exception:  # the pipe is best effort: watchers refill gaps from the database
                logger.exception("run %s: could not publish a %s frame", frame.get("run_id"), frame.get("type"))
                continue
            self._in_flight.add_done_callback(functools.partial(self._sent, frame))
        if self._in_flight is None and self._drained is not None:
            drained, self._drained = self._drained, None
            if not drained.done():
                drained.set_result(None)

    def _sent(self, frame: dict[str, Any], done: asyncio.Future[Any]) -> None:
        self._in_flight = None
        error = None if done.cancelled() else done.exception()
        if error is not None:
            logger.error("run %s: could not publish a %s frame", frame.get("run_id"), frame.get("type"), exc_info=error)
        elif not done.cancelled():
            self.frames_sent += 1
        self._pump()

    async def aclose(self) -> None:
        await self.drain()
