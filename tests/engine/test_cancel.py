"""Stop that really stops: the stream is interrupted at once and the streamed text is kept as a partial message."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from agents_app.config import TeamConfig
from agents_app.engine import CancellationToken, MessageChunk, TeamRunner
from agents_app.engine.tools import ToolRegistry
from agents_app.engine.tracing import SpanEnd, SpanStart, Tracer
from tests.engine.helpers import Run, assistant, run, scripted, task, team
from tests.support.fake_openai import FakeOpenAIThread

LONG = " ".join(f"word{i}" for i in range(50))


async def collect_and_cancel_after(runner: TeamRunner, chunks: int, token: CancellationToken) -> Run:
    """Cancel from another task once `chunks` chunks arrived, while the stream is waiting for the next."""
    events: list[Any] = []
    enough = asyncio.Event()

    async def consume() -> None:
        async for event in runner.run([task()], cancel=token):
            events.append(event)
            if isinstance(event, MessageChunk) and sum(isinstance(e, MessageChunk) for e in events) == chunks:
                enough.set()

    consumer = asyncio.create_task(consume())
    waiter = asyncio.create_task(enough.wait())
    await asyncio.wait({consumer, waiter}, return_when=asyncio.FIRST_COMPLETED)
    assert enough.is_set(), consumer.exception() if consumer.done() else "no chunks"
    token.cancel("user pressed stop")
    await consumer
    return Run(events)


async def test_cancel_interrupts_a_slow_stream_and_keeps_the_partial_text() -> None:
    # At 0.2 tokens/s the next token is 5 s away: only an immediate interruption keeps this test quick.
    config = team("round_robin", [{"kind": "assistant", "name": "a", "model": scripted(LONG, rate=0.2)}])
    result = await collect_and_cancel_after(TeamRunner(config, env={}), 1, CancellationToken())
    assert [c.content for c in result.chunks] == ["word0 "]
    (partial,) = result.messages
    assert partial.type == "TextMessage" and partial.partial and partial.content == "word0 "
    assert partial.to_wire()["partial"] is True and partial.to_wire()["metadata"] == {}
    assert result.result.outcome == "cancelled" and result.result.stop_reason == "user pressed stop"


async def test_cancel_called_by_the_consumer_itself_ends_at_the_next_step() -> None:
    config = team("round_robin", [assistant("a", LONG)])
    token = CancellationToken()
    events: list[Any] = []
    async for event in TeamRunner(config, env={}).run([task()], cancel=token):
        events.append(event)
        if len(events) == 3:
            token.cancel()
    result = Run(events)
    assert result.messages[0].content == "word0 word1 word2 " and result.messages[0].partial
    assert result.result.outcome == "cancelled"


async def test_cancel_before_anything_streamed_stores_no_partial_message() -> None:
    token = CancellationToken()
    token.cancel()
    result = await run(team("round_robin", [assistant("a", "hi")]), cancel=token)
    assert result.messages == [] and result.result.outcome == "cancelled"


async def test_cancel_during_a_tool_call() -> None:
    tools = ToolRegistry()
    started = asyncio.Event()

    @tools.register
    async def wait_forever() -> str:
        started.set()
        await asyncio.Event().wait()
        return "never"

    # Validated without the global registry check: the tool lives in this test's own registry.
    config = TeamConfig.model_validate(
        {
            "kind": "round_robin",
            "participants": [assistant("a", {"tool_calls": [{"name": "wait_forever"}]}, tools=["wait_forever"])],
        }
    )
    token = CancellationToken()
    events: list[Any] = []

    async def consume() -> None:
        async for event in TeamRunner(config, env={}, registry=tools).run([task()], cancel=token):
            events.append(event)

    consumer = asyncio.create_task(consume())
    waiter = asyncio.create_task(started.wait())
    await asyncio.wait({consumer, waiter}, return_when=asyncio.FIRST_COMPLETED)
    assert started.is_set(), consumer.exception()
    token.cancel()
    await consumer
    result = Run(events)
    assert [m.type for m in result.messages] == ["ToolCallRequestEvent"]
    assert result.result.outcome == "cancelled"


async def wait_until(predicate: Any, timeout: float = 5.0) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


async def test_cancel_closes_the_http_stream(fake_server: FakeOpenAIThread, openai_clients: None) -> None:
    model = {
        "provider": "openai",
        "model": "fake-hang-stream",
        "base_url": fake_server.base_url,
        "default_headers": {"X-Fake-Key": "cancel-hang"},
    }
    config = team("round_robin", [{"kind": "assistant", "name": "a", "model": model}])
    result = await collect_and_cancel_after(TeamRunner(config, env={}), 1, CancellationToken())
    assert result.messages[0].content == "t0 " and result.messages[0].partial
    assert result.result.outcome == "cancelled"
    (request,) = [r for r in fake_server.requests if r.headers.get("x-fake-key") == "cancel-hang"]
    assert await wait_until(lambda: request.disconnected), "the server never saw the connection close"


async def test_cancel_interrupts_a_paced_http_stream(fake_server: FakeOpenAIThread, openai_clients: None) -> None:
    model = {
        "provider": "openai",
        "model": "fake",
        "base_url": fake_server.base_url,
        "default_headers": {"X-Fake-Key": "cancel-paced", "X-Fake-Tokens": "100", "X-Fake-Rate": "2"},
    }
    config = team("round_robin", [{"kind": "assistant", "name": "a", "model": model}])
    result = await collect_and_cancel_after(TeamRunner(config, env={}), 2, CancellationToken())
    assert result.messages[0].content.startswith("t0 t1 ") and result.messages[0].partial
    (request,) = [r for r in fake_server.requests if r.headers.get("x-fake-key") == "cancel-paced"]
    assert await wait_until(lambda: request.disconnected)
    assert not request.completed


async def test_cancel_while_waiting_for_response_headers(fake_server: FakeOpenAIThread, openai_clients: None) -> None:
    model = {
        "provider": "openai",
        "model": "fake-hang",
        "base_url": fake_server.base_url,
        "default_headers": {"X-Fake-Key": "cancel-headers"},
    }
    config = team("round_robin", [{"kind": "assistant", "name": "a", "model": model}])
    token = CancellationToken()
    events: list[Any] = []

    async def consume() -> None:
        async for event in TeamRunner(config, env={}).run([task()], cancel=token):
            events.append(event)

    consumer = asyncio.create_task(consume())
    assert await wait_until(lambda: any(r.headers.get("x-fake-key") == "cancel-headers" for r in fake_server.requests))
    token.cancel()
    await consumer
    result = Run(events)
    assert result.messages == [] and result.result.outcome == "cancelled"
    (request,) = [r for r in fake_server.requests if r.headers.get("x-fake-key") == "cancel-headers"]
    assert await wait_until(lambda: request.disconnected)


async def test_cancel_from_another_thread() -> None:
    config = team("round_robin", [{"kind": "assistant", "name": "a", "model": scripted(LONG, rate=0.2)}])
    token = CancellationToken()
    events: list[Any] = []
    async for event in TeamRunner(config, env={}).run([task()], cancel=token):
        events.append(event)
        if isinstance(event, MessageChunk):
            # The run's loop is now waiting 5 s for the next token; the stop comes from a worker thread.
            threading.Timer(0.01, token.cancel, args=("from a thread",)).start()
    result = Run(events)
    assert result.messages[0].content == "word0 " and result.result.stop_reason == "from a thread"


def _waiting_tool_team(tools: ToolRegistry, **agent: Any) -> TeamConfig:
    return TeamConfig.model_validate(
        {
            "kind": "round_robin",
            "participants": [assistant("a", {"tool_calls": [{"name": "slow"}]}, "done", tools=["slow"], **agent)],
            "max_turns": 1,
        }
    )


async def test_a_call_runs_while_its_request_is_being_stored_and_its_result_follows_it() -> None:
    # The caller stores each message before asking for the next: a call that needs no approval
    # starts as soon as the model asked for it, so storing the request no longer adds to its latency.
    tools = ToolRegistry()
    ran = asyncio.Event()

    @tools.register
    async def slow() -> str:
        ran.set()
        return "ok"

    events: list[Any] = []
    runner = TeamRunner(_waiting_tool_team(tools), env={}, registry=tools, tracer=Tracer(enabled=True))
    async for event in runner.run([task()], cancel=CancellationToken()):
        events.append(event)
        if getattr(event, "type", "") == "ToolCallRequestEvent":
            await asyncio.wait_for(ran.wait(), 5)  # "storing" it: the call already ran meanwhile
            await asyncio.sleep(0.3)
    result = Run([e for e in events if not isinstance(e, SpanStart | SpanEnd)])
    types = [m.type for m in result.messages]
    assert types == ["ToolCallRequestEvent", "ToolCallExecutionEvent", "ToolCallSummaryMessage"]
    assert result.messages[1].content[0].content == "ok"
    # Its span is the call's own time, not the time the request took to store.
    (span,) = [e.span for e in events if isinstance(e, SpanEnd) and e.span.kind == "tool"]
    assert span.end is not None and span.end - span.start < 0.2
    assert span.produced is result.messages[1]


async def test_a_call_that_needs_approval_does_not_start_before_the_decision() -> None:
    tools = ToolRegistry()
    ran = asyncio.Event()

    @tools.register
    async def slow() -> str:
        ran.set()
        return "ok"

    events: list[Any] = []
    async for event in TeamRunner(_waiting_tool_team(tools, tool_approval="always"), env={}, registry=tools).run(
        [task()], cancel=CancellationToken()
    ):
        events.append(event)
        if getattr(event, "type", "") == "ToolCallRequestEvent":
            await asyncio.sleep(0.05)
    assert not ran.is_set()
    assert [type(e).__name__ for e in events if type(e).__name__ != "MessageChunk"][-2:] == [
        "ApprovalRequest",
        "TaskResult",
    ]


async def test_a_stop_while_the_request_is_being_stored_cancels_the_call_already_running() -> None:
    tools = ToolRegistry()
    started, cancelled = asyncio.Event(), asyncio.Event()

    @tools.register
    async def slow() -> str:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return "never"

    token = CancellationToken()
    events: list[Any] = []
    async for event in TeamRunner(_waiting_tool_team(tools), env={}, registry=tools).run([task()], cancel=token):
        events.append(event)
        if getattr(event, "type", "") == "ToolCallRequestEvent":
            await asyncio.wait_for(started.wait(), 5)
            token.cancel("user pressed stop")  # from the caller, between two events: no scope is active
    assert await wait_until(cancelled.is_set)
    result = Run(events)
    assert [m.type for m in result.messages] == ["ToolCallRequestEvent"]
    assert result.result.outcome == "cancelled" and result.result.stop_reason == "user pressed stop"


async def test_closing_the_run_while_the_request_is_being_stored_cancels_the_call() -> None:
    # A caller that fails to store the request closes the run: the call must not outlive it.
    tools = ToolRegistry()
    started, cancelled = asyncio.Event(), asyncio.Event()

    @tools.register
    async def slow() -> str:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return "never"

    events = TeamRunner(_waiting_tool_team(tools), env={}, registry=tools).run([task()], cancel=CancellationToken())
    async for event in events:
        if getattr(event, "type", "") == "ToolCallRequestEvent":
            await asyncio.wait_for(started.wait(), 5)
            break
    await events.aclose()  # type: ignore[attr-defined]
    assert await wait_until(cancelled.is_set)
