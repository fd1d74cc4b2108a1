"""A channels_redis pub/sub layer whose publishes are written at once, pipelined on one connection.

channels_redis' RedisPubSubChannelLayer sends every PUBLISH of an event loop over
one connection guarded by an asyncio.Lock, shared with SUBSCRIBE, and waits for
each reply before the next command goes out: a worker that drives many runs on
one loop then publishes one frame at a time. This layer gives each loop one
connection per shard for publishing (`_Publisher`) and writes every PUBLISH to it
in the loop turn it is published, all of a turn's in one write at its end: nothing
waits for an earlier reply, Redis answers in order on the connection, and each
answer completes its publisher's future. A run's frames therefore reach Redis in
the order they were published and in the same loop turn. The wire format
(channel names, msgpack serializer) is the stock layer's, so the two interoperate:
receivers are unchanged.

Subscriptions are batched: the stock shard connection sends each SUBSCRIBE and
UNSUBSCRIBE alone, so a run starting on a busy loop waited a loop turn per
subscription of every run ahead of it.

Receiving, a message published to a group reaches every local channel of the group as one
payload: it is decoded once for all of them (`deserialize`), and a consumer that fell behind takes
what waits in its channel at once (`receive_ready`) to send it as fewer frames.

The measurements behind these, and the batch pipelining this replaced, are in docs/benchmarks.md.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import ssl
from collections import deque
from collections.abc import Coroutine
from typing import Any

import hiredis
from channels_redis.pubsub import RedisPubSubChannelLayer, RedisPubSubLoopLayer, RedisSingleShardConnection
from channels_redis.utils import _close_redis, _consistent_hash, _wrap_close
from redis.connection import parse_url
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

logger = logging.getLogger(__name__)
CONNECT_TIMEOUT = 5.0  # seconds, unless the URL sets socket_connect_timeout
SUBSCRIBE_TIMEOUT = 5.0  # seconds for Redis to confirm a SUBSCRIBE (through a reconnect, if need be)
PUBLISHER_NAME = b"playground-publish"
# Put into every channel of the process once a lost subscription connection is back: whatever was
# published meanwhile is gone, so a receiver that cares (runs.consumers) catches up from its source.
RECONNECTED_EVENT = "layer.reconnected"


class _LoopLayer(RedisPubSubLoopLayer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._shards = [_ShardConnection(shard.host, self) for shard in self._shards]  # type: ignore[has-type]
        self._publishers: list[_Publisher | None] = [None] * len(self._shards)

    def _publisher(self, index: int) -> _Publisher:
        publisher = self._publishers[index]
        if publisher is None:
            address = self._shards[index].host.get("address")
            if address is None:
                raise ValueError("PlaygroundPubSubChannelLayer needs hosts given as redis:// URLs")
            publisher = self._publishers[index] = _Publisher(address, asyncio.get_running_loop())
        return publisher

    def group_send_nowait(self, group: str, message: dict[str, Any]) -> asyncio.Future[Any]:
        """Publish in this loop turn; the future completes with Redis' reply (or the connection's failure)."""
        channel = self._get_group_channel_name(group)
        index = _consistent_hash(channel, len(self._shards))
        return self._publisher(index).publish(channel, self.channel_layer.serialize(message))

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        await self.group_send_nowait(group, message)

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        # The same connection as group sends (the stock one, redis-py's, fails the first command
        # after a Redis restart instead of sending it again).
        index = _consistent_hash(channel, len(self._shards))
        await self._publisher(index).publish(channel, self.channel_layer.serialize(message))

    def receive_ready(self, channel: str, limit: int) -> list[dict[str, Any]]:
        """Up to `limit` messages already waiting in a channel of this process, without waiting."""
        queue = self.channels.get(channel)
        ready: list[dict[str, Any]] = []
        while queue is not None and len(ready) < limit and not queue.empty():
            ready.append(self.channel_layer.deserialize(queue.get_nowait()))
        return ready

    async def flush(self) -> None:
        publishers, self._publishers = self._publishers, [None] * len(self._shards)
        for publisher in publishers:
            if publisher is not None:
                await publisher.aclose()
        await super().flush()


def _shared_task(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
    """A task serving every run on the loop, started in an empty context: it must not inherit (and
    log under, ops.logs) the run id of whichever run happened to need it first."""
    return loop.create_task(coro, context=contextvars.Context())


def _pack(*args: bytes) -> bytes:
    """A command in RESP, Redis' wire format: an array of bulk strings."""
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%b\r\n" % (len(a), a) for a in args)


