"""GET /api/runs/{id}/trace and GET /api/usage: their owner's only, documented, and what they sum."""

from __future__ import annotations

import time
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from agents_app.engine import Tracer
from tests.factories import make_run, make_team
from traces import recording
from traces.models import MonthlyBudget, Span
from traces.usage import budget_refusal

pytestmark = pytest.mark.django_db


def traced_run(owner: Any, **fields: Any) -> Any:
    run = make_run(owner, status="created", **fields)
    recording.open_trace(run_id=run.id, started=time.time())
    trace = recording.resume_trace(run_id=run.id, worker="w", queued_at=time.time(), answer_seq=None, context=None)
    assert trace is not None
    tracer = Tracer(trace.execution.span_id)
    call = tracer.start(
        "model",
        "chat gpt-4o-mini",
        **{
            "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.usage.input_tokens": 100,
            "gen_ai.usage.output_tokens": 20,
            "playground.cost_usd": 0.25,
        },
    )
    tracer.end(call)
    for event in tracer.drain():
        trace.add(event)
    trace.end(status="complete")
    return run


def test_trace_lists_spans_in_one_tree_with_a_summary(client: Client, alice: Any) -> None:
    run = traced_run(alice)
    client.force_login(alice)
    body = client.get(f"/api/runs/{run.id}/trace").json()
    assert body["run_id"] == run.id and len(body["trace_id"]) == 32
    kinds = [s["kind"] for s in body["spans"]]
    assert kinds[0] == "run" and set(kinds) == {"run", "enqueue", "queue", "execution", "model"}
    ids = {s["span_id"] for s in body["spans"]}
    assert all(s["parent_id"] in ids for s in body["spans"][1:])
    model = next(s for s in body["spans"] if s["kind"] == "model")
    assert model["status"] == "ok" and model["duration"] >= 0 and model["attributes"]["playground.cost_usd"] == 0.25
    summary = body["summary"]
    assert summary["model_calls"] == 1 and summary["input_tokens"] == 100 and summary["cost"] == 0.25
    assert summary["executions"] == 1 and summary["duration"] is not None


def test_trace_is_the_owners_only(client: Client, alice: Any, bob: Any, django_user_model: Any) -> None:
    run = traced_run(alice)
    client.force_login(bob)
    assert client.get(f"/api/runs/{run.id}/trace").status_code == 404
    admin = django_user_model.objects.create_superuser("root", password="root-password-1")
    client.force_login(admin)
    assert client.get(f"/api/runs/{run.id}/trace").status_code == 404
    client.logout()
    assert client.get(f"/api/runs/{run.id}/trace").status_code == 401


def test_trace_and_usage_are_in_the_openapi_document(client: Client) -> None:
    paths = client.get("/api/openapi.json").json()["paths"]
    assert "/api/runs/{run_id}/trace" in paths and "/api/usage" in paths
    schema = paths["/api/runs/{run_id}/trace"]["get"]["responses"]["200"]
    assert schema["content"]["application/json"]["schema"]["$ref"].endswith("TraceOut")


def test_usage_sums_per_day_team_and_model(client: Client, alice: Any, bob: Any) -> None:
    team = make_team(alice, name="writers")
    traced_run(alice)
    run = traced_run(alice)
    run.team = team
    run.save(update_fields=["team"])
    old = traced_run(alice)
    Span.objects.filter(run=old).update(started_at=timezone.now() - timedelta(days=3))
    traced_run(bob)
    client.force_login(alice)
    report = client.get("/api/usage?days=30").json()
    assert len(report["days"]) == 30 and report["days"][-1]["date"] == timezone.now().date().isoformat()
    assert report["days"][-1]["calls"] == 2 and report["days"][-1]["cost"] == 0.5
    assert report["days"][-4]["calls"] == 1 and report["days"][-4]["input_tokens"] == 100
    assert report["totals"]["cost"] == 0.75 and report["totals"]["calls"] == 3
    assert {t["team"]: t["calls"] for t in report["teams"]} == {"writers": 1, "(a config sent with the run)": 2}
    assert report["models"] == [
        {"model": "gpt-4o-mini", "calls": 3, "input_tokens": 300, "output_tokens": 60, "cached_tokens": 0, "cost": 0.75}
    ]
    assert report["budget"]["limit"] is None and report["budget"]["spent"] == 0.75
    assert client.get("/api/usage?days=0").status_code == 422


def test_monthly_budget_refuses_a_run_once_spent(alice: Any, bob: Any, settings: Any) -> None:
    traced_run(alice)  # $0.25 this month
    fresh = make_run(alice)
    assert budget_refusal(fresh.id) is None  # no budget set: anything goes
    settings.USER_MONTHLY_BUDGET_USD = 1.0
    assert budget_refusal(fresh.id) is None
    settings.USER_MONTHLY_BUDGET_USD = 0.25
    assert "monthly budget of $0.25 is used up ($0.25 spent" in (budget_refusal(fresh.id) or "")
    MonthlyBudget.objects.create(user=alice, limit=Decimal("5.00"))  # her own limit wins
    assert budget_refusal(fresh.id) is None
    MonthlyBudget.objects.filter(user=alice).update(limit=None)  # no limit for her at all
    assert budget_refusal(fresh.id) is None
    assert budget_refusal(make_run(bob).id) is None  # bob spent nothing
