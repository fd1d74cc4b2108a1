"""Wire frames (AutoGen Studio shapes plus `run_id` and `seq`) and their delivery to watchers.

Every payload is built here from JSON primitives only: channels_redis serializes
with msgpack while the in-memory layer deep-copies, so a datetime that passes in
memory fails on Redis. Frames go to the run's group `run-<id>`; the worker
driving a run listens on `run-<id>-control` for stop requests.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Mapping, Sequence
from typing import Any

from channels.layers import get_channel_layer
from django.utils import timezone

from metrics import registry as metrics
from runs.models import TOOL_APPROVAL, Message, Run, RunStatus
from runs.shapes import message_json, run_json, timestamp

FRAME_EVENT = "run.frame"  # forwarded by RunConsumer.dispatch
CONTROL_STOP = "run.stop"
# A watcher that joined mid-message asks the worker for the text streamed so far; the worker
# answers on the watcher's own channel with SNAPSHOT_EVENT (consumer handler: run_snapshot).
CONTROL_SNAPSHOT = "run.snapshot_request"
SNAPSHOT_EVENT = "run.snapshot"
# When a chunk frame left the worker, beside the frame in its layer message (not a wire field): the
# watcher's consumer measures token-to-socket latency with it (metrics.registry.chunk_delivered).
PUBLISHED_AT = "published_at"


def run_group(run_id: int) -> str:
    return f"run-{run_id}"


def control_group(run_id: int) -> str:
    return f"run-{run_id}-control"


def now_iso() -> str:
    return timestamp(timezone.now())


# ------------------------------------------------------------------ frames


def system_frame(run: Run) -> dict[str, Any]:
    return {
        "type": "system",
        "status": "connected",
        "timestamp": now_iso(),
        "run_id": run.id,
        "run": run_json(run),
        "last_seq": run.last_seq,
    }


def message_frame(message: Message | Mapping[str, Any]) -> dict[str, Any]:
    """A stored message (an instance, or a row of runs.selectors.message_rows) as its frame."""
    data = message_json(message)
    run_id = message["run_id"] if isinstance(message, Mapping) else message.run_id
    return {"type": "message", "run_id": run_id, "seq": data["seq"], "data": data}


def chunk_frame(run_id: int, seq: int, source: str, content: str, offset: int, attempt: int = 0) -> dict[str, Any]:
    """Streamed text of the message that will be stored under `seq`; `offset` (ours) is where
    `content` starts in that message's text, in characters (code points); `attempt` (ours) is the
    run's execution that streams it: a resumed run streams an interrupted message again from its
    start under a higher attempt, and the text shown so far gives way to it."""
    return {
        "type": "message_chunk",
        "run_id": run_id,
        "seq": seq,
        "offset": offset,
        "attempt": attempt,
        "data": {"source": source, "content": content, "type": "ModelClientStreamingChunkEvent", "models_usage": None},
    }


def input_request_frame(run: Run) -> dict[str, Any]:
    """The run's pending request: `input_request` for an answer, `tool_approval_request` for a tool call."""
    if run.input_kind == TOOL_APPROVAL:
        return tool_approval_request_frame(run)
    return {
        "type": "input_request",
        "run_id": run.id,
        "seq": run.last_seq,
        "prompt": run.input_prompt,
        "data": {"source": "system", "content": run.input_prompt, "agent": run.input_source},
        "request_id": run.input_request_id,
        "source": run.input_source,
        "deadline": timestamp(run.input_deadline) if run.input_deadline else None,
        "timestamp": now_iso(),
    }


def tool_approval_request_frame(run: Run) -> dict[str, Any]:
    """Ours: an agent wants to call a tool and waits for the run's owner to approve, edit or reject the call."""
    call = run.input_data or {}
    return {
        "type": "tool_approval_request",
        "run_id": run.id,
        "seq": run.last_seq,
        "request_id": run.input_request_id,
        "prompt": run.input_prompt,
        "source": run.input_source,
        "agent": call.get("agent", run.input_source),
        "call_id": call.get("call_id", ""),
        "tool": call.get("tool", ""),
        "server": call.get("server", ""),
        "arguments": call.get("arguments", {}),
        "schema": call.get("schema", {}),
        "deadline": timestamp(run.input_deadline) if run.input_deadline else None,
        "timestamp": now_iso(),
    }


def status_frame(run: Run, reason: str = "") -> dict[str, Any]:
    """Ours: the run's status changed (AutoGen clients ignore unknown frame types); `reason` says why
    when the server moved it on its own (a worker lost)."""
    frame = {"type": "run_status", "run_id": run.id, "seq": run.last_seq, "status": run.status, "run": run_json(run)}
    if reason:
        frame["reason"] = reason
    return frame


def final_frame(run: Run, messages: Sequence[Message | Mapping[str, Any]]) -> dict[str, Any]:
    """`result` for a completed run, `completion` (cancelled or error) otherwise."""
    data = {
        "task_result": {
            "messages": [message_json(m) for m in messages],
            "stop_reason": run.error if run.status == RunStatus.ERROR else run.stop_reason,
        },
        "usage": run.usage,
        "duration": run.duration,
    }
    frame: dict[str, Any] = {"run_id": run.id, "seq": run.last_seq, "data": data, "timestamp": now_iso()}
    if run.status == RunStatus.COMPLETE:
        frame.update(type="result", status="complete")
    else:
        frame.update(type="completion", status="error" if run.status == RunStatus.ERROR else "cancelled")
        if run.status == RunStatus.ERROR:
            frame["error"] = run.error
    return frame


def error_frame(error: str, **extra: Any) -> dict[str, Any]:
    return {"type": "error", "error": error, "timestamp": now_iso(), **extra}


def pong_frame() -> dict[str, Any]:
    return {"type": "pong", "timestamp": now_iso()}


# ------------------------------------------------------------------ delivery


async def publish(run_id: int, frame: dict[str, Any]) -> None:
    layer = get_channel_layer()
    await layer.group_send(run_group(run_id), {"type": FRAME_EVENT, "frame": frame})


def publish_nowait(run_id: int, frame: dict[str, Any]) -> Awaitable[None]:
    """Start publishing a frame now; await the result to know it was delivered to the layer.

    The production layer writes it to Redis at the end of this loop turn, with the turn's other
    publishes (playground.layers); another layer's send becomes a task, which starts on the loop's next turn.
    """
    layer = get_channel_layer()
    message: dict[str, Any] = {"type": FRAME_EVENT, "frame": frame}
    if frame["type"] == "message_chunk" and metrics.enabled():
        message[PUBLISHED_AT] = time.time()
    send_nowait = getattr(layer, "group_send_nowait", None)
    if send_nowait is not None:
        return send_nowait(run_group(run_id), message)  # type: ignore[no-any-return]
    return asyncio.ensure_future(layer.group_send(run_group(run_id), message))


async def request_snapshot(run_id: int, reply_to: str) -> None:
    layer = get_channel_layer()
    await layer.group_send(control_group(run_id), {"type": CONTROL_SNAPSHOT, "reply_to": reply_to})


async def send_snapshot(reply_to: str, frame: dict[str, Any] | None) -> None:
    """The worker's answer to one watcher: the text streamed so far of the message in progress, if any."""
    layer = get_channel_layer()
    await layer.send(reply_to, {"type": SNAPSHOT_EVENT, "frame": frame})


async def signal_stop(run_id: int) -> None:
    layer = get_channel_layer()
    await layer.group_send(control_group(run_id), {"type": CONTROL_STOP})
