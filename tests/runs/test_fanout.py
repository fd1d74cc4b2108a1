"""Fan-out: a frame encoded once per process, chunks merged for a watcher behind, and many watchers of
one run each getting every token in order (the in-memory layer in the embedded pass, Redis in the
services pass)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from channels.layers import get_channel_layer

from runs import events, fanout
from runs.fanout import coalesce, encoded
from runs.watch import Gap
from tests.runs.conftest import create_run, gallery_config
from tests.runs.wsclient import connect, receive, receive_until


def chunk(seq: int, text: str, offset: int, source: str = "writer") -> dict[str, Any]:
    return events.chunk_frame(7, seq, source, text, offset)


def test_contiguous_chunks_of_one_message_merge() -> None:
    merged = coalesce([chunk(2, "a ", 0), chunk(2, "b ", 2), chunk(2, "c", 4)])
    assert merged == [chunk(2, "a b c", 0)]


def test_chunks_that_do_not_continue_each_other_stay_apart() -> None:
    outs = [chunk(2, "a", 0), chunk(3, "b", 0), chunk(3, "c", 5), chunk(3, "d", 6, source="critic")]
    assert coalesce(outs) == outs


def test_other_frames_keep_their_place_between_merged_chunks() -> None:
    message = {"type": "message", "run_id": 7, "seq": 2, "data": {"source": "writer", "content": "a b"}}
    gap = Gap(2, 3, {"type": "message", "run_id": 7, "seq": 4})
    outs = [chunk(2, "a ", 0), chunk(2, "b", 2), message, gap, chunk(5, "x", 0), chunk(5, "y", 1)]
    assert coalesce(outs) == [chunk(2, "a b", 0), message, gap, chunk(5, "xy", 0)]


def test_a_chunk_without_offset_is_sent_as_it_came() -> None:
    bare = {"type": "message_chunk", "run_id": 7, "seq": 2, "data": {"source": "writer", "content": "a"}}
    assert coalesce([bare, dict(bare)]) == [bare, bare]


def test_a_frame_is_encoded_once_and_as_json_dumps_writes_it() -> None:
    frame = chunk(2, 'say "hi" ☃', 0)
    text = encoded(frame)
    assert text == json.dumps(frame) and encoded(frame) is text
    other = chunk(2, 'say "hi" ☃', 0)
    assert encoded(other) == text


@pytest.mark.django_db(transaction=True)
async def test_many_watchers_of_one_run_each_get_every_token_in_order(alice: Any, alice_token: str) -> None:
    from asgiref.sync import sync_to_async

    run_id = await sync_to_async(create_run)(alice, gallery_config("writer_critic"))
    watchers = [await connect(f"/runs/{run_id}?token={alice_token}") for _ in range(40)]
    for comm in watchers:
        assert (await receive(comm))["type"] == "system"
    words = [f"w{i} " for i in range(300)]
    layer = get_channel_layer()
    offset = 0
    sends = []
    for word in words:  # published without waiting between frames: the watchers fall behind
        message = {"type": events.FRAME_EVENT, "frame": events.chunk_frame(run_id, 1, "writer", word, offset)}
        sends.append(asyncio.ensure_future(layer.group_send(events.run_group(run_id), message)))
        offset += len(word)
    await asyncio.gather(*sends)
    done = {"type": "message", "run_id": run_id, "seq": 1, "data": {"source": "writer", "content": "".join(words)}}
    await layer.group_send(events.run_group(run_id), {"type": events.FRAME_EVENT, "frame": done})
    for comm in watchers:
        frames: list[dict[str, Any]] = []
        await receive_until(comm, {"message"}, keep=frames)
        chunks = [f for f in frames if f["type"] == "message_chunk"]
        assert "".join(f["data"]["content"] for f in chunks) == "".join(words)
        ends = [f["offset"] + len(f["data"]["content"]) for f in chunks]
        assert [f["offset"] for f in chunks] == [0, *ends[:-1]]  # in order, nothing twice, no hole
        assert frames[-1] == done
        await comm.disconnect()


def test_chunks_of_two_attempts_stay_apart_and_a_merge_keeps_its_attempt() -> None:
    first, again = events.chunk_frame(7, 2, "writer", "ab", 0, 1), events.chunk_frame(7, 2, "writer", "cd", 2, 2)
    assert coalesce([first, again]) == [first, again]  # the same place in the message, another execution's text
    merged = coalesce([events.chunk_frame(7, 2, "writer", "ab", 0, 2), again])
    assert merged == [events.chunk_frame(7, 2, "writer", "abcd", 0, 2)]


def _parse_ws_frames(data: bytes) -> list[tuple[int, bytes]]:
    """(opcode, payload) of each unmasked frame in `data`, as a client reads them."""
    frames, at = [], 0
    while at < len(data):
        first, size = data[at], data[at + 1]
        assert first & 0x80 and not data[at + 1] & 0x80  # final, not masked
        at += 2
        if size == 126:
            size, at = int.from_bytes(data[at : at + 2], "big"), at + 2
        elif size == 127:
            size, at = int.from_bytes(data[at : at + 8], "big"), at + 8
        frames.append((first & 0x0F, data[at : at + size]))
        at += size
    assert at == len(data)
    return frames


@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536, 70000])
def test_a_text_frame_carries_its_length_in_each_of_the_three_forms(size: int) -> None:
    text = "é" * (size // 2) + "x" * (size % 2)
    assert _parse_ws_frames(fanout.ws_text_frame(text)) == [(1, text.encode())]


class Probe:
    """A watcher that keeps what the relay gives it."""

    closing = False

    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []
        self.wire = b""

    def relayed(self, messages: list[dict[str, Any]], batch: fanout.Batch) -> None:
        self.frames += [m["frame"] for m in messages]
        self.wire += batch.wire()[0]


async def test_a_run_has_one_relay_per_process_and_every_watcher_gets_every_frame_in_order() -> None:
    run_id = 987654
    first, second = Probe(), Probe()
    relay = await fanout.relay_for(run_id, first)
    assert await fanout.relay_for(run_id, second) is relay and fanout.relay_count() == 1
    layer = get_channel_layer()
    words = [f"w{i} " for i in range(200)]
    sent, offset = [], 0
    for word in words:
        frame = events.chunk_frame(run_id, 1, "writer", word, offset)
        sent.append(frame)
        await layer.group_send(events.run_group(run_id), {"type": events.FRAME_EVENT, "frame": frame})
        offset += len(word)
    async with asyncio.timeout(20):
        while len(second.frames) < len(sent):
            await asyncio.sleep(0.01)
    for probe in (first, second):
        assert probe.frames == sent
        # The shared bytes: the same text, merged into fewer frames, in order.
        merged = [json.loads(payload) for _, payload in _parse_ws_frames(probe.wire)]
        assert "".join(f["data"]["content"] for f in merged) == "".join(words)
        assert [f["offset"] for f in merged] == sorted({f["offset"] for f in merged})
    relay.leave(first)
    assert fanout.relay_count() == 1
    relay.leave(second)
    assert fanout.relay_count() == 0
    await asyncio.gather(relay.task, return_exceptions=True)
    assert relay.task.done()


async def test_a_watcher_that_leaves_is_sent_nothing_more_and_a_closing_one_is_dropped() -> None:
    run_id = 987655
    staying, leaving, closing = Probe(), Probe(), Probe()
    relay = await fanout.relay_for(run_id, staying)
    await fanout.relay_for(run_id, leaving)
    await fanout.relay_for(run_id, closing)
    closing.closing = True
    relay.leave(leaving)
    layer = get_channel_layer()
    frame = events.chunk_frame(run_id, 1, "writer", "hello", 0)
    await layer.group_send(events.run_group(run_id), {"type": events.FRAME_EVENT, "frame": frame})
    async with asyncio.timeout(20):
        while not staying.frames:
            await asyncio.sleep(0.01)
    assert leaving.frames == [] and list(relay.watchers) == [staying]
    relay.leave(staying)
    await asyncio.gather(relay.task, return_exceptions=True)


def test_the_socket_writer_keeps_bytes_in_order_when_the_kernel_takes_only_part() -> None:
    """Straight to the socket while Twisted holds nothing for it; the rest, and everything after it
    until Twisted has written it, through Twisted's buffer: the peer reads every byte once, in order."""
    import functools
    import socket

    from daphne.ws_protocol import WebSocketProtocol
    from twisted.internet import tcp
    from twisted.internet.testing import MemoryReactor

    ours, peer = socket.socketpair()
    ours.setblocking(False)
    ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    protocol = WebSocketProtocol()
    transport = tcp.Connection(ours, protocol, MemoryReactor())
    transport.connected = True
    protocol.transport, protocol.state = transport, WebSocketProtocol.STATE_OPEN

    async def send(protocol: Any, message: dict[str, Any]) -> None: ...

    write = fanout.socket_writer(functools.partial(send, protocol))
    assert write is not None
    pieces = [bytes([i % 251]) * 1000 for i in range(300)]  # far more than the socket's buffers
    for piece in pieces:
        assert write(piece)
    assert transport._tempDataLen > 0  # the kernel took part; Twisted holds the rest
    expected, received = b"".join(pieces), b""
    peer.settimeout(5)
    while len(received) < len(expected):
        transport.doWrite()  # what the reactor does when the socket can take more
        received += peer.recv(1 << 20)
    assert received == expected
    protocol.state = WebSocketProtocol.STATE_CLOSING
    assert not write(b"late")
    ours.close(), peer.close()


