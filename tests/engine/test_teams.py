"""Teams on the scripted model: turn order, tools, handoffs, terminations and usage."""

from __future__ import annotations

from agents_app.engine import CancellationToken, TeamRunner
from tests.engine.helpers import assistant, run, scripted, task, team, text


def calc(expression: str) -> dict[str, object]:
    return {"tool_calls": [{"name": "calculator", "arguments": {"expression": expression}}]}


async def test_round_robin_takes_turns_and_streams_chunks() -> None:
    config = team("round_robin", [assistant("a", "one from a"), assistant("b", "one from b")], max_turns=3)
    result = await run(config)
    assert result.contents() == [
        ("a", "TextMessage", "one from a"),
        ("b", "TextMessage", "one from b"),
        ("a", "TextMessage", "one from a"),
    ]
    assert result.result.outcome == "complete"
    assert result.result.stop_reason == "Maximum number of turns 3 reached."
    assert "".join(c.content for c in result.chunks if c.source == "b") == "one from b"
    assert result.result.usage.per_agent["a"].completion_tokens == 6


async def test_text_mention_ends_the_run_and_the_task_counts_as_a_message() -> None:
    config = team(
        "round_robin",
        [assistant("a", "draft"), assistant("b", "good TERMINATE")],
        termination={
            "type": "or",
            "conditions": [{"type": "text_mention", "text": "TERMINATE"}, {"type": "max_message", "max_messages": 10}],
        },
    )
    result = await run(config)
    assert [m.source for m in result.messages] == ["a", "b"]
    assert result.result.stop_reason == "Text 'TERMINATE' mentioned"

    counted = team("round_robin", [assistant("a", "x")], termination={"type": "max_message", "max_messages": 3})
    result = await run(counted)
    assert len(result.messages) == 2  # the task is the first of the 3 messages
    assert result.result.stop_reason == "Maximum number of messages 3 reached, current message count: 3"


async def test_and_termination_in_a_team() -> None:
    config = team(
        "round_robin",
        [assistant("a", "APPROVE"), assistant("b", "noted")],
        termination={
            "type": "and",
            "conditions": [{"type": "text_mention", "text": "APPROVE"}, {"type": "source_match", "sources": ["b"]}],
        },
    )
    result = await run(config)
    assert [m.source for m in result.messages] == ["a", "b"]
    assert result.result.stop_reason == "Text 'APPROVE' mentioned, 'b' answered"


async def test_timeout_counts_time_before_a_resume() -> None:
    config = team("round_robin", [assistant("a", "x")], termination={"type": "timeout", "timeout_seconds": 30})
    result = await run(config, elapsed_before=31.0)
    assert result.messages == []
    assert result.result.stop_reason == "Timeout of 30.0 seconds reached"
    assert result.result.duration >= 31.0


async def test_external_termination_stops_after_the_current_turn() -> None:
    config = team("round_robin", [assistant("a", "x"), assistant("b", "y")], termination={"type": "external"})
    runner = TeamRunner(config, env={})
    events = []
    async for event in runner.run([task()], cancel=CancellationToken()):
        events.append(event)
        if getattr(event, "type", None) == "TextMessage":
            runner.external_termination.set()
    assert [e.source for e in events if getattr(e, "type", None) == "TextMessage"] == ["a"]
    assert events[-1].stop_reason == "External termination requested"


async def test_token_usage_and_function_call_terminations_in_a_team() -> None:
    config = team(
        "round_robin",
        [assistant("a", "one two three four")],
        termination={"type": "token_usage", "max_completion_token": 8},
    )
    result = await run(config)
    assert len(result.messages) == 2
    assert result.result.stop_reason.startswith("Token usage limit reached, total token count:")

    config = team(
        "round_robin",
        [assistant("a", "thinking", calc("1+1"), tools=["calculator"])],
        termination={"type": "function_call", "function_name": "calculator"},
    )
    result = await run(config)
    assert [m.type for m in result.messages][-1] == "ToolCallSummaryMessage"
    assert result.result.stop_reason == "Function 'calculator' was executed."


