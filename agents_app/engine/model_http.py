"""The HTTP client under the `openai` SDK: aiohttp, and model streams read in batches under load.

Measured on this project's 2-core machine, with the local OpenAI-compatible server sending
one chunk per token as OpenAI does:

- The SDK's default stack (httpx2, httpcore2, h11 in pure Python) costs about 30 us per HTTP
  chunk, whatever the read size. The SDK's own aiohttp transport (`openai[aiohttp]`, a C
  parser) costs a fraction of that.
- Reading a socket every time a token arrives costs 20-30 us of kernel and event-loop time
  per token; 200 streams of 200 tokens/s then need a whole core before anything is parsed.
  Letting a stream's socket rest between reads, so one read takes in several tokens, cuts
  that several times over.

So each model stream's socket rests between reads for `ReadPacer.interval()`: zero while few
streams are open (every token is read at once), growing with the number of open streams so
the process makes about `MODEL_READS_PER_SECOND` reads a second in all (default 2,000),
never more than `MODEL_READ_INTERVAL_MAX_MS` apart (default 100 ms). Under load a token then
waits at most that long in the kernel, and every stage after the read handles a batch.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import openai
from openai._vendor.httpx_aiohttp.transport import AiohttpResponseStream, AiohttpTransport

from agents_app.engine.tracing import count_request_attempt

# A pause shorter than this costs more (timer, two epoll changes) than the batching saves.
MIN_PAUSE = 0.002


class ReadPacer:
    """How long a model stream's socket rests after a read, from how many streams this process has open."""

    def __init__(self, reads_per_second: float, max_interval: float) -> None:
        if reads_per_second <= 0 or max_interval < 0:
            raise ValueError("reads_per_second must be positive and max_interval not negative")
        self.reads_per_second = reads_per_second
        self.max_interval = max_interval
        self.open_streams = 0

    def interval(self) -> float:
        return min(self.max_interval, self.open_streams / self.reads_per_second)


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name, "")
    try:
        return float(raw) if raw else default
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a number") from None


PACER = ReadPacer(
    reads_per_second=_env_float("MODEL_READS_PER_SECOND", 2000.0),
    max_interval=_env_float("MODEL_READ_INTERVAL_MAX_MS", 100.0) / 1000,
)


class PacedResponseStream(httpx2.AsyncByteStream):
    """A response body as one bytes item per network read, the socket resting between reads under load."""

    def __init__(self, inner: AiohttpResponseStream, pacer: ReadPacer) -> None:
        self._inner = inner
        self._pacer = pacer

    async def __aiter__(self) -> AsyncIterator[bytes]:
        pacer = self._pacer
        loop = asyncio.get_running_loop()
        response = self._inner._aiohttp_response
        paused: asyncio.Transport | None = None
        resume: asyncio.TimerHandle | None = None
        pacer.open_streams += 1
        try:
            async for chunk in self._inner:
                read_at = loop.time()
                yield chunk
                delay = read_at + pacer.interval() - loop.time()
                if delay < MIN_PAUSE:
                    continue
                # While the transport is paused the kernel queues what arrives; the next read takes it all.
                # A timer resumes it, so the run's task wakes once per read (for the data), not twice.
                connection = response.connection  # None once released: the socket is no longer this stream's
                transport = connection.transport if connection is not None else None
                if transport is None or transport.is_closing():
                    continue
                if resume is not None:
                    resume.cancel()
                transport.pause_reading()
                paused, resume = transport, loop.call_later(delay, _resume_reading, transport)
        finally:
            pacer.open_streams -= 1
            if resume is not None and paused is not None:
                resume.cancel()
                _resume_reading(paused)

    async def aclose(self) -> None:
        await self._inner.aclose()


def _resume_reading(transport: asyncio.Transport) -> None:
    if not transport.is_closing():
        transport.resume_reading()


class PacedAiohttpTransport(AiohttpTransport):
    def __init__(self, *args: Any, pacer: ReadPacer = PACER, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pacer = pacer

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        count_request_attempt()  # the model call's span reports the SDK's retries
        response = await super().handle_async_request(request)
        stream = response.stream
        if isinstance(stream, AiohttpResponseStream):
            response.stream = PacedResponseStream(stream, self.pacer)
        return response


def http_client(timeout: float) -> httpx2.AsyncClient:
    """The SDK's aiohttp client with the SDK's connection limits, on a paced transport."""
    limits = openai.DEFAULT_CONNECTION_LIMITS
    return openai.DefaultAioHttpClient(timeout=timeout, transport=PacedAiohttpTransport(limits=limits))