# A command written to Redis: its bytes, the future its reply completes, and whether it may be sent again.
_Command = tuple[bytes, "asyncio.Future[Any]", bool]


class _Publisher:
    """One shard's publishing connection for one event loop.

    Commands are written the moment they are published, while earlier ones still await their
    replies; Redis answers in order, so each reply completes the oldest waiting future. While
    (re)connecting, commands wait in order and go out right after the handshake. A lost
    connection (Redis restarted: the first write after it lands on a socket the server has
    closed) sends the commands still waiting for a reply once more, first, on a new connection;
    only a command lost twice, or a Redis that cannot be reached, fails its publisher. A PUBLISH
    whose reply alone was lost may so arrive twice; watchers deduplicate frames by seq and offset.
    """

    def __init__(self, address: str, loop: asyncio.AbstractEventLoop) -> None:
        self._options = parse_url(address)
        self._loop = loop
        self._connection: _Connection | None = None
        self._backlog: list[_Command] = []
        self._connecting: asyncio.Task[None] | None = None
        self._closed = False

    def publish(self, channel: str, payload: bytes) -> asyncio.Future[Any]:
        done = self._loop.create_future()
        command = _pack(b"PUBLISH", channel.encode(), payload)
        connection = self._connection
        if connection is not None and connection.is_open():
            connection.send(command, done, True)
        else:
            self._backlog.append((command, done, True))
            self._ensure_connecting()
        return done

    def _ensure_connecting(self) -> None:
        if self._connecting is None or self._connecting.done():
            self._connecting = _shared_task(self._loop, self._connect())

    async def _connect(self) -> None:
        options = self._options
        try:
            async with asyncio.timeout(float(options.get("socket_connect_timeout") or CONNECT_TIMEOUT)):
                if "path" in options:
                    await self._loop.create_unix_connection(lambda: _Connection(self), options["path"])
                else:
                    host, port = options.get("host") or "localhost", int(options.get("port") or 6379)
                    await self._loop.create_connection(lambda: _Connection(self), host, port, ssl=_ssl_context(options))
        except (OSError, TimeoutError) as exc:
            self._fail_backlog(RedisConnectionError(f"could not connect to Redis to publish: {exc}"))

    def _connected(self, connection: _Connection) -> None:
        # Called as the connection opens: the handshake, then what waited, before any new publish
        # can write, so order is kept.
        for command in _handshake(self._options):
            reply = self._loop.create_future()
            reply.add_done_callback(_log_handshake_error)
            connection.send(command, reply, False)
        backlog, self._backlog = self._backlog, []
        for command, done, retry in backlog:
            connection.send(command, done, retry)
        self._connection = connection

    def _lost(self, unanswered: deque[_Command], exc: Exception | None, unsent: int = 0) -> None:
        """A connection closed with commands still waiting for replies: each goes out once more. The
        last `unsent` were never written: they keep their chance to be sent again."""
        error = RedisConnectionError(f"the Redis connection for publishing was lost: {exc or 'closed'}")
        again: list[_Command] = []
        written = len(unanswered) - unsent
        for index, (command, done, retry) in enumerate(unanswered):
            if done.done():
                continue
            if retry and not self._closed:
                again.append((command, done, index >= written))
            else:
                done.set_exception(error)
        if again:
            logger.warning("the Redis connection for publishing was lost; sending %d frame(s) again", len(again))
            self._backlog[:0] = again  # before anything published since: order is kept
            self._ensure_connecting()

    def _fail_backlog(self, error: Exception) -> None:
        backlog, self._backlog = self._backlog, []
        for _, done, _retry in backlog:
            if not done.done():
                done.set_exception(error)

    async def aclose(self) -> None:
        self._closed = True
        connection, self._connection = self._connection, None
        if self._connecting is not None and not self._connecting.done():
            self._connecting.cancel()
        self._fail_backlog(RedisConnectionError("the channel layer was closed"))
        if connection is not None:
            await connection.aclose()


