"""The MCP client on the SDK against the suite's own servers (stdio and streamable HTTP) and
`mcp-server-time` from PyPI: listing, calls, every kind of result, and servers that misbehave."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from agents_app.engine import (
    ApprovalRequest,
    CancellationToken,
    McpServerError,
    TeamRunner,
    TextMessage,
    ToolCallExecutionEvent,
)
from agents_app.engine import mcp as mcp_module
from agents_app.engine.mcp import McpServerSpec, McpSessions, aclose_mcp_sessions, mcp_sessions
from tests.engine.helpers import Run, assistant, task, team
from tests.support.mcp_servers import children, command_line, http_server, stdio_spec, time_server_spec

pytestmark = pytest.mark.timeout(120)


@pytest_asyncio.fixture
async def sessions() -> AsyncIterator[McpSessions]:
    """This test loop's sessions; closed (the servers stopped) when the test ends."""
    yield mcp_sessions()
    await aclose_mcp_sessions()


def _mcp_children() -> set[int]:
    return {
        pid for pid in children() if "mcp_test_server" in command_line(pid) or "mcp_server_time" in command_line(pid)
    }


async def _until(predicate: object, what: str) -> None:
    for _ in range(500):
        if predicate():  # type: ignore[operator]
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


async def test_stdio_server_lists_its_tools_with_their_schemas(sessions: McpSessions) -> None:
    tools = {t.name: t for t in await sessions.tools(stdio_spec())}
    assert {"echo", "add", "weather", "red_pixel", "fail", "hang", "crash", "whoami"} <= set(tools)
    assert tools["add"].description == "Add two integers."
    assert tools["add"].input_schema["properties"]["a"]["type"] == "integer"
    assert tools["add"].input_schema["required"] == ["a", "b"]


async def test_exposed_tools_limit_what_is_listed(sessions: McpSessions) -> None:
    tools = await sessions.tools(stdio_spec(tools=("echo", "add")))
    assert sorted(t.name for t in tools) == ["add", "echo"]


async def test_results_text_structured_image_and_error(sessions: McpSessions) -> None:
    spec = stdio_spec()
    assert (await sessions.call(spec, "add", {"a": 2, "b": 3})).content == "5"
    weather = await sessions.call(spec, "weather", {"city": "Oslo"})
    assert json.loads(weather.content) == {"city": "Oslo", "celsius": 21.5} and not weather.is_error
    image = await sessions.call(spec, "red_pixel", {})
    assert image.content.startswith("[image: image/png,") and not image.is_error
    assert image.parts[0]["type"] == "image" and image.parts[0]["mime_type"] == "image/png"
    assert image.parts[0]["data"].startswith("iVBORw0KGgo")
    failed = await sessions.call(spec, "fail", {"reason": "the disk is full"})
    assert failed.is_error and "the disk is full" in failed.content
    bad_args = await sessions.call(spec, "add", {"a": "two", "b": 3})
    assert bad_args.is_error


async def test_a_hanging_call_times_out_as_an_error_and_the_server_stays_usable(sessions: McpSessions) -> None:
    spec = stdio_spec(call_timeout=0.5)
    outcome = await sessions.call(spec, "hang", {})
    assert outcome.is_error and "gave no result within 0.5 s" in outcome.content
    assert (await sessions.call(spec, "echo", {"text": "still here"})).content == "still here"


async def test_a_server_crashing_mid_call_is_an_error_then_a_new_one_is_started(sessions: McpSessions) -> None:
    spec = stdio_spec()
    before = (await sessions.call(spec, "whoami", {})).content
    crashed = await sessions.call(spec, "crash", {})
    assert crashed.is_error and "closed the connection during the call" in crashed.content
    after = await sessions.call(spec, "whoami", {})
    assert not after.is_error and after.content != before


async def test_a_server_that_died_between_calls_is_restarted_without_an_error(sessions: McpSessions) -> None:
    spec = stdio_spec()
    first = int((await sessions.call(spec, "whoami", {})).content)
    os.kill(first, signal.SIGKILL)
    await _until(lambda: spec.name not in sessions.live(), "the session to notice its server died")
    second = await sessions.call(spec, "whoami", {})
    assert not second.is_error and int(second.content) != first


