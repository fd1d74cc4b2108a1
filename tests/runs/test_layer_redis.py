"""The production channel layer on a real Redis: pipelined publishes arrive complete and in order."""

from __future__ import annotations

import asyncio
import os
import uuid

import pytest

from playground.layers import PlaygroundPubSubChannelLayer

pytestmark = pytest.mark.services


PREFIX = f"test-layer-{uuid.uuid4().hex[:8]}"


def layer() -> PlaygroundPubSubChannelLayer:
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    return PlaygroundPubSubChannelLayer(hosts=[url], prefix=PREFIX)


async def test_many_runs_publishing_at_once_deliver_every_frame_in_order() -> None:
    sender, receiver = layer(), layer()  # two layers: as a worker and a Daphne are
    try:
        groups = [f"run-{i}" for i in range(20)]
        channels = {}
        for group in groups:
            channels[group] = await receiver.new_channel()
            await receiver.group_add(group, channels[group])

        async def one_run(group: str) -> None:
            for seq in range(50):  # each awaits its publish, as a run's pipe does
                await sender.group_send(group, {"type": "run.frame", "seq": seq})

        await asyncio.gather(*(one_run(g) for g in groups))  # 1,000 publishes from one loop at once
        for group in groups:
            seqs = [(await asyncio.wait_for(receiver.receive(channels[group]), 5))["seq"] for _ in range(50)]
            assert seqs == list(range(50)), group
    finally:
        await sender.flush()
        await receiver.flush()


async def test_a_failed_batch_fails_each_of_its_publishers_and_the_next_batch_goes_out() -> None:
    broken = PlaygroundPubSubChannelLayer(hosts=["redis://127.0.0.1:1/0"], prefix="test-layer-broken")
    try:
        results = await asyncio.gather(
            *(broken.group_send("run-x", {"type": "run.frame", "seq": i}) for i in range(3)), return_exceptions=True
        )
        assert all(isinstance(r, Exception) for r in results)
    finally:
        await broken.flush()
    working = layer()
    try:
        await working.group_send("run-y", {"type": "run.frame"})  # a fresh batcher after a failure elsewhere
    finally:
        await working.flush()