class _Connection(asyncio.Protocol):
    """One TCP (or TLS, or Unix socket) connection of a _Publisher, and the replies it still owes.

    The commands of one loop turn go out in one write at its end (`_flush`): a worker's turn reads
    many model streams and publishes a frame for each, and one write for all of them costs it, and
    Redis, one system call and one read instead of one per frame.
    """

    def __init__(self, publisher: _Publisher) -> None:
        self._publisher = publisher
        self._transport: asyncio.Transport | None = None
        self._parser = hiredis.Reader()
        self._replies: deque[_Command] = deque()
        self._corked: list[bytes] = []  # commands of this loop turn, not written yet (the last of _replies)

    def is_open(self) -> bool:
        return self._transport is not None and not self._transport.is_closing()

    def send(self, command: bytes, done: asyncio.Future[Any], retry: bool) -> None:
        assert self._transport is not None
        if not self._corked:
            self._publisher._loop.call_soon(self._flush)
        self._corked.append(command)
        self._replies.append((command, done, retry))

    def _flush(self) -> None:
        corked, self._corked = self._corked, []
        transport = self._transport
        if corked and transport is not None and not transport.is_closing():  # else connection_lost hands them back
            transport.write(corked[0] if len(corked) == 1 else b"".join(corked))

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._publisher._connected(self)

    def data_received(self, data: bytes) -> None:
        self._parser.feed(data)
        while (reply := self._parser.gets()) is not False:
            if not self._replies:
                logger.error("Redis sent a reply nothing was waiting for: %r", reply)
                continue
            done = self._replies.popleft()[1]
            if done.done():
                continue  # its publisher was cancelled
            if isinstance(reply, hiredis.ReplyError):
                done.set_exception(ResponseError(str(reply)))
            else:
                done.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        replies, self._replies = self._replies, deque()
        unsent, self._corked = len(self._corked), []
        self._publisher._lost(replies, exc, unsent)

    async def aclose(self) -> None:
        pending = [done for _, done, _retry in self._replies if not done.done()]
        if pending:  # what was written gets its reply first (a shutdown publishes the runs' last frames)
            await asyncio.wait(pending, timeout=5)
        if self._transport is not None:
            self._transport.close()


def _handshake(options: dict[str, Any]) -> list[bytes]:
    """AUTH when the URL has credentials, and a name that CLIENT LIST shows. No SELECT: pub/sub
    channels are the same in every database."""
    commands = []
    if options.get("password"):
        credentials = [options["username"], options["password"]] if options.get("username") else [options["password"]]
        commands.append(_pack(b"AUTH", *(str(c).encode() for c in credentials)))
    commands.append(_pack(b"CLIENT", b"SETNAME", PUBLISHER_NAME))
    return commands


def _log_handshake_error(reply: asyncio.Future[Any]) -> None:
    if not reply.cancelled() and reply.exception() is not None:
        logger.error("Redis refused the publishing connection's handshake: %s", reply.exception())


def _ssl_context(options: dict[str, Any]) -> ssl.SSLContext | None:
    """TLS for rediss:// URLs, with redis-py's query options for certificates."""
    if "connection_class" not in options or "SSL" not in options["connection_class"].__name__:
        return None
    context = ssl.create_default_context(cafile=options.get("ssl_ca_certs"))
    if options.get("ssl_certfile"):
        context.load_cert_chain(options["ssl_certfile"], options.get("ssl_keyfile"))
    if str(options.get("ssl_cert_reqs", "required")).lower() in ("none", "cert_none"):
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif str(options.get("ssl_check_hostname", "true")).lower() in ("false", "0", "no"):
        context.check_hostname = False
    return context


