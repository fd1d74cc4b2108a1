"""Each condition on hand-made deltas, with AutoGen's stop-reason texts; team-level behaviour is in test_teams."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import TypeAdapter

from agents_app.config import TerminationConfig
from agents_app.engine import (
    FunctionCall,
    FunctionExecutionResult,
    HandoffMessage,
    RequestUsage,
    StopMessage,
    TextMessage,
    ToolCallExecutionEvent,
    ToolCallRequestEvent,
    ToolCallSummaryMessage,
)
from agents_app.engine.terminations import Condition, ExternalFlag, build_condition

ADAPTER: TypeAdapter[Any] = TypeAdapter(TerminationConfig)


def condition(spec: dict[str, Any], elapsed: float = 0.0, flag: ExternalFlag | None = None) -> Condition:
    return build_condition(ADAPTER.validate_python(spec), elapsed=lambda: elapsed, external=flag or ExternalFlag())


def say(source: str, content: str, usage: RequestUsage | None = None) -> TextMessage:
    return TextMessage(source=source, content=content, models_usage=usage)


def tool_turn(source: str, name: str) -> list[Any]:
    return [
        ToolCallRequestEvent(source=source, content=[FunctionCall("c", name, "{}")]),
        ToolCallExecutionEvent(source=source, content=[FunctionExecutionResult("c", name, "ok")]),
        ToolCallSummaryMessage(source=source, content="ok"),
    ]


def test_max_message_counts_chat_messages_only_unless_asked() -> None:
    c = condition({"type": "max_message", "max_messages": 3})
    assert c([say("user", "task")]) is None
    assert c(tool_turn("a", "f")) is None  # events do not count: 2 messages so far
    assert c([say("b", "x")]) == "Maximum number of messages 3 reached, current message count: 3"
    with_events = condition({"type": "max_message", "max_messages": 3, "include_agent_event": True})
    assert with_events(tool_turn("a", "f")) == "Maximum number of messages 3 reached, current message count: 3"


def test_text_mention_with_and_without_sources() -> None:
    assert condition({"type": "text_mention", "text": "DONE"})([say("a", "all DONE")]) == "Text 'DONE' mentioned"
    only_b = condition({"type": "text_mention", "text": "DONE", "sources": ["b"]})
    assert only_b([say("a", "DONE")]) is None
    assert only_b([say("b", "DONE")]) == "Text 'DONE' mentioned"


def test_stop_message() -> None:
    c = condition({"type": "stop_message"})
    assert c([say("a", "stop")]) is None
    assert c([StopMessage(source="a", content="bye")]) == "Stop message received"


def test_token_usage_accumulates_across_deltas() -> None:
    c = condition({"type": "token_usage", "max_total_token": 20})
    assert c([say("a", "x", RequestUsage(5, 5))]) is None
    assert c([say("b", "y", RequestUsage(6, 4))]) == (
        "Token usage limit reached, total token count: 20, prompt token count: 11, completion token count: 9."
    )
    assert condition({"type": "token_usage", "max_completion_token": 3})([say("a", "x", RequestUsage(0, 3))])


def test_timeout_uses_the_elapsed_clock() -> None:
    assert condition({"type": "timeout", "timeout_seconds": 5}, elapsed=4.9)([say("a", "x")]) is None
    assert condition({"type": "timeout", "timeout_seconds": 5}, elapsed=5)([]) == "Timeout of 5.0 seconds reached"


def test_handoff() -> None:
    c = condition({"type": "handoff", "target": "user"})
    assert c([HandoffMessage(source="a", content="to b", target="b")]) is None
    assert c([HandoffMessage(source="a", content="to you", target="user")]) == "Handoff to user from a detected."


def test_source_match() -> None:
    c = condition({"type": "source_match", "sources": ["critic"]})
    assert c([say("writer", "x")]) is None
    assert c([say("critic", "x")]) == "'critic' answered"


def test_text_message_with_source() -> None:
    c = condition({"type": "text_message", "source": "b"})
    assert c([say("a", "x"), *tool_turn("b", "f")]) is None
    assert c([say("b", "x")]) == "Text message received from 'b'"


def test_function_call() -> None:
    c = condition({"type": "function_call", "function_name": "calculator"})
    assert c(tool_turn("a", "current_time")) is None
    assert c(tool_turn("a", "calculator")) == "Function 'calculator' was executed."


def test_external() -> None:
    flag = ExternalFlag()
    c = condition({"type": "external"}, flag=flag)
    assert c([say("a", "x")]) is None
    flag.set()
    assert c([]) == "External termination requested"


def test_and_needs_every_condition_across_deltas() -> None:
    c = condition(
        {
            "type": "and",
            "conditions": [{"type": "text_mention", "text": "APPROVE"}, {"type": "max_message", "max_messages": 3}],
        }
    )
    assert c([say("user", "task")]) is None
    assert c([say("a", "APPROVE")]) is None  # mention fired, count is 2
    assert (
        c([say("b", "ok")])
        == "Text 'APPROVE' mentioned, Maximum number of messages 3 reached, current message count: 3"
    )


@pytest.mark.parametrize(
    "text, expected",
    [
        ("TERMINATE", "Text 'TERMINATE' mentioned"),
        ("nothing", None),
    ],
)
def test_or_fires_on_any(text: str, expected: str | None) -> None:
    c = condition(
        {
            "type": "or",
            "conditions": [{"type": "text_mention", "text": "TERMINATE"}, {"type": "max_message", "max_messages": 5}],
        }
    )
    assert c([say("a", text)]) == expected


def test_or_reports_every_condition_that_fired_together() -> None:
    c = condition(
        {
            "type": "or",
            "conditions": [{"type": "text_mention", "text": "X"}, {"type": "max_message", "max_messages": 1}],
        }
    )
    assert c([say("a", "X")]) == "Text 'X' mentioned, Maximum number of messages 1 reached, current message count: 1"
