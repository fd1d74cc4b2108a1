"""Ops on the production stack (PostgreSQL, Redis, Daphne, a Celery worker --pool threads, beat):
the terminal client surviving a Daphne restart, hooks and webhooks as Celery tasks, worker
heartbeats in /api/health, and a worker's graceful shutdown handing its run to another worker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from agents_app.models import Team
from ops.models import WorkerHeartbeat
from runs.models import Run
from tests.integration.stack import Stack, wait_http, wait_until
from tests.integration.test_production import chatter
from tests.ops.conftest import ROOT, subprocess_env
from tests.support.pg import drop_other_connections
from tests.support.receiver import Receiver
from webhooks.models import HookCall, WebhookDelivery
from webhooks.signing import verify

pytestmark = [pytest.mark.services, pytest.mark.timeout(240)]


@pytest.fixture
def make_stack(transactional_db: Any, tmp_path: Path) -> Iterator[Any]:
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        pytest.fail("needs PostgreSQL and Redis: run in the services pass")
    stacks: list[Stack] = []

    def make(**env: str) -> Stack:
        base = subprocess_env()
        # A Redis database of our own: other test sessions' workers share the machine's Redis and would
        # otherwise consume our Celery tasks (and we theirs). Runs are therefore created over REST.
        redis_url = base["REDIS_URL"].rsplit("/", 1)[0] + f"/{1 + os.getpid() % 15}"
        stack = Stack(base["DATABASE_URL"], redis_url, tmp_path)
        stack.env.update(WEBHOOK_ALLOW_PRIVATE_ADDRESSES="true", **env)
        stacks.append(stack)
        return stack

    yield make
    for stack in stacks:
        stack.stop()
    drop_other_connections()  # subprocesses are gone; drop anything left so the test DB can go


def restart_daphne_on(stack: Stack, port: int) -> None:
    proc = stack._spawn(
        "daphne",
        [
            str(Path(sys.executable).parent / "daphne"),
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "playground.asgi:application",
        ],
    )
    stack.daphnes.append((proc, port))
    wait_http(f"http://127.0.0.1:{port}/api/version", proc)


def start_run(port: int, token: str, team_id: int) -> Run:
    created = httpx.post(
        f"http://127.0.0.1:{port}/api/runs",
        json={"team_id": team_id, "task": "Go"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert created.status_code == 201, created.text
    return Run.objects.get(id=created.json()["id"])


def test_client_resumes_after_the_server_restarts(make_stack: Any, alice: Any, alice_token: str) -> None:
    stack = make_stack()
    port = stack.start_daphne()
    stack.start_worker()
    team = Team.objects.create(owner=alice, name="chatter", config=chatter(turns=24, tokens_per_second=40))
    lines: list[str] = []
    client = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "playground_client",
            "--server",
            f"http://127.0.0.1:{port}",
            "--team",
            str(team.id),
            "--token",
            alice_token,
            "-m",
            "Chat",
        ],
        cwd=ROOT,
        env=subprocess_env(COLUMNS="120"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert client.stdout is not None
    reader = threading.Thread(target=lambda: lines.extend(iter(client.stdout.readline, "")), daemon=True)  # type: ignore[union-attr]
    reader.start()
    try:
        wait_until(lambda: sum("number" in line for line in lines) >= 3, "three messages", lambda: "".join(lines))
        daphne, _ = stack.daphnes.pop(0)
        daphne.send_signal(signal.SIGKILL)
        daphne.wait(timeout=10)
        restart_daphne_on(stack, port)
        assert client.wait(timeout=120) == 0, "".join(lines) + stack.logs()
    finally:
        if client.poll() is None:
            client.kill()
    reader.join(timeout=10)
    output = "".join(lines)
    assert "reconnecting" in output
    run = Run.objects.get(owner=alice)
    assert run.status == "complete" and run.last_seq == 24
    for message in run.messages.exclude(source="user"):
        assert output.count(message.content) == 1, (message.seq, output)


def test_hooks_and_webhooks_run_as_celery_tasks(
    make_stack: Any, alice: Any, alice_token: str, receiver: Receiver
) -> None:
    from webhooks.models import Webhook

    stack = make_stack(
        PLAYGROUND_RUN_HOOKS="tests.webhooks.hooks.explode,tests.webhooks.hooks.record_id",
        WEBHOOK_BACKOFF_SECONDS="0.05",
        WORKER_HEARTBEAT_INTERVAL_SECONDS="1",
    )
    port = stack.start_daphne()
    stack.start_worker()
    stack.start_beat()
    receiver.statuses, receiver.expect = [500, 502], 3
    team = Team.objects.create(owner=alice, name="chatter", config=chatter(turns=2, tokens_per_second=0))
    Webhook.objects.create(owner=alice, team=team, url=receiver.url, secret="celery-secret-0123456789")
    run_id = start_run(port, alice_token, team.id).id
    assert receiver.done.wait(90), stack.logs()
    wait_until(lambda: HookCall.objects.filter(run_id=run_id).count() == 2, "both hooks", stack.logs)
    assert Run.objects.get(id=run_id).status == "complete"
    failed = HookCall.objects.get(run_id=run_id, hook="tests.webhooks.hooks.explode")
    assert failed.status == "failed" and "hook blew up" in failed.error
    assert HookCall.objects.get(run_id=run_id, hook="tests.webhooks.hooks.record_id").status == "ok"
    for request in receiver.received:
        assert verify("celery-secret-0123456789", request.headers["x-playground-signature"], request.body)
    wait_until(lambda: WebhookDelivery.objects.filter(run_id=run_id).count() == 3, "three attempts", stack.logs)
    codes = WebhookDelivery.objects.filter(run_id=run_id).order_by("attempt").values_list("status_code", flat=True)
    assert list(codes) == [500, 502, 200]
    wait_until(lambda: WorkerHeartbeat.objects.exists(), "a worker heartbeat", stack.logs)
    health = httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=30).json()
    assert health["status"] == "ok" and health["checks"]["worker"]["status"] == "ok", health


def test_worker_sigterm_hands_the_run_to_another_worker(make_stack: Any, alice: Any, alice_token: str) -> None:
    stack = make_stack(RUN_LEASE_SECONDS="120")  # the sweep will not step in: the handover is the shutdown's
    port = stack.start_daphne()
    stack.start_worker("w1")
    team = Team.objects.create(owner=alice, name="chatter", config=chatter(turns=30, tokens_per_second=40))
    run = start_run(port, alice_token, team.id)
    wait_until(lambda: Run.objects.get(id=run.id).last_seq >= 4, "four messages", stack.logs)
    first = stack.worker
    assert first is not None
    first.send_signal(signal.SIGTERM)
    first.wait(timeout=60)
    stack.worker = None
    after = Run.objects.get(id=run.id)
    assert after.status == "queued" and after.lease_owner == "", stack.logs()
    stack.start_worker("w2")
    wait_until(lambda: Run.objects.get(id=run.id).is_terminal, "the run finishing", stack.logs)
    done = Run.objects.get(id=run.id)
    assert done.status == "complete" and done.recovery_attempts == 0, stack.logs()
    seqs = list(done.messages.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, 31))
    assert done.messages.filter(partial=True).count() == 0