class _ShardConnection(RedisSingleShardConnection):
    """One shard's subscribing connection: what is (un)subscribed while a command is in flight goes
    out together next, one SUBSCRIBE or UNSUBSCRIBE naming every channel of a run of like requests."""

    # Set by channels_redis' __init__ (it has no type hints).
    _redis: Any
    _pubsub: Any
    _receive_task: asyncio.Task[None] | None
    _subscribed_to: set[str]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._requests: list[tuple[bool, str, asyncio.Future[None]]] = []
        self._applier: asyncio.Task[None] | None = None
        self._unconfirmed: dict[str, asyncio.Future[None]] = {}  # subscribed, Redis' confirmation not read yet
        self._disconnected = False  # the connection was lost; the next message read says it is back

    async def subscribe(self, channel: str) -> None:
        await self._request(True, channel)

    async def unsubscribe(self, channel: str) -> None:
        await self._request(False, channel)

    async def _request(self, subscribe: bool, channel: str) -> None:
        done = asyncio.get_running_loop().create_future()
        self._requests.append((subscribe, channel, done))
        if self._applier is None or self._applier.done():
            self._applier = _shared_task(asyncio.get_running_loop(), self._apply())
        await done

    def _ensure_receiver(self) -> None:
        if self._receive_task is None:
            self._receive_task = _shared_task(asyncio.get_running_loop(), self._do_receiving())

    async def _apply(self) -> None:
        while self._requests:
            batch, self._requests = self._requests, []
            async with self._lock:
                for subscribe, group in _runs_of_like(batch):
                    error: BaseException | None = None
                    try:
                        await self._send(subscribe, [channel for channel, _ in group])
                    except Exception as exc:  # each requester of the command sees the failure
                        error = exc
                    for _, done in group:
                        if not done.done():  # else its requester was cancelled
                            done.set_result(None) if error is None else done.set_exception(error)

    async def _send(self, subscribe: bool, channels: list[str]) -> None:
        try:
            await self._send_once(subscribe, channels)
        except Exception as exc:
            # A connection Redis closed (a restart) fails the first command written to it: redis-py
            # raises ConnectionError, or RuntimeError when it reconnects under the receiver's read.
            # Start over once on a new connection, subscribed again to everything.
            logger.warning("the Redis subscription connection failed (%s); reconnecting", exc)
            await self._reconnect()
            await self._send_once(subscribe, channels)

    async def _reconnect(self) -> None:
        self._disconnected = True
        receiver, self._receive_task = self._receive_task, None
        if receiver is not None:
            receiver.cancel()
            await asyncio.gather(receiver, return_exceptions=True)
        if self._redis is not None:
            client, self._redis, self._pubsub = self._redis, None, None
            try:
                await _close_redis(client)
            except Exception:  # it is being dropped because it failed; its close may fail too
                logger.debug("closing the failed subscription connection failed", exc_info=True)
        channels, self._subscribed_to = list(self._subscribed_to), set()
        if channels:
            await self._send_once(True, channels)

    async def _send_once(self, subscribe: bool, channels: list[str]) -> None:
        self._ensure_redis()
        self._ensure_receiver()
        if subscribe:
            new = [c for c in dict.fromkeys(channels) if c not in self._subscribed_to]
            if new:
                await self._subscribe_confirmed(new)
                self._subscribed_to.update(new)
        else:
            old = [c for c in dict.fromkeys(channels) if c in self._subscribed_to]
            if old:
                await self._pubsub.unsubscribe(*old)
                self._subscribed_to.difference_update(old)

    async def _subscribe_confirmed(self, channels: list[str]) -> None:
        """SUBSCRIBE, and wait until Redis confirms it. Written to a connection Redis has just closed
        (a restart), a SUBSCRIBE raises nothing and is lost: the receiver then connects again and
        subscribes again to every channel, and that confirmation is the one that counts. A caller
        that publishes right after subscribing (the health check, a watcher's snapshot request) so
        never publishes into a subscription that is not there."""
        loop = asyncio.get_running_loop()
        waiting = [self._unconfirmed.setdefault(channel, loop.create_future()) for channel in channels]
        try:
            await self._pubsub.subscribe(*channels)
            async with asyncio.timeout(SUBSCRIBE_TIMEOUT):
                await asyncio.gather(*waiting)
        except TimeoutError:
            raise RedisConnectionError(f"Redis did not confirm a subscription within {SUBSCRIBE_TIMEOUT:g} s") from None
        finally:
            for channel in channels:
                self._unconfirmed.pop(channel, None)

    def _confirm(self, message: dict[str, Any]) -> None:
        if message["type"] == "subscribe":
            name = message["channel"]
            waiter = self._unconfirmed.get(name.decode() if isinstance(name, bytes) else name)
            if waiter is not None and not waiter.done():
                waiter.set_result(None)

    async def _do_receiving(self) -> None:
        # The stock loop asks redis-py for each message with a 0.1 s timeout, which costs every
        # message a timer set and cancelled on the loop; while subscribed this one just waits.
        # When Redis goes away, redis-py connects again at the next read and subscribes again to
        # every channel; until Redis is back each try fails, and the pause between tries grows.
        pause = 0.0
        while True:
            try:
                if self._pubsub and self._pubsub.subscribed:
                    message = await self._pubsub.get_message(timeout=None)
                    if self._disconnected:
                        self._disconnected = False
                        self._tell_reconnected()
                    if message is not None and message["type"] != "message":
                        self._confirm(message)
                    else:
                        self._receive_message(message)
                    pause = 0.0
                else:
                    await asyncio.sleep(0.1)
            except (asyncio.CancelledError, GeneratorExit):
                raise
            except RedisConnectionError as exc:
                self._disconnected = True
                if not pause:
                    logger.warning("lost the Redis subscription connection (%s); reconnecting", exc)
                pause = min(1.0, pause * 2 or 0.05)
                await asyncio.sleep(pause)
            except Exception:
                logger.exception("Unexpected exception in receive task")
                await asyncio.sleep(1)

    def _tell_reconnected(self) -> None:
        logger.warning("the Redis subscription connection is back; messages published meanwhile are lost")
        loop_layer = self.channel_layer
        event = loop_layer.channel_layer.serialize({"type": RECONNECTED_EVENT})
        for queue in list(loop_layer.channels.values()):
            queue.put_nowait(event)

    async def flush(self) -> None:
        if self._applier is not None and not self._applier.done():
            await asyncio.wait([self._applier], timeout=5)
        await super().flush()


