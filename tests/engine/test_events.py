from __future__ import annotations

import json

import pytest

from agents_app.engine import (
    FunctionCall,
    FunctionExecutionResult,
    HandoffMessage,
    MessageChunk,
    RequestUsage,
    StopMessage,
    TextMessage,
    ToolCallExecutionEvent,
    ToolCallRequestEvent,
    ToolCallSummaryMessage,
    TranscriptError,
    Usage,
    message_from_wire,
)

MESSAGES = [
    TextMessage(source="user", content="hello"),
    TextMessage(source="a", content="draft", models_usage=RequestUsage(10, 5), metadata={"k": "v"}),
    TextMessage(source="a", content="half a sen", partial=True),
    ToolCallRequestEvent(source="a", content=[FunctionCall("c1", "calculator", '{"expression": "1+1"}')]),
    ToolCallExecutionEvent(source="a", content=[FunctionExecutionResult("c1", "calculator", "2", False)]),
    ToolCallSummaryMessage(source="a", content="2"),
    HandoffMessage(source="a", content="Transferred to b", target="b"),
    StopMessage(source="a", content="stop"),
]


@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: m.type)
def test_wire_round_trip_through_json(message: object) -> None:
    wire = message.to_wire()  # type: ignore[attr-defined]
    again = message_from_wire(json.loads(json.dumps(wire)))
    assert again == message
    assert set(wire) == {"source", "type", "content", "models_usage", "metadata", "partial", "target"}


def test_wire_shapes_use_autogen_names() -> None:
    request, execution, handoff = MESSAGES[3].to_wire(), MESSAGES[4].to_wire(), MESSAGES[6].to_wire()
    assert request["type"] == "ToolCallRequestEvent"
    assert request["content"] == [{"id": "c1", "name": "calculator", "arguments": '{"expression": "1+1"}'}]
    assert execution["content"] == [{"call_id": "c1", "name": "calculator", "content": "2", "is_error": False}]
    assert handoff["target"] == "b"
    assert MESSAGES[1].to_wire()["models_usage"] == {"prompt_tokens": 10, "completion_tokens": 5}
    assert MESSAGES[2].to_wire()["partial"] is True and MESSAGES[2].to_wire()["metadata"] == {}
    assert MESSAGES[0].to_wire()["target"] == ""
    assert MessageChunk("a", "tok").to_wire() == {
        "source": "a",
        "content": "tok",
        "type": "ModelClientStreamingChunkEvent",
    }


@pytest.mark.parametrize(
    "bad",
    [
        {"type": "TextMessage", "content": "x"},
        {"source": "a", "type": "Nope", "content": ""},
        {"source": "a", "type": "ToolCallRequestEvent", "content": [{"name": "x"}]},
        "not a dict",
    ],
)
def test_bad_wire_dicts_raise_transcript_error(bad: object) -> None:
    with pytest.raises(TranscriptError):
        message_from_wire(bad)  # type: ignore[arg-type]


def test_usage_totals_and_per_agent_breakdown() -> None:
    usage = Usage.of(
        [
            TextMessage(source="a", content="x", models_usage=RequestUsage(3, 4)),
            TextMessage(
                source="b",
                content="y",
                models_usage=RequestUsage(1, 1),
                metadata={"selector_prompt_tokens": "7", "selector_completion_tokens": "1"},
            ),
            TextMessage(source="a", content="z", models_usage=RequestUsage(2, 0)),
        ]
    )
    assert usage.to_wire() == {
        "prompt_tokens": 13,
        "completion_tokens": 6,
        "total": 19,
        "per_agent": {
            "a": {"prompt_tokens": 5, "completion_tokens": 4, "total": 9},
            "b": {"prompt_tokens": 1, "completion_tokens": 1, "total": 2},
            "selector": {"prompt_tokens": 7, "completion_tokens": 1, "total": 8},
        },
    }
