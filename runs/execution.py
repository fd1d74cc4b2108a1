"""Drives one run: claim, rebuild the team from its snapshot and transcript, run the engine, persist, publish.

The only bridge between the Django-free engine and the database. Every stored
message is committed under its seq *before* its frame is published; chunks
carry the seq their message will get. The same `drive()` runs inline (a task on
the web server's event loop) and in a Celery worker (`asyncio.run`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction
from django.utils import timezone

import agents_app.engine.openai_client  # noqa: F401  (a first import inside a run would block the loop)
from agents_app.config import TeamConfig, TeamConfigError, validate_team_config
from agents_app.endpoints import check_model_endpoints
from agents_app.engine import (
    ApprovalRequest,
    CancellationToken,
    InputRequest,
    McpServerError,
    McpServerSpec,
    MessageChunk,
    ModelCallError,
    ProviderEndpoint,
    SpanEnd,
    SpanStart,
    StoredMessage,
    TaskResult,
    TeamRunner,
    ToolCallExecutionEvent,
)
from mcp_servers.selectors import run_specs
from ops.logs import bind_run
from providers.resolve import ProviderUnavailable, endpoints_for
from runs import attachments, events, services
from runs.admission import start_gate
from runs.announce import Ending, announce_final, announce_status, announce_status_after_commit, read_ending
from runs.db import db_call
from runs.models import TOOL_APPROVAL, Message, Run, RunStatus
from runs.pipe import RunPipe
from runs.selectors import run_transcript
from traces.telemetry import ExecutionTelemetry

logger = logging.getLogger(__name__)
# The executions this process is driving, so a Celery worker shutting down can hand their runs back
# (hand_back_active_runs). Per process by nature: it is never read across processes.
_active: dict[int, Execution] = {}
WORKER_PREFIX = f"{socket.gethostname()}:{os.getpid()}"
HANDED_BACK = "The worker running this run is shutting down; another worker resumes it from its stored messages."


def new_worker_id() -> str:
    return f"{WORKER_PREFIX}:{uuid.uuid4().hex[:8]}"


@dataclass
class Loaded:
    run: Run
    config: TeamConfig | None
    config_error: str
    messages: list[Message]  # the stored transcript; the engine gets it as `transcript`
    history: list[dict[str, Any]] = field(default_factory=list)
    telemetry: ExecutionTelemetry = field(default_factory=lambda: ExecutionTelemetry(None))
    files: dict[int, list[dict[str, Any]]] = field(default_factory=dict)  # content parts by message id
    mcp_servers: dict[str, McpServerSpec] = field(default_factory=dict)
    # The stored providers the config names, keys decrypted: in this process's memory only, never stored.
    providers: dict[str, ProviderEndpoint] = field(default_factory=dict, repr=False)

    @property
    def transcript(self) -> list[dict[str, Any]]:
        return [_wire(m, self.files.get(m.id)) for m in self.messages]


def _wire(message: Message, files: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A stored message as the engine reads it: the inverse of `_store`. `files`: its attachments
    read for the model (runs.attachments.engine_parts); without them, their descriptors."""
    wire = {
        "source": message.source,
        "type": message.type,
        "content": message.content,
        "models_usage": message.models_usage,
        "metadata": message.metadata,
        "partial": message.partial,
        "target": message.target,
    }
    if message.attachments:
        wire["attachments"] = files if files is not None else message.attachments
    return wire


def _claim_and_load(run_id: int, worker: str, lease_seconds: float, traceparent: str) -> Loaded | None:
    """Claim the run, resume its trace and read what driving it needs, in one trip to a database thread
    (None: not ours)."""
    run = services.run_claim(run_id=run_id, worker=worker, lease_seconds=lease_seconds)
    if run is None:
        return None
    loaded = _load(run)
    loaded.telemetry = ExecutionTelemetry.claimed(run, worker=worker, traceparent=traceparent)
    return loaded


