"""What one execution of a run records as it goes: its spans (stored with its messages) and its metrics.

runs.execution calls these at the points it already stops at: the claim, each stored message, the
outcome, a wait for a person, a hand-back. The sync methods run inside the database trip that
stores the message or the outcome, so tracing adds statements, never trips; metrics are updated
in the worker as each model or tool call ends. Nothing here runs per token.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, ParamSpec

from django.db import transaction

from agents_app.engine import SpanEnd, SpanEvent, StoredMessage, Tracer
from metrics import registry as metrics
from runs.models import Run
from traces import recording
from traces.pricing import pricing
from traces.records import TraceContext, to_seconds

logger = logging.getLogger(__name__)
P = ParamSpec("P")


def _never_fails(method: Callable[P, None]) -> Callable[P, None]:
    """Telemetry never fails a run: a span that cannot be stored is logged and lost. Each of these runs
    after the statement it belongs with has committed, outside any transaction it could abort."""

    @functools.wraps(method)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            method(*args, **kwargs)
        except Exception:
            logger.exception("telemetry: %s failed; the run goes on without it", method.__qualname__)

    return guarded


def run_queued(run_id: int, queued_at: datetime) -> str:
    """The web server queued a run with its task, in the transaction that queued it: count it and open
    its trace. Returns the trace's W3C traceparent for the task that carries the run to a worker."""
    metrics.run_started()
    context = recording.open_trace(run_id=run_id, started=queued_at.timestamp())
    return context.traceparent if context is not None else ""


def ended_elsewhere(run_id: int, status: str, error: str = "") -> None:
    """A run ended away from a worker (stopped while queued or waiting, given up by the sweep): once the
    transaction that ended it commits, so a failure here cannot undo the end."""
    transaction.on_commit(lambda: _close_elsewhere(run_id, status, error))


@_never_fails
def _close_elsewhere(run_id: int, status: str, error: str) -> None:
    metrics.run_finished(status)
    recording.close_trace(run_id=run_id, status=status, error=error)


class ExecutionTelemetry:
    def __init__(self, trace: recording.RunTrace | None) -> None:
        self.trace = trace
        # Spans feed the stored trace and the model/tool metrics; with both off the engine reports none.
        self.tracer = Tracer(trace.execution.span_id if trace else "", enabled=trace is not None or metrics.enabled())

    @classmethod
    def claimed(cls, run: Run, *, worker: str, traceparent: str) -> ExecutionTelemetry:
        """In the claim's trip: resume the run's trace and count its queue wait."""
        queued_at = to_seconds(run.queued_at)
        if queued_at is not None:
            metrics.queue_waited(time.time() - queued_at)
        try:
            trace = recording.resume_trace(
                run_id=run.id,
                worker=worker,
                queued_at=queued_at,
                answer_seq=run.last_seq,
                context=TraceContext.parse(traceparent),
                team=str((run.team_config or {}).get("name") or ""),
                # The first claim set started_at after the run was queued; a resume's is older than queued_at.
                first=run.started_at is not None and run.queued_at is not None and run.started_at >= run.queued_at,
            )
        except Exception:
            logger.exception("telemetry: run %s's trace could not be resumed; it goes on untraced", run.id)
            trace = None
        return cls(trace)

    @staticmethod
    def pricing() -> Any:
        return pricing()

    def span(self, event: SpanEvent) -> None:
        if self.trace is not None:
            self.trace.add(event)
        if isinstance(event, SpanEnd):
            metrics.span_ended(event.span)

    def drained(self, events: list[SpanEvent]) -> None:
        """The spans an exception left behind in the engine's tracer (it ended them as it escaped)."""
        for event in events:
            self.span(event)

    @_never_fails
    def stored(self, message: StoredMessage, seq: int) -> None:
        """In the trip that stored `message` under `seq`: the spans that ended before it, linked to it."""
        if self.trace is not None:
            self.trace.flush((message, seq))

    @_never_fails
    def waiting(self, kind: str, source: str) -> None:
        if self.trace is not None:
            self.trace.suspend(kind, source)

    @_never_fails
    def ended(self, run: Run) -> None:
        """In the trip that stored the run's outcome."""
        metrics.run_finished(run.status)
        if self.trace is not None:
            usage = run.usage or {}
            attributes = {k: usage[k] for k in ("prompt_tokens", "completion_tokens", "cost") if k in usage}
            self.trace.end(
                status=run.status,
                error=run.error,
                attributes={f"playground.usage.{k}": v for k, v in attributes.items()}
                | ({"playground.stop_reason": run.stop_reason[:500]} if run.stop_reason else {}),
            )

    @_never_fails
    def handed_back(self, reason: str) -> None:
        if self.trace is not None:
            self.trace.hand_back(reason)
