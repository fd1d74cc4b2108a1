"""Imported AutoGen teams and the gallery teams actually run on the engine (scripted models, unpaced)."""

from __future__ import annotations

from typing import Any

import pytest

from agents_app.autogen import import_team
from agents_app.config import ScriptedModel, TeamConfig
from agents_app.engine import CancellationToken, InputRequest, StoredMessage, TaskResult, TeamRunner
from agents_app.gallery import load_gallery
from tests.autogen.documents import load_fixture

SELECTOR = "__selector__"
LONG_REPLY = " ".join(["word"] * 250) + " TERMINATE"  # over complex_termination's 200 completion tokens

# Per fixture: scripted replies for each agent (and the selector), then a fragment of the stop reason
# (None: the run must suspend for human input).
FIXTURE_SCRIPTS: dict[str, tuple[dict[str, list[Any]], str | None]] = {
    "roundrobin_calculator": (
        {
            "assistant_agent": [
                {"tool_calls": [{"name": "calculator", "arguments": {"expression": "6 * 7"}}]},
                "It is 42. TERMINATE",
            ]
        },
        "TERMINATE",
    ),
    "roundrobin_human": ({"assistant_agent": ["Here is a draft. What do you think?"]}, None),
    "selector_writer_critic": (
        {SELECTOR: ["writer", "critic_agent"], "writer": ["A draft."], "critic_agent": ["APPROVE"]},
        "APPROVE",
    ),
    "swarm_handoff": (
        {
            "Alice": [{"handoff": "Bob"}, {"handoff": "user"}],
            "Bob": [
                {"tool_calls": [{"name": "calculator", "arguments": {"expression": "1 + 1"}}]},
                {"handoff": "Alice"},
            ],
        },
        "Handoff to user",
    ),
    "complex_termination": ({"assistant_agent": [LONG_REPLY]}, "Token usage limit reached"),
}

GALLERY_ENDINGS = {
    "writer_critic": "APPROVE",
    "calculator": "TERMINATE",
    "selector": "APPROVE",
    "swarm": "Handoff to user",
    "long_story": "Maximum number of messages",
}


def scripted(config: TeamConfig, replies: dict[str, list[Any]]) -> TeamConfig:
    """The same team with every model swapped for an unpaced scripted one."""
    data = config.model_dump()
    for agent in data["participants"]:
        if agent["kind"] == "assistant":
            agent["model"] = _model(replies[agent["name"]])
    if data["selector"] is not None:
        data["selector"]["model"] = _model(replies[SELECTOR])
    return TeamConfig.model_validate(data)


def _model(replies: list[Any]) -> dict[str, Any]:
    return ScriptedModel(provider="scripted", replies=replies, tokens_per_second=0, loop=False).model_dump()


def unpaced(config: TeamConfig) -> TeamConfig:
    data = config.model_dump()
    models = [a["model"] for a in data["participants"] if a["kind"] == "assistant"]
    models += [data["selector"]["model"]] if data["selector"] else []
    for model in models:
        model["tokens_per_second"] = 0
    return TeamConfig.model_validate(data)


def user_message(text: str) -> dict[str, Any]:
    return {"source": "user", "type": "TextMessage", "content": text, "models_usage": None, "metadata": {}}


async def run(config: TeamConfig, transcript: list[dict[str, Any]]) -> tuple[list[StoredMessage], TaskResult]:
    messages: list[StoredMessage] = []
    async for event in TeamRunner(config, env={}).run(transcript, cancel=CancellationToken()):
        if isinstance(event, StoredMessage):
            messages.append(event)
        elif isinstance(event, TaskResult):
            return messages, event
        else:
            assert isinstance(event, InputRequest) or type(event).__name__ == "MessageChunk"
    raise AssertionError("the run ended without a TaskResult")


@pytest.mark.parametrize("version", ["0.5.7", "0.7.5"])
@pytest.mark.parametrize("name", sorted(FIXTURE_SCRIPTS))
async def test_imported_fixture_runs(version: str, name: str) -> None:
    replies, ending = FIXTURE_SCRIPTS[name]
    config = scripted(import_team(load_fixture(version, name), warnings=[]), replies)
    messages, result = await run(config, [user_message("task")])
    assert messages
    if ending is None:
        assert result.outcome == "input_required"
    else:
        assert result.outcome == "complete" and result.stop_reason is not None and ending in result.stop_reason


async def test_imported_swarm_uses_the_registered_tool() -> None:
    replies, _ = FIXTURE_SCRIPTS["swarm_handoff"]
    config = scripted(import_team(load_fixture("0.7.5", "swarm_handoff"), warnings=[]), replies)
    messages, result = await run(config, [user_message("task")])
    executions = [m for m in messages if m.type == "ToolCallExecutionEvent" and m.source == "Bob"]
    assert executions and executions[0].content_wire()[0]["content"] == "2"
    assert result.stop_reason is not None and "user" in result.stop_reason


@pytest.mark.parametrize("name", sorted(GALLERY_ENDINGS))
async def test_gallery_team_runs_to_its_termination(name: str) -> None:
    _, result = await run(unpaced(load_gallery()[name]), [user_message("task")])
    assert result.outcome == "complete"
    assert result.stop_reason is not None and GALLERY_ENDINGS[name] in result.stop_reason


async def test_gallery_human_in_the_loop_asks_then_ends_on_terminate() -> None:
    config = unpaced(load_gallery()["human_in_the_loop"])
    transcript = [user_message("Draft a picnic announcement.")]
    messages, result = await run(config, transcript)
    assert result.outcome == "input_required"
    assert [m.source for m in messages] == ["assistant"]
    transcript += [m.to_wire() for m in messages] + [user_message("Mention the bandstand.")]
    messages, result = await run(config, transcript)
    assert result.outcome == "input_required" and "bandstand" in messages[0].to_text()
    transcript += [m.to_wire() for m in messages] + [user_message("TERMINATE")]
    _, result = await run(config, transcript)
    assert result.outcome == "complete" and result.stop_reason is not None and "TERMINATE" in result.stop_reason


@pytest.mark.parametrize("name", sorted(n for n in load_gallery() if not n.endswith("_openai")))
async def test_offline_gallery_teams_answer_the_task_they_were_given(name: str) -> None:
    question = "How do I add a field to a Django model?"
    messages, _ = await run(unpaced(load_gallery()[name]), [user_message(question)])
    replies = [m.to_text() for m in messages if m.source != "user" and m.type == "TextMessage"]
    assert replies and any(question in reply for reply in replies)
    assert not any("sky" in reply.lower() for reply in replies)
