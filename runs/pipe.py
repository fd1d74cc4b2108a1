"""An ordered, coalescing sender for one run's frames.

A chunk is sent at once when nothing is in flight; chunks that arrive while a
send is in flight are merged into the next frame (up to MAX_CHUNK_CHARS), so
latency stays low when quiet and nothing is lost or queued without bound under
load. Stored messages and final frames go through the same queue, so a message
is never delivered before the chunks that preceded it.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

logger = logging.getLogger(__name__)

MAX_CHUNK_CHARS = 16 * 1024

Sender = Callable[[dict[str, Any]], Awaitable[None]]


class RunPipe:
    def __init__(self, send: Sender, chunk_frame: Callable[[int, str, str, int], dict[str, Any]]) -> None:
        self._send = send
        self._chunk_frame = chunk_frame
        self._pending: deque[dict[str, Any]] = deque()
        self._task: asyncio.Task[None] | None = None
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
        self._kick()

    async def send(self, frame: dict[str, Any]) -> None:
        """Queue any frame and wait until it (and everything before it) has been sent."""
        self._pending.append(frame)
        self._kick()
        await self.drain()

    async def drain(self) -> None:
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)

    def _kick(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while self._pending:
            frame = self._pending.popleft()
            try:
                await self._send(frame)
                self.frames_sent += 1
            except Exception:  # the pipe is best effort: watchers refill gaps from the database
                logger.exception("run %s: could not publish a %s frame", frame.get("run_id"), frame.get("type"))

    async def aclose(self) -> None:
        await self.drain()
