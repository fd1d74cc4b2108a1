"""A local OpenAI-compatible HTTP server for tests and benchmarks (asyncio, HTTP/1.1 keep-alive).

Run it alone:   python -m tests.support.fake_openai --port 8911
Or in-process:  with FakeOpenAIThread() as server: AsyncOpenAI(base_url=server.base_url, ...)
  (its own loop in a daemon thread), or on the caller's loop:
                server = FakeOpenAI(); base_url = await server.start(); ...; await server.close()

Endpoints: ``GET /v1/models`` and ``POST /v1/chat/completions`` (streaming SSE or JSON).
The behaviour is chosen by the request's ``model`` (or the ``X-Fake-Behavior`` header):

=====================  ===========================================================================
``fake`` (any other)   text reply (see headers below)
``fake-echo``          replies with the last user message's text
``fake-tools``         tool calls (parallel when several) from ``X-Fake-Tool-Calls``, a JSON list of
                       ``{"name", "arguments"}`` (default: every offered tool with ``{}``); once the
                       last message is a tool result it answers ``"Tool results: <contents>"``
``fake-429-once``      429 (``retry-after-ms: 1``) on the first request per ``X-Fake-Key`` (default
                       the model), then success
``fake-500``           500 always (``retry-after-ms: 1`` so SDK retries are quick)
``fake-401``           401 invalid key
``fake-hang``          never answers (client timeout or cancel closes the connection)
``fake-hang-stream``   streams the first token, then never sends more
``fake-malformed``     streams one good chunk, then ``data: {not json``
``fake-stream-error``  streams one good chunk, then an ``{"error": ...}`` event (as OpenAI does mid-stream)
=====================  ===========================================================================

Headers for text replies: ``X-Fake-Tokens`` (count, default 8), ``X-Fake-Rate`` (tokens per second,
default 0 = unpaced), ``X-Fake-Text`` (explicit text, streamed word by word), ``X-Fake-Timestamps: 1``
(each token's text is ``"<time.time_ns()> "`` at emission, for latency benchmarks),
``X-Fake-Pacing: independent`` paces each stream on its own timer, one wake-up per token, as independent
model streams are (default: every paced stream of the server shares one ticker, so streams started together
stay in phase), ``X-Fake-Status: N`` forces an error status for any model (``X-Fake-Error-Message``: its
message), ``X-Fake-Cached-Tokens: N`` reports N of the prompt tokens as cached
(``usage.prompt_tokens_details.cached_tokens``).
A usage chunk (``choices: []``) is sent when ``stream_options.include_usage`` is true.

``FakeOpenAI(api_key="...")`` (or ``FakeOpenAIThread(api_key=...)``) answers 401 to requests carrying another key.

Every request is recorded in ``server.requests`` (`RecordedRequest`): its JSON body, headers, and
whether the client closed the connection before the response ended (``disconnected``); a long
benchmark can turn that off (``FakeOpenAI(record=False)``, ``--no-record``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import threading
import time
import weakref
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)
_HIGH_WATER = 64 * 1024
_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
}


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    completed: bool = False
    disconnected: bool = False

    @property
    def model(self) -> str:
        return str(self.body.get("model", "")) if isinstance(self.body, dict) else ""


@dataclass
class FakeOpenAI:
    record: bool = True
    # When set, a request without this key (``Authorization: Bearer`` or Azure's ``api-key``) gets a 401.
    api_key: str | None = None
    requests: list[RecordedRequest] = field(default_factory=list)
    attempts: dict[str, int] = field(default_factory=dict)
    _server: asyncio.Server | None = None
    _tasks: set[asyncio.Task[Any]] = field(default_factory=set)

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        self._server = await asyncio.start_server(self._connection, host, port, backlog=1024)
        sock_host, sock_port = self._server.sockets[0].getsockname()[:2]
        return f"http://{sock_host}:{sock_port}/v1"

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def chat_requests(self, model: str | None = None) -> list[RecordedRequest]:
        return [r for r in self.requests if "/chat/completions" in r.path and (model is None or r.model == model)]

    # ------------------------------------------------------------ HTTP plumbing

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            while True:
                request = await _read_request(reader)
                if request is None:
                    return
                if self.record:
                    self.requests.append(request)
                if not await self._respond(request, reader, writer):
                    return
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            return
        finally:
            self._tasks.discard(task)
            writer.close()

    async def _respond(
        self, request: RecordedRequest, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        """Serve one request; False when the connection is gone. A client that closes mid-response is noticed
        at once (a watcher reads EOF), so cancellation tests can see the stream really closed."""
        response = asyncio.ensure_future(self._dispatch(request, writer))
        eof = asyncio.ensure_future(reader.read(1))
        await asyncio.wait({response, eof}, return_when=asyncio.FIRST_COMPLETED)
        if response.done():
            eof.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await eof
            error = response.exception()
            if error is not None:
                if not isinstance(error, ConnectionError):
                    log.error("fake server: %s %s failed", request.method, request.path, exc_info=error)
                return False
            request.completed = True
            return True
        request.disconnected = True
        response.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionError):
            await response
        return False

    async def _dispatch(self, request: RecordedRequest, writer: asyncio.StreamWriter) -> None:
        path = request.path.split("?", 1)[0].rstrip("/")
        if self.api_key is not None and self.api_key not in (
            request.headers.get("authorization", "").removeprefix("Bearer "),
            request.headers.get("api-key"),
        ):
            await _send_json(writer, 401, _error("Incorrect API key provided.", "invalid_api_key"))
            return
        if request.method == "GET" and path.endswith("/models"):
            models = [
                "fake",
                "fake-echo",
                "fake-tools",
                "fake-429-once",
                "fake-500",
                "fake-401",
                "fake-hang",
                "fake-hang-stream",
                "fake-malformed",
                "fake-stream-error",
            ]
            data = [{"id": m, "object": "model", "created": 0, "owned_by": "fake"} for m in models]
            await _send_json(writer, 200, {"object": "list", "data": data})
        elif request.method == "POST" and path.endswith("/chat/completions"):
            await self._chat(request, writer)
        else:
            await _send_json(writer, 404, _error(f"no route {request.method} {request.path}", "not_found"))

    async def _chat(self, request: RecordedRequest, writer: asyncio.StreamWriter) -> None:
        body = request.body if isinstance(request.body, dict) else {}
        headers = request.headers
        behaviour = headers.get("x-fake-behavior") or str(body.get("model", "fake"))
        if "x-fake-status" in headers:
            status = int(headers["x-fake-status"])
            message = headers.get("x-fake-error-message") or f"forced status {status}"
            await _send_json(writer, status, _error(message, "forced"), {"retry-after-ms": "1"})
            return
        if behaviour == "fake-500":
            await _send_json(
                writer, 500, _error("the fake server always fails", "server_error"), {"retry-after-ms": "1"}
            )
            return
        if behaviour == "fake-401":
            await _send_json(writer, 401, _error("Incorrect API key provided.", "invalid_api_key"))
            return
        if behaviour == "fake-429-once":
            key = headers.get("x-fake-key", behaviour)
            self.attempts[key] = self.attempts.get(key, 0) + 1
            if self.attempts[key] == 1:
                await _send_json(
                    writer, 429, _error("Rate limit reached.", "rate_limit_exceeded"), {"retry-after-ms": "1"}
                )
                return
        if behaviour == "fake-hang":
            await asyncio.Event().wait()
        reply = _Reply.plan(behaviour, body, headers)
        if body.get("stream"):
            await reply.stream(writer, behaviour, bool((body.get("stream_options") or {}).get("include_usage")))
        else:
            await _send_json(writer, 200, reply.completion())


def _error(message: str, code: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": "fake_error", "param": None, "code": code}}


async def _read_request(reader: asyncio.StreamReader) -> RecordedRequest | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    raw = await reader.readexactly(int(headers.get("content-length", "0")))
    body: Any = None
    if raw:
        try:
            body = json.loads(raw)
        except ValueError:
            body = raw.decode("utf-8", "replace")
    return RecordedRequest(method, path, headers, body)


async def _send_json(
    writer: asyncio.StreamWriter, status: int, payload: Any, extra: dict[str, str] | None = None
) -> None:
    data = json.dumps(payload).encode()
    head = [
        f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}",
        "content-type: application/json",
        f"content-length: {len(data)}",
        *(f"{k}: {v}" for k, v in (extra or {}).items()),
    ]
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + data)
    await writer.drain()


def _sse(writer: asyncio.StreamWriter, events: list[bytes]) -> None:
    payload = b"".join(b"data: " + e + b"\n\n" for e in events)
    writer.write(b"%x\r\n%b\r\n" % (len(payload), payload))


class _Reply:
    """What the fake model answers: text tokens (maybe paced, maybe timestamps) or tool calls."""

    def __init__(
        self,
        model: str,
        tokens: list[str],
        rate: float,
        timestamps: bool,
        tool_calls: list[dict[str, Any]],
        prompt_tokens: int,
        cached_tokens: int = 0,
        independent: bool = False,
    ) -> None:
        self.model, self.tokens, self.rate, self.timestamps = model, tokens, rate, timestamps
        self.tool_calls, self.prompt_tokens, self.cached_tokens = tool_calls, prompt_tokens, cached_tokens
        self.independent = independent

    @classmethod
    def plan(cls, behaviour: str, body: dict[str, Any], headers: dict[str, str]) -> _Reply:
        messages = body.get("messages") or []
        prompt_tokens = sum(len(str(m.get("content") or "").split()) for m in messages if isinstance(m, dict))
        count = int(headers.get("x-fake-tokens", "8"))
        tokens = [f"t{i} " for i in range(count)]
        tool_calls: list[dict[str, Any]] = []
        last = messages[-1] if messages and isinstance(messages[-1], dict) else {}
        if "x-fake-text" in headers:
            tokens = _words(headers["x-fake-text"])
        elif behaviour == "fake-echo":
            tokens = _words(next((str(m.get("content")) for m in reversed(messages) if m.get("role") == "user"), ""))
        elif behaviour == "fake-tools":
            if last.get("role") == "tool":
                results = [str(m.get("content")) for m in messages if m.get("role") == "tool"]
                tokens = _words("Tool results: " + ", ".join(results))
            else:
                tool_calls = _planned_calls(headers, body)
        return cls(
            str(body.get("model", "fake")),
            tokens,
            float(headers.get("x-fake-rate", "0")),
            headers.get("x-fake-timestamps") == "1",
            tool_calls,
            prompt_tokens,
            int(headers.get("x-fake-cached-tokens", "0")),
            headers.get("x-fake-pacing") == "independent",
        )

    def completion_tokens(self) -> int:
        return len(self.tokens) + sum(len(json.dumps(c["arguments"]).split()) for c in self.tool_calls)

    def usage(self) -> dict[str, Any]:
        completion = self.completion_tokens()
        usage: dict[str, Any] = {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": completion,
            "total_tokens": self.prompt_tokens + completion,
        }
        if self.cached_tokens:
            usage["prompt_tokens_details"] = {"cached_tokens": self.cached_tokens}
        return usage

    def completion(self) -> dict[str, Any]:
        message: dict[str, Any] = {
            "role": "assistant",
            "content": "".join(self.tokens) if not self.tool_calls else None,
        }
        if self.tool_calls:
            message["tool_calls"] = [
                {
                    "id": f"call_{i}",
                    "type": "function",
                    "function": {"name": c["name"], "arguments": json.dumps(c["arguments"])},
                }
                for i, c in enumerate(self.tool_calls)
            ]
        finish = "tool_calls" if self.tool_calls else "stop"
        return {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self.model,
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": self.usage(),
        }

    async def stream(self, writer: asyncio.StreamWriter, behaviour: str, include_usage: bool) -> None:
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
            b"transfer-encoding: chunked\r\n\r\n"
        )
        created, model = int(time.time()), json.dumps(self.model)
        prefix = (
            f'{{"id":"chatcmpl-fake","object":"chat.completion.chunk","created":{created},"model":{model},"choices":'
        )
        prefix = prefix.encode()
        _sse(writer, [prefix + b'[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}'])
        if self.tool_calls:
            _sse(writer, [e for i, c in enumerate(self.tool_calls) for e in _tool_deltas(prefix, i, c)])
        else:
            await self._stream_text(writer, prefix, behaviour)
        finish = b"tool_calls" if self.tool_calls else b"stop"
        events = [prefix + b'[{"index":0,"delta":{},"finish_reason":"' + finish + b'"}]}']
        if include_usage:
            events.append(prefix + b'[],"usage":' + json.dumps(self.usage()).encode() + b"}")
        events.append(b"[DONE]")
        _sse(writer, events)
        writer.write(b"0\r\n\r\n")
        await writer.drain()

    async def _stream_text(self, writer: asyncio.StreamWriter, prefix: bytes, behaviour: str) -> None:
        encoded = [json.dumps(t).encode() for t in self.tokens]
        timestamps = self.timestamps

        def chunk(i: int) -> bytes:
            text = b'"%d "' % time.time_ns() if timestamps else encoded[i]
            return prefix + b'[{"index":0,"delta":{"content":' + text + b'},"finish_reason":null}]}'

        if behaviour in ("fake-hang-stream", "fake-malformed", "fake-stream-error") and self.tokens:
            events = [chunk(0)]
            if behaviour == "fake-malformed":
                events.append(b'{"id": "chatcmpl-fake", "choices": [{not json')
            elif behaviour == "fake-stream-error":
                events.append(b'{"error": {"message": "The server is overloaded.", "type": "server_error"}}')
            _sse(writer, events)
            await writer.drain()
            await asyncio.Event().wait()
        if self.rate <= 0:
            for first in range(0, len(self.tokens), 64):
                _sse(writer, [chunk(i) for i in range(first, min(first + 64, len(self.tokens)))])
                await _drain_if_needed(writer)
            return
        pacer = _Pacer(writer, chunk, len(self.tokens), 1.0 / self.rate, self.independent)
        try:
            await pacer.done
        finally:
            pacer.stop()


class _Pacer:
    """Emits one stream's paced tokens, driven by the loop's shared `_Ticker`.

    Tokens already due when the ticker runs go out in one write; the emission timestamp is
    taken at that write, so a benchmark measures from when the bytes really left.
    """

    def __init__(
        self, writer: asyncio.StreamWriter, chunk: Any, count: int, interval: float, independent: bool = False
    ) -> None:
        self.loop = asyncio.get_running_loop()
        self.writer, self.chunk, self.count, self.interval = writer, chunk, count, interval
        self.start = self.loop.time()
        self.sent = 0
        self.done: asyncio.Future[None] = self.loop.create_future()
        self.ticker: _Ticker | None = None
        self.timer: asyncio.TimerHandle | None = None
        if independent:
            self._own_tick()
        else:
            self.ticker = _Ticker.for_loop(self.loop)
            self.ticker.add(self)

    def _own_tick(self) -> None:
        """Independent pacing: this stream's own timer, due at its next token, whatever the others do."""
        self.timer = None
        if self.emit(self.loop.time()):
            self.timer = self.loop.call_at(self.due(), self._own_tick)

    def due(self) -> float:
        return self.start + self.sent * self.interval

    def emit(self, now: float) -> bool:
        """Write what is due; False once the stream is over (all sent, or the client went away)."""
        if self.done.done():
            return False
        if self.writer.transport.is_closing():
            self.done.set_exception(ConnectionResetError("client went away"))
            return False
        batch = []
        while self.sent < self.count and self.due() <= now:
            batch.append(self.chunk(self.sent))
            self.sent += 1
        if batch:
            _sse(self.writer, batch)
        if self.sent >= self.count:
            self.done.set_result(None)
            return False
        return True

    def stop(self) -> None:
        if self.ticker is not None:
            self.ticker.discard(self)
        if self.timer is not None:
            self.timer.cancel()


