"""A run's trace over its life: opened at the start, resumed by each execution, closed at the end.

Every function here is synchronous and runs inside a database trip the run already makes (the
start's transaction, the worker's claim, each stored message, the outcome), so tracing adds
statements, never trips, and nothing per token. The web server opens the trace (the root `run`
span, open, and a short `enqueue` span) and hands its context to the worker in the task; each
execution closes what an earlier one or a wait for a person left open, adds its `queue` wait and
its own `execution` span, flushes the engine's spans (turns, model and tool calls, hand-offs)
with the messages they produced, and ends with the run's outcome or a new wait. Spans that
ended are handed to the OTLP exporter (traces.export) after they are stored.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction

from agents_app.engine import Span, SpanEvent, StoredMessage
from traces import export
from traces.records import SpanRecord, TraceContext
from traces.store import open_or_executions, write_spans

WAIT_KINDS = frozenset({"input", "approval"})  # a run waiting for a person
# A run's spans are written with a stored message at most this often, and always with its outcome:
# a statement per message cost a worker more than the rest of tracing (a worker killed mid-run loses
# at most this much of its trace; the stored messages are never lost).
WRITE_INTERVAL = 1.0
INTERRUPTED = "interrupted: the worker running it stopped; a later execution resumed the run"


def enabled() -> bool:
    return bool(settings.TRACING_ENABLED)


def _store(records: list[SpanRecord]) -> None:
    write_spans(records)
    ended = [r for r in records if r.end is not None]
    if ended and export.configured():
        transaction.on_commit(lambda: export.export(ended))  # never a span the database did not keep


def root_attributes(run_id: int) -> dict[str, Any]:
    return {"gen_ai.operation.name": "invoke_workflow", "playground.run.id": run_id}


def open_trace(*, run_id: int, started: float) -> TraceContext | None:
    """The web server starts a run (`started` = its queued_at): its root span, open until the run ends
    (the worker names it after the team), and the start itself."""
    if not enabled():
        return None
    context = TraceContext.new()
    attributes = root_attributes(run_id)
    root = SpanRecord(
        run_id, context.trace_id, context.root_id, "", "run", "invoke_workflow", started, None, attributes
    )
    start = SpanRecord.opened(run_id, context, "enqueue", "start run", context.root_id).close()
    start.start = started
    _store([root, start])
    return context


@dataclass
class RunTrace:
    """One execution's part of its run's trace: the engine's spans changed since the last write."""

    run_id: int
    context: TraceContext
    root: SpanRecord
    execution: SpanRecord
    _changed: dict[str, Span] = field(default_factory=dict)
    _seqs: dict[str, int] = field(default_factory=dict)  # span id -> seq of the message it produced
    _written: float = field(default_factory=time.monotonic)

    def add(self, event: SpanEvent) -> None:
        self._changed[event.span.span_id] = event.span

    def take(self) -> list[SpanRecord]:
        """Records of the spans changed since the last take, with the messages they produced."""
        spans, self._changed = self._changed, {}
        records = []
        for span in spans.values():
            record = SpanRecord.of(self.run_id, self.context.trace_id, span)
            record.seq = self._seqs.pop(span.span_id, None)
            records.append(record)
        self._written = time.monotonic()
        return records

    def flush(self, stored: tuple[StoredMessage, int] | None = None) -> None:
        """With each stored message (and its seq), in the trip that stored it: the spans that produced it
        are linked to it, and what changed is written once WRITE_INTERVAL passed since the last write."""
        if stored is not None:
            message, seq = stored
            for span in self._changed.values():  # the producing span ended just before: not taken yet
                if span.produced is message:
                    self._seqs[span.span_id] = seq
        if time.monotonic() - self._written >= WRITE_INTERVAL:
            _store(self.take())

    def suspend(self, kind: str, source: str) -> None:
        """The run waits for a person (`input` or `approval`): the wait stays open until the next execution."""
        wait = SpanRecord.opened(
            self.run_id,
            self.context,
            kind,
            f"wait for human {kind}",
            self.root.span_id,
            **{"playground.wait.source": source},
        )
        _store([*self.take(), self.execution.close(), wait])

    def end(self, *, status: str, error: str = "", attributes: dict[str, Any] | None = None) -> None:
        """The run ended in this execution: it, and every span still open, end now."""
        records = [*self.take(), self.execution.close(error=error)]
        records += close_root(self.root, status=status, error=error, attributes=attributes)
        _store(records)

    def hand_back(self, reason: str) -> None:
        """The execution stops without an outcome (a lease lost, a worker shutting down): another resumes."""
        _store([*self.take(), self.execution.close(error=reason)])


