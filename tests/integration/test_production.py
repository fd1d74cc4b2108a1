"""End to end on the production stack: two Daphne processes, a Celery worker (--pool threads)
and beat, channels_redis, PostgreSQL; the model is the real `openai` client against a local
OpenAI-compatible server, or the offline scripted model."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from runs.models import Message, Run
from tests.integration.stack import Stack, recv, recv_until, ws
from tests.runs.conftest import create_run, gallery_config

pytestmark = pytest.mark.timeout(240)


def chatter(turns: int = 30, tokens_per_second: float = 60) -> dict[str, Any]:
    """Two scripted agents trading short lines: many messages, paced, for reconnect and crash tests."""

    def agent(name: str, line: str) -> dict[str, Any]:
        replies = [f"{line} number {i}, with a few more words to stream." for i in range(turns)]
        model = {"provider": "scripted", "replies": replies, "tokens_per_second": tokens_per_second}
        return {"kind": "assistant", "name": name, "model": model}

    return {
        "kind": "round_robin",
        "name": "chatter",
        "participants": [agent("ping", "Ping says"), agent("pong", "Pong answers")],
        "termination": {"type": "max_message", "max_messages": turns},
    }


def messages(frames: list[dict[str, Any]]) -> list[tuple[int, str, Any]]:
    return [(f["seq"], f["data"]["source"], f["data"]["content"]) for f in frames if f["type"] == "message"]


async def stored(run_id: int) -> list[tuple[int, str, Any]]:
    return [(m.seq, m.source, m.content) async for m in Message.objects.filter(run_id=run_id).order_by("seq")]


async def start(port: int, run_id: int, token: str, task: str, frames: list[dict[str, Any]]) -> Any:
    conn_cm = ws(port, run_id, token)
    conn = await conn_cm.__aenter__()
    frames.append(await recv(conn))
    await conn.send(json.dumps({"type": "start", "task": task}))
    return conn_cm, conn


async def test_streamed_openai_run_end_to_end(live: Stack, alice: Any, alice_token: str, fake_openai: Any) -> None:
    model = {
        "provider": "openai",
        "model": "fake",
        "base_url": fake_openai.base_url,
        "default_headers": {"X-Fake-Tokens": "40", "X-Fake-Rate": "400"},
    }
    config = {
        "kind": "round_robin",
        "name": "openai e2e",
        "participants": [{"kind": "assistant", "name": "assistant", "model": model}],
        "termination": {"type": "max_message", "max_messages": 2},
    }
    run_id = await sync_to_async(create_run)(alice, config)
    port = live.daphnes[0][1]
    frames: list[dict[str, Any]] = []
    async with ws(port, run_id, alice_token) as conn:
        assert (await recv(conn))["type"] == "system"
        await conn.send('{"type": "start", "task": "Say forty words"}')
        result = await recv_until(conn, {"result", "completion"}, frames)
    assert result["type"] == "result", live.logs()
    chunks = [f for f in frames if f["type"] == "message_chunk"]
    assert len(chunks) >= 2  # streamed, not delivered in one piece
    final = messages(frames)
    assert final[0] == (1, "user", "Say forty words") and final[1][1] == "assistant"
    assert "".join(c["data"]["content"] for c in chunks) == final[1][2]
    usage = result["data"]["usage"]
    assert usage["completion_tokens"] == 40 and usage["prompt_tokens"] > 0
    assert fake_openai.chat_requests("fake")[-1].body["stream_options"] == {"include_usage": True}
    assert await stored(run_id) == final
    assert (await Run.objects.aget(id=run_id)).status == "complete"


async def test_stop_mid_stream_keeps_partial_text(live: Stack, alice: Any, alice_token: str) -> None:
    run_id = await sync_to_async(create_run)(alice, gallery_config("long_story", tokens_per_second=100))
    port = live.daphnes[0][1]
    frames: list[dict[str, Any]] = []
    async with ws(port, run_id, alice_token) as conn:
        await recv(conn)
        await conn.send('{"type": "start", "task": "Tell a story"}')
        for _ in range(5):
            await recv_until(conn, {"message_chunk"}, frames)
        await conn.send('{"type": "stop", "reason": "That will do"}')
        completion = await recv_until(conn, {"result", "completion"}, frames)
    assert completion["type"] == "completion" and completion["status"] == "cancelled", live.logs()
    run = await Run.objects.aget(id=run_id)
    assert (run.status, run.stop_reason) == ("stopped", "That will do")
    partial = await Message.objects.aget(run_id=run_id, partial=True)
    streamed = "".join(f["data"]["content"] for f in frames if f["type"] == "message_chunk")
    assert partial.content.startswith(streamed[: len(streamed) // 2])
    assert len(partial.content) < 2000  # cut short: the story is ~3,500 characters


async def test_input_answered_after_reconnect(live: Stack, alice: Any, alice_token: str) -> None:
    run_id = await sync_to_async(create_run)(alice, gallery_config("human_in_the_loop", tokens_per_second=200))
    port = live.daphnes[0][1]
    async with ws(port, run_id, alice_token) as conn:
        await recv(conn)
        await conn.send('{"type": "start", "task": "Draft a note"}')
        request = await recv_until(conn, {"input_request"})
    run = await Run.objects.aget(id=run_id)
    assert run.status == "awaiting_input" and run.lease_owner == ""  # the worker is free
    frames: list[dict[str, Any]] = []
    async with ws(live.daphnes[1][1], run_id, alice_token, after_seq=run.last_seq) as conn:
        await recv(conn)
        again = await recv(conn)
        assert again["type"] == "input_request" and again["request_id"] == request["request_id"]
        answer = {"type": "input_response", "response": "TERMINATE", "request_id": again["request_id"]}
        await conn.send(json.dumps(answer))
        result = await recv_until(conn, {"result", "completion"}, frames)
    assert result["type"] == "result", live.logs()
    assert messages(frames)[0] == (run.last_seq + 1, "user", "TERMINATE")


async def test_two_daphnes_share_a_run_and_stop_reaches_the_worker(live: Stack, alice: Any, alice_token: str) -> None:
    run_id = await sync_to_async(create_run)(alice, gallery_config("long_story", tokens_per_second=100))
    (_, port_a), (_, port_b) = live.daphnes[:2]
    a_frames: list[dict[str, Any]] = []
    b_frames: list[dict[str, Any]] = []
    async with ws(port_a, run_id, alice_token) as a, ws(port_b, run_id, alice_token) as b:
        await recv(a)
        await recv(b)
        await a.send('{"type": "start", "task": "A story"}')
        await recv_until(b, {"message_chunk"}, b_frames)
        await recv_until(b, {"message_chunk"}, b_frames)
        await b.send('{"type": "stop", "reason": "Stopped from the other server"}')
        end_a, end_b = await asyncio.gather(
            recv_until(a, {"result", "completion"}, a_frames), recv_until(b, {"result", "completion"}, b_frames)
        )
    assert end_a["status"] == end_b["status"] == "cancelled", live.logs()
    assert messages(a_frames) == messages(b_frames) == await stored(run_id)
    run = await Run.objects.aget(id=run_id)
    assert run.stop_reason == "Stopped from the other server"


async def test_a_watcher_joining_mid_message_on_another_daphne_gets_all_of_it(
    live: Stack, alice: Any, alice_token: str
) -> None:
    """The worker answers the late watcher's snapshot request on that watcher's own channel (channels_redis)."""
    run_id = await sync_to_async(create_run)(alice, gallery_config("long_story", tokens_per_second=150))
    (_, port_a), (_, port_b) = live.daphnes[:2]
    early: list[dict[str, Any]] = []
    late: list[dict[str, Any]] = []
    async with ws(port_a, run_id, alice_token) as a:
        await recv(a)
        await a.send('{"type": "start", "task": "A story"}')
        for _ in range(25):
            await recv_until(a, {"message_chunk"}, early)
        async with ws(port_b, run_id, alice_token) as b:
            await recv(b)
            end = await recv_until(b, {"result", "completion"}, late, timeout=120)
        await recv_until(a, {"result", "completion"}, early, timeout=120)
    assert end["type"] == "result", live.logs()
    seq = early[-1]["seq"]
    chunks = [f for f in late if f["type"] == "message_chunk" and f["seq"] == seq]
    message = await Message.objects.aget(run_id=run_id, seq=seq)
    assert chunks and chunks[0]["offset"] == 0, live.logs()
    assert "".join(c["data"]["content"] for c in chunks) == message.content


async def test_killed_worker_run_is_resumed_by_the_sweep(live: Stack, alice: Any, alice_token: str) -> None:
    run_id = await sync_to_async(create_run)(alice, chatter(turns=16, tokens_per_second=40))
    port = live.daphnes[0][1]
    frames: list[dict[str, Any]] = []
    async with ws(port, run_id, alice_token) as conn:
        await recv(conn)
        await conn.send('{"type": "start", "task": "Chat"}')
        while len(messages(frames)) < 4:
            await recv_until(conn, {"message"}, frames)
        live.kill_worker()
        before = await stored(run_id)
        live.start_worker("w2")
        result = await recv_until(conn, {"result", "completion"}, frames, timeout=120)
    assert result["type"] == "result", live.logs()
    after = await stored(run_id)
    assert after[: len(before)] == before  # nothing stored before the crash was lost or rewritten
    assert [s for s, _, _ in after] == list(range(1, len(after) + 1))
    run = await Run.objects.aget(id=run_id)
    assert run.status == "complete" and run.recovery_attempts == 1
    assert any(f["type"] == "run_status" and f["status"] == "queued" for f in frames)  # watchers were told
    assert messages(frames) == after


async def test_twenty_reconnects_give_the_same_transcript(live: Stack, alice: Any, alice_token: str) -> None:
    run_id = await sync_to_async(create_run)(alice, chatter(turns=30, tokens_per_second=80))
    ports = [port for _, port in live.daphnes]
    steady: list[dict[str, Any]] = []
    choppy: list[dict[str, Any]] = []
    started = asyncio.Event()

    async def uninterrupted() -> None:
        async with ws(ports[0], run_id, alice_token) as conn:
            await recv(conn)
            await conn.send('{"type": "start", "task": "Chat"}')
            started.set()
            await recv_until(conn, {"result", "completion"}, steady)

    async def reconnecting() -> None:
        last_seq = 0
        for cycle in range(20):
            async with ws(ports[cycle % 2], run_id, alice_token, after_seq=last_seq) as conn:
                await recv(conn)
                for _ in range(3):
                    frame = await recv(conn)
                    choppy.append(frame)
                    if frame["type"] == "message":
                        last_seq = frame["seq"]
                    if frame["type"] in {"result", "completion"}:
                        return
        async with ws(ports[0], run_id, alice_token, after_seq=last_seq) as conn:
            await recv(conn)
            await recv_until(conn, {"result", "completion"}, choppy)

    first = asyncio.create_task(uninterrupted())
    await started.wait()
    await asyncio.gather(first, reconnecting())
    assert messages(steady) == await stored(run_id), live.logs()
    assert messages(choppy) == messages(steady)
    assert len(messages(steady)) == 30
