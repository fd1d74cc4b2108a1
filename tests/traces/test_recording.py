"""A run's spans stored over its life: the engine's spans flushed with their messages, waits, resumes, the end."""

from __future__ import annotations

import time
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from agents_app.config import validate_team_config
from agents_app.engine import CancellationToken, InputRequest, StoredMessage, TeamRunner, Tracer
from agents_app.engine.tracing import SpanEnd, SpanStart
from runs.models import Run
from tests.factories import make_run
from traces import recording
from traces.models import Span
from traces.records import TraceContext
from traces.selectors import trace_summary

pytestmark = pytest.mark.django_db(transaction=True)
# Runs here are `created`: recording does not care, and a queued run nobody drives would be handed out
# by the sweep of an integration stack sharing the test database in the same session.

TEAM = {
    "kind": "swarm",
    "participants": [
        {
            "kind": "assistant",
            "name": "alice",
            "tools": ["calculator"],
            "handoffs": [{"target": "bob"}],
            "max_tool_iterations": 2,
            "model": {
                "provider": "scripted",
                "tokens_per_second": 0,
                "replies": [
                    {"tool_calls": [{"name": "calculator", "arguments": {"expression": "6*7"}}]},
                    {"handoff": "bob"},
                ],
            },
        },
        {
            "kind": "assistant",
            "name": "bob",
            "handoffs": [{"target": "user"}],
            "model": {
                "provider": "scripted",
                "tokens_per_second": 0,
                "replies": [{"content": "Ask", "handoff": "user"}],
            },
        },
    ],
    "max_turns": 6,
}


async def drive(trace: recording.RunTrace, transcript: list[dict[str, Any]]) -> tuple[list[Any], Any]:
    """What runs.execution does with the engine's events: stored messages flush the spans before them."""
    runner = TeamRunner(validate_team_config(TEAM), env={}, tracer=Tracer(trace.execution.span_id))
    seq = len(transcript)
    events: list[Any] = []
    async for event in runner.run(transcript, cancel=CancellationToken()):
        events.append(event)
        if isinstance(event, SpanStart | SpanEnd):
            trace.add(event)
        elif isinstance(event, StoredMessage):
            seq += 1
            await sync_to_async(trace.flush)((event, seq))
    return events, events[-1]


def spans(run: Run) -> list[Span]:
    return list(Span.objects.filter(run=run).order_by("started_at", "id"))


async def test_a_team_run_with_a_tool_a_handoff_and_human_input_is_one_tree_across_the_answer(alice: Any) -> None:
    run = await sync_to_async(make_run)(alice, status="created")
    context = await sync_to_async(recording.open_trace)(run_id=run.id, started=time.time())
    assert context is not None
    trace = await sync_to_async(recording.resume_trace)(
        run_id=run.id, worker="w1", queued_at=time.time(), answer_seq=None, context=context
    )
    assert trace is not None and trace.context == context
    task = {"source": "user", "type": "TextMessage", "content": "compute", "models_usage": None, "metadata": {}}
    events, result = await drive(trace, [task])
    assert result.outcome == "input_required"
    request = next(e for e in events if isinstance(e, InputRequest))
    await sync_to_async(trace.suspend)("input", request.source)

    # The person answers; the next execution closes the wait and goes on.
    answered = time.time()
    stored = [task, *[e.to_wire() for e in events if isinstance(e, StoredMessage)]]
    answer_seq = len(stored) + 1
    again = await sync_to_async(recording.resume_trace)(
        run_id=run.id, worker="w2", queued_at=answered, answer_seq=answer_seq, context=None
    )
    assert again is not None and again.context == context
    await sync_to_async(again.end)(status="complete")

    rows = await sync_to_async(spans)(run)
    assert {r.trace_id for r in rows} == {context.trace_id}
    by_id = {r.span_id: r for r in rows}
    assert all(r.parent_id in by_id for r in rows if r.kind != "run")
    assert all(r.ended_at is not None for r in rows), [r.name for r in rows if r.ended_at is None]
    kinds = [r.kind for r in rows]
    for kind in ("run", "enqueue", "queue", "execution", "turn", "model", "tool", "handoff", "input"):
        assert kind in kinds, kind
    executions = [r for r in rows if r.kind == "execution"]
    assert [e.attributes["playground.attempt"] for e in executions] == [1, 2]
    assert [e.attributes["playground.worker"] for e in executions] == ["w1", "w2"]
    (wait,) = [r for r in rows if r.kind == "input"]
    assert wait.seq == answer_seq and wait.parent_id == context.root_id and not wait.error
    (tool,) = [r for r in rows if r.kind == "tool" and r.attributes["gen_ai.tool.name"] == "calculator"]
    assert tool.seq == 3  # task 1, the tool call request 2, its results 3
    (root,) = [r for r in rows if r.kind == "run"]
    assert root.attributes["playground.run.status"] == "complete"
    summary = trace_summary(rows)
    assert summary.executions == 2 and summary.tool_calls >= 2 and summary.human_wait >= 0
    assert summary.model_calls == len([r for r in rows if r.kind == "model"]) == 3


