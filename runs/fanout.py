"""What a server process does once per frame for all its watchers, and less often for a watcher behind.

A run watched by many sockets on one Daphne made every consumer encode the same frame again, and
every frame woke every consumer through its own channel, its own task and Daphne's send path:
about 0.1 ms of CPU per frame per socket, so 1,000 watchers of one run at 200 tokens/s needed
twenty cores. Now each process joins a run's group once (`Relay`, one task per run per process),
takes what waits there at once, merges the chunks of a message into one frame (`coalesce`),
encodes it and builds its WebSocket frame once (`encoded`, `ws_text_frame`), and writes those
bytes straight to each watcher's socket (`socket_writer`); a watcher whose own filter
(runs.watch) wants something else than the shared frames, or that is busy with a replay, gets
its frames through its consumer instead, in order. The more sockets a relay writes to, the longer
it lets frames gather between writes (`Relay.delay`): the cost of a write is per socket, not per
token. Figures in docs/benchmarks.md.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import struct
import weakref
from collections.abc import Callable
from typing import Any, Protocol

from channels.layers import InMemoryChannelLayer, get_channel_layer

from runs import events
from runs.pipe import MAX_CHUNK_CHARS
from runs.watch import Gap

logger = logging.getLogger(__name__)
RECONNECTED_EVENT = "layer.reconnected"  # playground.layers puts it into every channel of the process

Frame = dict[str, Any]
ENCODED_KEPT = 256  # frames remembered encoded: every watcher of a frame asks for it within a few frames

_encoded: dict[int, tuple[Frame, str]] = {}


def encoded(frame: Frame) -> str:
    """The frame's JSON text, as Channels' send_json writes it; computed once while the frame object lives
    in the cache (keyed by identity: the entry holds the frame, so its id cannot be reused meanwhile)."""
    kept = _encoded.get(id(frame))
    if kept is not None and kept[0] is frame:
        return kept[1]
    text = json.dumps(frame)
    _encoded[id(frame)] = (frame, text)
    if len(_encoded) > ENCODED_KEPT:
        try:
            del _encoded[next(iter(_encoded))]
        except (KeyError, RuntimeError):  # another thread's loop trimmed it meanwhile
            pass
    return text


def coalesce(outs: list[Frame | Gap]) -> list[Frame | Gap]:
    """Merge consecutive chunk frames that continue each other (same message, source and attempt, each
    starting where the last ended) into one of at most MAX_CHUNK_CHARS; everything else keeps its
    place and order."""
    merged: list[Frame | Gap] = []
    pieces: list[str] = []  # the text of the chunk frame being merged into merged[-1]
    end = 0  # where that text ends in its message
    for out in outs:
        last = merged[-1] if merged else None
        if (
            pieces
            and isinstance(out, dict)
            and isinstance(last, dict)
            and out["type"] == "message_chunk"
            and out["seq"] == last["seq"]
            and out["data"]["source"] == last["data"]["source"]
            and out.get("attempt") == last.get("attempt")
            and out.get("offset") == end
            and end - last["offset"] + len(out["data"]["content"]) <= MAX_CHUNK_CHARS  # docs/protocol.md
        ):
            pieces.append(out["data"]["content"])
            end += len(pieces[-1])
            continue
        _close(merged, pieces)
        pieces = []
        merged.append(out)
        if isinstance(out, dict) and out["type"] == "message_chunk" and isinstance(out.get("offset"), int):
            pieces = [out["data"]["content"]]
            end = out["offset"] + len(pieces[0])
    _close(merged, pieces)
    return merged


def _close(merged: list[Frame | Gap], pieces: list[str]) -> None:
    """Replace merged[-1] by one chunk frame carrying all its pieces, if more than one was merged."""
    if len(pieces) > 1:
        first = merged[-1]
        assert isinstance(first, dict)
        content = "".join(pieces)
        merged[-1] = events.chunk_frame(
            first["run_id"], first["seq"], first["data"]["source"], content, first["offset"], first.get("attempt", 0)
        )


# ------------------------------------------------------------------ WebSocket frames, written as bytes


def ws_text_frame(text: str) -> bytes:
    """One unfragmented, uncompressed RFC 6455 text frame as a server sends it (no mask): the same
    bytes go to every socket."""
    payload = text.encode()
    n = len(payload)
    if n < 126:
        return bytes((0x81, n)) + payload
    if n < 65536:
        return struct.pack("!BBH", 0x81, 126, n) + payload
    return struct.pack("!BBQ", 0x81, 127, n) + payload


SocketWriter = Callable[[bytes], bool]


def socket_writer(send: Any) -> SocketWriter | None:
    """Under Daphne, a function writing WebSocket frame bytes straight to the consumer's socket (False
    once the socket is closing); None elsewhere (Channels' test communicator, another server).

    Daphne's own path costs every frame a hop through the application's send coroutine, autobahn's
    framing and Twisted's buffer, which writes on the loop's next turn after registering the socket
    for writing and unregisters it after: a relay writing to 1,000 sockets paid that 1,000 times.
    Here the bytes go to the socket at once when Twisted holds nothing for it (what the kernel does
    not take, and everything while something waits, goes to Twisted's buffer, in order). Frames written
    so bypass autobahn's compression: a socket that negotiated permessage-deflate gets None.
    """
    from daphne.ws_protocol import WebSocketProtocol

    if not isinstance(send, functools.partial) or not send.args:
        return None
    protocol = send.args[0]
    if not isinstance(protocol, WebSocketProtocol) or getattr(protocol, "_perMessageCompress", None) is not None:
        return None
    transport = protocol.transport
    write_bytes = transport_writer(transport)
    is_open = protocol.STATE_OPEN

    def write(data: bytes) -> bool:
        if protocol.state != is_open:
            return False
        write_bytes(data)
        return True

    return write


def transport_writer(transport: Any) -> Callable[[bytes], None]:
    """Write to a Twisted TCP transport at once when it holds nothing (what the kernel does not take, and
    everything while something waits, goes to Twisted's buffer, in order); other transports as usual."""
    from twisted.internet import tcp

    direct = isinstance(transport, tcp.Connection) and all(
        hasattr(transport, name) for name in ("socket", "dataBuffer", "offset", "_tempDataLen", "connected")
    )
    if not direct:
        return transport.write  # type: ignore[no-any-return]

    def write(data: bytes) -> None:
        if not transport._tempDataLen and transport.offset == len(transport.dataBuffer) and transport.connected:
            try:
                sent = transport.socket.send(data)
            except BlockingIOError:
                sent = 0
            except OSError:  # the connection broke: Twisted finds out and closes it its own way
                sent = 0
            if sent == len(data):
                return
            data = data[sent:]
        transport.write(data)

    return write


# ------------------------------------------------------------------ one relay per run per process


class Watcher(Protocol):
    closing: bool

    def relayed(self, messages: list[dict[str, Any]], batch: Batch) -> None: ...

    def relay_reconnected(self) -> None: ...


class Batch:
    """Frame events read together from a run's group, and (computed once, for every watcher that wants
    them as they are) their merged frames as WebSocket bytes."""

    __slots__ = ("frames", "_wire", "span")

    def __init__(self, frames: list[Frame]) -> None:
        self.frames = frames
        self._wire: tuple[bytes, list[str]] | None = None
        # (seq, attempt, start, end) when the frames are chunks of one message's text from one source
        # without a hole: a watcher then admits them with one check (runs.watch, admit_text).
        self.span = _text_span(frames)

    def wire(self) -> tuple[bytes, list[str]]:
        """The bytes of the merged frames, and their types (for the frame counters)."""
        if self._wire is None:
            merged = coalesce(list(self.frames)) if len(self.frames) > 1 else list(self.frames)
            outs = [out for out in merged if isinstance(out, dict)]
            self._wire = (b"".join(ws_text_frame(encoded(out)) for out in outs), [out["type"] for out in outs])
        return self._wire


def _text_span(frames: list[Frame]) -> tuple[int, int, int, int] | None:
    first = frames[0]
    if first["type"] != "message_chunk" or not isinstance(first.get("offset"), int):
        return None
    seq, attempt, source = first["seq"], first.get("attempt", 0), first["data"]["source"]
    start = end = first["offset"]
    for frame in frames:
        if (
            frame["type"] != "message_chunk"
            or frame["seq"] != seq
            or frame.get("attempt", 0) != attempt
            or frame.get("offset") != end
            or frame["data"]["source"] != source
        ):
            return None
        end += len(frame["data"]["content"])
    return seq, attempt, start, end


WATCHERS_PER_TURN = 100  # sockets written to before the relay lets the loop run others (about 2 ms)
DELAY_PER_WATCHER = 50e-6  # seconds a relay lets frames gather per socket it writes to...
MAX_DELAY = 0.05  # ...up to 20 writes a second to each socket
MIN_DELAY = 0.0005  # below this, frames go out as they come

_relays: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[int, Relay]] = weakref.WeakKeyDictionary()


class Relay:
    """A run's frames for every watcher of it in this process: one channel in the run's group, one task."""

    def __init__(self, run_id: int) -> None:
        self.run_id = run_id
        self.layer = get_channel_layer()
        self.watchers: dict[Watcher, None] = {}
        self.channel = ""
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.task = asyncio.get_running_loop().create_task(self._run())
        self.delay = 0.0

    def leave(self, watcher: Watcher) -> None:
        self.watchers.pop(watcher, None)
        if not self.watchers:
            self._unregister()
            self.task.cancel()

    def _unregister(self) -> None:
        relays = _relays.get(asyncio.get_running_loop(), {})
        if relays.get(self.run_id) is self:
            del relays[self.run_id]

    async def _run(self) -> None:
        group = events.run_group(self.run_id)
        try:
            self.channel = await self.layer.new_channel()
            await self.layer.group_add(group, self.channel)
        except asyncio.CancelledError:  # every watcher left before it was subscribed
            self.ready.cancel()
            if self.channel:
                await self.layer.group_discard(group, self.channel)
            raise
        except Exception as exc:  # Redis unreachable: each joiner fails as group_add would have
            self._unregister()
            self.ready.set_exception(exc)
            self.ready.exception()  # read: joiners that gave up meanwhile leave nobody to read it
            return
        self.ready.set_result(None)
        try:
            await self._pump()
        finally:
            await self.layer.group_discard(group, self.channel)

    async def _pump(self) -> None:
        layer, channel = self.layer, self.channel
        ready = _receive_ready(layer)
        while True:
            messages = [await layer.receive(channel)]
            if self.delay >= MIN_DELAY:
                await asyncio.sleep(self.delay)
            if ready is not None:
                messages += ready(channel)
            frames = [m for m in messages if m.get("type") == events.FRAME_EVENT]
            if frames:
                await self.deliver(frames)
            if len(frames) < len(messages) and any(m.get("type") == RECONNECTED_EVENT for m in messages):
                # The layer lost Redis for a while: what was published meanwhile is gone.
                for watcher in list(self.watchers):
                    watcher.relay_reconnected()
            self.delay = min(MAX_DELAY, len(self.watchers) * DELAY_PER_WATCHER)

    async def deliver(self, messages: list[dict[str, Any]]) -> None:
        batch = Batch([m["frame"] for m in messages])
        gone = []
        for n, watcher in enumerate(list(self.watchers)):
            if n and not n % WATCHERS_PER_TURN:
                await asyncio.sleep(0)  # the loop's other sockets and runs between slices of a big audience
            try:
                watcher.relayed(messages, batch)
            except Exception:  # one watcher's failure is its own: the others still get the frames
                logger.exception("run %s: relaying frames to a watcher failed", self.run_id)
            if watcher.closing:
                gone.append(watcher)
        for watcher in gone:
            self.leave(watcher)


def _receive_ready(layer: Any) -> Callable[[str], list[dict[str, Any]]] | None:
    """What already waits in a channel, taken without waiting: the Redis layer has it
    (playground.layers); the in-memory layer's queue is read here."""
    ready = getattr(layer, "receive_ready", None)
    if ready is not None:
        return ready  # type: ignore[no-any-return]
    if not isinstance(layer, InMemoryChannelLayer):
        return None

    def take(channel: str) -> list[dict[str, Any]]:
        queue = layer.channels.get(channel)
        taken = []
        while queue is not None and not queue.empty():
            taken.append(queue.get_nowait()[1])  # (expiry, message)
        return taken

    return take


async def relay_for(run_id: int, watcher: Watcher) -> Relay:
    """Join the run's relay in this process (starting it, subscribed to the run's group, if it is the
    first watcher here); returns once frames published from now on reach the watcher."""
    loop = asyncio.get_running_loop()
    relays = _relays.setdefault(loop, {})
    relay = relays.get(run_id)
    if relay is None:
        relay = relays[run_id] = Relay(run_id)
    relay.watchers[watcher] = None
    try:
        await asyncio.shield(relay.ready)
    except BaseException:
        relay.leave(watcher)
        raise
    return relay


def relay_count() -> int:
    """Relays alive on this loop (tests: a run's last watcher leaving ends its relay)."""
    return len(_relays.get(asyncio.get_running_loop(), {}))
