"""What runs cost in money through the real executor: per message, agent, run and session in the API,
a `cost` termination stopping a run, and a spent monthly budget refusing new runs with 429."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from runs.models import Run, Session
from tests.factories import make_run
from tests.runs.test_api import api, create, wait_for
from tests.runs.wsclient import connect, receive
from traces.models import MonthlyBudget, Span

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("inline_runtime")]

# A scripted model priced by an override: $1 per thousand prompt or completion tokens (words here).
PRICES = {"scripted": {"input": 1000, "output": 1000}}


def team(termination: dict[str, Any] | None = None) -> dict[str, Any]:
    def agent(name: str, reply: str) -> dict[str, Any]:
        return {
            "kind": "assistant",
            "name": name,
            "model": {"provider": "scripted", "tokens_per_second": 0, "replies": [reply]},
        }

    return {
        "name": "priced",
        "kind": "round_robin",
        "participants": [agent("writer", "one two three four five"), agent("critic", "six seven eight")],
        "termination": termination or {"type": "max_message", "max_messages": 3},
    }


def test_cost_per_message_agent_run_and_session(alice: Any, alice_token: str, settings: Any) -> None:
    settings.MODEL_PRICES = PRICES
    client = api(alice_token)
    session = client.post("/api/sessions", {"name": "costly"}, content_type="application/json").json()
    run_id = create(client, team_config=team(), task="go", session_id=session["id"])["id"]
    run = wait_for(run_id, {"complete", "error"})
    assert run.status == "complete", run.error

    messages = client.get(f"/api/runs/{run_id}/messages").json()["items"]

    def priced(usage: dict[str, Any]) -> float:
        return (usage["prompt_tokens"] + usage["completion_tokens"]) / 1000

    writer, critic = messages[1], messages[2]
    assert writer["models_usage"]["cost"] == pytest.approx(priced(writer["models_usage"]))
    assert critic["models_usage"]["cost"] == pytest.approx(priced(critic["models_usage"]))
    total = priced(writer["models_usage"]) + priced(critic["models_usage"])
    assert total > 0
    usage = client.get(f"/api/runs/{run_id}").json()["usage"]
    assert usage["cost"] == pytest.approx(total)
    assert usage["per_agent"]["writer"]["cost"] == pytest.approx(priced(writer["models_usage"]))
    assert usage["per_agent"]["critic"]["cost"] == pytest.approx(priced(critic["models_usage"]))
    assert client.get(f"/api/runs/{run_id}/trace").json()["summary"]["cost"] == pytest.approx(total)
    assert client.get(f"/api/sessions/{session['id']}").json()["cost"] == pytest.approx(total)
    listed = client.get("/api/sessions").json()["items"]
    assert [s["cost"] for s in listed if s["id"] == session["id"]] == [pytest.approx(total)]
    assert Session.objects.get(id=session["id"]).runs.count() == 1


def test_a_cost_termination_stops_the_run_after_the_call_that_reaches_it(
    alice: Any, alice_token: str, settings: Any
) -> None:
    settings.MODEL_PRICES = PRICES
    client = api(alice_token)
    # The writer's reply costs a cent or more (a system message and the task in, five words out).
    run_id = create(client, team_config=team({"type": "cost", "max_cost": 0.005}), task="go")["id"]
    run = wait_for(run_id, {"complete", "error"})
    assert run.status == "complete", run.error
    assert run.stop_reason.startswith("Cost limit of $0.0050")
    assert run.last_seq == 2  # the task and the writer's reply, which crossed the limit: the critic never spoke
    assert run.usage["cost"] >= 0.005 and run.usage["per_agent"].keys() == {"writer"}


def spend(owner: Any, dollars: str) -> None:
    run = make_run(owner, status="complete")
    now = timezone.now()
    Span.objects.create(
        run=run, trace_id="1" * 32, span_id=f"{time.monotonic_ns() % 16**16:016x}", kind="model", name="chat m",
        started_at=now, ended_at=now, model="m", cost=Decimal(dollars),
    )  # fmt: skip


def test_a_spent_monthly_budget_refuses_new_runs_with_429(
    alice: Any, alice_token: str, bob_token: str, settings: Any
) -> None:
    settings.USER_MONTHLY_BUDGET_USD = 1.0
    spend(alice, "1.00")
    client = api(alice_token)
    before = Run.objects.filter(owner=alice).count()
    refused = client.post("/api/runs", {"team_config": team(), "task": "go"}, content_type="application/json")
    assert refused.status_code == 429
    assert "monthly budget of $1.00 is used up ($1.00 spent" in refused.json()["detail"]
    assert Run.objects.filter(owner=alice).count() == before  # nothing was queued
    # Someone else's spending is theirs: bob starts runs.
    assert (
        api(bob_token)
        .post("/api/runs", {"team_config": team(), "task": "go"}, content_type="application/json")
        .status_code
        == 201
    )
    # An admin raising her own limit lets her start again.
    MonthlyBudget.objects.create(user=alice, limit=Decimal("2.00"))
    run_id = create(client, team_config=team(), task="go")["id"]
    assert wait_for(run_id, {"complete", "error"}).status == "complete"


def test_a_spent_budget_refuses_a_fork_and_a_socket_start(alice: Any, alice_token: str, settings: Any) -> None:
    client = api(alice_token)
    parent = create(client, team_config=team(), task="go")["id"]
    assert wait_for(parent, {"complete", "error"}).status == "complete"
    created = client.post("/api/runs", {"team_config": team()}, content_type="application/json").json()
    settings.USER_MONTHLY_BUDGET_USD = 0.5
    spend(alice, "0.75")
    fork = client.post(f"/api/runs/{parent}/fork", {"after_seq": 1}, content_type="application/json")
    assert fork.status_code == 429 and "monthly budget" in fork.json()["detail"]

    async def start() -> dict[str, Any]:
        comm = await connect(f"/runs/{created['id']}?token={alice_token}")
        await receive(comm)
        await comm.send_json_to({"type": "start", "task": "go"})
        frame = await receive(comm)
        await comm.disconnect()
        return frame

    from asgiref.sync import async_to_sync

    error = async_to_sync(start)()
    assert error["type"] == "error" and "monthly budget of $0.50 is used up" in error["error"]
    assert Run.objects.get(id=created["id"]).status == "created"
