"""Redis going away and coming back under the production stack (each test on a redis-server of its own).

Daphne, a Celery worker (--pool threads) and PostgreSQL are real; Redis is restarted by killing it,
as a crash or an operator's restart does. The sweep (beat) is left out on purpose: what is tested
is that the processes themselves recover, not that the sweep covers for them.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from agents_app.models import Team
from runs.models import Message, Run
from tests.integration.stack import OwnRedis, Stack, recv_until, wait_until, ws
from tests.integration.test_production import chatter

pytestmark = pytest.mark.timeout(240)


def post_run(port: int, token: str, team_id: int) -> httpx.Response:
    return httpx.post(
        f"http://127.0.0.1:{port}/api/runs",
        json={"team_id": team_id, "task": "Chat"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )


def start_run(port: int, token: str, team_id: int) -> int:
    created = post_run(port, token, team_id)
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


def status(run_id: int) -> str:
    return str(Run.objects.values_list("status", flat=True).get(id=run_id))


def test_a_busy_worker_survives_a_redis_restart_and_takes_new_runs(
    outage_stack: Stack, own_redis: OwnRedis, alice: Any, alice_token: str
) -> None:
    stack = outage_stack
    port = stack.start_daphne()
    stack.start_worker()
    team = Team.objects.create(owner=alice, name="chatter", config=chatter(turns=16, tokens_per_second=40))
    busy = [start_run(port, alice_token, team.id) for _ in range(3)]
    wait_until(lambda: all(Run.objects.get(id=r).last_seq >= 3 for r in busy), "three runs under way", stack.logs)

    own_redis.restart()

    wait_until(lambda: all(Run.objects.get(id=r).is_terminal for r in busy), "the busy runs ending", stack.logs)
    assert [status(r) for r in busy] == ["complete"] * 3, stack.logs()
    fresh = start_run(port, alice_token, team.id)
    wait_until(lambda: status(fresh) != "queued", "the same worker starting a new run", stack.logs, timeout=10)
    wait_until(lambda: Run.objects.get(id=fresh).is_terminal, "the new run ending", stack.logs)
    assert status(fresh) == "complete", stack.logs()
    assert stack.worker is not None and stack.worker.poll() is None, stack.logs()


def test_after_a_redis_restart_the_first_run_and_health_check_succeed(
    outage_stack: Stack, own_redis: OwnRedis, alice: Any, alice_token: str
) -> None:
    """The processes' channel-layer connections went stale with the restart: they reconnect, nothing fails."""
    stack = outage_stack
    port = stack.start_daphne()
    stack.start_worker()
    team = Team.objects.create(owner=alice, name="chatter", config=chatter(turns=2, tokens_per_second=0))
    before = start_run(port, alice_token, team.id)  # the worker's loop and the web server open their connections
    wait_until(lambda: Run.objects.get(id=before).is_terminal, "a first run ending", stack.logs)
    assert httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=30).status_code == 200

    own_redis.restart()

    health = httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=30)
    assert health.status_code == 200, health.text
    after = start_run(port, alice_token, team.id)
    wait_until(lambda: Run.objects.get(id=after).is_terminal, "the first run after the restart ending", stack.logs)
    assert status(after) == "complete", stack.logs()


def test_a_run_posted_while_redis_is_down_is_stored_queued_and_runs_once_it_is_back(
    outage_stack: Stack, own_redis: OwnRedis, alice: Any, alice_token: str
) -> None:
    stack = outage_stack
    port = stack.start_daphne()
    stack.start_worker()
    team = Team.objects.create(owner=alice, name="chatter", config=chatter(turns=2, tokens_per_second=0))

    own_redis.stop()
    created = post_run(port, alice_token, team.id)

    assert created.status_code == 201, created.text  # stored, so never a 500 a client would retry
    run_id = created.json()["id"]
    assert created.json()["status"] == "queued"
    assert Run.objects.filter(owner=alice).count() == 1
    own_redis.start()
    stack.start_beat()  # the sweep hands out the run the broker could not take
    wait_until(lambda: Run.objects.get(id=run_id).is_terminal, "the run ending", stack.logs)
    assert status(run_id) == "complete", stack.logs()


async def test_a_run_that_ends_while_redis_is_down_tells_its_watcher_once_redis_is_back(
    outage_stack: Stack, own_redis: OwnRedis, alice: Any, alice_token: str
) -> None:
    """The worker's last frames went nowhere; the watcher's Daphne reads the end from the database as
    soon as its channel layer is subscribed again."""
    stack = outage_stack
    port = await asyncio.to_thread(stack.start_daphne)
    await asyncio.to_thread(stack.start_worker)
    config = chatter(turns=8, tokens_per_second=40)
    # Threads of this test's own loop: asgiref's shared thread may hold a connection that an earlier
    # test's teardown terminated.
    team = await asyncio.to_thread(Team.objects.create, owner=alice, name="chatter", config=config)
    run_id = await asyncio.to_thread(start_run, port, alice_token, team.id)
    frames: list[dict[str, Any]] = []
    async with ws(port, run_id, alice_token) as conn:
        await recv_until(conn, {"message_chunk"}, frames)
        own_redis.stop()
        ending = asyncio.create_task(recv_until(conn, {"result", "completion"}, frames, timeout=120))
        await asyncio.to_thread(
            wait_until, lambda: Run.objects.get(id=run_id).is_terminal, "the run ending unheard", stack.logs
        )
        assert not ending.done()
        own_redis.start()
        back = asyncio.get_running_loop().time()
        final = await asyncio.wait_for(ending, 30)
        heard = asyncio.get_running_loop().time() - back
    assert final["type"] == "result", stack.logs()
    assert heard < 10, f"the end reached the watcher {heard:.1f} s after Redis came back"
    stored = await asyncio.to_thread(lambda: list(Message.objects.filter(run_id=run_id).values_list("seq", flat=True)))
    assert sorted({f["seq"] for f in frames if f["type"] == "message"}) == stored  # every message, once
