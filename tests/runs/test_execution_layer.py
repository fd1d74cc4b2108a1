"""What a worker's drive leaves subscribed in Redis: nothing of its own, however the drive ends."""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast

import pytest
import redis
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connections

from runs import execution
from tests.factories import make_run

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def _specific_channels() -> set[str]:
    client = redis.Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"), decode_responses=True)
    try:
        prefix = cast("dict[str, Any]", settings.CHANNEL_LAYERS["default"])["CONFIG"]["prefix"]
        return {str(c) for c in client.pubsub_channels(f"{prefix}specific.*")}
    finally:
        client.close()


async def test_a_refused_claim_gives_its_stop_channel_back(alice: Any) -> None:
    loop = asyncio.get_running_loop()
    pool = ThreadPoolExecutor(1)  # the database calls, on one thread whose connection is closed below
    loop.set_default_executor(pool)
    try:
        run = await loop.run_in_executor(pool, make_run, alice, "stopped")  # the claim refuses a stopped run
        before = _specific_channels()
        await execution.drive(run.id)
        # A subscription confirmed on the layer's connection after the drive: Redis has handled the
        # drive's unsubscribes, written before it on the same connection, by then.
        probe = await get_channel_layer().new_channel()
        assert _specific_channels() - before - {probe} == set()
    finally:
        await loop.run_in_executor(pool, connections.close_all)
