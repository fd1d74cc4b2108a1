"""Daphne with a graceful WebSocket shutdown and told refusals: `python -m ops.serve [daphne arguments]`.

Plain Daphne, on SIGTERM, cancels its application coroutines and exits; clients see the TCP
connection drop (close code 1006, "abnormal"). This wrapper first sends every open WebSocket
a close frame with 1001 ("going away") and gives the frames a moment to leave, so clients
(the browser UI, `playground_client`) know to reconnect, to another process behind the proxy,
and resume by seq. Runs are unaffected: they live in Celery workers and the database.

A frame the WebSocket layer itself refuses, before the application sees it (a message over
Daphne's `--websocket_max_message_size`, 1 MiB by default, or text that is not UTF-8), closes
the socket with the RFC 6455 code and a reason (1009 message too big, 1007 invalid data)
instead of dropping the TCP connection without a word, which is autobahn's default for servers.
That limit defaults to WS_MAX_START_FRAME_BYTES here, so a `start` frame carrying files gets
through; the application holds every other frame to WS_MAX_FRAME_BYTES.

Daphne looks at every connection once a second to reap finished applications; here only the
connections that closed or whose application ended are looked at. Its timeout check (connect and
HTTP timeouts, the WebSocket's ping when the client has been silent for --ping-interval) walks a
fifth of the connections every 2 s instead of all of them: each is checked every 10 s, so a ping
goes out 20-30 s after the client's last message instead of 20-22 s.
A ping (to a client silent for --ping-interval) is autobahn's own frame and payload, written in one go,
and its pong's deadline goes into one queue the server looks at every second instead of a timer per
ping (autobahn's batched timer: an object and a closure per ping, and a list search to cancel it at the
pong); a client that answers, or sends anything, before the deadline stays, one that does not is dropped
as autobahn drops it, within --ping-timeout and a second. The pong, when it arrives alone between two
frames (as browsers send it), is recognised from its 18 bytes instead of going through autobahn's frame
parser (its debug logs, a frame header object, an unmasker, five callbacks). This reads autobahn's ping
state (autoPingPending, autoPingPendingSeq, autoPingPendingSent, onAutoPingTimeout), which its pong
handler shares with it, and its parser's (data, current_frame: nothing half-read).
Autobahn formats values for its debug log lines whether they are logged or not: its whole
configuration at every connection (about 1 ms a socket), highlighted names and values at every
chunk of bytes received and every frame it sends; here only when debug logging is on.

SERVE_PROFILE=path writes a cProfile of the process to path.<pid>.prof when it exits (investigation).
"""

from __future__ import annotations

import os
import struct
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import txaio
from autobahn.twisted import websocket as autobahn_twisted
from autobahn.websocket import protocol as autobahn_protocol
from daphne.cli import CommandLineInterface
from daphne.server import Server
from daphne.ws_protocol import WebSocketFactory, WebSocketProtocol
from twisted.internet import defer, reactor


def _when_debugging(format_value: Callable[..., str]) -> Callable[..., str]:
    def formatted(*args: Any, **kwargs: Any) -> str:
        if txaio.get_global_log_level() in ("debug", "trace"):  # type: ignore[attr-defined]
            return format_value(*args, **kwargs)
        return ""

    return formatted


for _module in (autobahn_protocol, autobahn_twisted):
    for _name in ("pformat", "hltype", "hlval"):  # used by these modules for log lines only
        if hasattr(_module, _name):
            setattr(_module, _name, _when_debugging(getattr(_module, _name)))

PING = struct.Struct(">QL")  # autobahn's ping payload: the time it was sent (ns) and its sequence number
PING_FRAME_HEAD = bytes([0x89, PING.size])  # FIN, opcode 9 (ping), an unmasked payload of 12 bytes
PONG_FRAME_HEAD = bytes([0x8A, 0x80 | PING.size])  # FIN, opcode 10 (pong), a masked payload of 12 bytes
PONG_FRAME_SIZE = 2 + 4 + PING.size  # its head, the client's mask, the payload
CLOSE_GOING_AWAY = 1001
FLUSH_SECONDS = 0.5
CLOSE_HANDSHAKE_SECONDS = 10
TIMEOUT_SLICES = 5