def _load(run: Run) -> Loaded:
    messages = run_transcript(run_id=run.id)
    history: list[dict[str, Any]] = []
    if run.session_id is not None and run.session.carry_context:  # type: ignore[union-attr]
        earlier = Message.objects.filter(run__session=run.session, run__created_at__lt=run.created_at, partial=False)
        history = [_wire(m) for m in earlier.order_by("run__created_at", "seq")]
    servers: dict[str, McpServerSpec] = {}
    providers: dict[str, ProviderEndpoint] = {}
    try:
        config, error = validate_team_config(run.team_config), ""
        # Looked up at each execution: a server the operator removed or unshared since is refused now.
        servers = run_specs(run.team_config, run.owner_id)
        providers = endpoints_for(run.team_config, run.owner_id)
        check_model_endpoints(run.team_config)  # again: the host may resolve elsewhere since the run began
    except TeamConfigError as exc:
        config, error = None, f"The run's team config is invalid: {exc}"
    except ProviderUnavailable as exc:
        config, error = None, f"The run's model provider is unavailable: {exc}"
    files = attachments.engine_parts(messages)  # this run's files only: earlier runs' are named, not read
    return Loaded(
        run=run,
        config=config,
        config_error=error,
        messages=messages,
        history=history,
        files=files,
        mcp_servers=servers,
        providers=providers,
    )


def _store(run_id: int, worker: str, message: StoredMessage, telemetry: ExecutionTelemetry) -> Message:
    """Store an engine message under the run's next seq (its wire dict is the row's fields), and the
    spans that produced it with it (batched: telemetry writes at most once a second)."""
    wire = message.to_wire()
    if not isinstance(message, ToolCallExecutionEvent) or not any(r.parts for r in message.content):
        stored = services.message_append(run_id=run_id, worker=worker, **wire)
    else:
        # A tool's images go to storage as the message's attachments: the row keeps no base64.
        files = attachments.store_tool_images(run_id=run_id, wire=wire)
        try:
            with transaction.atomic():
                stored = services.message_append(run_id=run_id, worker=worker, attachments=files, **wire)
                attachments.link_to_message(stored.id, files)
        except BaseException:
            attachments.discard(files)
            raise
    telemetry.stored(message, stored.seq)
    return stored


def _end(
    run_id: int,
    end: Callable[..., Run | None],
    messages: list[Message],
    telemetry: ExecutionTelemetry,
    **kwargs: Any,
) -> Ending | None:
    """Store how a run ended (a service call returning the ended run), its trace's end, and what the
    watchers are told, in one trip to a database thread; None when the service found the run moved on
    already. `messages` is the transcript as the worker stored it: while it holds the lease nobody else appends."""
    run = end(run_id=run_id, **kwargs)
    if run is None:
        return None
    telemetry.ended(run)
    return read_ending(run_id, run, messages)


def _request_fields(pending: InputRequest | ApprovalRequest) -> dict[str, Any]:
    """What run_await_input stores of a pending request: a prompt, or the tool call to decide on."""
    if isinstance(pending, InputRequest):
        return {"prompt": pending.prompt, "source": pending.source}
    where = f" on MCP server {pending.server!r}" if pending.server else ""
    prompt = f"{pending.source} wants to call {pending.tool}{where}. Approve?"
    return {"prompt": prompt, "source": pending.source, "kind": TOOL_APPROVAL, "data": pending.to_wire()}


def _await_input(telemetry: ExecutionTelemetry, **kwargs: Any) -> str | None:
    """Suspend the run for a person's answer and open its wait span, in one trip."""
    request_id = services.run_await_input(**kwargs)
    if request_id:
        telemetry.waiting("approval" if kwargs.get("kind") == TOOL_APPROVAL else "input", kwargs["source"])
    return request_id


