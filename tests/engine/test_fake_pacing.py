"""The fake model's pacing: shared ticker (default) and independent per-stream timers (the arrivals bench)."""

from __future__ import annotations

import asyncio

import pytest

from agents_app.config import OpenAIModel
from agents_app.engine.openai_client import OpenAIClient
from tests.support.fake_openai import FakeOpenAIThread

pytestmark = pytest.mark.usefixtures("openai_clients")


async def stream_text(server: FakeOpenAIThread, headers: dict[str, str]) -> str:
    config = OpenAIModel(provider="openai", model="fake", base_url=server.base_url, default_headers=headers)
    pieces = OpenAIClient(config, {}).stream([{"role": "user", "content": "go"}])
    return "".join([p async for p in pieces if isinstance(p, str)])


@pytest.mark.parametrize("pacing", ["shared", "independent"])
async def test_paced_streams_send_every_token_in_order(fake_server: FakeOpenAIThread, pacing: str) -> None:
    headers = {"X-Fake-Tokens": "30", "X-Fake-Rate": "500", "X-Fake-Pacing": pacing}
    texts = await asyncio.gather(*(stream_text(fake_server, headers) for _ in range(3)))
    assert texts == ["".join(f"t{i} " for i in range(30))] * 3


async def test_independent_streams_carry_emission_timestamps_in_order(fake_server: FakeOpenAIThread) -> None:
    headers = {"X-Fake-Tokens": "20", "X-Fake-Rate": "400", "X-Fake-Pacing": "independent", "X-Fake-Timestamps": "1"}
    stamps = [int(s) for s in (await stream_text(fake_server, headers)).split()]
    assert len(stamps) == 20 and stamps == sorted(stamps)