class DirectWebSocketProtocol(WebSocketProtocol):
    """Daphne's protocol whose frames (its pings, the application's frames, a close) go to the socket at
    once when Twisted holds nothing for it (runs.fanout.transport_writer): Twisted's own write waits for
    the loop's next turn, registering the socket for writing and unregistering it after, which made
    most of the cost of a heartbeat to an idle socket."""

    _write_now: Callable[[bytes], None] | None = None

    def sendData(self, data: bytes, sync: bool = False, chopsize: int | None = None) -> None:
        if sync or chopsize or self.send_queue or self.state != self.STATE_OPEN:
            super().sendData(data, sync, chopsize)
            return
        if self._write_now is None:
            from runs.fanout import transport_writer

            self._write_now = transport_writer(self.transport)
        self._write_now(data)
        self.trafficStats.outgoingOctetsWireLevel += len(data)

    def _sendAutoPing(self) -> None:
        if self.state != self.STATE_OPEN:
            return
        self.autoPingPendingCall = None
        self.autoPingPendingSent = time.time_ns()
        self.autoPingPendingSeq += 1
        self.autoPingPending = PING.pack(self.autoPingPendingSent, self.autoPingPendingSeq)
        self.sendData(PING_FRAME_HEAD + self.autoPingPending)
        if self.autoPingTimeout:
            self.server.ping_sent(self, self.autoPingTimeout)

    def dataReceived(self, data: bytes) -> None:
        if (
            len(data) == PONG_FRAME_SIZE
            and data.startswith(PONG_FRAME_HEAD)
            and self.autoPingPending
            and not self.data
            and self.current_frame is None
            and self.state == self.STATE_OPEN
        ):
            mask = int.from_bytes(data[2:6] * 3)
            if (int.from_bytes(data[6:]) ^ mask).to_bytes(PING.size) == self.autoPingPending:
                self.trafficStats.incomingOctetsWireLevel += PONG_FRAME_SIZE
                self.autoPingPending = b""  # answered: what autobahn's pong handler does with a matching pong
                return
        super().dataReceived(data)

    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        self.autoPingPending = b""  # the client is alive: what autobahn does at a data frame during a ping
        super().onMessage(payload, isBinary)

    def ping_overdue(self, seq: int) -> None:
        """The deadline of ping `seq` has passed: the connection is dropped if that ping is still unanswered."""
        if self.autoPingPending and self.autoPingPendingSeq == seq and self.state != self.STATE_CLOSED:
            self.onAutoPingTimeout()


