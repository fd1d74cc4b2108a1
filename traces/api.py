"""GET /api/runs/{id}/trace (a run's spans and their summary, its owner's only) and GET /api/usage."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from traces import selectors
from traces.models import Span
from traces.usage import usage_report

router = Router(tags=["traces"])


class SpanOut(Schema):
    span_id: str = Field(description="16 hex digits; W3C trace context")
    parent_id: str = Field(description="the parent span's id; empty for the run's root span")
    kind: str = Field(
        description="run, enqueue, queue, execution, turn, model, tool, handoff, selector, input or approval"
    )
    name: str
    start: datetime
    end: datetime | None = Field(description="null while the span is open")
    duration: float | None = Field(description="seconds; null while open")
    status: Literal["ok", "error", "open"]
    error: str
    attributes: dict[str, Any] = Field(description="OpenTelemetry attributes (GenAI conventions: gen_ai.*)")
    message_seq: int | None = Field(description="seq of the message this span produced")

    @staticmethod
    def resolve_start(obj: Span) -> datetime:
        return obj.started_at

    @staticmethod
    def resolve_end(obj: Span) -> datetime | None:
        return obj.ended_at

    @staticmethod
    def resolve_status(obj: Span) -> str:
        return "open" if obj.ended_at is None else "error" if obj.error else "ok"

    @staticmethod
    def resolve_message_seq(obj: Span) -> int | None:
        return obj.seq


class TraceSummaryOut(Schema):
    spans: int
    executions: int
    turns: int
    model_calls: int
    tool_calls: int
    tool_errors: int
    handoffs: int
    input_tokens: int
    output_tokens: int
    cached_tokens: int
    cost: float | None = Field(description="US dollars; null when no model call's price is known")
    queue_wait: float = Field(description="seconds")
    human_wait: float = Field(description="seconds waiting for a person")
    model_time: float = Field(description="seconds in model calls")
    tool_time: float = Field(description="seconds in tool calls")
    duration: float | None = Field(description="seconds from start to end; null while the run is live")


class TraceOut(Schema):
    run_id: int
    trace_id: str = Field(description="32 hex digits; the OpenTelemetry trace id when spans are exported")
    summary: TraceSummaryOut
    spans: list[SpanOut] = Field(description="oldest first; parents before their children")


@router.get("/{run_id}/trace", response=TraceOut, summary="A run's trace")
def run_trace(request: HttpRequest, run_id: int) -> dict[str, Any]:
    """Every span of the run (queue waits, executions, agent turns, model and tool calls, hand-offs,
    waits for a person) with parent links, and a summary; one tree across resumes."""
    run = selectors.owned_run(user=request.user, run_id=run_id)
    spans = selectors.run_spans(run)
    return {
        "run_id": run.id,
        "trace_id": spans[0].trace_id if spans else "",
        "summary": selectors.trace_summary(spans).as_dict(),
        "spans": spans,
    }


usage_router = Router(tags=["usage"])


class UsageRowOut(Schema):
    calls: int = Field(description="model calls")
    input_tokens: int
    output_tokens: int
    cached_tokens: int
    cost: float = Field(description="US dollars (calls without a known price count as 0)")


class UsageDayOut(UsageRowOut):
    date: str = Field(description="YYYY-MM-DD (UTC)")


class UsageTeamOut(UsageRowOut):
    team_id: int | None
    team: str


class UsageModelOut(UsageRowOut):
    model: str


class BudgetOut(Schema):
    limit: float | None = Field(description="US dollars a month; null = no budget")
    spent: float = Field(description="US dollars spent since the month began (UTC)")
    month_start: str
    resets_on: str


class UsageOut(Schema):
    days: list[UsageDayOut] = Field(description="every day of the period, oldest first")
    teams: list[UsageTeamOut]
    models: list[UsageModelOut]
    totals: UsageRowOut
    budget: BudgetOut


@usage_router.get("", response=UsageOut, summary="Your tokens and cost")
def usage(request: HttpRequest, days: int = Query(30, ge=1, le=366)) -> dict[str, Any]:  # noqa: B008
    """Tokens and cost of your runs' model calls per day, per team and per model, and this month's budget."""
    return usage_report(request.user, days=days)