async def test_no_termination_and_no_max_turns_hits_the_safety_cap() -> None:
    result = await run(team("round_robin", [assistant("a", "again")]))
    assert len(result.messages) == 100
    assert "100 turns" in (result.result.stop_reason or "")


async def test_tool_calls_produce_execution_and_summary_messages() -> None:
    config = team(
        "round_robin",
        [
            assistant(
                "a",
                {
                    "tool_calls": [
                        {"name": "calculator", "arguments": {"expression": "6*7"}},
                        {"name": "calculator", "arguments": {"expression": "2**"}},  # a syntax error
                        {"name": "current_time", "arguments": {"timezone": "Nowhere/Atlantis"}},
                    ]
                },
                tools=["calculator", "current_time"],
                tool_call_summary_format="{tool_name}({arguments}) = {result}",
            )
        ],
        max_turns=1,
    )
    result = await run(config)
    request, execution, summary = result.messages
    assert request.type == "ToolCallRequestEvent" and len(request.content) == 3
    assert request.models_usage is not None
    assert [r.is_error for r in execution.content] == [False, True, True]
    assert execution.content[0].content == "42"
    assert execution.content[1].content.startswith("Error: ")
    assert summary.type == "ToolCallSummaryMessage"
    assert summary.content.splitlines()[0] == 'calculator({"expression": "6*7"}) = 42'
    assert result.result.outcome == "complete"


async def test_a_tool_not_given_to_the_agent_is_an_error_result() -> None:
    config = team("round_robin", [assistant("a", calc("1+1"), tools=["current_time"])], max_turns=1)
    result = await run(config)
    assert result.messages[1].content[0].is_error
    assert "not available" in result.messages[1].content[0].content


async def test_reflect_on_tool_use_asks_the_model_again() -> None:
    config = team(
        "round_robin",
        [assistant("a", calc("2+3"), "The answer is 5.", tools=["calculator"], reflect_on_tool_use=True)],
        max_turns=1,
    )
    result = await run(config)
    assert [m.type for m in result.messages] == ["ToolCallRequestEvent", "ToolCallExecutionEvent", "TextMessage"]
    assert result.messages[-1].content == "The answer is 5."
    assert "".join(c.content for c in result.chunks) == "The answer is 5."


async def test_max_tool_iterations_loops_until_the_model_answers_in_text() -> None:
    config = team(
        "round_robin",
        [assistant("a", calc("1+1"), calc("2+2"), "done", tools=["calculator"], max_tool_iterations=3)],
        max_turns=1,
    )
    result = await run(config)
    assert [m.type for m in result.messages] == ["ToolCallRequestEvent", "ToolCallExecutionEvent"] * 2 + ["TextMessage"]
    capped = team(
        "round_robin", [assistant("a", calc("1+1"), tools=["calculator"], max_tool_iterations=2)], max_turns=1
    )
    result = await run(capped)
    assert [m.type for m in result.messages][-1] == "ToolCallSummaryMessage"
    assert sum(m.type == "ToolCallRequestEvent" for m in result.messages) == 2


async def test_selector_asks_its_model_and_records_its_usage() -> None:
    config = team(
        "selector",
        [assistant("planner", "plan", description="Plans"), assistant("coder", "code", description="Writes code")],
        selector={"model": scripted("coder", "I pick planner.")},
        max_turns=2,
    )
    result = await run(config)
    assert [m.source for m in result.messages] == ["coder", "planner"]
    assert result.messages[0].metadata["selector_prompt_tokens"] != "0"
    assert result.result.usage.per_agent["selector"].total > 0