def close_root(
    root: SpanRecord, *, status: str, error: str = "", attributes: dict[str, Any] | None = None
) -> list[SpanRecord]:
    root.attributes["playground.run.status"] = status
    root.attributes.update(attributes or {})
    return [root.close(error=error)]


def resume_trace(
    *,
    run_id: int,
    worker: str,
    queued_at: float | None,
    answer_seq: int | None,
    context: TraceContext | None,
    team: str = "",
    first: bool = False,
) -> RunTrace | None:
    """A worker claimed the run: close what was left open, record the queue wait, open this execution.

    An open wait for a person ends when the answer queued the run again (`queued_at`) and links to the
    answer (`answer_seq`); an open span of an execution that died (kill -9, a lost machine) ends now,
    marked interrupted. The task's trace context is used when the run has no stored root yet.
    A `first` execution with the task's context reads nothing: nothing can be open before it, and the
    root is what open_trace wrote (started when the run was queued).
    """
    if not enabled():
        return None
    now = time.time()
    if first and context is not None and queued_at is not None:
        known = SpanRecord(run_id, context.trace_id, context.root_id, "", "run", "invoke_workflow", queued_at)
        known.attributes = root_attributes(run_id)
        left = [known]
    else:
        left = open_or_executions(run_id)
    root = next((r for r in left if r.kind == "run" and r.end is None), None)
    if root is None:  # started before tracing was on, or its start was not traced
        context = context or TraceContext.new()
        root = SpanRecord(run_id, context.trace_id, context.root_id, "", "run", "invoke_workflow", queued_at or now)
    context = TraceContext(root.trace_id, root.span_id)
    if team:
        root.name = f"invoke_workflow {team}"
        root.attributes["gen_ai.workflow.name"] = team
    attempt = 1 + sum(1 for r in left if r.kind == "execution")
    closed: list[SpanRecord] = []
    for record in left:
        if record.end is not None or record is root:
            continue
        if record.kind in WAIT_KINDS:
            record.seq = record.seq if record.seq is not None else answer_seq
            closed.append(record.close(at=queued_at))
        else:
            closed.append(record.close(at=now, error=INTERRUPTED))
    queue = SpanRecord.opened(run_id, context, "queue", "queue wait", root.span_id).close(at=now)
    queue.start = min(queued_at or now, now)
    execution = SpanRecord.opened(
        run_id,
        context,
        "execution",
        f"execution {attempt}",
        root.span_id,
        **{"playground.worker": worker, "playground.attempt": attempt},
    )
    _store([root, *closed, queue, execution])
    return RunTrace(run_id, context, root, execution)


def close_trace(*, run_id: int, status: str, error: str = "") -> None:
    """A run ended away from a worker (stopped while queued or waiting, given up by the sweep)."""
    if not enabled():
        return
    left = [r for r in open_or_executions(run_id) if r.end is None]
    records = []
    for record in left:
        if record.kind == "run":
            records += close_root(record, status=status, error=error)
        elif record.kind in WAIT_KINDS:
            records.append(record.close(error="" if status == "stopped" else error))
        else:
            records.append(record.close(error=INTERRUPTED))
    _store(records)
