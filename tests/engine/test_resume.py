"""A run is a function of its transcript: resuming from any prefix continues exactly like an uninterrupted run."""

from __future__ import annotations

from typing import Any

import pytest

from agents_app.config import TeamConfig
from agents_app.engine import TranscriptError
from tests.engine.helpers import assistant, run, scripted, task, team, text

CALC = {"tool_calls": [{"name": "calculator", "arguments": {"expression": "6*7"}}]}
STOP = {
    "type": "or",
    "conditions": [{"type": "text_mention", "text": "TERMINATE"}, {"type": "max_message", "max_messages": 9}],
}


def round_robin() -> TeamConfig:
    return team(
        "round_robin",
        [
            assistant("a", CALC, "reflected on 42", "second thought", tools=["calculator"], reflect_on_tool_use=True),
            assistant("b", "b checks", CALC, tools=["calculator"]),
        ],
        termination=STOP,
    )


def selector() -> TeamConfig:
    return team(
        "selector",
        [
            assistant("a", "a plans", CALC, tools=["calculator"]),
            assistant("b", "b builds", "b says TERMINATE"),
        ],
        selector={"model": scripted("b", "a", "b", "a")},
        termination=STOP,
        emit_team_events=True,
    )


def swarm() -> TeamConfig:
    return team(
        "swarm",
        [
            assistant("a", {"handoff": "b"}, "a wraps up TERMINATE", handoffs=[{"target": "b"}]),
            assistant(
                "b",
                CALC,
                {"handoff": "a", "tool_calls": [{"name": "calculator", "arguments": {"expression": "1"}}]},
                tools=["calculator"],
                handoffs=[{"target": "a"}],
            ),
        ],
        termination=STOP,
    )


def summary(result: Any) -> tuple[Any, ...]:
    return result.result.outcome, result.result.stop_reason, result.result.usage.to_wire()


@pytest.mark.parametrize("make", [round_robin, selector, swarm], ids=["round_robin", "selector", "swarm"])
async def test_resume_from_every_prefix_matches_the_uninterrupted_run(make: Any) -> None:
    config = make()
    full = await run(config)
    assert full.result.outcome == "complete"
    produced = full.wire
    assert len(produced) >= 5
    for cut in range(len(produced)):
        resumed = await run(config, [task(), *produced[:cut]])
        assert resumed.wire == produced[cut:], f"diverged when resumed after {cut} messages"
        assert summary(resumed) == summary(full)


async def test_a_turn_cut_after_its_tool_request_is_completed_without_asking_the_model_again() -> None:
    config = team("round_robin", [assistant("a", CALC, "unused", tools=["calculator"])], max_turns=1)
    request = {
        "source": "a",
        "type": "ToolCallRequestEvent",
        "models_usage": {"prompt_tokens": 1, "completion_tokens": 1},
        "metadata": {},
        "content": [{"id": "x1", "name": "calculator", "arguments": '{"expression": "2+2"}'}],
    }
    result = await run(config, [task(), request])
    assert [m.type for m in result.messages] == ["ToolCallExecutionEvent", "ToolCallSummaryMessage"]
    assert result.messages[0].content[0].call_id == "x1" and result.messages[1].content == "4"
    assert result.result.usage.prompt_tokens == 1  # usage counts the stored messages passed in, too


async def test_a_finished_transcript_completes_without_new_messages() -> None:
    config = team(
        "round_robin", [assistant("a", "TERMINATE")], termination={"type": "text_mention", "text": "TERMINATE"}
    )
    full = await run(config)
    again = await run(config, [task(), *full.wire])
    assert again.messages == [] and again.result.stop_reason == "Text 'TERMINATE' mentioned"


def with_human() -> TeamConfig:
    return team(
        "round_robin",
        [
            assistant("writer", "Draft 1. Please review.", "Draft 2. Please review."),
            {"kind": "user_proxy", "name": "human", "input_prompt": "Your verdict: "},
        ],
        termination={"type": "text_mention", "text": "APPROVE"},
    )


async def test_user_proxy_turn_suspends_and_resumes_with_the_answer() -> None:
    config = with_human()
    first = await run(config)
    assert first.contents() == [("writer", "TextMessage", "Draft 1. Please review.")]
    assert [(r.source, r.prompt) for r in first.input_requests] == [("human", "Your verdict: ")]
    assert first.result.outcome == "input_required" and first.result.stop_reason is None
    assert first.events[-2] is first.input_requests[0]  # InputRequest right before the result

    transcript = [task(), *first.wire]
    unanswered = await run(config, transcript)  # resuming without an answer asks again
    assert unanswered.messages == [] and unanswered.input_requests[0].source == "human"

    transcript += [text("human", "Shorter, please.")]
    second = await run(config, transcript)
    assert second.contents() == [("writer", "TextMessage", "Draft 2. Please review.")]
    assert second.result.outcome == "input_required"

    transcript += [*second.wire, text("human", "APPROVE")]
    third = await run(config, transcript)
    assert third.messages == [] and third.result.outcome == "complete"
    assert third.result.stop_reason == "Text 'APPROVE' mentioned"


async def test_user_proxy_first_in_line_asks_before_any_model_call() -> None:
    config = team("round_robin", [{"kind": "user_proxy", "name": "human"}, assistant("a", "hi")], max_turns=2)
    result = await run(config)
    assert result.messages == [] and result.input_requests[0].prompt == "Enter your response: "
    resumed = await run(config, [task(), text("human", "go on")])
    assert resumed.contents() == [("a", "TextMessage", "hi")]
    assert resumed.result.stop_reason == "Maximum number of turns 2 reached."


def swarm_with_user(termination: dict[str, Any] | None) -> TeamConfig:
    return team(
        "swarm",
        [
            assistant(
                "agent", "Working on it.", {"handoff": "user"}, "Thanks, done TERMINATE", handoffs=[{"target": "user"}]
            ),
        ],
        termination=termination,
    )


async def test_swarm_handoff_to_user_ends_the_run_when_a_handoff_termination_fires() -> None:
    config = swarm_with_user(
        {
            "type": "or",
            "conditions": [{"type": "handoff", "target": "user"}, {"type": "text_mention", "text": "TERMINATE"}],
        }
    )
    result = await run(config)
    assert [m.type for m in result.messages][-1] == "HandoffMessage"
    assert result.result.outcome == "complete"
    assert result.result.stop_reason == "Handoff to user from agent detected."


async def test_swarm_handoff_to_user_waits_for_the_user_otherwise() -> None:
    config = swarm_with_user({"type": "text_mention", "text": "TERMINATE"})
    first = await run(config)
    assert first.result.outcome == "input_required"
    assert first.input_requests[0].source == "user"
    assert first.input_requests[0].prompt == "Transferred to user, adopting the role of user immediately."
    resumed = await run(config, [task(), *first.wire, text("user", "Here you go")])
    # The agent that handed off to the user gets the turn back.
    assert resumed.contents() == [("agent", "TextMessage", "Thanks, done TERMINATE")]
    assert resumed.result.stop_reason == "Text 'TERMINATE' mentioned"


async def test_transcripts_the_engine_cannot_continue_raise_transcript_error() -> None:
    config = team("round_robin", [assistant("a", "x")], max_turns=1)
    with pytest.raises(TranscriptError, match="empty"):
        await run(config, [])
    stranger = {
        "source": "mallory",
        "type": "ToolCallRequestEvent",
        "content": [],
        "models_usage": None,
        "metadata": {},
    }
    with pytest.raises(TranscriptError, match="mallory"):
        await run(config, [task(), stranger])