async def test_an_audience_larger_than_a_turn_gets_every_frame_in_order() -> None:
    run_id = 987656
    probes = [Probe() for _ in range(fanout.WATCHERS_PER_TURN * 2 + 50)]
    relay = None
    for probe in probes:
        relay = await fanout.relay_for(run_id, probe)
    assert relay is not None
    layer = get_channel_layer()
    sent = [events.chunk_frame(run_id, 1, "writer", f"w{i} ", 3 * i) for i in range(50)]
    for frame in sent:
        await layer.group_send(events.run_group(run_id), {"type": events.FRAME_EVENT, "frame": frame})
    async with asyncio.timeout(20):
        while len(probes[-1].frames) < len(sent):
            await asyncio.sleep(0.01)
    assert all(probe.frames == sent for probe in probes)
    for probe in probes:
        relay.leave(probe)
    await asyncio.gather(relay.task, return_exceptions=True)


class ReconnectProbe(Probe):
    told = 0

    def relay_reconnected(self) -> None:
        self.told += 1


async def test_the_layers_reconnect_notice_reaches_every_watcher_through_the_relay() -> None:
    probes = [ReconnectProbe(), ReconnectProbe()]
    relay = None
    for probe in probes:
        relay = await fanout.relay_for(987657, probe)
    assert relay is not None
    await get_channel_layer().send(relay.channel, {"type": fanout.RECONNECTED_EVENT})
    async with asyncio.timeout(20):
        while not all(probe.told for probe in probes):
            await asyncio.sleep(0.01)
    assert [probe.told for probe in probes] == [1, 1] and not probes[0].frames
    for probe in probes:
        relay.leave(probe)
    await asyncio.gather(relay.task, return_exceptions=True)


