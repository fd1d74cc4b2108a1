"""Reads for the consumer's replay: what a client that has seen up to `after_seq` is missing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from runs import events
from runs.models import Message, Run


@dataclass
class Replay:
    run: Run
    frames: list[dict[str, Any]]
    last_seq: int


def run_for_user(run_id: int, user_id: int) -> tuple[Run | None, bool]:
    """(run, is_owner); (None, False) when there is no such run."""
    run = Run.objects.filter(id=run_id).first()
    return run, bool(run and run.owner_id == user_id)


def replay_after(run_id: int, after_seq: int, upto_seq: int | None = None) -> Replay:
    """Stored messages after `after_seq` (up to `upto_seq`), then a pending input request or the final frame."""
    run = Run.objects.get(id=run_id)
    messages = Message.objects.filter(run_id=run_id, seq__gt=after_seq)
    if upto_seq is not None:
        messages = messages.filter(seq__lte=upto_seq)
    frames = [events.message_frame(m) for m in messages.order_by("seq")]
    last = frames[-1]["seq"] if frames else after_seq
    if upto_seq is None:
        if run.input_request_id and run.status == "awaiting_input":
            frames.append(events.input_request_frame(run))
        elif run.is_terminal:
            frames.append(events.final_frame(run, list(run.messages.order_by("seq"))))
    return Replay(run=run, frames=frames, last_seq=last)