class _Ticker:
    """One timer for every paced stream of a loop, firing at most every TICK seconds.

    A timer per token (40,000 a second at 200 streams of 200 tokens/s) kept the fake model
    server's loop waking for each; batching the wake-ups to one a millisecond leaves it the
    socket writes, which a real model server pays too.
    """

    TICK = 0.001
    _by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Ticker] = weakref.WeakKeyDictionary()

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.pacers: set[_Pacer] = set()
        self.handle: asyncio.TimerHandle | None = None

    @classmethod
    def for_loop(cls, loop: asyncio.AbstractEventLoop) -> _Ticker:
        ticker = cls._by_loop.get(loop)
        if ticker is None:
            ticker = cls._by_loop[loop] = cls(loop)
        return ticker

    def add(self, pacer: _Pacer) -> None:
        self.pacers.add(pacer)
        if not pacer.emit(self.loop.time()):  # the first token goes out at once
            self.pacers.discard(pacer)
        self._schedule()

    def discard(self, pacer: _Pacer) -> None:
        self.pacers.discard(pacer)

    def _schedule(self) -> None:
        if self.handle is not None or not self.pacers:
            return
        due = min(p.due() for p in self.pacers)
        self.handle = self.loop.call_at(max(due, self.loop.time() + self.TICK), self._tick)

    def _tick(self) -> None:
        self.handle = None
        now = self.loop.time()
        for pacer in list(self.pacers):
            if pacer.due() <= now and not pacer.emit(now):
                self.pacers.discard(pacer)
        self._schedule()