class GracefulServer(Server):
    _ws_factory: WebSocketFactory
    connections: dict[Any, dict[str, Any]]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._to_check: set[Any] = set()  # connections the application checker must look at
        self._sweep = 0  # which slice of the connections the timeout checker looks at next
        # (deadline, protocol, ping sequence number) in the order sent: one timeout for all, so deadlines ascend
        self._ping_deadlines: deque[tuple[float, Any, int]] = deque()

    def create_application(self, protocol: Any, scope: dict[str, Any]) -> Any:
        queue = super().create_application(protocol, scope)
        instance = self.connections.get(protocol, {}).get("application_instance")
        if instance is not None:
            instance.add_done_callback(lambda _: self._to_check.add(protocol))
        return queue

    def protocol_disconnected(self, protocol: Any) -> None:
        super().protocol_disconnected(protocol)
        self._to_check.add(protocol)

    def application_checker(self) -> None:
        """Daphne's checker (reap finished applications, cancel those that outlive their connection by
        application_close_timeout, forget closed connections), over the connections that changed only:
        Daphne's walks all of them every second, a cost per idle socket."""
        checking, self._to_check = self._to_check, set()
        everything = self.connections
        self.connections = {protocol: everything[protocol] for protocol in checking if protocol in everything}
        try:
            super().application_checker()
        finally:
            checked, self.connections = self.connections, everything
        for protocol in checking:
            if protocol not in everything:
                continue
            if protocol not in checked:
                del everything[protocol]  # closed and its application done: forgotten
            elif "disconnected" in everything[protocol]:
                self._to_check.add(protocol)  # closed, its application still ending: look again

    @property
    def ws_factory(self) -> WebSocketFactory:
        return self._ws_factory

    @ws_factory.setter
    def ws_factory(self, factory: WebSocketFactory) -> None:
        # Daphne builds the factory inside run() and sets its own options on it afterwards, which
        # leave these alone: a protocol failure sends a close frame with its code and reason, and
        # waits for the client's reply long enough that a client still writing a 16 MiB frame on a
        # busy machine reads it, rather than having the TCP connection reset under its send.
        factory.setProtocolOptions(failByDrop=False, closeHandshakeTimeout=CLOSE_HANDSHAKE_SECONDS)
        factory.protocol = DirectWebSocketProtocol
        self._ws_factory = factory

    def ping_sent(self, protocol: Any, timeout: float) -> None:
        if not self._ping_deadlines:
            reactor.callLater(1, self.ping_checker)  # type: ignore[arg-type]
        self._ping_deadlines.append((time.monotonic() + timeout, protocol, protocol.autoPingPendingSeq))

    def ping_checker(self) -> None:
        deadlines, now = self._ping_deadlines, time.monotonic()
        while deadlines and deadlines[0][0] <= now:
            _, protocol, seq = deadlines.popleft()
            protocol.ping_overdue(seq)
        if deadlines:
            reactor.callLater(1, self.ping_checker)  # type: ignore[arg-type]

    def timeout_checker(self) -> None:
        protocols = list(self.connections)
        self._sweep = (self._sweep + 1) % TIMEOUT_SLICES
        for protocol in protocols[self._sweep :: TIMEOUT_SLICES]:
            protocol.check_timeouts()
        reactor.callLater(2, self.timeout_checker)  # type: ignore[arg-type]

    def kill_all_applications(self) -> Any:
        """Daphne's shutdown trigger: close the sockets first, let the frames leave, then cancel what is left."""
        flushed = self.close_websockets()
        if flushed is None:
            return super().kill_all_applications()
        flushed.addCallback(lambda _: super(GracefulServer, self).kill_all_applications())
        return flushed

    def close_websockets(self) -> Any:
        sockets = [
            protocol
            for protocol in list(getattr(self, "connections", {}))
            if isinstance(protocol, WebSocketProtocol) and protocol.state == protocol.STATE_OPEN
        ]
        for protocol in sockets:
            # sendClose() only lets applications use 1000 and 3000-4999; 1001 is the server's own code
            # (RFC 6455 7.4.1), so send the frame one level down.
            protocol.sendCloseFrame(code=CLOSE_GOING_AWAY, reasonUtf8=b"server shutting down", isReply=False)
        if not sockets:
            return None
        flushed: defer.Deferred[None] = defer.Deferred()
        reactor.callLater(FLUSH_SECONDS, flushed.callback, None)  # type: ignore[arg-type]
        return flushed


class GracefulCommandLineInterface(CommandLineInterface):
    server_class = GracefulServer

    def __init__(self) -> None:
        super().__init__()
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "playground.settings")
        from django.conf import settings

        limit = settings.WS_MAX_START_FRAME_BYTES
        self.parser.set_defaults(websocket_max_message_size=limit, websocket_max_frame_size=limit)


def main() -> None:
    profile_to = os.environ.get("SERVE_PROFILE")
    if not profile_to:
        GracefulCommandLineInterface.entrypoint()
        return
    import cProfile

    profiler = cProfile.Profile()
    try:
        profiler.runcall(GracefulCommandLineInterface.entrypoint)
    finally:
        profiler.dump_stats(f"{profile_to}.{os.getpid()}.prof")


if __name__ == "__main__":
    main()
