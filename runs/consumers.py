"""RunConsumer: the run's WebSocket (AutoGen Studio protocol plus `run_id`, `seq`, auth and resume).

Thin by design: authenticate, parse a frame with a pydantic model, call one
service, forward what the watcher's stream filter (runs.watch) lets through. A
client never sees a stored message twice or misses one: replay and live frames
are deduplicated by `seq`, and a gap in the live stream is filled from the database.

Live frames come from the run's relay in this process (runs.fanout), not through the consumer's
own channel: `relayed` writes them at once when nothing else is being sent to the socket, and
otherwise queues them for the consumer's turn (`_out`, one sender at a time keeps the order).
A consumer opens a channel of its own only when it asks a worker for a snapshot (the answer's
address): an idle socket holds no subscription, no queue and no task waiting on them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import weakref
from typing import Any
from urllib.parse import parse_qs

from autobahn.exception import Disconnected
from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import get_channel_layer
from channels.utils import await_many_dispatch
from django.conf import settings

from agents_app.config import TeamConfigError
from metrics import registry as metrics
from runs import attachments, events, fanout, selectors, services
from runs.admission import admit_start_request
from runs.db import db_call
from runs.fanout import Batch, Relay, coalesce, encoded, ws_text_frame
from runs.frames import (
    CLOSE_FORBIDDEN,
    CLOSE_NOT_FOUND,
    CLOSE_UNAUTHENTICATED,
    AuthFrame,
    FrameError,
    InputResponseFrame,
    PingFrame,
    ResumeFrame,
    StartFrame,
    StopFrame,
    ToolApprovalFrame,
    parse_frame,
)
from runs.models import DRIVEN_STATUSES, Run
from runs.watch import Gap, WatchFilter
from runs.ws_auth import socket_user_and_run, token_from_scope

logger = logging.getLogger(__name__)

AUTH_FRAME_TIMEOUT = 10.0
SNAPSHOT_TIMEOUT = 1.0  # how long live frames wait for the worker's snapshot of a message in progress


class RunConsumer(AsyncJsonWebsocketConsumer):
    run_id: int
    user: Any
    joined = False
    closing = False
    live_frames = 0  # frames heard from the run's group, and how many had been at the last ping
    live_frames_at_ping = -1
    watch: WatchFilter
    auth_timer: asyncio.Task[None] | None = None
    # Joining mid-message: live frames are held until the worker's snapshot of the text streamed
    # so far arrives, or SNAPSHOT_TIMEOUT passes.
    snapshot_timer: asyncio.Task[None] | None = None
    actions: set[asyncio.Task[None]]
    relay: Relay | None = None
    # Writes frame bytes straight to the socket under Daphne (runs.fanout.socket_writer); None elsewhere.
    write: fanout.SocketWriter | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.channel_name = ""  # opened when first needed (_own_channel)
        self.channel_reader: asyncio.Task[None] | None = None
        # Held by whatever sends frames to the socket (an event's handler, the backlog's sender): live
        # frames that arrive meanwhile wait in `backlog`, so frames keep their order on the socket.
        self._out = asyncio.Lock()
        self.backlog: list[dict[str, Any]] = []  # live frame events not yet through the filter
        self.admitted: list[dict[str, Any] | Gap] = []  # through it, waiting to go out (a gap to fill)
        self.sender: asyncio.Task[None] | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        # Channels' AsyncConsumer.__call__, without the channel every consumer opens at once.
        self.scope = scope
        self.channel_layer = get_channel_layer(self.channel_layer_alias)
        self.base_send = send
        try:
            await await_many_dispatch([receive], self.dispatch)
        except StopConsumer:
            pass
        finally:
            if self.channel_reader is not None:
                self.channel_reader.cancel()  # the layer drops the channel (channels_redis unsubscribes)

    async def _own_channel(self) -> str:
        """This consumer's channel, for a worker's answer addressed to it alone."""
        if not self.channel_name:
            self.channel_name = await self.channel_layer.new_channel()
            self.channel_reader = asyncio.create_task(self._read_channel(self.channel_name))
        return self.channel_name

    async def _read_channel(self, channel: str) -> None:
        while True:
            message = await self.channel_layer.receive(channel)
            try:
                await self.dispatch(message)
            except Exception:
                logger.exception("run %s: handling %s failed", getattr(self, "run_id", "?"), message.get("type"))

    async def connect(self) -> None:
        self.actions = set()
        await self.accept()
        self.write = fanout.socket_writer(self.base_send)
        metrics.socket_opened()
        self.run_id = int(self.scope["url_route"]["kwargs"]["run_id"])
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        try:
            after_seq = max(0, int(query.get("after_seq", ["0"])[0]))
        except ValueError:
            after_seq = 0
        run_id = self.run_id
        self.watch = WatchFilter(
            lambda seq, source, text, offset, attempt: events.chunk_frame(run_id, seq, source, text, offset, attempt),
            after_seq,
        )
        self.user = self.scope.get("user")
        if self.user is not None and self.user.is_authenticated:  # the session's user wins over a token
            await self._join(*await db_call(selectors.run_for_socket)(user=self.user, run_id=self.run_id))
            return
        token = token_from_scope(self.scope)
        if token is None or not await self._authenticate(token):  # an auth frame may still come
            self.auth_timer = asyncio.create_task(self._auth_deadline())

    async def close(self, code: int | bool | None = None, reason: str | None = None) -> None:
        if not self.closing:  # a socket is closed once; after that it is sent nothing (send_json)
            self.closing = True
            await super().close(code, reason)

    async def disconnect(self, code: int) -> None:
        self.closing = True
        metrics.socket_closed()
        if self.auth_timer is not None:
            self.auth_timer.cancel()
        if self.snapshot_timer is not None:
            self.snapshot_timer.cancel()
        for task in self.actions:
            task.cancel()
        if self.sender is not None:
            self.sender.cancel()
        if self.relay is not None:
            self.relay.leave(self)

    # ------------------------------------------------------------ auth and join

    async def _auth_deadline(self) -> None:
        await asyncio.sleep(AUTH_FRAME_TIMEOUT)
        await self._refuse_unauthenticated(f"authentication required: send credentials within {AUTH_FRAME_TIMEOUT:g} s")

    async def _refuse_unauthenticated(self, message: str) -> None:
        await self.send_json(events.error_frame(message))
        await self.close(code=CLOSE_UNAUTHENTICATED)

    async def _authenticate(self, token: str) -> bool:
        """Join as the token's owner; False, nothing sent, when the token is not valid."""
        user, run, exists = await db_call(socket_user_and_run)(token=token, run_id=self.run_id)
        if user is None:
            return False
        self.user = user
        await self._join(run, exists)
        return True

    async def _join(self, run: Run | None, exists: bool) -> None:
        """Join the run found for this socket's user (selectors.run_for_socket): refused when there is none."""
        if run is None and not exists:
            await self.send_json(events.error_frame(f"run {self.run_id} does not exist"))
            await self.close(code=CLOSE_NOT_FOUND)
            return
        if run is None:
            await self.send_json(events.error_frame("this run belongs to another user"))
            await self.close(code=CLOSE_FORBIDDEN)
            return
        # Join before reading the database: frames published meanwhile wait in the backlog (this
        # handler holds `_out`) and are deduplicated by seq once the replay has been sent.
        self.relay = await fanout.relay_for(self.run_id, self)
        self.joined = True
        await self.send_json(events.system_frame(run))
        await self._replay(self.watch.last_seq)

    async def _replay(self, after_seq: int) -> None:
        result = await db_call(selectors.run_replay)(run_id=self.run_id, after_seq=after_seq)
        self.watch.replaying(after_seq)
        for frame in result.frames:
            await self._forward(frame)
        if result.run.status in DRIVEN_STATUSES and self.watch.hold():
            await events.request_snapshot(self.run_id, await self._own_channel())
            self.snapshot_timer = asyncio.create_task(self._snapshot_deadline())

    async def _snapshot_deadline(self) -> None:
        await asyncio.sleep(SNAPSHOT_TIMEOUT)  # no worker answered (none yet, or it is gone)
        async with self._out:
            self.snapshot_timer = None
            if self.watch.holding:
                await self._release_held(None)
            await self._send_backlog()

    async def run_snapshot(self, event: dict[str, Any]) -> None:
        if not self.watch.holding:
            return  # an answer after the timeout: the held frames went out already
        if self.snapshot_timer is not None:
            self.snapshot_timer.cancel()
            self.snapshot_timer = None
        frame = event.get("frame")
        await self._release_held(frame if isinstance(frame, dict) else None)

    async def _release_held(self, snapshot: dict[str, Any] | None) -> None:
        for out in self.watch.release(snapshot):
            await self._send_out(out)

    # ------------------------------------------------------------ client frames

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any) -> None:
        if text_data is None:
            await self.send_json(events.error_frame("binary frames are not supported; send JSON text frames"))
            return
        # Only an authenticated start frame carrying files may be larger than the usual limit.
        limit = settings.WS_MAX_START_FRAME_BYTES if self.joined else settings.WS_MAX_FRAME_BYTES
        size = len(text_data.encode()) if len(text_data) <= limit else len(text_data)
        if size > limit:
            await self.send_json(events.error_frame(f"frame too large (limit {limit} bytes)"))
            return
        try:
            frame = parse_frame(json.loads(text_data))
            if size > settings.WS_MAX_FRAME_BYTES and not (isinstance(frame, StartFrame) and frame.files):
                raise FrameError(f"frame too large (limit {settings.WS_MAX_FRAME_BYTES} bytes without files)")
        except json.JSONDecodeError as exc:
            await self.send_json(events.error_frame(f"frame is not valid JSON: {exc.msg} at position {exc.pos}"))
            return
        except RecursionError:  # json.loads gives up past ~1,000 levels, well inside the size limit
            await self.send_json(events.error_frame("frame is nested too deeply to parse"))
            return
        except FrameError as exc:
            await self.send_json(events.error_frame(str(exc)))
            return
        if not self.joined:
            if isinstance(frame, AuthFrame):
                if self.auth_timer is not None:
                    self.auth_timer.cancel()
                    self.auth_timer = None
                if not await self._authenticate(frame.token):
                    await self._refuse_unauthenticated("invalid or revoked token")
            else:
                await self._refuse_unauthenticated("authenticate first: send an auth frame with your API token")
            return
        if isinstance(frame, (PingFrame, ResumeFrame)):
            await self._handle(frame)
            return
        # A consumer handles one event at a time: a start, stop or answer waiting on the
        # database must not hold back the run's frames, so it runs beside the stream.
        task = asyncio.create_task(self._handle(frame))
        self.actions.add(task)
        task.add_done_callback(self.actions.discard)

    async def _handle(self, frame: Any) -> None:
        try:
            if isinstance(frame, PingFrame):
                await self.send_json(events.pong_frame())
                # Nothing heard since the last ping: frames may have been lost on their way (a worker
                # that could not reach Redis), so ask the database: how far the run got, read once for
                # all its watchers in this process, then what this watcher lacks, if anything.
                if self.live_frames == self.live_frames_at_ping and self.relay is not None:
                    progress = await _run_progress(self.relay)
                    if progress is None or self.watch.behind(progress.last_seq, progress.terminal, progress.request_id):
                        await self._catch_up()
                self.live_frames_at_ping = self.live_frames
            elif isinstance(frame, StartFrame):
                await admit_start_request()  # frames of running runs first (runs.admission)
                files = [attachments.upload_from_base64(f.name, f.content, i) for i, f in enumerate(frame.files)]
                await db_call(services.run_start)(
                    run_id=self.run_id,
                    task=frame.task,
                    team_config=frame.team_config,
                    team_version=frame.team_version,
                    model_override=frame.model_override,
                    files=files,
                )
            elif isinstance(frame, StopFrame):
                await db_call(services.run_request_stop)(run_id=self.run_id, reason=frame.reason or "")
            elif isinstance(frame, InputResponseFrame):
                await db_call(services.run_submit_input)(
                    run_id=self.run_id, response=frame.response, request_id=frame.request_id
                )
            elif isinstance(frame, ToolApprovalFrame):
                await db_call(services.run_submit_approval)(
                    run_id=self.run_id,
                    request_id=frame.request_id,
                    decision=frame.decision,
                    arguments=frame.arguments,
                    reason=frame.reason,
                    by=self.user.get_username(),
                )
            elif isinstance(frame, ResumeFrame):
                self.watch.resume(frame.after_seq)
                await self._replay(frame.after_seq)
            elif isinstance(frame, AuthFrame):
                await self.send_json(events.error_frame("already authenticated"))
        except TeamConfigError as exc:
            await self.send_json(events.error_frame(_config_refusal(exc), errors=[e.model_dump() for e in exc.errors]))
        except attachments.AttachmentError as exc:
            await self.send_json(events.error_frame(f"file refused: {exc}", file=exc.name))
        except services.ApprovalRefused as exc:
            await self.send_json(events.error_frame(f"tool approval refused: {exc}", errors=exc.errors))
        except (services.RunStateError, services.TooManyActiveRuns) as exc:
            await self.send_json(events.error_frame(str(exc)))
        except Exception:
            # Anything else is ours, not the client's: it is logged here, and the client still gets an
            # answer (an action runs as its own task, whose exception nobody would otherwise read).
            logger.exception("run %s: %s frame failed", self.run_id, frame.type)
            await self.send_json(events.error_frame(f"the server could not handle the {frame.type} frame; try again"))

    # ------------------------------------------------------------ group events

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels runs close_old_connections() before every handler, through asgiref's one
        # shared sync thread: for the stream of run frames that hop serialised every socket
        # of the process (the token-latency hot path), and with many runs starting at once the
        # connect, start and disconnect events queue behind it too. This consumer reaches
        # the database only through db_call, which closes old connections itself.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        async with self._out:
            await handler(message)
            await self._send_backlog()

    # ------------------------------------------------------------ live frames

    def relayed(self, messages: list[dict[str, Any]], batch: Batch) -> None:
        """Frame events from the run's relay (runs.fanout). Sent at once when the socket is free and
        the filter lets them all through as they are (the relay's shared bytes), else in turn."""
        if self.closing:
            return
        self.live_frames += len(messages)
        write = self.write
        if write is None or self.backlog or self.admitted or self._out.locked():
            self.backlog.extend(messages)
            self._wake_sender()
            return
        if batch.span is not None and self.watch.admit_text(*batch.span):
            data, kinds = batch.wire()
            published = messages[0].get(events.PUBLISHED_AT)  # chunk frames only, with metrics on
            if published is not None:
                metrics.chunk_delivered(published)
            for kind in kinds:
                metrics.frame_sent(kind)
            if not write(data):
                self.closing = True
            return
        admit = self.watch.admit
        outs: list[dict[str, Any] | Gap] = []
        shared = True
        for message in messages:
            frame = message["frame"]
            out = admit(frame, live=True)
            if out is None:
                shared = False
                continue
            if out is not frame:
                shared = False
            outs.append(out)
            published = message.get(events.PUBLISHED_AT)  # chunk frames only, with metrics on
            if published is not None:
                metrics.chunk_delivered(published)
        if not outs:
            return
        if shared:
            data, kinds = batch.wire()
        elif any(isinstance(out, Gap) for out in outs):
            self.admitted.extend(outs)  # the gap is filled from the database, in turn
            self._wake_sender()
            return
        else:
            frames = [out for out in coalesce(outs) if isinstance(out, dict)]
            data, kinds = b"".join(ws_text_frame(encoded(f)) for f in frames), [f["type"] for f in frames]
        for kind in kinds:
            metrics.frame_sent(kind)
        if not write(data):
            self.closing = True

    def _wake_sender(self) -> None:
        if self.sender is None or self.sender.done():
            self.sender = asyncio.create_task(self._send_in_turn())

    async def _send_in_turn(self) -> None:
        async with self._out:
            await self._send_backlog()

    async def _send_backlog(self) -> None:
        """Send what waited while something else was being sent (call with `_out` held)."""
        while self.admitted or self.backlog:
            if self.closing:
                self.admitted, self.backlog = [], []
                return
            if self.admitted:
                outs, self.admitted = self.admitted, []
                for out in coalesce(outs) if len(outs) > 1 else outs:
                    await self._send_out(out)
                continue
            messages, self.backlog = self.backlog, []
            await self._live(messages)

    async def _live(self, messages: list[dict[str, Any]]) -> None:
        """Live frame events in the order they came, through the watcher's filter, chunks merged."""
        outs: list[dict[str, Any] | Gap] = []
        for message in messages:
            admitted = self.watch.admit(message["frame"], live=True)
            if admitted is not None:
                outs.append(admitted)
                published = message.get(events.PUBLISHED_AT)  # chunk frames only, with metrics on
                if published is not None:
                    metrics.chunk_delivered(published)
        for out in coalesce(outs) if len(outs) > 1 else outs:
            await self._send_out(out)

    async def layer_reconnected(self, event: dict[str, Any]) -> None:
        # The channel layer lost Redis for a while (playground.layers): what was published meanwhile
        # is gone, a run's end perhaps among it.
        await self._catch_up()

    def relay_reconnected(self) -> None:
        """The run's relay heard the layer's notice (runs.fanout): catch up in turn."""
        if not self.closing:
            task = asyncio.create_task(self.dispatch({"type": "layer.reconnected"}))
            self.actions.add(task)
            task.add_done_callback(self.actions.discard)

    async def _catch_up(self) -> None:
        """Send what the database has that this watcher lacks: messages, an input request, the end."""
        if not self.joined or self.watch.final_sent:
            return
        result = await db_call(selectors.run_replay)(run_id=self.run_id, after_seq=self.watch.last_seq)
        for frame in result.frames:
            await self._forward(frame)

    async def _forward(self, frame: dict[str, Any]) -> None:
        out = self.watch.admit(frame)
        if out is not None:
            await self._send_out(out)

    async def _send_out(self, out: dict[str, Any] | Gap) -> None:
        if isinstance(out, Gap):
            filled = await db_call(selectors.run_replay)(
                run_id=self.run_id, after_seq=out.after_seq, upto_seq=out.upto_seq
            )
            for frame in filled.frames:
                await self.send_json(frame)
            out = out.frame
        await self.send_json(out)

    async def send_json(self, content: dict[str, Any], close: bool = False) -> None:
        # Once the socket is closing (our close, or the client's close frame before the connection's
        # end) Daphne raises autobahn's Disconnected on a send: the frame has nobody to go to.
        if self.closing:
            return
        metrics.frame_sent(content.get("type", ""))  # every frame this socket writes goes through here
        if self.write is not None and not close:
            if not self.write(ws_text_frame(encoded(content))):
                self.closing = True
            return
        try:
            # Encoded once for every watcher of this process (runs.fanout), as Channels' encode_json would.
            await super().send(text_data=encoded(content), close=close)
        except Disconnected:
            self.closing = True


