"""Browser tests: a real Daphne serving the embedded stack, driven by Debian's Chromium through Playwright.

Playwright never downloads a browser here: scripts/ensure_chromium.sh installs Debian's `chromium`
when /usr/bin/chromium is missing, and the tests launch it with `executable_path`.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DEMO_USER = "demo"
DEMO_PASSWORD = "ui-test-demo-password-1"
TIMEOUT_MS = 30_000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _server_env(db_path: Path) -> dict[str, str]:
    # Embedded mode, and no model keys: the OpenAI demo teams must fail the same way everywhere.
    drop = (
        "DATABASE_URL",
        "REDIS_URL",
        "RUN_EXECUTOR",
        "CHANNEL_LAYER_BACKEND",
        "SECRET_KEY",
        "DEBUG",
        "OPENAI_API_KEY",
        "AZURE_OPENAI_API_KEY",
    )
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("PYTEST")}
    env.update(
        DJANGO_SETTINGS_MODULE="playground.settings",
        SQLITE_PATH=str(db_path),
        MEDIA_ROOT=str(db_path.parent / "media"),
        DEBUG="true",
        PLAYGROUND_DEMO_PASSWORD=DEMO_PASSWORD,
        PYTHONUNBUFFERED="1",
        # A run whose server died is picked up again within seconds (the restart test).
        RUN_LEASE_SECONDS="3",
        RUN_SWEEP_INTERVAL_SECONDS="1",
    )
    return env


class Server:
    """Daphne on the embedded defaults, in a subprocess; restartable on the same port."""

    def __init__(self, port: int, env: dict[str, str], log: Path) -> None:
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self.env = env
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def manage(self, *args: str) -> str:
        out = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=120
        )
        assert out.returncode == 0, f"manage.py {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}"
        return out.stdout

    def start(self) -> None:
        daphne = str(Path(sys.executable).parent / "daphne")
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [daphne, "-b", "127.0.0.1", "-p", str(self.port), "playground.asgi:application"],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        _wait_http(f"{self.base_url}/api/version", self.proc, self.log)

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=15)
        self.proc = None


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    subprocess.run(["bash", str(ROOT / "scripts" / "ensure_chromium.sh")], check=True, timeout=900)
    tmp = tmp_path_factory.mktemp("ui-server")
    srv = Server(_free_port(), _server_env(tmp / "db.sqlite3"), tmp / "daphne.log")
    srv.manage("migrate", "--noinput", "-v0")
    srv.manage("setup_demo")
    try:
        srv.start()
        yield srv
    finally:
        srv.stop()


def _wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"daphne exited with {proc.returncode}:\n{log.read_text(errors='replace')}")
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not come up:\n{log.read_text(errors='replace')}")


@pytest.fixture(scope="session")
def browser(server: Server) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any, server: Server) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=server.base_url)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


def login(page: Any, username: str = DEMO_USER, password: str = DEMO_PASSWORD) -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/")


def screenshot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=False)
