"""`python -m ops.serve` (Daphne with a graceful close): SIGTERM closes open WebSockets with 1001."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.integration.stack import free_port, wait_http
from tests.ops.conftest import ROOT, subprocess_env

pytestmark = [pytest.mark.nodb, pytest.mark.timeout(60)]


async def test_sigterm_closes_websockets_with_going_away(tmp_path: Path) -> None:
    port = free_port()
    env = subprocess_env(RUN_EXECUTOR="inline", SQLITE_PATH=str(tmp_path / "unused.sqlite3"))
    env.pop("REDIS_URL", None)
    env.pop("DATABASE_URL", None)
    with open(tmp_path / "serve.log", "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "ops.serve", "-b", "127.0.0.1", "-p", str(port),
                                 "playground.asgi:application"], cwd=ROOT, env=env, stdout=log, stderr=log)  # fmt: skip
    try:
        await asyncio.to_thread(wait_http, f"http://127.0.0.1:{port}/api/version", proc)
        # Accepted, then waiting for an auth frame: an open socket the server has to close.
        async with connect(f"ws://127.0.0.1:{port}/runs/1", proxy=None) as conn:
            await asyncio.sleep(0.2)
            proc.send_signal(signal.SIGTERM)
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(conn.recv(), 30)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
        assert await asyncio.to_thread(proc.wait, 30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
