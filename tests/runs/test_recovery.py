"""Embedded mode (a real Daphne, SQLite, the inline executor): crash recovery starts with the server."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from runs import services
from runs.models import TERMINAL_STATUSES, Run, RunStatus
from tests.factories import make_run
from tests.ops.conftest import ROOT, subprocess_env

pytestmark = [pytest.mark.nodb, pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]


def test_a_run_orphaned_by_the_last_server_is_recovered_without_any_request(alice: Any, tmp_path: Path) -> None:
    # The previous server died mid-run: the run is still `running` under a lease nobody renews.
    expired = timezone.now() - timedelta(minutes=5)
    lease = {"lease_owner": "dead-server:1:0", "lease_expires_at": expired, "started_at": expired}
    run = make_run(alice, RunStatus.RUNNING, task="say hi", **lease)
    services.message_append(run_id=run.id, source="user", type="TextMessage", content="say hi")
    env = subprocess_env(RUN_EXECUTOR="inline", RUN_SWEEP_INTERVAL_SECONDS="3600")
    env.pop("REDIS_URL", None)
    daphne = [str(Path(sys.executable).parent / "daphne"), "-b", "127.0.0.1", "-p", "0", "playground.asgi:application"]
    with open(tmp_path / "daphne.log", "wb") as log:
        proc = subprocess.Popen(daphne, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        # No HTTP or WebSocket request is made: only the server's own start can recover the run.
        give_up = time.monotonic() + 90
        while (status := Run.objects.values_list("status", flat=True).get(id=run.id)) not in TERMINAL_STATUSES:
            assert proc.poll() is None, (tmp_path / "daphne.log").read_text()
            assert time.monotonic() < give_up, f"the run is still {status}: nothing recovered it"
            time.sleep(0.1)
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    assert status == RunStatus.COMPLETE, (tmp_path / "daphne.log").read_text()
    run.refresh_from_db()
    assert run.recovery_attempts == 1
    assert [m.source for m in run.messages.order_by("seq")] == ["user", "writer"]