async def test_one_process_per_server_shared_by_calls_and_gone_after_close() -> None:
    spec = stdio_spec()
    sessions = mcp_sessions()
    await asyncio.gather(*(sessions.call(spec, "echo", {"text": str(i)}) for i in range(20)))
    assert len(_mcp_children()) == 1
    await aclose_mcp_sessions()
    await _until(lambda: not _mcp_children(), "the server process to exit")


async def test_a_command_that_does_not_exist_is_an_error_naming_it(sessions: McpSessions) -> None:
    spec = McpServerSpec(name="ghost", transport="stdio", command="/nonexistent/mcp-ghost")
    with pytest.raises(McpServerError, match="ghost"):
        await sessions.tools(spec)
    outcome = await sessions.call(spec, "anything", {})
    assert outcome.is_error and "mcp-ghost" in outcome.content


async def test_streamable_http_server_lists_calls_and_survives_a_restart(sessions: McpSessions) -> None:
    with http_server() as server:
        spec = McpServerSpec(name="web", transport="http", url=server.url, call_timeout=5)
        assert "weather" in {t.name for t in await sessions.tools(spec)}
        image = await sessions.call(spec, "red_pixel", {})
        assert image.parts and not image.is_error
        first = (await sessions.call(spec, "whoami", {})).content
        server.stop()
        down = await sessions.call(spec, "whoami", {})
        assert down.is_error
        server.start()
        second = await sessions.call(spec, "whoami", {})
        assert not second.is_error and second.content != first


async def test_reference_time_server_from_pypi(sessions: McpSessions) -> None:
    spec = time_server_spec()
    assert "get_current_time" in {t.name for t in await sessions.tools(spec)}
    outcome = await sessions.call(spec, "get_current_time", {"timezone": "UTC"})
    assert not outcome.is_error and json.loads(outcome.content)["timezone"] == "UTC"


async def test_an_agent_calls_mcp_tools_and_the_results_are_stored(sessions: McpSessions) -> None:
    calls = {"tool_calls": [{"name": "add", "arguments": {"a": 20, "b": 22}}, {"name": "red_pixel"}]}
    config = team(
        "round_robin",
        [assistant("worker", calls, "The sum is 42. TERMINATE", mcp_servers=["testsrv"], reflect_on_tool_use=True)],
        termination={"type": "text_mention", "text": "TERMINATE"},
    )
    runner = TeamRunner(config, mcp_servers={"testsrv": stdio_spec()})
    run = Run([e async for e in runner.run([task()], cancel=CancellationToken())])
    executed = next(m for m in run.messages if isinstance(m, ToolCallExecutionEvent))
    add, pixel = executed.content
    assert (add.name, add.content, add.is_error) == ("add", "42", False)
    assert pixel.parts[0]["mime_type"] == "image/png"
    wire = executed.to_wire()["content"][1]
    assert wire["parts"][0]["data"] == pixel.parts[0]["data"]
    assert isinstance(run.messages[-1], TextMessage) and run.result.outcome == "complete"


async def test_a_runner_refuses_a_server_it_was_not_given() -> None:
    config = team("round_robin", [assistant("worker", "hi", mcp_servers=["elsewhere"])])
    with pytest.raises(McpServerError, match="elsewhere"):
        TeamRunner(config, mcp_servers={})


