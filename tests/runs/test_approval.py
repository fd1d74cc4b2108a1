"""Tool-call approval through the socket and REST: the run waits like for human input, the decision is
a stored message, and only the run's owner decides."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.test import Client
from django.utils import timezone

from runs import recovery
from runs.models import Message, Run
from tests.runs.conftest import create_run
from tests.runs.wsclient import connect, receive, receive_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("embedded_runtime")]


def calc_team(*expressions: str, **agent: Any) -> dict[str, Any]:
    calls = [{"name": "calculator", "arguments": {"expression": e}} for e in expressions]
    model = {"provider": "scripted", "replies": [{"tool_calls": calls}, "done"], "tokens_per_second": 0}
    participant = {"kind": "assistant", "name": "worker", "model": model, "tools": ["calculator"]}
    participant.update({"tool_approval": "always", "reflect_on_tool_use": True, **agent})
    return {"kind": "round_robin", "name": "approvals", "participants": [participant], "max_turns": 1}


async def started(owner: Any, token: str, config: dict[str, Any]) -> tuple[int, Any, dict[str, Any]]:
    run_id = await sync_to_async(create_run)(owner, config)
    comm = await connect(f"/runs/{run_id}?token={token}")
    await receive(comm)
    await comm.send_json_to({"type": "start", "task": "compute"})
    return run_id, comm, await receive_until(comm, {"tool_approval_request"})


async def results(run_id: int) -> list[tuple[str, bool]]:
    message = await Message.objects.aget(run_id=run_id, type="ToolCallExecutionEvent")
    return [(r["content"], r["is_error"]) for r in message.content]


async def test_approve_runs_the_call_and_the_decision_is_a_stored_message(alice: Any, alice_token: str) -> None:
    run_id, comm, request = await started(alice, alice_token, calc_team("6 * 7"))
    assert (request["agent"], request["tool"], request["server"]) == ("worker", "calculator", "")
    assert request["arguments"] == {"expression": "6 * 7"} and request["schema"]["type"] == "object"
    run = await Run.objects.aget(id=run_id)
    assert run.status == "awaiting_input" and run.lease_owner == ""  # the worker was freed
    assert run.input_request["kind"] == "tool_approval"  # type: ignore[index]
    await comm.send_json_to({"type": "tool_approval", "request_id": request["request_id"], "decision": "approve"})
    frames: list[dict[str, Any]] = []
    assert (await receive_until(comm, {"result", "completion"}, keep=frames))["type"] == "result"
    decision = next(f["data"] for f in frames if f["type"] == "message" and f["data"]["type"] == "ToolApprovalEvent")
    content = decision["content"]
    assert decision["source"] == "worker"
    assert (content["decision"], content["by"], content["edited"], content["tool"]) == (
        "approve",
        "alice",
        False,
        "calculator",
    )
    assert await results(run_id) == [("42", False)]
    await comm.disconnect()


async def test_reject_with_reason_reaches_the_model_as_the_result(alice: Any, alice_token: str) -> None:
    run_id, comm, request = await started(alice, alice_token, calc_team("6 * 7"))
    frame = {"type": "tool_approval", "request_id": request["request_id"], "decision": "reject", "reason": "too costly"}
    await comm.send_json_to(frame)
    assert (await receive_until(comm, {"result", "completion"}))["type"] == "result"
    assert await results(run_id) == [("Rejected by alice: too costly", True)]
    await comm.disconnect()


async def test_edited_arguments_valid_run_invalid_are_refused_and_stay_pending(alice: Any, alice_token: str) -> None:
    run_id, comm, request = await started(alice, alice_token, calc_team("6 * 7"))
    bad = {
        "type": "tool_approval",
        "request_id": request["request_id"],
        "decision": "approve",
        "arguments": {"expression": 5},
    }
    await comm.send_json_to(bad)
    error = await receive_until(comm, {"error"})
    assert "tool approval refused" in error["error"] and error["errors"][0]["path"] == "arguments.expression"
    assert (await Run.objects.aget(id=run_id)).status == "awaiting_input"
    good = {**bad, "arguments": {"expression": "1 + 2"}}
    await comm.send_json_to(good)
    frames: list[dict[str, Any]] = []
    assert (await receive_until(comm, {"result", "completion"}, keep=frames))["type"] == "result"
    assert await results(run_id) == [("3", False)]
    decision = await Message.objects.aget(run_id=run_id, type="ToolApprovalEvent")
    assert decision.content["edited"] is True and decision.content["arguments"] == {"expression": "1 + 2"}
    await comm.disconnect()


async def test_two_parallel_calls_are_approved_one_by_one(alice: Any, alice_token: str) -> None:
    run_id, comm, first = await started(alice, alice_token, calc_team("1 + 1", "2 + 2"))
    await comm.send_json_to({"type": "tool_approval", "request_id": first["request_id"], "decision": "approve"})
    second = await receive_until(comm, {"tool_approval_request"})
    assert second["call_id"] != first["call_id"] and second["arguments"] == {"expression": "2 + 2"}
    await comm.send_json_to({"type": "tool_approval", "request_id": first["request_id"], "decision": "approve"})
    assert "no longer pending" in (await receive_until(comm, {"error"}))["error"]  # the old request is gone
    await comm.send_json_to({"type": "tool_approval", "request_id": second["request_id"], "decision": "reject"})
    assert (await receive_until(comm, {"result", "completion"}))["type"] == "result"
    assert await results(run_id) == [("2", False), ("Rejected by alice: no reason given", True)]
    await comm.disconnect()


async def test_request_is_resent_on_reconnect_and_answered_there(alice: Any, alice_token: str) -> None:
    run_id, comm, request = await started(alice, alice_token, calc_team("6 * 7"))
    await comm.disconnect()
    run = await Run.objects.aget(id=run_id)
    comm = await connect(f"/runs/{run_id}?token={alice_token}&after_seq={run.last_seq}")
    system = await receive(comm)
    assert system["run"]["input_request"]["tool_call"]["tool"] == "calculator"
    again = await receive(comm)
    assert again["type"] == "tool_approval_request" and again["request_id"] == request["request_id"]
    await comm.send_json_to({"type": "tool_approval", "request_id": again["request_id"], "decision": "approve"})
    assert (await receive_until(comm, {"result", "completion"}))["type"] == "result"
    await comm.disconnect()


async def test_deadline_rejects_the_call_and_the_run_goes_on(alice: Any, alice_token: str) -> None:
    config = calc_team("6 * 7")
    config["human_input"] = {"deadline_seconds": 3600}
    run_id, comm, request = await started(alice, alice_token, config)
    assert request["deadline"] is not None
    await Run.objects.filter(id=run_id).aupdate(input_deadline=timezone.now() - timedelta(seconds=1))
    counts = await sync_to_async(recovery.sweep)()
    # This sweep applies the deadline, unless the services pass's worker's periodic sweep (every 2 s, on the
    # same database) came first: either way it is applied once, and the call's one result says so.
    assert counts["deadlines"] == 1 or (await Run.objects.aget(id=run_id)).status != "awaiting_input"
    assert (await receive_until(comm, {"result", "completion"}))["type"] == "result"
    assert await results(run_id) == [("Rejected by deadline: No decision before the deadline", True)]
    await comm.disconnect()


async def test_other_users_cannot_decide(alice: Any, alice_token: str, bob: Any, bob_token: str) -> None:
    run_id, comm, request = await started(alice, alice_token, calc_team("6 * 7"))
    intruder = await connect(f"/runs/{run_id}?token={bob_token}")
    assert (await receive(intruder))["type"] == "error"
    assert (await intruder.receive_output(timeout=5))["code"] == 4003
    body = {"request_id": request["request_id"], "decision": "approve"}
    bob_api = Client(HTTP_AUTHORIZATION=f"Bearer {bob_token}")
    response = await sync_to_async(bob_api.post)(f"/api/runs/{run_id}/approval", body, content_type="application/json")
    assert response.status_code == 404
    assert (await Run.objects.aget(id=run_id)).status == "awaiting_input"
    await comm.disconnect()


async def test_rest_approval_and_bad_arguments_400(alice: Any, alice_token: str) -> None:
    run_id, comm, request = await started(alice, alice_token, calc_team("6 * 7"))
    api = Client(HTTP_AUTHORIZATION=f"Bearer {alice_token}")
    post = sync_to_async(api.post)
    url = f"/api/runs/{run_id}/approval"
    bad = {"request_id": request["request_id"], "decision": "approve", "arguments": {"nope": 1}}
    refused = await post(url, bad, content_type="application/json")
    assert refused.status_code == 400 and refused.json()["errors"][0]["path"].startswith("arguments")
    detail = await sync_to_async(api.get)(f"/api/runs/{run_id}")
    assert detail.json()["input_request"]["tool_call"]["arguments"] == {"expression": "6 * 7"}
    ok = await post(url, {"request_id": request["request_id"], "decision": "approve"}, content_type="application/json")
    assert ok.status_code == 200 and ok.json()["type"] == "ToolApprovalEvent"
    assert (await receive_until(comm, {"result", "completion"}))["type"] == "result"
    input_instead = await post(f"/api/runs/{run_id}/input", {"response": "x"}, content_type="application/json")
    assert input_instead.status_code == 409
    await comm.disconnect()