def _local_channels(layer: Any) -> dict[str, Any]:
    return layer.channels if hasattr(layer, "channels") else layer._get_layer().channels  # type: ignore[no-any-return]


@pytest.mark.django_db(transaction=True)
async def test_watchers_of_a_run_open_no_channel_of_their_own(alice: Any, alice_token: str) -> None:
    from asgiref.sync import sync_to_async

    layer = get_channel_layer()
    run_id = await sync_to_async(create_run)(alice, gallery_config("writer_critic"))
    before = set(_local_channels(layer))
    watchers = [await connect(f"/runs/{run_id}?token={alice_token}") for _ in range(20)]
    for comm in watchers:
        assert (await receive(comm))["type"] == "system"
    assert len(set(_local_channels(layer)) - before) <= 1  # the run's relay, at most
    for comm in watchers:
        await comm.disconnect()
    assert fanout.relay_count() == 0


def test_merged_chunks_stay_within_the_protocols_frame_size() -> None:
    from runs.pipe import MAX_CHUNK_CHARS

    piece = "x" * 1000
    outs = [chunk(2, piece, i * 1000) for i in range(40)]
    merged = coalesce(outs)
    assert all(len(f["data"]["content"]) <= MAX_CHUNK_CHARS for f in merged if isinstance(f, dict))
    assert "".join(f["data"]["content"] for f in merged if isinstance(f, dict)) == piece * 40
    assert len(merged) == 3  # 16 + 16 + 8 pieces
