"""MCP tools on the production stack (two Daphnes, a Celery worker, Redis, PostgreSQL): the worker
keeps one stdio server per registered server for all its runs, and leaves none behind."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any

import httpx
import pytest
from asgiref.sync import sync_to_async

from runs.models import Message, Run
from tests.integration.stack import Stack, recv, recv_until, wait_until, ws
from tests.mcp_servers.conftest import config_with_servers, register
from tests.runs.conftest import create_run
from tests.support.mcp_servers import children, command_line

pytestmark = pytest.mark.timeout(300)


def mcp_children(stack: Stack) -> set[int]:
    assert stack.worker is not None
    return {p for p in children(stack.worker.pid) if "mcp_test_server" in command_line(p)}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return pid in {int(p) for p in os.listdir("/proc") if p.isdigit()} and "Z" not in _state(pid)


def _state(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"


async def run_to_end(port: int, run_id: int, token: str, task: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    frames: list[dict[str, Any]] = []
    async with ws(port, run_id, token) as conn:
        assert (await recv(conn))["type"] == "system"
        await conn.send(json.dumps({"type": "start", "task": task}))
        return await recv_until(conn, {"result", "completion"}, frames), frames


async def test_an_openai_agent_calls_mcp_tools_through_the_worker(
    live: Stack, alice: Any, alice_token: str, fake_openai: Any
) -> None:
    await sync_to_async(register)("testsrv", shared_with_all=True)
    await sync_to_async(register)("time", command=sys.executable, args=["-m", "mcp_server_time"], users=[alice])
    calls = [
        {"name": "add", "arguments": {"a": 2, "b": 40}},
        {"name": "get_current_time", "arguments": {"timezone": "UTC"}},
    ]
    model = {
        "provider": "openai",
        "model": "fake-tools",
        "base_url": fake_openai.base_url,
        "default_headers": {"X-Fake-Tool-Calls": json.dumps(calls)},
    }
    config = config_with_servers("testsrv", "time", reflect_on_tool_use=True)
    config["participants"][0]["model"] = model
    run_id = await sync_to_async(create_run)(alice, config)
    result, frames = await run_to_end(live.daphnes[0][1], run_id, alice_token, "What is 2 + 40, and the time?")
    assert result["type"] == "result", live.logs()
    executed = await Message.objects.aget(run_id=run_id, type="ToolCallExecutionEvent")
    add, now = executed.content
    assert (add["name"], add["content"], add["is_error"]) == ("add", "42", False)
    assert now["name"] == "get_current_time" and not now["is_error"] and json.loads(now["content"])["timezone"] == "UTC"
    final = [f for f in frames if f["type"] == "message"][-1]["data"]
    assert final["type"] == "TextMessage" and "42" in final["content"]  # the results reached the model
    offered = {t["function"]["name"]: t["function"] for t in fake_openai.chat_requests("fake-tools")[0].body["tools"]}
    assert offered["add"]["parameters"]["required"] == ["a", "b"] and "get_current_time" in offered
    assert len(mcp_children(live)) == 1  # the worker's one session of testsrv


async def test_no_stray_server_processes_after_100_runs_a_stop_mid_call_and_a_killed_worker(
    live: Stack, alice: Any, alice_token: str
) -> None:
    await sync_to_async(register)("testsrv", shared_with_all=True, call_timeout=60.0)
    echo = config_with_servers("testsrv", replies=[{"tool_calls": [{"name": "echo", "arguments": {"text": "hi"}}]}])

    def finished(ids: list[int]) -> bool:
        return not Run.objects.filter(id__in=ids).exclude(status__in=["complete", "error", "stopped"]).exists()

    port = live.daphnes[0][1]
    all_ids: list[int] = []
    headers = {"Authorization": f"Bearer {alice_token}"}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=30) as http:
        for _ in range(10):  # the per-user cap of active runs is 10
            ids = [await sync_to_async(create_run)(alice, echo) for _ in range(10)]
            for run_id in ids:
                response = await http.post(f"/api/runs/{run_id}/start", json={"task": "echo hi"})
                assert response.status_code == 200, response.text
            all_ids += ids
            await sync_to_async(wait_until)(lambda ids=ids: finished(ids), "a batch of runs to end", live.logs)
    statuses = await sync_to_async(lambda: set(Run.objects.filter(id__in=all_ids).values_list("status", flat=True)))()
    assert statuses == {"complete"}, live.logs()
    errors = await sync_to_async(
        lambda: [
            r for m in Message.objects.filter(run_id__in=all_ids, type="ToolCallExecutionEvent") for r in m.content
        ]
    )()
    assert len(errors) == 100 and all(r["content"] == "hi" and not r["is_error"] for r in errors)
    (server,) = mcp_children(live)  # one process served all 100 runs

    hang = config_with_servers("testsrv", replies=[{"tool_calls": [{"name": "hang"}]}])
    run_id = await sync_to_async(create_run)(alice, hang)
    async with ws(live.daphnes[0][1], run_id, alice_token) as conn:
        await recv(conn)
        await conn.send(json.dumps({"type": "start", "task": "hang"}))
        while True:
            frame = await recv_until(conn, {"message"})
            if frame["data"]["type"] == "ToolCallRequestEvent":
                break
        await asyncio.sleep(0.3)  # the call is on its way to the server
        await conn.send(json.dumps({"type": "stop", "reason": "enough"}))
        ended = await recv_until(conn, {"result", "completion"})
    assert ended["type"] == "completion" and (await Run.objects.aget(id=run_id)).status == "stopped"
    assert mcp_children(live) == {server}

    live.kill_worker()  # kill -9: no shutdown hook runs; the server sees its stdin close and exits
    await sync_to_async(wait_until)(lambda: not _alive(server), "the orphaned MCP server to exit", live.logs)
    live.start_worker("w-mcp")
    assert not mcp_children(live)  # the new worker starts servers only when a run needs one


async def test_an_approval_is_answered_after_the_worker_was_restarted(
    live: Stack, alice: Any, alice_token: str
) -> None:
    await sync_to_async(register)("guarded", shared_with_all=True, approval="always")
    add = config_with_servers("guarded", replies=[{"tool_calls": [{"name": "add", "arguments": {"a": 2, "b": 40}}]}])
    run_id = await sync_to_async(create_run)(alice, add)
    port = live.daphnes[0][1]
    async with ws(port, run_id, alice_token) as conn:
        await recv(conn)
        await conn.send(json.dumps({"type": "start", "task": "add"}))
        request = await recv_until(conn, {"tool_approval_request"})
    assert (request["tool"], request["server"], request["arguments"]) == ("add", "guarded", {"a": 2, "b": 40})

    live.kill_worker()  # nothing holds the run while it waits; a new worker resumes it
    live.start_worker("w-approval")
    async with ws(live.daphnes[1][1], run_id, alice_token) as conn:  # the other Daphne
        await recv(conn)
        again = await recv_until(conn, {"tool_approval_request"})
        assert again["request_id"] == request["request_id"]
        decision = {"type": "tool_approval", "request_id": again["request_id"], "decision": "approve"}
        await conn.send(json.dumps({**decision, "arguments": {"a": 1, "b": 1}}))
        result = await recv_until(conn, {"result", "completion"})
    assert result["type"] == "result", live.logs()
    executed = await Message.objects.aget(run_id=run_id, type="ToolCallExecutionEvent")
    assert executed.content[0]["content"] == "2"
    assert len(mcp_children(live)) == 1  # the new worker started the server for the resumed run
