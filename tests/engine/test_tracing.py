"""Spans the engine reports, prices, and the `cost` termination (no database)."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest

from agents_app.config import OpenAIModel, ScriptedModel
from agents_app.engine import CancellationToken, TeamRunner, ToolCallExecutionEvent
from agents_app.engine.events import HandoffMessage, RequestUsage, TextMessage, ToolCallRequestEvent
from agents_app.engine.pricing import ModelPrice, Pricing, parse_prices
from agents_app.engine.tracing import Span, SpanEnd, SpanStart, Tracer, redact
from tests.engine.helpers import assistant, run, scripted, task, team
from tests.support.fake_openai import FakeOpenAIThread

ROOT = "00000000000000aa"


def spans_of(events: list[Any]) -> dict[str, Span]:
    """Every span the run reported, checked: each started once, ended once, after it started."""
    started = [e.span for e in events if isinstance(e, SpanStart)]
    ended = [e.span for e in events if isinstance(e, SpanEnd)]
    assert len({id(s) for s in ended}) == len(ended), "a span ended twice"
    assert {id(s) for s in started} == {id(s) for s in ended}, "a span was left open"
    for s in ended:
        assert s.end is not None and s.end >= s.start
    return {s.span_id: s for s in ended}


def parents_resolve(spans: dict[str, Span]) -> None:
    for s in spans.values():
        assert s.parent_id == ROOT or s.parent_id in spans, f"{s.name} has an unknown parent"


def tracer_run(config: Any, **kwargs: Any) -> TeamRunner:
    return TeamRunner(config, env={}, tracer=Tracer(ROOT), **kwargs)


def calc(expression: str) -> dict[str, object]:
    return {"tool_calls": [{"name": "calculator", "arguments": {"expression": expression}}]}


async def test_team_run_reports_turn_model_tool_and_handoff_spans_linked_to_their_messages() -> None:
    config = team(
        "swarm",
        [
            assistant(
                "alice",
                calc("6*7"),
                {"content": "", "handoff": "bob"},
                tools=["calculator"],
                handoffs=[{"target": "bob"}],
                max_tool_iterations=2,
            ),
            assistant("bob", "The answer is 42."),
        ],
        max_turns=2,
    )
    result = await run(tracer_run(config))
    spans = spans_of(result.events)
    parents_resolve(spans)
    turns = [s for s in spans.values() if s.kind == "turn"]
    assert [s.attributes["gen_ai.agent.name"] for s in turns] == ["alice", "bob"]
    assert all(s.parent_id == ROOT and not s.error for s in turns)

    (tool,) = [s for s in spans.values() if s.kind == "tool" and s.attributes["gen_ai.tool.name"] == "calculator"]
    assert tool.parent_id == turns[0].span_id and tool.attributes["gen_ai.operation.name"] == "execute_tool"
    assert isinstance(tool.produced, ToolCallExecutionEvent) and tool.produced.content[0].content == "42"
    (handoff,) = [s for s in spans.values() if s.kind == "handoff"]
    assert isinstance(handoff.produced, HandoffMessage) and handoff.produced.target == "bob"
    assert handoff.attributes["playground.handoff.target"] == "bob" and handoff.parent_id == turns[0].span_id

    models = [s for s in spans.values() if s.kind == "model"]
    assert len(models) == 3  # alice: the tool call, the hand-off call; bob: the answer
    assert isinstance(models[0].produced, ToolCallRequestEvent) and isinstance(models[2].produced, TextMessage)
    answer = models[2].attributes
    assert answer["gen_ai.request.model"] == "scripted" and answer["gen_ai.provider.name"] == "scripted"
    assert answer["gen_ai.usage.output_tokens"] == 4 and answer["gen_ai.response.finish_reasons"] == ["stop"]
    assert answer["playground.retries"] == 0 and float(answer["gen_ai.response.time_to_first_chunk"]) >= 0
    # Each span comes out before the message it produced, so the caller can link them as it stores.
    order = result.events
    assert order.index(next(e for e in order if isinstance(e, SpanEnd) and e.span is models[2])) < order.index(
        models[2].produced
    )


async def test_human_input_and_a_stop_end_every_open_span() -> None:
    config = team("round_robin", [assistant("a", "hello"), {"kind": "user_proxy", "name": "human"}])
    result = await run(tracer_run(config))
    assert result.input_requests and result.result.outcome == "input_required"
    parents_resolve(spans_of(result.events))

    slow = team("round_robin", [assistant("a", "word " * 200, model=scripted("word " * 200, rate=50))])
    cancel = CancellationToken()
    runner = tracer_run(slow)

    async def stop_soon() -> None:
        await asyncio.sleep(0.1)
        cancel.cancel("Stopped by user")

    stopper = asyncio.create_task(stop_soon())
    stopped = await run(runner, cancel=cancel)
    await stopper
    spans = spans_of(stopped.events)
    (model,) = [s for s in spans.values() if s.kind == "model"]
    (turn,) = [s for s in spans.values() if s.kind == "turn"]
    assert model.error == "cancelled" and turn.error == "cancelled"
    assert isinstance(model.produced, TextMessage) and model.produced.partial


async def test_a_resumed_turn_is_marked_and_a_disabled_tracer_reports_nothing() -> None:
    agent = assistant("a", calc("1+1"), "two", tools=["calculator"], max_tool_iterations=2)
    config = team("round_robin", [agent], max_turns=1)
    first = await run(TeamRunner(config, env={}), [task()])
    assert not [e for e in first.events if isinstance(e, SpanStart | SpanEnd)]
    request = first.wire[0]
    resumed = await run(tracer_run(config), [task(), request])
    (turn,) = [s for s in spans_of(resumed.events).values() if s.kind == "turn"]
    assert turn.attributes["playground.resumed"] is True


async def test_selector_calls_are_model_spans_under_the_selection() -> None:
    config = team(
        "selector",
        [assistant("a", "from a"), assistant("b", "from b")],
        selector={"model": scripted("b")},
        max_turns=1,
    )
    result = await run(tracer_run(config, pricing=Pricing({"scripted": ModelPrice(Decimal(1), Decimal(2))})))
    spans = spans_of(result.events)
    (selection,) = [s for s in spans.values() if s.kind == "selector"]
    assert selection.attributes["playground.selected"] == "b" and selection.parent_id == ROOT
    (call,) = [s for s in spans.values() if s.kind == "model" and s.parent_id == selection.span_id]
    assert call.attributes["playground.cost_usd"] > 0
    assert result.result.usage.per_agent["selector"].cost == call.attributes["playground.cost_usd"]


# ------------------------------------------------------------------ the openai client: retries, cache, price


def openai_team(server: FakeOpenAIThread, model: str, headers: dict[str, str]) -> Any:
    return team(
        "round_robin",
        [
            {
                "kind": "assistant",
                "name": "a",
                "model": {
                    "provider": "openai",
                    "model": model,
                    "base_url": server.base_url,
                    "default_headers": headers,
                    "max_retries": 2,
                },
            }
        ],
        max_turns=1,
    )


@pytest.mark.usefixtures("openai_clients")
async def test_model_span_counts_retries_and_cached_tokens(fake_server: FakeOpenAIThread) -> None:
    config = openai_team(fake_server, "fake-429-once", {"X-Fake-Key": "trace-retry", "X-Fake-Cached-Tokens": "1"})
    prices = Pricing({"fake-429-once": ModelPrice(Decimal(10), Decimal(20), Decimal(5))})
    result = await run(tracer_run(config, pricing=prices))
    (call,) = [s for s in spans_of(result.events).values() if s.kind == "model"]
    attributes = call.attributes
    assert attributes["playground.retries"] == 1  # the 429, then the answer
    assert attributes["gen_ai.usage.cache_read.input_tokens"] == 1
    assert attributes["server.address"] == "127.0.0.1" and attributes["gen_ai.provider.name"] == "openai"
    prompt, completion = attributes["gen_ai.usage.input_tokens"], attributes["gen_ai.usage.output_tokens"]
    expected = ((prompt - 1) * 10 + 1 * 5 + completion * 20) / 1_000_000
    assert attributes["playground.cost_usd"] == pytest.approx(expected)
    (message,) = result.messages
    assert message.to_wire()["models_usage"] == {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "cached_tokens": 1,
        "cost": pytest.approx(expected),
    }


@pytest.mark.usefixtures("openai_clients")
async def test_a_failed_model_call_leaves_its_span_ended_with_the_error(fake_server: FakeOpenAIThread) -> None:
    config = openai_team(fake_server, "fake-401", {"X-Fake-Key": "trace-401"})
    tracer = Tracer(ROOT)
    events: list[Any] = []
    with pytest.raises(Exception, match="401"):
        async for event in TeamRunner(config, env={}, tracer=tracer).run([task()], cancel=CancellationToken()):
            events.append(event)
    events += tracer.drain()
    spans = spans_of(events)
    assert {s.kind for s in spans.values()} == {"turn", "model"}
    assert all("401" in s.error for s in spans.values())


# ------------------------------------------------------------------ prices


def test_known_model_cost_comes_from_genai_prices() -> None:
    model = OpenAIModel(provider="openai", model="gpt-4o-mini")
    # gpt-4o-mini: $0.15 per million input tokens, $0.60 per million output tokens.
    assert Pricing().cost(model, RequestUsage(1000, 500)) == pytest.approx(0.00045)
    assert Pricing().cost(OpenAIModel(provider="openai", model="no-such-model"), RequestUsage(1, 1)) is None
    own_server = OpenAIModel(provider="openai", model="gpt-4o-mini", base_url="http://127.0.0.1:11434/v1")
    assert Pricing().cost(own_server, RequestUsage(1000, 500)) is None  # a server of one's own has no list price
    assert Pricing().cost(ScriptedModel(provider="scripted", replies=["x"]), RequestUsage(10, 10)) == 0.0


def test_an_override_price_wins_per_model_or_per_provider_and_model() -> None:
    prices = parse_prices({"gpt-4o-mini": {"input": 1, "output": 2}, "openai:local": {"input": "0.5", "output": 0}})
    pricing = Pricing(prices)
    assert pricing.cost(OpenAIModel(provider="openai", model="gpt-4o-mini"), RequestUsage(1_000_000, 500_000)) == 2.0
    local = OpenAIModel(provider="openai", model="local", base_url="http://127.0.0.1:8000/v1")
    assert pricing.cost(local, RequestUsage(2_000_000, 10)) == 1.0


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"m": {"input": 1}}, "needs 'output'"),
        ({"m": {"input": -1, "output": 1}}, "must be a number >= 0"),
        ({"m": {"input": "abc", "output": 1}}, "is not a number"),
        ({"m": {"input": 1, "output": 1, "cache": 1}}, "unknown field"),
        ({"m": 3}, "must be an object"),
    ],
)
def test_bad_override_prices_are_refused_naming_the_model(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_prices(raw)


def test_error_texts_lose_anything_shaped_like_a_key() -> None:
    text_with_key = "Incorrect API key provided: sk-proj-abc123456789. Header was Bearer sk-abcdefgh"
    assert "sk-" not in redact(text_with_key) and "abc123" not in redact(text_with_key)


# ------------------------------------------------------------------ the cost termination


PRICED = Pricing({"scripted": ModelPrice(Decimal(1_000_000), Decimal(1_000_000))})  # $1 a token


async def test_cost_termination_stops_after_the_model_call_that_reaches_it() -> None:
    config = team(
        "round_robin",
        [assistant("a", calc("1+1"), "five words of answer here", tools=["calculator"], max_tool_iterations=2)],
        termination={"type": "cost", "max_cost": 3},
    )
    result = await run(tracer_run(config, pricing=PRICED))
    # The first call (a tool call: 3 prompt words + 5 argument tokens) crosses $3: no tool runs after it.
    assert [type(m).__name__ for m in result.messages] == ["ToolCallRequestEvent"]
    assert result.result.outcome == "complete"
    assert result.result.stop_reason is not None and result.result.stop_reason.startswith("Cost limit of $3.0000")
    assert result.result.usage.cost is not None and result.result.usage.cost >= 3
    spans = spans_of(result.events)  # the turn the stop cut short is ended, without an error
    assert [s.error for s in spans.values() if s.kind == "turn"] == [""]


async def test_cost_termination_inside_or_and_on_resume() -> None:
    config = team(
        "round_robin",
        [assistant("a", "one two"), assistant("b", "three four")],
        termination={
            "type": "or",
            "conditions": [{"type": "cost", "max_cost": 30}, {"type": "max_message", "max_messages": 50}],
        },
    )
    result = await run(TeamRunner(config, env={}, pricing=PRICED))
    assert result.result.stop_reason is not None and "Cost limit" in result.result.stop_reason
    spent = result.result.usage.cost
    assert spent is not None and spent >= 30
    # A resumed run counts what the stored transcript already cost: it stops at once.
    again = await run(TeamRunner(config, env={}, pricing=PRICED), [task(), *result.wire])
    assert again.messages == [] and again.result.stop_reason is not None and "Cost limit" in again.result.stop_reason


async def test_without_prices_a_cost_termination_never_fires() -> None:
    config = team("round_robin", [assistant("a", "x")], termination={"type": "cost", "max_cost": 0.001}, max_turns=2)
    result = await run(TeamRunner(config, env={}))
    assert result.result.stop_reason == "Maximum number of turns 2 reached."
    assert [m.source for m in result.messages] == ["a", "a"]