async def test_selector_prompt_lists_roles_candidates_and_history(fake_server, openai_clients) -> None:
    config = team(
        "selector",
        [assistant("planner", "plan", description="Plans"), assistant("coder", "code", description="Writes code")],
        selector={
            "model": {
                "provider": "openai",
                "model": "fake",
                "base_url": fake_server.base_url,
                "default_headers": {"X-Fake-Text": "coder", "X-Fake-Key": "sel"},
            },
            "selector_prompt": "R:{roles}|P:{participants}|H:{history}",
        },
        max_turns=1,
    )
    result = await run(config, [task("Build it")])
    assert result.messages[0].source == "coder"
    prompt = [r for r in fake_server.requests if r.headers.get("x-fake-key") == "sel"][-1].body["messages"][0][
        "content"
    ]
    assert prompt == "R:planner: Plans\ncoder: Writes code|P:['planner', 'coder']|H:user: Build it"


async def test_selector_falls_back_to_round_robin_when_the_model_names_nobody() -> None:
    config = team(
        "selector",
        [assistant("a", "from a"), assistant("b", "from b")],
        selector={"model": scripted("nobody knows"), "max_selector_attempts": 2},
        max_turns=2,
    )
    result = await run(config)
    assert [m.source for m in result.messages] == ["a", "b"]
    assert "round-robin fallback" in result.messages[0].metadata["speaker_selection"]


async def test_selector_without_repeats_skips_the_previous_speaker() -> None:
    config = team(
        "selector", [assistant("a", "from a"), assistant("b", "from b")], selector={"model": scripted("a")}, max_turns=2
    )
    result = await run(config)
    assert [m.source for m in result.messages] == ["a", "b"]  # only b is a candidate on turn 2


async def test_selector_can_emit_select_speaker_events() -> None:
    config = team(
        "selector",
        [assistant("a", "from a"), assistant("b", "from b")],
        selector={"model": scripted("b")},
        max_turns=1,
        emit_team_events=True,
    )
    result = await run(config)
    assert [m.type for m in result.messages] == ["SelectSpeakerEvent", "TextMessage"]
    assert result.messages[0].content == ["b"]


async def test_swarm_hands_off_between_agents() -> None:
    config = team(
        "swarm",
        [
            assistant("alice", {"content": "", "handoff": "bob"}, handoffs=[{"target": "bob"}]),
            assistant("bob", "bob here TERMINATE"),
        ],
        termination={"type": "text_mention", "text": "TERMINATE"},
    )
    result = await run(config)
    assert [(m.source, m.type) for m in result.messages] == [
        ("alice", "ToolCallRequestEvent"),
        ("alice", "ToolCallExecutionEvent"),
        ("alice", "HandoffMessage"),
        ("bob", "TextMessage"),
    ]
    handoff = result.messages[2]
    assert handoff.target == "bob" and handoff.to_wire()["target"] == "bob"
    assert result.messages[0].content[0].name == "transfer_to_bob"


async def test_swarm_speaker_keeps_the_turn_without_a_handoff() -> None:
    config = team("swarm", [assistant("alice", "first", "second"), assistant("bob", "never")], max_turns=2)
    result = await run(config)
    assert [m.source for m in result.messages] == ["alice", "alice"]


async def test_history_is_context_but_not_counted() -> None:
    config = team(
        "round_robin",
        [assistant("a", "reply zero", "reply one")],
        termination={"type": "max_message", "max_messages": 2},
    )
    history = [task("earlier task"), text("a", "reply zero")]
    result = await run(config, history=history)
    # The scripted model continues its script from the history; the terminations ignore it.
    assert result.contents() == [("a", "TextMessage", "reply one")]


async def test_a_handoff_the_agent_was_not_given_fails_visibly() -> None:
    config = team("swarm", [assistant("a", {"handoff": "b"}), assistant("b", "never")], max_turns=1)
    result = await run(config)
    assert [m.type for m in result.messages] == [
        "ToolCallRequestEvent",
        "ToolCallExecutionEvent",
        "ToolCallSummaryMessage",
    ]
    assert result.messages[1].content[0].is_error