def _runs_of_like(
    batch: list[tuple[bool, str, asyncio.Future[None]]],
) -> list[tuple[bool, list[tuple[str, asyncio.Future[None]]]]]:
    """Consecutive subscribes, then consecutive unsubscribes, ...: requests keep their order."""
    runs: list[tuple[bool, list[tuple[str, asyncio.Future[None]]]]] = []
    for subscribe, channel, done in batch:
        if not runs or runs[-1][0] != subscribe:
            runs.append((subscribe, []))
        runs[-1][1].append((channel, done))
    return runs


DECODED_KEPT = 256  # payloads remembered decoded: a group message reaches all its local channels within a few


class PlaygroundPubSubChannelLayer(RedisPubSubChannelLayer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._decoded: dict[int, tuple[bytes, dict[str, Any]]] = {}

    def deserialize(self, message: bytes) -> dict[str, Any]:
        """Decode a payload once for every local channel it reached: channels_redis puts the same bytes
        object in each subscribed channel's queue, so 1,000 watchers of a run on this process share one
        decoded message (consumers never change a message they receive). Keyed by identity; the entry
        holds the bytes, so the id cannot be reused while it is kept."""
        kept = self._decoded.get(id(message))
        if kept is not None and kept[0] is message:
            return kept[1]
        decoded: dict[str, Any] = super().deserialize(message)
        self._decoded[id(message)] = (message, decoded)
        if len(self._decoded) > DECODED_KEPT:
            try:
                del self._decoded[next(iter(self._decoded))]
            except (KeyError, RuntimeError):  # another loop's thread trimmed it meanwhile
                pass
        return decoded

    def receive_ready(self, channel: str, limit: int = 1000) -> list[dict[str, Any]]:
        """Messages already waiting in a channel of this process (loop), without waiting for more."""
        return self._get_layer().receive_ready(channel, limit)  # type: ignore[attr-defined, no-any-return]

    def group_send_nowait(self, group: str, message: dict[str, Any]) -> asyncio.Future[Any]:
        """Publish to a group in this loop turn (see the module doc)."""
        return self._get_layer().group_send_nowait(group, message)  # type: ignore[attr-defined, no-any-return]

    def _get_layer(self) -> RedisPubSubLoopLayer:
        loop = asyncio.get_running_loop()
        try:
            return self._layers[loop]
        except KeyError:
            layer = _LoopLayer(*self._args, **self._kwargs, channel_layer=self)
            self._layers[loop] = layer
            _wrap_close(self, loop)
            return layer
