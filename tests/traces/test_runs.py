"""Real runs record their trace through the executor: one tree across a wait for a person and a stop."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.runs.test_api import api, create, first_chunk_of, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("inline_runtime")]

LONG = " ".join(f"word{i}" for i in range(400))
TEAM = {
    "name": "tracers",
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
                "loop": False,
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
                "tokens_per_second": 40,
                "loop": False,
                "replies": [{"content": "Which one?", "handoff": "user"}, LONG],
            },
        },
    ],
    "max_turns": 10,
}


def trace_of(client: Client, run_id: int) -> dict[str, Any]:
    response = client.get(f"/api/runs/{run_id}/trace")
    assert response.status_code == 200, response.content
    return response.json()  # type: ignore[no-any-return]


def test_a_team_run_with_a_tool_a_handoff_an_answer_and_a_stop_is_one_tree(alice: Any, alice_token: str) -> None:
    client = api(alice_token)
    run_id = create(client, team_config=TEAM, task="compute it")["id"]
    waiting = wait_for(run_id, {"awaiting_input", "error", "complete"})
    assert waiting.status == "awaiting_input", waiting.error
    streaming = first_chunk_of(run_id, "bob")
    answer = client.post(f"/api/runs/{run_id}/input", {"response": "the first"}, content_type="application/json")
    assert answer.status_code == 200, answer.content
    assert streaming.wait(30)
    stop = client.post(f"/api/runs/{run_id}/stop", {"reason": "enough"}, content_type="application/json")
    assert stop.status_code == 200, stop.content
    assert wait_for(run_id, {"stopped", "error", "complete"}).status == "stopped"

    trace = trace_of(client, run_id)
    spans = trace["spans"]
    by_id = {s["span_id"]: s for s in spans}
    assert {s["kind"] for s in spans} >= {
        "run", "enqueue", "queue", "execution", "turn", "model", "tool", "handoff", "input"
    }  # fmt: skip
    assert all(s["status"] != "open" for s in spans), [s["name"] for s in spans if s["status"] == "open"]
    (root,) = [s for s in spans if s["kind"] == "run"]
    assert root["parent_id"] == "" and root["name"] == "invoke_workflow tracers"
    assert root["attributes"]["playground.run.status"] == "stopped"
    assert all(s["parent_id"] in by_id for s in spans if s is not root)

    # Two executions (before and after the answer), each after its queue wait, under the root.
    executions = [s for s in spans if s["kind"] == "execution"]
    assert [e["attributes"]["playground.attempt"] for e in executions] == [1, 2]
    assert all(e["parent_id"] == root["span_id"] for e in executions)
    assert len([s for s in spans if s["kind"] == "queue"]) == 2
    first, second = (e["span_id"] for e in executions)

    # The first execution: alice's turn (a model call asking for the tool, the tool, a hand-off to bob), bob's
    # turn ending in a hand-off to the user; then the wait for the answer, linked to the answer's message.
    turns = {s["span_id"]: s for s in spans if s["kind"] == "turn"}
    assert [t["attributes"]["gen_ai.agent.name"] for t in turns.values()] == ["alice", "bob", "bob"]
    assert [t["parent_id"] for t in turns.values()] == [first, first, second]
    (tool,) = [s for s in spans if s["kind"] == "tool" and s["attributes"]["gen_ai.tool.name"] == "calculator"]
    assert turns[tool["parent_id"]]["attributes"]["gen_ai.agent.name"] == "alice" and tool["status"] == "ok"
    assert tool["message_seq"] == 3  # the task 1, the tool call request 2, its result 3
    handoffs = [s for s in spans if s["kind"] == "handoff"]
    assert [h["attributes"]["playground.handoff.target"] for h in handoffs] == ["bob", "user"]
    (wait,) = [s for s in spans if s["kind"] == "input"]
    messages = client.get(f"/api/runs/{run_id}/messages").json()["items"]
    (answered,) = [m for m in messages if m["content"] == "the first"]
    assert wait["message_seq"] == answered["seq"] and wait["parent_id"] == root["span_id"]
    assert wait["attributes"]["playground.wait.source"] == "user"  # a swarm hands off to the user

    # Model calls carry the GenAI numbers; the one the stop cut short ended with the reason.
    models = [s for s in spans if s["kind"] == "model"]
    assert all(m["attributes"]["gen_ai.provider.name"] == "scripted" for m in models)
    assert all("gen_ai.response.time_to_first_chunk" in m["attributes"] for m in models[:-1])
    assert models[0]["attributes"]["gen_ai.response.finish_reasons"] == ["tool_calls"]
    assert models[-1]["parent_id"] in turns and models[-1]["status"] == "error"
    summary = trace["summary"]
    assert summary["executions"] == 2 and summary["handoffs"] == 2 and summary["tool_calls"] >= 1
    assert summary["human_wait"] > 0 and summary["cost"] == 0.0  # the scripted model is free


def test_a_wait_for_a_tool_approval_is_an_approval_span_linked_to_the_decision(alice: Any, alice_token: str) -> None:
    model = {
        "provider": "scripted",
        "tokens_per_second": 0,
        "replies": [{"tool_calls": [{"name": "calculator", "arguments": {"expression": "6*7"}}]}, "done"],
    }
    agent = {"kind": "assistant", "name": "worker", "model": model, "tools": ["calculator"], "tool_approval": "always"}
    config = {"kind": "round_robin", "name": "approvals", "participants": [agent], "max_turns": 1}
    client = api(alice_token)
    run_id = create(client, team_config=config, task="compute")["id"]
    waiting = wait_for(run_id, {"awaiting_input", "error", "complete"})
    assert waiting.status == "awaiting_input", waiting.error
    decided = client.post(
        f"/api/runs/{run_id}/approval",
        {"request_id": waiting.input_request_id, "decision": "approve"},
        content_type="application/json",
    )
    assert decided.status_code == 200, decided.content
    assert wait_for(run_id, {"complete", "error"}).status == "complete"

    spans = trace_of(client, run_id)["spans"]
    assert all(s["status"] != "open" for s in spans)
    (wait,) = [s for s in spans if s["kind"] in ("approval", "input")]
    assert wait["kind"] == "approval" and wait["attributes"]["playground.wait.source"] == "worker"
    assert wait["message_seq"] == decided.json()["seq"]  # the stored decision
    (tool,) = [s for s in spans if s["kind"] == "tool"]
    assert tool["status"] == "ok" and tool["start"] >= wait["end"]  # the call ran once it was approved
    assert [e["attributes"]["playground.attempt"] for e in spans if e["kind"] == "execution"] == [1, 2]
