"""OpenTelemetry export of stored spans to a real OTLP/HTTP receiver, and what an unreachable collector does."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from agents_app.engine import Tracer
from agents_app.engine.tracing import SpanEnd, SpanStart
from tests.factories import make_run
from tests.support.otlp_receiver import OtlpReceiver
from traces import export, recording

pytestmark = pytest.mark.django_db(transaction=True)
# Runs here are `created`: recording does not care, and a queued run nobody drives would be handed out
# by the sweep of an integration stack sharing the test database in the same session.


@pytest.fixture
def exporter_reset(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    export.shutdown()
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "20")
    yield monkeypatch
    export.shutdown()


def model_call(trace: recording.RunTrace) -> None:
    tracer = Tracer(trace.execution.span_id)
    turn = tracer.start("turn", "invoke_agent writer", **{"gen_ai.agent.name": "writer"})
    call = tracer.start(
        "model",
        "chat gpt-4o-mini",
        turn,
        **{
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.usage.input_tokens": 12,
            "gen_ai.usage.output_tokens": 5,
            "gen_ai.response.finish_reasons": ["stop"],
            "playground.cost_usd": 0.0000048,
        },
    )
    tracer.end(call)
    tracer.end(turn)
    for event in tracer.drain():
        assert isinstance(event, SpanStart | SpanEnd)
        trace.add(event)


def test_spans_reach_a_real_otlp_receiver_in_one_trace_with_genai_attributes(
    alice: Any, exporter_reset: pytest.MonkeyPatch
) -> None:
    with OtlpReceiver() as receiver:
        exporter_reset.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint)
        exporter_reset.setenv("OTEL_SERVICE_NAME", "playground-test")
        run = make_run(alice, status="created")
        context = recording.open_trace(run_id=run.id, started=time.time())
        trace = recording.resume_trace(
            run_id=run.id, worker="w", queued_at=None, answer_seq=None, context=context, team="writers"
        )
        assert context is not None and trace is not None
        model_call(trace)
        trace.end(status="complete")
        export.flush()
        spans = receiver.wait_for(lambda spans: any(s.name == "invoke_workflow writers" for s in spans))
    assert {s.trace_id for s in spans} == {context.trace_id}
    by_name = {s.name: s for s in spans}
    assert set(by_name) >= {"start run", "queue wait", "execution 1", "invoke_agent writer", "chat gpt-4o-mini"}
    root = by_name["invoke_workflow writers"]
    assert root.span_id == context.root_id and root.parent_id == ""
    assert by_name["execution 1"].parent_id == root.span_id
    chat = by_name["chat gpt-4o-mini"]
    assert chat.parent_id == by_name["invoke_agent writer"].span_id
    assert chat.attributes["gen_ai.request.model"] == "gpt-4o-mini"
    assert chat.attributes["gen_ai.usage.input_tokens"] == 12
    assert chat.attributes["gen_ai.response.finish_reasons"] == ["stop"]
    assert chat.resource["service.name"] == "playground-test" and chat.resource["playground.process"] == "web"
    assert chat.end_ns >= chat.start_ns > 0


def test_an_unreachable_collector_loses_spans_never_the_run(alice: Any, exporter_reset: pytest.MonkeyPatch) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    exporter_reset.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{port}")
    exporter_reset.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "1")
    run = make_run(alice, status="created")
    trace = recording.resume_trace(run_id=run.id, worker="w", queued_at=None, answer_seq=None, context=None)
    assert trace is not None
    model_call(trace)
    trace.end(status="complete")  # stored; the export fails in the processor's thread
    export.flush(timeout_seconds=3)
    assert run.spans.filter(ended_at__isnull=False).count() == 5  # run, queue, execution, turn, model


def test_nothing_is_exported_without_an_endpoint(alice: Any, exporter_reset: pytest.MonkeyPatch) -> None:
    for name in (*export.ENDPOINT_VARIABLES, "OTEL_SDK_DISABLED", "OTEL_TRACES_EXPORTER"):
        exporter_reset.delenv(name, raising=False)
    assert not export.configured()
    run = make_run(alice, status="created")
    trace = recording.resume_trace(run_id=run.id, worker="w", queued_at=None, answer_seq=None, context=None)
    assert trace is not None
    trace.end(status="complete")
    assert export._processor is None  # the SDK was never even set up
    exporter_reset.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    exporter_reset.setenv("OTEL_SDK_DISABLED", "true")
    assert not export.configured()
