"""The one shape of a span on the Django side: stored as a row, exported over OTLP, served by the API."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from agents_app.engine import Span
from agents_app.engine.tracing import new_span_id, new_trace_id

_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$")


@dataclass(frozen=True, slots=True)
class TraceContext:
    """A run's trace id and root span id; carried to the worker as a W3C `traceparent`."""

    trace_id: str
    root_id: str

    @classmethod
    def new(cls) -> TraceContext:
        return cls(new_trace_id(), new_span_id())

    @property
    def traceparent(self) -> str:
        return f"00-{self.trace_id}-{self.root_id}-01"

    @classmethod
    def parse(cls, traceparent: str | None) -> TraceContext | None:
        match = _TRACEPARENT.match(traceparent or "")
        return cls(match.group(1), match.group(2)) if match else None


@dataclass(slots=True)
class SpanRecord:
    run_id: int
    trace_id: str
    span_id: str
    parent_id: str
    kind: str
    name: str
    start: float  # seconds since the epoch
    end: float | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    seq: int | None = None

    @classmethod
    def of(cls, run_id: int, trace_id: str, span: Span) -> SpanRecord:
        return cls(
            run_id,
            trace_id,
            span.span_id,
            span.parent_id,
            span.kind,
            span.name,
            span.start,
            span.end,
            dict(span.attributes),
            span.error,
        )

    @classmethod
    def opened(
        cls, run_id: int, context: TraceContext, kind: str, name: str, parent_id: str, **attributes: Any
    ) -> SpanRecord:
        return cls(run_id, context.trace_id, new_span_id(), parent_id, kind, name, time.time(), None, attributes)

    def close(self, at: float | None = None, error: str = "") -> SpanRecord:
        if self.end is None:
            self.end = max(self.start, time.time() if at is None else at)
            self.error = self.error or error
        return self

    @property
    def cost(self) -> Decimal | None:
        value = self.attributes.get("playground.cost_usd")
        return Decimal(repr(value)) if isinstance(value, int | float) and not isinstance(value, bool) else None

    def tokens(self, name: str) -> int:
        value = self.attributes.get(name)
        return value if isinstance(value, int) and not isinstance(value, bool) else 0


def to_datetime(seconds: float | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, tz=UTC)


def to_seconds(value: datetime | None) -> float | None:
    return None if value is None else value.timestamp()
