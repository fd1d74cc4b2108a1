"""/metrics in Prometheus text format: who may read it, and values that move as work happens."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from agents_app.engine import Span
from metrics import registry, worker
from tests.factories import make_run

pytestmark = pytest.mark.django_db

TOKEN = "metrics-test-token-0123456789"


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture(autouse=True)
def metrics_settings(settings: Any) -> None:
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_PUBLIC = False
    settings.METRICS_ENABLED = True
    registry._enabled = None


def scrape(client: Client) -> str:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    return response.content.decode()


def model_span(model: str = "gpt-4o-mini", error: str = "") -> Span:
    span = Span("model", f"chat {model}", "a1", "", 100.0, 101.5, error=error)
    span.attributes.update(
        {
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": model,
            "gen_ai.usage.input_tokens": 30,
            "gen_ai.usage.output_tokens": 7,
            "gen_ai.response.time_to_first_chunk": 0.2,
            "playground.cost_usd": 0.001,
        }
    )
    return span


def test_values_move_as_work_happens(client: Client, alice: Any) -> None:
    before = scrape(client)
    registry.run_started()
    registry.span_ended(model_span())
    registry.span_ended(model_span(error="model server error 500"))
    tool = Span("tool", "execute_tool calculator", "b1", "", 1.0, 1.1, error="Error: bad expression")
    tool.attributes["gen_ai.tool.name"] = "calculator"
    registry.span_ended(tool)
    mcp = Span("tool", "execute_tool search", "b2", "", 1.0, 1.1)
    mcp.attributes.update({"gen_ai.tool.name": "search", "playground.mcp.server": "web"})
    registry.span_ended(mcp)
    registry.frame_sent("message_chunk")
    for _ in range(registry.CHUNK_SAMPLE):  # one chunk frame in CHUNK_SAMPLE is timed
        registry.chunk_delivered(time.time() - 0.004)
    registry.run_finished("complete")
    make_run(alice, status="running")
    make_run(alice, status="awaiting_input")
    make_run(alice, status="awaiting_input", input_kind="tool_approval")
    after = scrape(client)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("playground_runs_started_total") == 1
    assert moved("playground_runs_finished_total", outcome="complete") == 1
    assert moved("playground_model_calls_total", provider="openai", model="gpt-4o-mini", outcome="ok") == 1
    assert moved("playground_model_calls_total", provider="openai", model="gpt-4o-mini", outcome="error") == 1
    assert moved("playground_model_tokens_total", provider="openai", model="gpt-4o-mini", type="input") == 60
    assert moved("playground_model_call_duration_seconds_count", provider="openai", model="gpt-4o-mini") == 2
    assert moved("playground_model_time_to_first_token_seconds_count", provider="openai", model="gpt-4o-mini") == 2
    assert moved("playground_tool_call_errors_total", tool="calculator", server="") == 1
    assert moved("playground_tool_calls_total", tool="search", server="web") == 1
    assert moved("playground_frames_sent_total", type="message_chunk") == 1
    assert moved("playground_token_to_socket_seconds_count") == 1
    assert value(after, "playground_runs_active", status="running") == 1
    assert value(after, "playground_pending_requests", kind="input") == 1
    assert value(after, "playground_pending_requests", kind="approval") == 1


def test_metrics_are_refused_without_a_token_or_staff(client: Client, alice: Any, settings: Any) -> None:
    anonymous = client.get("/metrics")
    assert anonymous.status_code == 401 and anonymous["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    client.force_login(alice)
    assert client.get("/metrics").status_code == 403
    alice.is_staff = True
    alice.save()
    assert client.get("/metrics").status_code == 200
    settings.METRICS_ENABLED = False
    assert client.get("/metrics").status_code == 404


def test_a_workers_own_endpoint_needs_the_token() -> None:
    port = worker.serve(0, "127.0.0.1")
    url = f"http://127.0.0.1:{port}/metrics"
    assert httpx.get(url, timeout=5).status_code == 401
    registry.run_finished("error")
    answer = httpx.get(url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
    assert answer.status_code == 200
    assert value(answer.text, "playground_runs_finished_total", outcome="error") >= 1


def test_metrics_off_update_nothing(settings: Any, client: Client) -> None:
    before = scrape(client)
    settings.METRICS_ENABLED = False
    registry._enabled = None
    registry.run_started()
    settings.METRICS_ENABLED = True
    registry._enabled = None
    assert value(scrape(client), "playground_runs_started_total") == value(before, "playground_runs_started_total")


@pytest.mark.django_db(transaction=True)
def test_sweep_recoveries_are_counted(client: Client, alice: Any) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from runs import loops, recovery

    before = scrape(client)
    expired = timezone.now() - timedelta(seconds=5)
    make_run(alice, status="running", lease_owner="gone", lease_expires_at=expired)
    make_run(alice, status="stopping", lease_owner="gone", lease_expires_at=expired)
    redispatched: list[int] = []
    with loops.driven_here(redispatched.append):  # the recovered run is only noted, not driven
        recovery.sweep()
    assert len(redispatched) == 1
    after = scrape(client)
    for outcome in ("recovered", "stopped"):
        key = ("playground_sweep_recoveries_total", (("outcome", outcome),))
        assert samples(after).get(key, 0) - samples(before).get(key, 0) == 1