def test_a_killed_execution_leaves_open_spans_the_next_one_closes(alice: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recording, "WRITE_INTERVAL", 0.0)  # every flush writes
    run = make_run(alice, status="created")
    context = recording.open_trace(run_id=run.id, started=time.time())
    first = recording.resume_trace(run_id=run.id, worker="w1", queued_at=time.time(), answer_seq=None, context=context)
    assert first is not None
    turn = Tracer(first.execution.span_id).start("turn", "invoke_agent a")
    first.add(SpanStart(turn))
    first.flush()  # written open with a message; then the worker dies (nothing else is written)
    second = recording.resume_trace(run_id=run.id, worker="w2", queued_at=time.time(), answer_seq=None, context=None)
    assert second is not None
    rows = {r.span_id: r for r in spans(run)}
    assert rows[turn.span_id].ended_at is not None and rows[turn.span_id].error == recording.INTERRUPTED
    assert rows[first.execution.span_id].error == recording.INTERRUPTED
    assert rows[second.execution.span_id].ended_at is None
    assert rows[second.execution.span_id].attributes["playground.attempt"] == 2
    assert len([r for r in rows.values() if r.kind == "queue"]) == 2
    assert len({r.trace_id for r in rows.values()}) == 1


def test_a_run_stopped_while_waiting_closes_its_trace(alice: Any) -> None:
    run = make_run(alice, status="created")
    recording.open_trace(run_id=run.id, started=time.time())
    trace = recording.resume_trace(run_id=run.id, worker="w", queued_at=time.time(), answer_seq=None, context=None)
    assert trace is not None
    trace.suspend("input", "human")
    recording.close_trace(run_id=run.id, status="stopped")
    rows = spans(run)
    assert all(r.ended_at is not None for r in rows)
    assert next(r for r in rows if r.kind == "run").attributes["playground.run.status"] == "stopped"


def test_spans_of_a_run_without_a_stored_root_get_one(alice: Any) -> None:
    run = make_run(alice, status="created")
    context = TraceContext.parse("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
    trace = recording.resume_trace(run_id=run.id, worker="w", queued_at=None, answer_seq=None, context=context)
    assert trace is not None and trace.context == context
    trace.end(status="error", error="boom")
    rows = spans(run)
    assert {r.kind for r in rows} == {"run", "queue", "execution"}
    assert all(r.trace_id == "0af7651916cd43dd8448eb211c80319c" for r in rows)


def test_tracing_off_stores_nothing(alice: Any, settings: Any) -> None:
    settings.TRACING_ENABLED = False
    run = make_run(alice, status="created")
    assert recording.open_trace(run_id=run.id, started=time.time()) is None
    assert recording.resume_trace(run_id=run.id, worker="w", queued_at=None, answer_seq=None, context=None) is None
    assert not Span.objects.filter(run=run).exists()


def test_traceparent_round_trip() -> None:
    context = TraceContext.new()
    assert TraceContext.parse(context.traceparent) == context
    assert TraceContext.parse("garbage") is None and TraceContext.parse(None) is None
