"""Tool-call approval in the engine: the run suspends per call, decisions are stored messages, and the
calls run as decided once all are in (a rejection is the call's result, with the reason)."""

from __future__ import annotations

from typing import Any

from agents_app.engine import ApprovalRequest, CancellationToken, TeamRunner, ToolCallExecutionEvent
from tests.engine.helpers import Run, assistant, task, team


def approval_team(policy: Any, calls: list[dict[str, Any]]) -> Any:
    return team(
        "round_robin",
        [assistant("worker", {"tool_calls": calls}, "done", tools=["calculator"], tool_approval=policy)],
        max_turns=1,
    )


async def drive(config: Any, transcript: list[dict[str, Any]]) -> tuple[Run, list[ApprovalRequest]]:
    events = [e async for e in TeamRunner(config).run(transcript, cancel=CancellationToken())]
    return Run(events), [e for e in events if isinstance(e, ApprovalRequest)]


def decision(request: ApprovalRequest, verdict: str, arguments: Any = None, reason: str = "") -> dict[str, Any]:
    content = {"call_id": request.call_id, "tool": request.tool, "decision": verdict, "reason": reason, "by": "alice"}
    content["arguments"] = request.arguments if arguments is None else arguments
    return {"source": request.source, "type": "ToolApprovalEvent", "content": content, "metadata": {}}


CALC = [{"name": "calculator", "arguments": {"expression": "6 * 7"}}]


async def test_never_runs_the_call_at_once() -> None:
    run, asked = await drive(approval_team("never", CALC), [task()])
    assert not asked and run.result.outcome == "complete"


async def test_always_suspends_before_the_call_and_runs_it_once_approved() -> None:
    config = approval_team("always", CALC)
    run, asked = await drive(config, [task()])
    assert run.result.outcome == "input_required" and [m.type for m in run.messages] == ["ToolCallRequestEvent"]
    (request,) = asked
    assert (request.source, request.tool, request.server, request.arguments) == (
        "worker",
        "calculator",
        "",
        {"expression": "6 * 7"},
    )
    assert request.schema["properties"]["expression"]["type"] == "string"
    resumed, again = await drive(config, [task(), *run.wire, decision(request, "approve")])
    assert not again and resumed.result.outcome == "complete"
    executed = next(m for m in resumed.messages if isinstance(m, ToolCallExecutionEvent))
    assert executed.content[0].content == "42"


async def test_edited_arguments_are_what_runs() -> None:
    config = approval_team(["calculator"], CALC)
    run, (request,) = await drive(config, [task()])
    resumed, _ = await drive(config, [task(), *run.wire, decision(request, "approve", {"expression": "1 + 1"})])
    executed = next(m for m in resumed.messages if isinstance(m, ToolCallExecutionEvent))
    assert executed.content[0].content == "2"


async def test_a_rejection_reaches_the_model_as_the_result_with_the_reason() -> None:
    config = approval_team("always", CALC)
    run, (request,) = await drive(config, [task()])
    resumed, _ = await drive(config, [task(), *run.wire, decision(request, "reject", reason="not today")])
    executed = next(m for m in resumed.messages if isinstance(m, ToolCallExecutionEvent))
    assert executed.content[0].is_error and executed.content[0].content == "Rejected by alice: not today"


async def test_parallel_calls_are_approved_one_by_one() -> None:
    calls = [
        {"name": "calculator", "arguments": {"expression": "1 + 1"}},
        {"name": "calculator", "arguments": {"expression": "2 + 2"}},
    ]
    config = approval_team("always", calls)
    run, (first,) = await drive(config, [task()])
    transcript = [task(), *run.wire, decision(first, "approve")]
    middle, (second,) = await drive(config, transcript)
    assert second.call_id != first.call_id and second.arguments == {"expression": "2 + 2"}
    assert middle.result.outcome == "input_required" and not middle.messages
    done, asked = await drive(config, [*transcript, decision(second, "reject", reason="enough")])
    assert not asked
    executed = next(m for m in done.messages if isinstance(m, ToolCallExecutionEvent))
    assert [(r.content, r.is_error) for r in executed.content] == [("2", False), ("Rejected by alice: enough", True)]
