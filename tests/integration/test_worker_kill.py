"""A worker killed outright (kill -9) under the production stack with its production timings (lease,
heartbeat and sweep as deployed, not the session stack's shortened ones): its watchers are told at
once, and its runs resume within 15 s."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator
from typing import Any

import pytest

from agents_app.models import Team
from runs.models import Message, Run
from tests.integration.stack import OwnRedis, Stack, recv, ws
from tests.integration.test_production import chatter
from tests.integration.test_redis_outage import start_run

pytestmark = pytest.mark.timeout(240)


@pytest.fixture
def deployed(outage_stack: Stack, own_redis: OwnRedis) -> Iterator[tuple[Stack, int]]:
    """Daphne, two workers and beat on the deployed defaults for leases and the sweep."""
    stack = outage_stack
    for name in ("RUN_LEASE_SECONDS", "RUN_SWEEP_INTERVAL_SECONDS"):
        stack.env.pop(name)
    port = stack.start_daphne()
    stack.start_worker("w1")
    first = stack.worker
    stack.start_worker("w2")
    stack.start_beat()
    try:
        yield stack, port
    finally:
        if first is not None and first.poll() is None:
            first.terminate()
            first.wait(timeout=15)


def _lease_owner(run_id: int) -> str:
    return str(Run.objects.values_list("lease_owner", flat=True).get(id=run_id))


async def test_a_killed_workers_watchers_are_told_and_its_run_resumes_within_15_s(
    deployed: tuple[Stack, int], alice: Any, alice_token: str
) -> None:
    stack, port = deployed
    # Threads of this test's own loop for the database (see test_redis_outage).
    team = await asyncio.to_thread(
        Team.objects.create, owner=alice, name="chatter", config=chatter(turns=16, tokens_per_second=40)
    )
    run_id = await asyncio.to_thread(start_run, port, alice_token, team.id)
    loop = asyncio.get_running_loop()
    frames: list[tuple[float, dict[str, Any]]] = []
    async with ws(port, run_id, alice_token) as conn:
        while sum(1 for _, f in frames if f["type"] == "message") < 4 or frames[-1][1]["type"] != "message_chunk":
            frames.append((loop.time(), await recv(conn)))  # then killed mid-message
        owner = await asyncio.to_thread(_lease_owner, run_id)
        os.kill(int(owner.split(":")[1]), signal.SIGKILL)
        killed = loop.time()
        while frames[-1][1]["type"] not in ("result", "completion"):
            frames.append((loop.time(), await recv(conn, timeout=120)))
    after = [(t - killed, f) for t, f in frames if t >= killed]
    told = [t for t, f in after if f["type"] == "run_status" and f.get("reason") and f["status"] == "queued"]
    assert told and told[0] < 15, (after, stack.logs())
    resumed = [t for t, f in after if f["type"] == "run_status" and f["status"] == "running"]
    assert resumed and resumed[0] < 15, stack.logs()
    assert frames[-1][1]["type"] == "result", stack.logs()
    run = await asyncio.to_thread(Run.objects.get, id=run_id)
    assert run.status == "complete" and run.recovery_attempts == 1
    stored = await asyncio.to_thread(
        lambda: list(Message.objects.filter(run_id=run_id).order_by("seq").values_list("seq", "content"))
    )
    assert [f["seq"] for _, f in frames if f["type"] == "message"] == [seq for seq, _ in stored]  # once, in order
    # What a client shows following docs/protocol.md (message_chunk): the interrupted message is
    # streamed again from its start under a higher attempt, and the text shown equals the stored one.
    shown, interrupted = streamed_text([f for _, f in frames]), frames_before_kill_seq(frames, killed)
    assert {attempt for seq, attempt in chunk_attempts(frames) if seq == interrupted} == {1, 2}
    content = dict(stored)
    assert interrupted in shown and shown == {seq: content[seq] for seq in shown}


def streamed_text(frames: list[dict[str, Any]]) -> dict[int, str]:
    """Each streamed message's text as a client holds it when the message itself arrives."""
    streams: dict[int, tuple[int, str]] = {}
    shown: dict[int, str] = {}
    for frame in frames:
        if frame["type"] == "message_chunk":
            attempt, text = streams.get(frame["seq"], (frame["attempt"], ""))
            if frame["attempt"] > attempt:
                attempt, text = frame["attempt"], ""
            content = frame["data"]["content"]
            if frame["attempt"] == attempt and frame["offset"] + len(content) > len(text):
                text = text[: frame["offset"]] + content
            streams[frame["seq"]] = (attempt, text)
        elif frame["type"] == "message" and frame["seq"] in streams:
            shown[frame["seq"]] = streams.pop(frame["seq"])[1]
    return shown


def chunk_attempts(frames: list[tuple[float, dict[str, Any]]]) -> set[tuple[int, int]]:
    return {(f["seq"], f["attempt"]) for _, f in frames if f["type"] == "message_chunk"}


def frames_before_kill_seq(frames: list[tuple[float, dict[str, Any]]], killed: float) -> int:
    """The message being streamed when the worker was killed."""
    return int([f for t, f in frames if t < killed and f["type"] == "message_chunk"][-1]["seq"])