# How long one read of a run's progress answers the pings of all its watchers in a process (its relay):
# browsers ping every 20 s each, so a run watched from 1,000 tabs was read 50 times a second (twice a ping).
PROGRESS_SHARED_SECONDS = 5.0
_progress: weakref.WeakKeyDictionary[Relay, tuple[float, asyncio.Future[selectors.Progress | None]]] = (
    weakref.WeakKeyDictionary()
)


async def _run_progress(relay: Relay) -> selectors.Progress | None:
    now = asyncio.get_running_loop().time()
    entry = _progress.get(relay)
    if entry is None or now - entry[0] > PROGRESS_SHARED_SECONDS or _failed(entry[1]):
        entry = _progress[relay] = (now, asyncio.ensure_future(db_call(selectors.run_progress)(run_id=relay.run_id)))
    return await asyncio.shield(entry[1])


def _failed(read: asyncio.Future[Any]) -> bool:
    return read.done() and (read.cancelled() or read.exception() is not None)


def _config_refusal(exc: TeamConfigError) -> str:
    # A refused team_version or model_override names its own field; other paths are inside team_config.
    if all(e.path.split(".")[0] in ("team_version", "model_override") for e in exc.errors):
        return f"invalid start frame: {exc}"
    return f"invalid team_config: {exc}"
