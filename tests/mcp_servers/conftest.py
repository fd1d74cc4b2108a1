from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from agents_app.engine import aclose_mcp_sessions
from mcp_servers.models import McpServer
from mcp_servers.services import server_add
from runs import loops
from tests.support.mcp_servers import SERVER_ARGS


def register(name: str = "testsrv", **fields: Any) -> McpServer:
    """The suite's own stdio server, registered as an operator would."""
    defaults: dict[str, Any] = {"command": sys.executable, "args": list(SERVER_ARGS), "call_timeout": 5.0}
    defaults.update(fields)
    return server_add(name=name, **defaults)


def config_with_servers(*servers: str, replies: list[Any] | None = None, **agent: Any) -> dict[str, Any]:
    model = {"provider": "scripted", "replies": replies or ["hello"], "tokens_per_second": 0}
    return {
        "kind": "round_robin",
        "name": "mcp team",
        "participants": [
            {"kind": "assistant", "name": "worker", "model": model, "mcp_servers": list(servers), **agent}
        ],
        "max_turns": 1,
    }


@pytest.fixture
def inline_mcp_sessions() -> Iterator[None]:
    """Inline runs open MCP sessions on the inline loop; stop their servers when the test ends."""
    yield
    asyncio.run_coroutine_threadsafe(aclose_mcp_sessions(), loops.inline_loop()).result(30)


@pytest.fixture
def alice_api(alice: Any) -> Any:
    from tests.api.conftest import bearer_client

    return bearer_client(alice)


@pytest.fixture
def bob_api(bob: Any) -> Any:
    from tests.api.conftest import bearer_client

    return bearer_client(bob)
