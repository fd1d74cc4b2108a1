"""`make run` boots: its script migrates a fresh database, creates the demo login and serves; the demo login opens
the admin, scoped to its own objects."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.nodb
def test_run_script_serves_admin_login(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "RUN_EXECUTOR"}}
    env.update(
        PORT=str(port),
        SQLITE_PATH=str(tmp_path / "db.sqlite3"),
        PLAYGROUND_DEMO_PASSWORD="demo-pass-123",
        PATH=f"{Path(sys.executable).parent}:{env['PATH']}",
    )
    env.pop("DJANGO_SETTINGS_MODULE", None)
    log = open(tmp_path / "server.log", "w+")
    proc = subprocess.Popen(["bash", str(ROOT / "scripts" / "run.sh")], cwd=ROOT, env=env, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 120
        response = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/admin/login/", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.3)
        log.seek(0)
        output = log.read()
        assert response is not None, f"server did not come up:\n{output}"
        assert response.status_code == 200
        assert "Demo login: username 'demo', password 'demo-pass-123'" in output
        assert f"http://127.0.0.1:{port}/admin/" in output
        assert_demo_opens_its_admin(f"http://127.0.0.1:{port}")
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def assert_demo_opens_its_admin(base: str) -> None:
    with httpx.Client(base_url=base, timeout=10) as http:
        form = http.get("/admin/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
        assert token is not None
        login = http.post(
            "/admin/login/?next=/admin/",
            data={
                "csrfmiddlewaretoken": token.group(1),
                "username": "demo",
                "password": "demo-pass-123",
                "next": "/admin/",
            },
        )
        assert login.status_code == 302 and login.headers["location"] == "/admin/", login.text[:2000]
        runs = http.get("/admin/runs/run/")
        assert runs.status_code == 200 and "Select run to change" in runs.text
        teams = http.get("/admin/agents_app/team/")
        assert teams.status_code == 200 and "Writer and critic (offline)" in teams.text
        assert http.get("/admin/auth/user/").status_code == 403