def _tool_deltas(prefix: bytes, index: int, call: dict[str, Any]) -> list[bytes]:
    arguments = json.dumps(call["arguments"])
    half = len(arguments) // 2
    # Streamed the way OpenAI does: id and name first, then the arguments in pieces.
    deltas = [
        {
            "index": index,
            "id": f"call_{index}",
            "type": "function",
            "function": {"name": call["name"], "arguments": ""},
        },
        {"index": index, "function": {"arguments": arguments[:half]}},
        {"index": index, "function": {"arguments": arguments[half:]}},
    ]
    return [
        prefix + b'[{"index":0,"delta":{"tool_calls":[' + json.dumps(d).encode() + b']},"finish_reason":null}]}'
        for d in deltas
    ]


def _planned_calls(headers: dict[str, str], body: dict[str, Any]) -> list[dict[str, Any]]:
    if "x-fake-tool-calls" in headers:
        return [
            {"name": c["name"], "arguments": c.get("arguments", {})} for c in json.loads(headers["x-fake-tool-calls"])
        ]
    return [{"name": t["function"]["name"], "arguments": {}} for t in body.get("tools") or [] if "function" in t]


def _words(text: str) -> list[str]:
    words = text.split(" ")
    return [w + " " for w in words[:-1]] + ([words[-1]] if words[-1] else [])


