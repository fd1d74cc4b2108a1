"""Traces and metrics on the production stack: spans exported over OTLP as one trace from the web server
through the worker, one stored tree across a worker's kill -9, runs untouched by an unreachable collector,
and /metrics scraped from a Daphne and from a worker as runs happen."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from asgiref.sync import sync_to_async
from prometheus_client.parser import text_string_to_metric_families

from runs.models import Run
from tests.integration.stack import METRICS_TOKEN, Stack, recv, recv_until, ws
from tests.integration.test_production import chatter, messages, stored
from tests.runs.conftest import create_run
from tests.support.otlp_receiver import OtlpReceiver, ReceivedSpan
from traces import recording
from traces.models import Span

pytestmark = pytest.mark.timeout(240)

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(url: str, token: str | None = METRICS_TOKEN) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.get(url, headers=headers, timeout=10)


def samples(url: str) -> Samples:
    response = scrape(url)
    assert response.status_code == 200, response.text
    out: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


def stored_spans(run_id: int) -> list[Span]:
    return list(Span.objects.filter(run_id=run_id).order_by("started_at", "id"))


def exported(otlp: OtlpReceiver, trace_id: str) -> list[ReceivedSpan]:
    """The run's spans as the collector got them, once its root (exported last, at the run's end) arrived."""
    spans = otlp.wait_for(lambda spans: any(s.trace_id == trace_id and not s.parent_id for s in spans))
    return [s for s in spans if s.trace_id == trace_id]


def openai_team(base_url: str) -> dict[str, Any]:
    model = {
        "provider": "openai",
        "model": "fake",
        "base_url": base_url,
        "default_headers": {"X-Fake-Tokens": "40", "X-Fake-Rate": "400"},
    }
    return {
        "kind": "round_robin",
        "name": "observed",
        "participants": [{"kind": "assistant", "name": "assistant", "model": model}],
        "termination": {"type": "max_message", "max_messages": 2},
    }


async def test_a_run_is_one_exported_trace_and_moves_the_metrics_of_web_and_worker(
    live: Stack, otlp: OtlpReceiver, alice: Any, alice_token: str, fake_openai: Any
) -> None:
    port = live.daphnes[0][1]
    web_url = f"http://127.0.0.1:{port}/metrics"
    web_before, worker_before = samples(web_url), samples(live.worker_metrics_url)
    run_id = await sync_to_async(create_run)(alice, openai_team(fake_openai.base_url))
    async with ws(port, run_id, alice_token) as conn:
        await recv(conn)
        await conn.send('{"type": "start", "task": "Say forty words"}')
        result = await recv_until(conn, {"result", "completion"})
        web_during = samples(web_url)
    assert result["type"] == "result", live.logs()

    rows = await sync_to_async(stored_spans)(run_id)
    (trace_id,) = {r.trace_id for r in rows}
    spans = exported(otlp, trace_id)
    assert {s.span_id for s in spans} == {r.span_id for r in rows}  # every stored span, each once
    by_name = {s.name: s for s in spans}
    root = by_name["invoke_workflow observed"]
    assert root.attributes["playground.run.id"] == run_id and root.resource["playground.process"] == "worker"
    assert by_name["start run"].resource["playground.process"] == "web"  # the web server's part of the trace
    assert by_name["start run"].parent_id == root.span_id == by_name["execution 1"].parent_id
    assert by_name["execution 1"].resource["playground.process"] == "worker"
    chat = by_name["chat fake"]
    assert chat.resource["service.name"] == "playground-integration"
    assert chat.attributes["gen_ai.provider.name"] == "openai" and chat.attributes["gen_ai.request.model"] == "fake"
    assert chat.attributes["gen_ai.usage.output_tokens"] == 40 and chat.attributes["gen_ai.usage.input_tokens"] > 0
    assert chat.attributes["gen_ai.response.finish_reasons"] == ["stop"]
    assert chat.parent_id == by_name["invoke_agent assistant"].span_id

    web_after, worker_after = samples(web_url), samples(live.worker_metrics_url)
    assert moved(web_before, web_after, "playground_runs_started_total") == 1
    assert moved(web_before, web_after, "playground_frames_sent_total", type="message_chunk") >= 2
    assert moved(web_before, web_during, "playground_websockets_open") == 1
    assert moved(web_before, web_after, "playground_websockets_open") == 0
    assert moved(worker_before, worker_after, "playground_runs_finished_total", outcome="complete") == 1
    assert moved(worker_before, worker_after, "playground_run_queue_wait_seconds_count") == 1
    model = {"provider": "openai", "model": "fake"}
    assert moved(worker_before, worker_after, "playground_model_calls_total", outcome="ok", **model) == 1
    assert moved(worker_before, worker_after, "playground_model_tokens_total", type="output", **model) == 40
    assert moved(worker_before, worker_after, "playground_model_call_duration_seconds_count", **model) == 1
    assert moved(worker_before, worker_after, "playground_model_time_to_first_token_seconds_count", **model) == 1


async def test_metrics_of_web_and_worker_refuse_a_missing_or_wrong_token(live: Stack) -> None:
    web_url = f"http://127.0.0.1:{live.daphnes[0][1]}/metrics"
    for url in (web_url, live.worker_metrics_url):
        assert scrape(url, token=None).status_code == 401
        assert scrape(url, token="wrong").status_code == 401


async def test_a_run_resumed_after_kill_9_keeps_one_tree(
    live: Stack, otlp: OtlpReceiver, alice: Any, alice_token: str
) -> None:
    run_id = await sync_to_async(create_run)(alice, chatter(turns=12, tokens_per_second=40))
    port = live.daphnes[0][1]
    frames: list[dict[str, Any]] = []
    async with ws(port, run_id, alice_token) as conn:
        await recv(conn)
        await conn.send('{"type": "start", "task": "Chat"}')
        # Past a second of messages: the killed execution wrote spans (at most a second of them is lost).
        while len(messages(frames)) < 8:
            await recv_until(conn, {"message"}, frames)
        live.kill_worker()
        live.start_worker("w2")
        result = await recv_until(conn, {"result", "completion"}, frames, timeout=120)
    assert result["type"] == "result", live.logs()

    rows = await sync_to_async(stored_spans)(run_id)
    assert len({r.trace_id for r in rows}) == 1
    by_id = {r.span_id: r for r in rows}
    (root,) = [r for r in rows if r.kind == "run"]
    assert root.attributes["playground.run.status"] == "complete"
    assert all(r.parent_id in by_id for r in rows if r is not root)
    assert all(r.ended_at is not None for r in rows), [r.name for r in rows if r.ended_at is None]
    first, second = [r for r in rows if r.kind == "execution"]
    assert (first.attributes["playground.attempt"], second.attributes["playground.attempt"]) == (1, 2)
    assert first.attributes["playground.worker"] != second.attributes["playground.worker"]
    assert first.error == recording.INTERRUPTED and not second.error
    assert len([r for r in rows if r.kind == "queue"]) == 2
    # The turns of the killed execution stay under it, those after the kill under the second; each model
    # call is linked to the message it produced, and the second execution produced the rest of them.
    turns = [r for r in rows if r.kind == "turn"]
    assert {t.parent_id for t in turns} == {first.span_id, second.span_id}
    produced = sorted(r.seq for r in rows if r.kind == "model" and r.seq is not None)
    transcript = await stored(run_id)
    assert len(set(produced)) == len(produced) and produced[-1] == transcript[-1][0]
    later = [r.seq for r in rows if r.kind == "model" and by_id[r.parent_id].parent_id == second.span_id]
    assert later == list(range(later[0], transcript[-1][0] + 1))
    spans = exported(otlp, root.trace_id)
    assert {s.resource["playground.process"] for s in spans} == {"web", "worker"}


async def test_an_unreachable_collector_leaves_runs_alone(
    live: Stack, otlp: OtlpReceiver, alice: Any, alice_token: str
) -> None:
    port = live.daphnes[0][1]
    with otlp.unreachable():
        run_id = await sync_to_async(create_run)(alice, chatter(turns=4, tokens_per_second=0))
        async with ws(port, run_id, alice_token) as conn:
            await recv(conn)
            await conn.send('{"type": "start", "task": "Chat"}')
            result = await recv_until(conn, {"result", "completion"})
        assert result["type"] == "result", live.logs()
        assert (await Run.objects.aget(id=run_id)).status == "complete"
        rows = await sync_to_async(stored_spans)(run_id)
        assert rows and all(r.ended_at is not None for r in rows)  # the trace is kept with the run
    # Once the collector is back, later runs' spans reach it again.
    again = await sync_to_async(create_run)(alice, chatter(turns=2, tokens_per_second=0))
    async with ws(port, again, alice_token) as conn:
        await recv(conn)
        await conn.send('{"type": "start", "task": "Chat"}')
        assert (await recv_until(conn, {"result", "completion"}))["type"] == "result"
    (trace_id,) = {r.trace_id for r in await sync_to_async(stored_spans)(again)}
    assert exported(otlp, trace_id)
