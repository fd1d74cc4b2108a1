"""`python -m ops.serve` (Daphne with a graceful close): SIGTERM closes open WebSockets with 1001."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from websockets.frames import Close

from tests.integration.stack import free_port, wait_http
from tests.ops.conftest import ROOT, subprocess_env

pytestmark = [pytest.mark.nodb, pytest.mark.timeout(60)]


async def test_sigterm_closes_websockets_with_going_away(tmp_path: Path) -> None:
    port = free_port()
    env = subprocess_env(RUN_EXECUTOR="inline", SQLITE_PATH=str(tmp_path / "unused.sqlite3"))
    env.pop("REDIS_URL", None)
    env.pop("DATABASE_URL", None)
    with open(tmp_path / "serve.log", "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ops.serve", "-b", "127.0.0.1", "-p", str(port), "playground.asgi:application"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=log,
        )
    try:
        await asyncio.to_thread(wait_http, f"http://127.0.0.1:{port}/api/version", proc)
        # Accepted, then waiting for an auth frame: an open socket the server has to close.
        async with connect(f"ws://127.0.0.1:{port}/runs/1", proxy=None) as conn:
            await asyncio.sleep(0.2)
            proc.send_signal(signal.SIGTERM)
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(conn.recv(), 30)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
        assert await asyncio.to_thread(proc.wait, 30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.fixture
async def serving(tmp_path: Path) -> AsyncIterator[int]:
    port = free_port()
    env = subprocess_env(RUN_EXECUTOR="inline", SQLITE_PATH=str(tmp_path / "unused.sqlite3"))
    env.pop("REDIS_URL", None)
    env.pop("DATABASE_URL", None)
    args = [sys.executable, "-m", "ops.serve", "-b", "127.0.0.1", "-p", str(port), "playground.asgi:application"]
    with open(tmp_path / "serve.log", "wb") as log:
        proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=log)
    try:
        await asyncio.to_thread(wait_http, f"http://127.0.0.1:{port}/api/version", proc)
        yield port
    finally:
        proc.terminate()
        await asyncio.to_thread(proc.wait, 30)


async def closed_by_server(port: int, frame: str | bytes) -> Close:
    async with connect(f"ws://127.0.0.1:{port}/runs/1", proxy=None, max_size=None) as conn:
        await conn.send(frame, text=True)
        with pytest.raises(ConnectionClosed) as closed:
            while True:  # the socket waits for an auth frame; whatever it sends first, it must close
                await asyncio.wait_for(conn.recv(), 30)
    assert closed.value.rcvd is not None, "the server dropped the connection without a close frame"
    return closed.value.rcvd


async def test_a_frame_over_the_servers_message_limit_is_closed_with_1009_and_a_reason(serving: int) -> None:
    close = await closed_by_server(serving, "x" * (17 * 1024 * 1024))  # WS_MAX_START_FRAME_BYTES: 16 MiB
    assert close.code == 1009 and "exceeds payload limit" in close.reason


async def test_a_text_frame_that_is_not_utf8_is_closed_with_1007_and_a_reason(serving: int) -> None:
    close = await closed_by_server(serving, b'{"type": "ping", "x": "\xff\xfe"}')
    assert close.code == 1007 and "UTF-8" in close.reason


async def test_a_frame_over_64_kib_but_under_the_server_limit_gets_an_error_frame_and_the_socket_stays(
    serving: int,
) -> None:
    async with connect(f"ws://127.0.0.1:{serving}/runs/1", proxy=None) as conn:
        await conn.send("x" * (100 * 1024))
        error = json.loads(await asyncio.wait_for(conn.recv(), 30))
        assert error["type"] == "error" and "frame too large" in error["error"]
        await conn.send('{"type": "ping"}')  # still open: unauthenticated, it is told to authenticate
        assert json.loads(await asyncio.wait_for(conn.recv(), 30))["type"] == "error"


def test_daphne_takes_a_start_frame_with_files_by_default(settings: Any) -> None:
    from ops.serve import GracefulCommandLineInterface

    args = GracefulCommandLineInterface().parser.parse_args(["playground.asgi:application"])
    assert args.websocket_max_message_size == args.websocket_max_frame_size == settings.WS_MAX_START_FRAME_BYTES


async def test_the_application_checker_looks_only_at_connections_that_closed_or_whose_application_ended(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from twisted.internet import reactor

    from ops.serve import GracefulServer

    monkeypatch.setattr(reactor, "callLater", lambda *args, **kwargs: None)  # no reactor runs here
    ends = {n: asyncio.Event() for n in range(100)}

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await ends[scope["n"]].wait()

    server = GracefulServer(application=app, endpoints=["tcp:port=0"])  # not listened on: run() is not called
    server.connections = {}  # as run() starts it
    protocols = [f"socket {n}" for n in range(100)]  # Daphne keys its connections by protocol
    for n, protocol in enumerate(protocols):
        server.protocol_connected(protocol)
        server.create_application(protocol, {"type": "websocket", "n": n})
    server.application_checker()
    assert len(server.connections) == 100 and not server._to_check  # idle sockets: nothing to look at

    server.protocol_disconnected(protocols[0])  # closed, its application still ending: kept, looked at again
    server.application_checker()
    assert protocols[0] in server.connections and server._to_check == {protocols[0]}
    ends[0].set()
    ends[1].set()  # an application that ends while its socket stays open: reaped, the connection kept
    await asyncio.sleep(0.01)
    server.application_checker()
    assert protocols[0] not in server.connections and not server._to_check
    assert "application_instance" not in server.connections[protocols[1]] and len(server.connections) == 99
    server.protocol_disconnected(protocols[1])
    server.application_checker()
    assert protocols[1] not in server.connections and len(server.connections) == 98
    for event in ends.values():
        event.set()
    await asyncio.sleep(0.01)


def test_the_timeout_checker_looks_at_each_connection_once_in_five_rounds(monkeypatch: pytest.MonkeyPatch) -> None:
    from twisted.internet import reactor

    from ops.serve import TIMEOUT_SLICES, GracefulServer

    monkeypatch.setattr(reactor, "callLater", lambda *args, **kwargs: None)
    checked: list[int] = []

    class Connection:
        def __init__(self, n: int) -> None:
            self.n = n

        def check_timeouts(self) -> None:
            checked.append(self.n)

    server = GracefulServer(application=None, endpoints=["tcp:port=0"])
    server.connections = {Connection(n): {} for n in range(103)}
    for _ in range(TIMEOUT_SLICES):
        server.timeout_checker()
    assert sorted(checked) == list(range(103))


def test_autobahns_log_values_are_formatted_only_for_a_debug_log() -> None:
    import txaio
    from autobahn.twisted import websocket
    from autobahn.websocket import protocol

    import ops.serve  # noqa: F401  (installs the formatters)

    def named() -> None: ...

    level = txaio.get_global_log_level()
    try:
        txaio.set_global_log_level("info")
        assert protocol.pformat([("logFrames", False, "Factory")]) == ""
        assert websocket.hlval(12) == "" and websocket.hltype(named) == ""
        txaio.set_global_log_level("debug")
        assert protocol.pformat([("logFrames", False, "Factory")]) == "[('logFrames', False, 'Factory')]"
        assert "12" in websocket.hlval(12) and "named" in websocket.hltype(named)
    finally:
        txaio.set_global_log_level(level)


async def _open_socket(monkeypatch: pytest.MonkeyPatch, ping_timeout: float) -> tuple[Any, Any, Any]:
    """A DirectWebSocketProtocol through autobahn's real handshake on an in-memory transport, its
    application accepting and then waiting; returns the server, the protocol and the transport."""
    from autobahn.websocket.protocol import WebSocketProtocol as AutobahnProtocol
    from daphne.ws_protocol import WebSocketFactory
    from twisted.internet import reactor
    from twisted.internet.address import IPv4Address
    from twisted.internet.testing import StringTransport

    from ops.serve import GracefulServer

    class Timer:
        def cancel(self) -> None: ...

    monkeypatch.setattr(reactor, "callLater", lambda *args, **kwargs: Timer())  # no reactor runs here

    class Transport(StringTransport):
        def unregisterProducer(self) -> None:
            self.producer = None

        def abortConnection(self) -> None:
            self.loseConnection()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        await asyncio.Event().wait()

    server = GracefulServer(application=app, endpoints=["tcp:port=0"], ping_timeout=ping_timeout)
    server.connections = {}
    server.ws_factory = WebSocketFactory(server, server="Daphne")
    server.ws_factory.setProtocolOptions(autoPingTimeout=ping_timeout)
    protocol = server.ws_factory.buildProtocol(IPv4Address("TCP", "127.0.0.1", 5000))
    transport = Transport(peerAddress=IPv4Address("TCP", "127.0.0.1", 5000))
    protocol.makeConnection(transport)
    protocol._raw_query_string = b""  # what Daphne's HTTP protocol hands over with an upgrade
    protocol.dataReceived(
        b"GET /runs/1 HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    for _ in range(50):
        await asyncio.sleep(0.01)  # the accept travels through the application's queue
        if protocol.state == AutobahnProtocol.STATE_OPEN:
            break
    assert protocol.state == AutobahnProtocol.STATE_OPEN and b"101 Switching Protocols" in transport.value()
    transport.clear()
    return server, protocol, transport


def _masked(opcode: int, payload: bytes) -> bytes:
    mask = b"\x01\x02\x03\x04"
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


@pytest.mark.parametrize(
    "client",
    [
        "silent",
        "answers with a pong",  # one read of 18 bytes: ops.serve's own check
        "answers with a pong in two reads",  # autobahn's frame parser
        "answers with a pong behind a message",
        "answers with another payload",
        "sends a message",
    ],
)
async def test_a_ping_unanswered_by_its_deadline_drops_the_socket_and_an_answered_one_does_not(
    monkeypatch: pytest.MonkeyPatch, client: str
) -> None:
    import time

    server, protocol, transport = await _open_socket(monkeypatch, ping_timeout=30)
    protocol._sendAutoPing()
    frame = transport.value()
    assert frame[:2] == b"\x89\x0c" and frame[2:] == protocol.autoPingPending  # autobahn's ping and payload
    assert protocol.autoPingTimeoutCall is None  # no timer of its own: its deadline is in the server's queue
    pong, message = _masked(0xA, frame[2:]), _masked(0x1, b'{"type": "ping"}')
    parsed: list[int] = []  # control frames through autobahn's parser
    parse = protocol.processControlFrame
    monkeypatch.setattr(protocol, "processControlFrame", lambda: parsed.append(1) or parse())
    if client == "answers with a pong":
        protocol.dataReceived(pong)
    elif client == "answers with a pong in two reads":
        protocol.dataReceived(pong[:7])
        protocol.dataReceived(pong[7:])
    elif client == "answers with a pong behind a message":
        protocol.dataReceived(message[:-1])
        protocol.dataReceived(message[-1:] + pong)
    elif client == "answers with another payload":
        protocol.dataReceived(_masked(0xA, bytes(12)))
    elif client == "sends a message":
        protocol.dataReceived(message)
    now = time.monotonic()
    monkeypatch.setattr(time, "monotonic", lambda: now + 29)
    server.ping_checker()
    assert not transport.disconnecting  # before the deadline nothing happens to any of them
    monkeypatch.setattr(time, "monotonic", lambda: now + 31)
    server.ping_checker()
    assert transport.disconnecting is (client in ("silent", "answers with another payload"))
    assert bool(parsed) is (client.startswith("answers with a") and client != "answers with a pong")
    assert not server._ping_deadlines