async def _drain_if_needed(writer: asyncio.StreamWriter) -> None:
    transport = writer.transport
    if transport.get_write_buffer_size() > _HIGH_WATER:
        await writer.drain()
    if transport.is_closing():
        raise ConnectionResetError("client went away")


class FakeOpenAIThread:
    """The server on its own event loop in a daemon thread (for sync fixtures and cross-loop tests)."""

    def __init__(self, api_key: str | None = None, port: int = 0) -> None:
        self.server = FakeOpenAI(api_key=api_key)
        self.port = port
        self.base_url = ""
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fake-openai", daemon=True)

    def __enter__(self) -> FakeOpenAIThread:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def requests(self) -> list[RecordedRequest]:
        return self.server.requests

    def chat_requests(self, model: str | None = None) -> list[RecordedRequest]:
        return self.server.chat_requests(model)

    def start(self) -> str:
        self._thread.start()
        self._ready.wait(10)
        return self.base_url

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self.base_url = self._loop.run_until_complete(self.server.start(port=self.port))
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(self.server.close())
        self._loop.close()

    def stop(self) -> None:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)


def main() -> None:
    parser = argparse.ArgumentParser(description="Fake OpenAI-compatible server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8911)
    parser.add_argument("--no-record", action="store_true", help="do not keep every request in memory")
    args = parser.parse_args()

    async def serve() -> None:
        server = FakeOpenAI(record=not args.no_record)
        print(await server.start(args.host, args.port), flush=True)
        await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())


if __name__ == "__main__":
    main()