class Execution:
    """One worker's drive of one run, from claim to a stored outcome."""

    def __init__(self, run_id: int, worker: str, traceparent: str = "") -> None:
        self.run_id = run_id
        self.worker = worker
        self.traceparent = traceparent  # the web server's trace of the run (traces.telemetry.run_queued)
        self.telemetry = ExecutionTelemetry(None)
        self.cancel = CancellationToken()
        self.lost_lease = False
        self.attempt = 0  # the run's execution count once claimed (chunks carry it)
        self.pipe = RunPipe(
            lambda frame: events.publish_nowait(run_id, frame),
            lambda seq, source, text, offset: events.chunk_frame(run_id, seq, source, text, offset, self.attempt),
        )
        self._helpers: list[asyncio.Task[None]] = []
        self.messages: list[Message] = []  # the transcript: loaded, then each message stored
        # The message being streamed: what a watcher joining now has missed (see _snapshot).
        self.streaming_seq = 0
        self.streaming_source = ""
        self.streamed: list[str] = []
        self.streamed_len = 0

    async def drive(self) -> None:
        lease = settings.RUN_LEASE_SECONDS
        await start_gate().enter()  # streams already running first (runs.admission)
        # Listening for stops before the claim: a stop requested after it is never missed, and one
        # requested before it leaves the run stopping or stopped, which the claim refuses.
        layer = get_channel_layer()
        channel = await layer.new_channel()
        group = events.control_group(self.run_id)
        await layer.group_add(group, channel)
        # Receiving from the start: only the listener's cancellation gives the channel back to the layer,
        # a refused claim included (a subscription per refused claim stayed for the worker's life).
        self._helpers = [asyncio.create_task(self._listen_for_stop(layer, channel))]
        try:
            loaded = await db_call(_claim_and_load)(self.run_id, self.worker, lease, self.traceparent)
            if loaded is None:
                return  # another worker claimed it first, or it was stopped meanwhile
            self.messages = loaded.messages
            self.attempt = loaded.run.attempt
            self.telemetry = loaded.telemetry
            await self.pipe.send(events.status_frame(loaded.run))
            if loaded.config is None:
                await self._fail(loaded.config_error)
                return
            self._helpers.append(asyncio.create_task(self._heartbeat(lease)))
            await self._run_engine(loaded)
        finally:
            for task in self._helpers:
                task.cancel()
            await asyncio.gather(*self._helpers, return_exceptions=True)
            await self.pipe.aclose()
            await layer.group_discard(group, channel)

    async def _run_engine(self, loaded: Loaded) -> None:
        telemetry = self.telemetry
        runner = TeamRunner(
            loaded.config,  # type: ignore[arg-type]
            tracer=telemetry.tracer,
            pricing=telemetry.pricing(),
            mcp_servers=loaded.mcp_servers,
            providers=loaded.providers,
        )
        started = loaded.run.started_at or timezone.now()
        elapsed = max(0.0, (timezone.now() - started).total_seconds())
        next_seq = loaded.run.last_seq + 1
        pending_input: InputRequest | ApprovalRequest | None = None
        result: TaskResult | None = None
        run_id = self.run_id
        store = db_call(_store)
        try:
            async for event in runner.run(
                loaded.transcript, cancel=self.cancel, history=loaded.history, elapsed_before=elapsed
            ):
                if isinstance(event, MessageChunk):
                    if next_seq != self.streaming_seq or event.source != self.streaming_source:
                        self.streaming_seq, self.streaming_source = next_seq, event.source
                        self.streamed, self.streamed_len = [], 0
                    content = event.content
                    self.pipe.chunk(next_seq, event.source, content, self.streamed_len)
                    self.streamed.append(content)
                    self.streamed_len += len(content)
                elif isinstance(event, StoredMessage):
                    message = await store(run_id, self.worker, event, telemetry)
                    self.messages.append(message)
                    next_seq = message.seq + 1
                    self.streamed, self.streamed_len = [], 0
                    # Stored, so its frame may go; the run goes on meanwhile (the pipe keeps the order).
                    self.pipe.post(events.message_frame(message))
                elif isinstance(event, SpanStart | SpanEnd):
                    telemetry.span(event)
                elif isinstance(event, InputRequest | ApprovalRequest):
                    pending_input = event
                elif isinstance(event, TaskResult):
                    result = event
        except services.LeaseLost:
            logger.warning("run %s: lease lost; another worker resumes it", run_id)
            telemetry.drained(runner.tracer.drain())
            await db_call(telemetry.handed_back)("lease lost")
            return
        except ModelCallError as exc:
            telemetry.drained(runner.tracer.drain())
            who = f" for agent {exc.source!r}" if exc.source else ""
            await self._fail(f"Model call{who} failed: {exc}")
            return
        except McpServerError as exc:
            telemetry.drained(runner.tracer.drain())
            await self._fail(f"Could not offer the tools of {exc}")
            return
        except Exception as exc:
            telemetry.drained(runner.tracer.drain())
            logger.exception("run %s: engine failed", run_id)
            await self._fail(f"Internal error while running the team: {type(exc).__name__}: {exc}")
            return
        await self._finish(loaded.config, result, pending_input)  # type: ignore[arg-type]

    async def _finish(
        self, config: TeamConfig, result: TaskResult | None, pending: InputRequest | ApprovalRequest | None
    ) -> None:
        run_id = self.run_id
        telemetry = self.telemetry
        if self.lost_lease:  # handed back (a lease lost, a worker shutting down): another execution resumes
            await db_call(telemetry.handed_back)(self.cancel.reason or "handed back")
            return
        usage = result.usage.to_wire() if result else {}
        if result is None:
            await self._fail("The engine ended without a result.")
            return
        if result.outcome == "input_required" and pending is not None:
            deadline = None
            if config.human_input.deadline_seconds:
                deadline = timezone.now() + timedelta(seconds=config.human_input.deadline_seconds)
            request_id = await db_call(_await_input)(
                telemetry, run_id=run_id, deadline=deadline, usage=usage, **_request_fields(pending)
            )
            if request_id:
                await self.pipe.drain()
                await announce_status(run_id)
                return
        elif result.outcome == "complete":
            stop_reason = result.stop_reason or ""
            ending = await db_call(_end)(
                run_id, services.run_complete, self.messages, telemetry, stop_reason=stop_reason, usage=usage
            )
            if ending is not None:
                await self.pipe.drain()
                await announce_final(run_id, ending)
                return
        # Cancelled, or a stop arrived as the run finished: it ends stopped with the user's reason.
        ending = await db_call(_end)(run_id, services.run_finish_stopped, self.messages, telemetry, usage=usage)
        await self.pipe.drain()
        await announce_final(run_id, ending)

    async def _fail(self, error: str) -> None:
        ending = await db_call(_end)(self.run_id, services.run_fail, self.messages, self.telemetry, error=error)
        await self.pipe.drain()
        await announce_final(self.run_id, ending)

    def hand_back(self, reason: str) -> bool:
        """Release this run's lease from another thread (a worker shutting down); False if it is no longer ours."""
        holder = Run.objects.filter(id=self.run_id).values_list("lease_owner", flat=True).first()
        if holder != self.worker:
            return False
        self.lost_lease = True  # _finish must not publish an outcome for a run handed back
        if not services.run_release_lease(run_id=self.run_id, worker=self.worker):
            self.lost_lease = False  # it finished or moved meanwhile: let it end normally
            return False
        self.cancel.cancel(reason)  # thread-safe: the run's loop is in another thread
        announce_status_after_commit(self.run_id, HANDED_BACK)
        return True

    async def _heartbeat(self, lease: float) -> None:
        heartbeat = db_call(services.run_heartbeat)
        while True:
            await asyncio.sleep(lease / 3)
            status = await heartbeat(run_id=self.run_id, worker=self.worker, lease_seconds=lease)
            if status is None:
                self.lost_lease = True
                self.cancel.cancel("lease lost")
                return
            if status == RunStatus.STOPPING:
                self.cancel.cancel("stop requested")

    async def _listen_for_stop(self, layer: Any, channel: str) -> None:
        while True:
            message = await layer.receive(channel)
            if message.get("type") == events.CONTROL_STOP:
                self.cancel.cancel("stop requested")
                return
            if message.get("type") == events.CONTROL_SNAPSHOT and isinstance(message.get("reply_to"), str):
                await self._snapshot(message["reply_to"])

    async def _snapshot(self, reply_to: str) -> None:
        """Send one watcher the text streamed so far of the message in progress (None if there is none).

        Chunks still waiting in the pipe overlap it; the watcher's consumer trims them by offset.
        """
        frame = None
        if self.streamed:
            text = "".join(self.streamed)
            self.streamed = [text]
            frame = events.chunk_frame(self.run_id, self.streaming_seq, self.streaming_source, text, 0, self.attempt)
        try:
            await events.send_snapshot(reply_to, frame)
        except Exception:  # the watcher goes on without it: its consumer stops waiting after a timeout
            logger.warning("run %s: could not answer a snapshot request", self.run_id, exc_info=True)


async def drive(run_id: int, worker: str | None = None, traceparent: str = "") -> None:
    """Entry point of both executors; `traceparent` is the run's trace as the web server started it."""
    bind_run(run_id)  # every log line of this run carries its id (ops.logs)
    execution = Execution(run_id, worker or new_worker_id(), traceparent)
    _active[run_id] = execution
    try:
        await execution.drive()
    finally:
        _active.pop(run_id, None)


def hand_back_active_runs(reason: str) -> list[int]:
    """A worker shutting down: hand every run this process drives back to the queue (running -> queued)
    and cancel its execution without an outcome. Returns the runs handed back; the caller dispatches
    them again once this process no longer takes work."""
    return [run_id for run_id, execution in list(_active.items()) if execution.hand_back(reason)]
