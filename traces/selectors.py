"""Reads of traces: a run's spans for its owner, and the summary the API, the run page and the admin show."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from runs.models import Run
from traces.models import Span


def owned_run(*, user: Any, run_id: int) -> Run:
    """Run.DoesNotExist (a 404) for a missing run and another user's alike: a trace is its owner's only."""
    return Run.objects.get(id=run_id, owner_id=user.pk)


def run_spans(run: Run) -> list[Span]:
    return list(Span.objects.filter(run=run).order_by("started_at", "id"))


@dataclass
class TraceSummary:
    spans: int = 0
    executions: int = 0
    turns: int = 0
    model_calls: int = 0
    tool_calls: int = 0
    tool_errors: int = 0
    handoffs: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    cost: float | None = None  # US dollars; None when no model call's price is known
    queue_wait: float = 0.0  # seconds, summed over the run's queue waits
    human_wait: float = 0.0  # seconds waiting for a person (input and approvals), ended waits only
    model_time: float = 0.0
    tool_time: float = 0.0
    duration: float | None = None  # the root span's, once the run ended

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


_TIME_OF = {
    "queue": "queue_wait",
    "input": "human_wait",
    "approval": "human_wait",
    "model": "model_time",
    "tool": "tool_time",
}
_COUNT_OF = {
    "execution": "executions",
    "turn": "turns",
    "model": "model_calls",
    "tool": "tool_calls",
    "handoff": "handoffs",
}


def trace_summary(spans: list[Span]) -> TraceSummary:
    summary = TraceSummary(spans=len(spans))
    cost: Decimal | None = None
    for span in spans:
        counter = _COUNT_OF.get(span.kind)
        if counter:
            setattr(summary, counter, getattr(summary, counter) + 1)
        seconds = span.duration
        timer = _TIME_OF.get(span.kind)
        if timer and seconds is not None:
            setattr(summary, timer, getattr(summary, timer) + seconds)
        if span.kind == "tool" and span.error:
            summary.tool_errors += 1
        if span.kind == "model":
            summary.input_tokens += span.input_tokens
            summary.output_tokens += span.output_tokens
            summary.cached_tokens += span.cached_tokens
            if span.cost is not None:
                cost = (cost or Decimal(0)) + span.cost
        if span.kind == "run":
            summary.duration = seconds
    summary.cost = float(cost) if cost is not None else None
    for name in ("queue_wait", "human_wait", "model_time", "tool_time"):
        setattr(summary, name, round(getattr(summary, name), 6))
    return summary
