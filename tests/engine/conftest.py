"""Engine tests: no database, no Django. A fake OpenAI server runs in a background thread."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio

from agents_app.engine import aclose_model_clients
from tests.support.fake_openai import FakeOpenAIThread


@pytest.fixture(autouse=True)
def fast_password_hashing() -> None:
    """Overrides the project-wide autouse fixture: it needs pytest-django's `settings`, and these
    tests must also run with `-p no:django`; the engine hashes no passwords."""


@pytest.fixture(scope="session")
def fake_server() -> Iterator[FakeOpenAIThread]:
    with FakeOpenAIThread() as server:
        yield server


@pytest_asyncio.fixture
async def openai_clients() -> AsyncIterator[None]:
    """Close the SDK clients cached for this test's event loop."""
    yield
    await aclose_model_clients()