async def test_a_server_that_asks_for_approval_suspends_with_its_schema(sessions: McpSessions) -> None:
    config = team(
        "round_robin",
        [assistant("worker", {"tool_calls": [{"name": "add", "arguments": {"a": 1, "b": 2}}]}, mcp_servers=["calc"])],
    )
    runner = TeamRunner(config, mcp_servers={"calc": stdio_spec("calc", approval="always")})
    events = [e async for e in runner.run([task()], cancel=CancellationToken())]
    (request,) = [e for e in events if isinstance(e, ApprovalRequest)]
    assert (request.tool, request.server, request.arguments) == ("add", "calc", {"a": 1, "b": 2})
    assert request.schema["required"] == ["a", "b"]
    calls = {"tool_calls": [{"name": "add", "arguments": {"a": 1, "b": 2}}]}
    overridden = team("round_robin", [assistant("worker", calls, mcp_servers=["calc"], tool_approval="never")])
    runner = TeamRunner(overridden, mcp_servers={"calc": stdio_spec("calc", approval="always")})
    run = Run([e async for e in runner.run([task()], cancel=CancellationToken())])
    executed = next(m for m in run.messages if isinstance(m, ToolCallExecutionEvent))
    assert executed.content[0].content == "3"  # the agent's own policy wins over the server's


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_a_tool_the_server_adds_at_runtime_is_listed_and_offered_at_the_next_model_call(
    sessions: McpSessions, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # "auto" negotiates 2026-07-28 (the change comes on a subscriptions/listen stream); "legacy" the
    # handshake era (a notifications/tools/list_changed notification). The worker's list follows both.
    monkeypatch.setattr(mcp_module, "CLIENT_MODE", mode)
    spec = stdio_spec()
    assert "late" not in {t.name for t in await sessions.tools(spec)}
    before = sessions.generation
    assert (await sessions.call(spec, "grow", {"name": "late"})).content == "added late"
    await _until(lambda: sessions.generation > before, "the changed tools to be listed again")
    late = {t.name: t for t in await sessions.tools(spec)}["late"]
    assert late.description == "Added at runtime as late." and late.input_schema["required"] == ["text"]
    assert (await sessions.call(spec, "late", {"text": "hi"})).content == "late: hi"


async def test_a_run_calls_a_tool_its_server_added_during_the_run(sessions: McpSessions) -> None:
    # The first turn's call adds `later`; the agent's next model call is offered it and it runs.
    grow = {"tool_calls": [{"name": "grow", "arguments": {"name": "later"}}]}
    call = {"tool_calls": [{"name": "later", "arguments": {"text": "from the run"}}]}
    config = team("round_robin", [assistant("worker", grow, call, mcp_servers=["testsrv"])], max_turns=2)
    runner = TeamRunner(config, mcp_servers={"testsrv": stdio_spec()})
    agent = runner.agents["worker"]
    events = []
    async for event in runner.run([task()], cancel=CancellationToken()):
        events.append(event)
        if isinstance(event, ToolCallExecutionEvent) and event.content[0].name == "grow":
            await _until(lambda: any(t.name == "later" for t in sessions._connections["testsrv"].tools), "later")
    run = Run(events)
    results = [m.content[0] for m in run.messages if isinstance(m, ToolCallExecutionEvent)]
    assert [(r.name, r.content, r.is_error) for r in results] == [
        ("grow", "added later", False),
        ("later", "later: from the run", False),
    ]
    assert "later" in {t["function"]["name"] for t in await agent._offered_tools()}


async def test_the_timed_stdio_server_logs_each_calls_own_time(sessions: McpSessions, tmp_path) -> None:
    """`mcp_test_server stdio --timings FILE` (bench/tools.py subtracts it): one line per tools/call, its
    microseconds from request read to response flushed and the call's text, and the answers unchanged."""
    log = tmp_path / "timings.log"
    spec = stdio_spec("timed", args=("-m", "tests.support.mcp_test_server", "stdio", "--timings", str(log)))
    assert [t.name for t in await sessions.tools(spec)].count("echo") == 1
    for text in ("run0", "run1"):
        assert (await sessions.call(spec, "echo", {"text": text})).content == text
    assert (await sessions.call(spec, "add", {"a": 2, "b": 3})).content == "5"
    lines = [line.split(" ", 1) for line in log.read_text().splitlines()]
    assert [text for _, text in lines] == ["run0", "run1", ""]
    assert all(0 < int(us) < 5_000_000 for us, _ in lines)
