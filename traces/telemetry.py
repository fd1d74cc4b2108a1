"""What one execution of a run records as it goes: its spans (stored with its messages) and its metrics.

runs.execution calls these at the points it already stops at: the claim, each stored message, the
outcome, a wait for a person, a hand-back. The sync methods run inside the database trip that
stores the message or the outcome, so tracing adds statements, never trips; metrics are updated
in the worker as each model or tool call ends. Nothing here runs per token.
"""

from __future__ import annotations

import time
from typing import Any

from agents_app.engine import SpanEnd, SpanEvent, StoredMessage, Tracer
from metrics import registry as metrics
from runs.models import Run
from traces import recording
from traces.pricing import pricing
from traces.records import TraceContext, to_seconds


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
        return cls(trace)

    @staticmethod
    def pricing() -> Any:
        return pricing()

    def span(self, event: SpanEvent) -> None:
        if self.trace is not None:
            self.trace.add(event)
        if isinstance(event, SpanEnd):
            metrics.span_ended(event.span)

    def stored(self, message: StoredMessage, seq: int) -> None:
        """In the trip that stored `message` under `seq`: the spans that ended before it, linked to it."""
        if self.trace is not None:
            self.trace.flush((message, seq))

    def waiting(self, kind: str, source: str) -> None:
        if self.trace is not None:
            self.trace.suspend(kind, source)

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

    def handed_back(self, reason: str) -> None:
        if self.trace is not None:
            self.trace.hand_back(reason)
