"""Fan-out through real Daphnes: many watchers of one run over two processes, each frame written
once per process to every socket (runs.fanout), and a socket that reads nothing holding back nobody."""

from __future__ import annotations

import asyncio
import json
import socket
from contextlib import AsyncExitStack
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from runs.models import Message
from tests.integration.stack import Stack, recv, recv_until, ws
from tests.runs.conftest import create_run

pytestmark = pytest.mark.timeout(240)


def streamer(base_url: str, tokens: int, rate: int) -> dict[str, Any]:
    model = {
        "provider": "openai",
        "model": "fake",
        "base_url": base_url,
        "default_headers": {"X-Fake-Tokens": str(tokens), "X-Fake-Rate": str(rate)},
    }
    return {
        "kind": "round_robin",
        "name": "fan-out",
        "participants": [{"kind": "assistant", "name": "assistant", "model": model}],
        "termination": {"type": "max_message", "max_messages": 2},
    }


def assert_whole_and_in_order(frames: list[dict[str, Any]], text: str) -> None:
    """The chunks of message 2 are its text from offset 0, each starting where the last ended, all
    before the stored message; frames of the stream never go back in seq."""
    chunks = [f for f in frames if f["type"] == "message_chunk"]
    assert "".join(f["data"]["content"] for f in chunks) == text
    ends = [f["offset"] + len(f["data"]["content"]) for f in chunks]
    assert [f["offset"] for f in chunks] == [0, *ends[:-1]]
    stored = [i for i, f in enumerate(frames) if f["type"] == "message" and f["seq"] == 2]
    assert len(stored) == 1 and all(frames.index(c) < stored[0] for c in chunks)
    seqs = [f["seq"] for f in frames if f["type"] in ("message", "message_chunk")]
    assert seqs == sorted(seqs)


def stalled_socket(port: int, run_id: int, token: str) -> socket.socket:
    """A WebSocket client with a tiny receive buffer that reads its handshake's answer and then nothing."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.sendall(
        f"GET /runs/{run_id}?token={token} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        f"Origin: http://127.0.0.1:{port}\r\n\r\n".encode()
    )
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += sock.recv(1)
    assert answer.startswith(b"HTTP/1.1 101"), answer
    return sock


def read_until_end(sock: socket.socket) -> list[dict[str, Any]]:
    """The text frames the server sent, up to the run's final frame."""
    sock.settimeout(60)
    buffer, frames = b"", []

    def take(n: int) -> bytes:
        nonlocal buffer
        while len(buffer) < n:
            data = sock.recv(65536)
            assert data, "the server closed the socket"
            buffer += data
        out, buffer = buffer[:n], buffer[n:]
        return out

    while True:
        first, size = take(2)
        if size == 126:
            size = int.from_bytes(take(2), "big")
        elif size == 127:
            size = int.from_bytes(take(8), "big")
        payload = take(size)
        if first & 0x0F != 1:
            continue  # a ping
        frames.append(json.loads(payload))
        if frames[-1]["type"] in ("result", "completion"):
            return frames


async def test_many_watchers_on_two_daphnes_get_every_token_in_order_and_a_stalled_one_blocks_nobody(
    live: Stack, alice: Any, alice_token: str, fake_openai: Any
) -> None:
    run_id = await sync_to_async(create_run)(alice, streamer(fake_openai.base_url, 3000, 3000))
    ports = [port for _, port in live.daphnes]
    stalled = await asyncio.to_thread(stalled_socket, ports[0], run_id, alice_token)
    try:
        async with AsyncExitStack() as stack:
            conns = [await stack.enter_async_context(ws(ports[i % 2], run_id, alice_token)) for i in range(40)]
            for conn in conns:
                assert (await recv(conn))["type"] == "system"
            await conns[0].send('{"type": "start", "task": "Say many words"}')
            kept: list[list[dict[str, Any]]] = [[] for _ in conns]
            ends = await asyncio.gather(
                *(recv_until(conn, {"result", "completion"}, frames) for conn, frames in zip(conns, kept, strict=True))
            )
        assert all(end["type"] == "result" for end in ends), live.logs()
        text = (await Message.objects.aget(run_id=run_id, seq=2)).content
        assert len(text) > 10_000  # more than the stalled socket's buffers hold
        for frames in kept:
            assert_whole_and_in_order(frames, text)
        # All the others had everything before the stalled socket read a byte; now it reads, and lacks nothing.
        late = await asyncio.to_thread(read_until_end, stalled)
        assert late[0]["type"] == "system" and late[-1]["type"] == "result"
        assert_whole_and_in_order(late, text)
    finally:
        stalled.close()
