"""Spans to and from the database: one upsert per batch, one SELECT for the spans a run left open.

Written out as SQL for the same reason as runs.services.transition_returning: these run on every
run's claim, message and end, and compiling the ORM's statements cost more CPU than running them.
An upsert (PostgreSQL, SQLite >= 3.24) lets a span be written open and rewritten when it ends.
"""

from __future__ import annotations

from typing import Any, cast

from django.db import connection
from django.db.models import Field

from traces.models import Span
from traces.records import SpanRecord, to_datetime, to_seconds

_COLUMNS = (
    "run_id",
    "trace_id",
    "span_id",
    "parent_id",
    "kind",
    "name",
    "started_at",
    "ended_at",
    "error",
    "attributes",
    "seq",
    "model",
    "input_tokens",
    "output_tokens",
    "cached_tokens",
    "cost",
)
_KEY = ("run_id", "span_id")
# An open span rewritten once it ends keeps the message it was linked to.
_KEEP_IF_NULL = ("seq",)


def _values(record: SpanRecord) -> dict[str, Any]:
    is_model = record.kind == "model"
    return {
        "run_id": record.run_id,
        "trace_id": record.trace_id,
        "span_id": record.span_id,
        "parent_id": record.parent_id,
        "kind": record.kind,
        "name": record.name[:200],
        "started_at": to_datetime(record.start),
        "ended_at": to_datetime(record.end),
        "error": record.error,
        "attributes": record.attributes,
        "seq": record.seq,
        "model": str(record.attributes.get("gen_ai.request.model", ""))[:200] if is_model else "",
        "input_tokens": record.tokens("gen_ai.usage.input_tokens") if is_model else 0,
        "output_tokens": record.tokens("gen_ai.usage.output_tokens") if is_model else 0,
        "cached_tokens": record.tokens("gen_ai.usage.cache_read.input_tokens") if is_model else 0,
        "cost": record.cost if is_model else None,
    }


def write_spans(records: list[SpanRecord]) -> None:
    if not records:
        return
    qn = connection.ops.quote_name
    fields = {
        name: cast("Field[Any, Any]", Span._meta.get_field("run" if name == "run_id" else name)) for name in _COLUMNS
    }
    params: list[Any] = []
    for record in records:
        values = _values(record)
        params += [fields[name].get_db_prep_save(values[name], connection) for name in _COLUMNS]
    table = qn(Span._meta.db_table)
    row = f"({', '.join(['%s'] * len(_COLUMNS))})"
    updates = ", ".join(
        f"{qn(c)} = COALESCE(excluded.{qn(c)}, {table}.{qn(c)})"
        if c in _KEEP_IF_NULL
        else f"{qn(c)} = excluded.{qn(c)}"
        for c in _COLUMNS
        if c not in _KEY
    )
    sql = (
        f"INSERT INTO {table} ({', '.join(qn(c) for c in _COLUMNS)}) VALUES {', '.join([row] * len(records))}"
        f" ON CONFLICT ({', '.join(qn(c) for c in _KEY)}) DO UPDATE SET {updates}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def open_or_executions(run_id: int) -> list[SpanRecord]:
    """The run's spans still open, and its executions (their count is the next attempt's number)."""
    qn = connection.ops.quote_name
    columns = ", ".join(qn(f.column) for f in Span._meta.concrete_fields)
    sql = (
        f"SELECT {columns} FROM {qn(Span._meta.db_table)} WHERE {qn('run_id')} = %s"
        f" AND ({qn('ended_at')} IS NULL OR {qn('kind')} = %s) ORDER BY {qn('started_at')}, {qn('id')}"
    )
    return [record_of(span) for span in Span.objects.raw(sql, [run_id, "execution"])]


def record_of(span: Span) -> SpanRecord:
    return SpanRecord(
        span.run_id,
        span.trace_id,
        span.span_id,
        span.parent_id,
        span.kind,
        span.name,
        to_seconds(span.started_at) or 0.0,
        to_seconds(span.ended_at),
        dict(span.attributes),
        span.error,
        span.seq,
    )
