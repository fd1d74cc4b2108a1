"""The production channel layer on a real Redis: publishes written at once, complete, in order, and
failures that reach their publishers instead of hanging them."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis

from ops.logs import RunContextFilter, bind_run
from playground.layers import PUBLISHER_NAME, RECONNECTED_EVENT, PlaygroundPubSubChannelLayer

pytestmark = pytest.mark.services


PREFIX = f"test-layer-{uuid.uuid4().hex[:8]}"
URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


def layer(url: str = URL) -> PlaygroundPubSubChannelLayer:
    return PlaygroundPubSubChannelLayer(hosts=[url], prefix=PREFIX)


@pytest.fixture
async def sender() -> AsyncIterator[PlaygroundPubSubChannelLayer]:
    channel_layer = layer()
    yield channel_layer
    await channel_layer.flush()


@pytest.fixture
async def receiver() -> AsyncIterator[PlaygroundPubSubChannelLayer]:
    channel_layer = layer()
    yield channel_layer
    await channel_layer.flush()


async def test_many_runs_publishing_at_once_deliver_every_frame_in_order(
    sender: PlaygroundPubSubChannelLayer, receiver: PlaygroundPubSubChannelLayer
) -> None:
    # Two layers, as a worker and a Daphne are.
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


async def test_publishes_not_awaited_yet_go_out_in_the_order_they_were_made(
    sender: PlaygroundPubSubChannelLayer, receiver: PlaygroundPubSubChannelLayer
) -> None:
    channel = await receiver.new_channel()
    await receiver.group_add("run-order", channel)
    # The first ones wait for the connection; the rest are written behind them as it opens.
    replies = [sender.group_send_nowait("run-order", {"type": "run.frame", "seq": seq}) for seq in range(200)]
    assert await asyncio.gather(*replies) == [1] * 200  # Redis' reply: one subscriber got each
    seqs = [(await asyncio.wait_for(receiver.receive(channel), 5))["seq"] for _ in range(200)]
    assert seqs == list(range(200))


async def test_a_loop_turns_publishes_go_out_together_at_its_end(sender: PlaygroundPubSubChannelLayer) -> None:
    group_channel = f"{PREFIX}__group__run-now"
    client = redis.Redis.from_url(URL)
    pubsub = client.pubsub()
    pubsub.subscribe(group_channel)
    try:
        assert pubsub.get_message(timeout=5)["type"] == "subscribe"
        await sender.group_send("run-now", {"type": "run.frame", "seq": 0})  # connected
        assert pubsub.get_message(timeout=5)["type"] == "message"
        replies = [sender.group_send_nowait("run-now", {"type": "run.frame", "seq": seq}) for seq in (1, 2, 3)]
        assert pubsub.get_message(timeout=0.2) is None  # this turn is not over: nothing written yet
        await asyncio.sleep(0)  # the turn ends: one write, by the loop, not by a task of its own
        seqs = []
        while len(seqs) < 3:
            message = pubsub.get_message(timeout=5)
            assert message is not None
            if message["type"] == "message":
                seqs.append(sender.deserialize(message["data"])["seq"])
        assert seqs == [1, 2, 3]
        assert await asyncio.gather(*replies) == [1, 1, 1]
    finally:
        pubsub.close()
        client.close()


async def test_publishes_of_a_turn_whose_connection_breaks_before_its_end_are_sent_on_the_next(
    sender: PlaygroundPubSubChannelLayer, receiver: PlaygroundPubSubChannelLayer
) -> None:
    channel = await receiver.new_channel()
    await receiver.group_add("run-unsent", channel)
    await sender.group_send("run-unsent", {"type": "run.frame", "seq": 0})
    assert (await asyncio.wait_for(receiver.receive(channel), 5))["seq"] == 0
    replies = [sender.group_send_nowait("run-unsent", {"type": "run.frame", "seq": seq}) for seq in (1, 2)]
    publisher = sender._get_layer()._publishers[0]  # type: ignore[attr-defined]
    publisher._connection._transport.abort()  # before the turn's write
    replies.append(sender.group_send_nowait("run-unsent", {"type": "run.frame", "seq": 3}))
    assert await asyncio.wait_for(asyncio.gather(*replies), 5) == [1, 1, 1]
    seqs = [(await asyncio.wait_for(receiver.receive(channel), 5))["seq"] for _ in range(3)]
    assert seqs == [1, 2, 3]


async def test_a_killed_publishing_connection_sends_what_waited_for_a_reply_again(
    sender: PlaygroundPubSubChannelLayer, receiver: PlaygroundPubSubChannelLayer
) -> None:
    channel = await receiver.new_channel()
    await receiver.group_add("run-lost", channel)
    await sender.group_send("run-lost", {"type": "run.frame", "seq": 0})
    assert (await asyncio.wait_for(receiver.receive(channel), 5))["seq"] == 0
    admin = redis.Redis.from_url(URL)
    try:
        ours = [c["id"] for c in admin.client_list() if c["name"] == PUBLISHER_NAME.decode()]
        assert ours, "the publishing connection names itself"
        replies = [sender.group_send_nowait("run-lost", {"type": "run.frame", "seq": 1})]
        for client_id in ours:
            admin.client_kill_filter(_id=client_id)
        replies += [sender.group_send_nowait("run-lost", {"type": "run.frame", "seq": s}) for s in (2, 3)]
        # Each went out before the kill or is sent once more on a new connection: none fails, none hangs.
        assert await asyncio.wait_for(asyncio.gather(*replies), 5) == [1, 1, 1]
        await sender.group_send("run-lost", {"type": "run.frame", "seq": 4})
        received: list[int] = []
        while not received or received[-1] != 4:
            received.append((await asyncio.wait_for(receiver.receive(channel), 5))["seq"])
        # A publish whose reply alone was lost may arrive twice (watchers deduplicate); none is missing.
        assert sorted(set(received)) == [1, 2, 3, 4] and received == sorted(received)
    finally:
        admin.close()


async def test_an_unreachable_redis_fails_each_publisher_and_a_working_one_still_publishes() -> None:
    broken = PlaygroundPubSubChannelLayer(hosts=["redis://127.0.0.1:1/0"], prefix="test-layer-broken")
    try:
        results = await asyncio.gather(
            *(broken.group_send("run-x", {"type": "run.frame", "seq": i}) for i in range(3)), return_exceptions=True
        )
        assert all(isinstance(r, redis.ConnectionError) for r in results), results
        assert "could not connect" in str(results[0])
    finally:
        await broken.flush()
    working = layer()
    try:
        await working.group_send("run-y", {"type": "run.frame"})
    finally:
        await working.flush()


async def test_credentials_in_the_url_authenticate_the_publishing_connection(
    receiver: PlaygroundPubSubChannelLayer, caplog: pytest.LogCaptureFixture
) -> None:
    admin = redis.Redis.from_url(URL)
    user, password = f"pub-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    admin.acl_setuser(user, enabled=True, passwords=[f"+{password}"], commands=["+publish", "+client"], channels=["*"])
    channel = await receiver.new_channel()
    await receiver.group_add("run-auth", channel)
    authed = layer(URL.replace("redis://", f"redis://{user}:{password}@"))
    wrong = layer(URL.replace("redis://", f"redis://{user}:not-the-password@"))
    try:
        await authed.group_send("run-auth", {"type": "run.frame", "seq": 1})
        assert (await asyncio.wait_for(receiver.receive(channel), 5))["seq"] == 1
        publishers = {c["user"] for c in admin.client_list() if c["name"] == PUBLISHER_NAME.decode()}
        assert user in publishers
        # Refused credentials are reported; what the server then allows the connection is its call.
        await wrong.group_send("run-auth", {"type": "run.frame", "seq": 2})
        assert any("WRONGPASS" in r.getMessage() for r in caplog.records if r.levelname == "ERROR")
    finally:
        await authed.flush()
        await wrong.flush()
        admin.acl_deluser(user)
        admin.close()


async def frame_from(channel_layer: PlaygroundPubSubChannelLayer, channel: str) -> dict[str, Any]:
    """The next frame on a channel, past the layer's word that it reconnected (tested below)."""
    while (message := await asyncio.wait_for(channel_layer.receive(channel), 5))["type"] == RECONNECTED_EVENT:
        pass
    return message  # type: ignore[no-any-return]


async def test_after_a_redis_restart_the_first_subscribe_and_publishes_work(own_redis: Any) -> None:
    """The connections of both layers went stale with the restart; nothing written to them is lost."""
    sender, receiver = layer(own_redis.url), layer(own_redis.url)
    try:
        before = await receiver.new_channel()
        await receiver.group_add("run-before", before)
        await sender.group_send("run-before", {"type": "run.frame", "seq": 0})
        assert (await asyncio.wait_for(receiver.receive(before), 5))["seq"] == 0

        own_redis.restart()  # this loop has not run since: neither layer has seen its connections close

        written_stale = sender.group_send_nowait("run-before", {"type": "run.frame", "seq": 1})
        channel = await receiver.new_channel()
        await receiver.group_add("run-after", channel)  # returns once the new Redis has the subscription
        await sender.group_send("run-after", {"type": "run.frame", "seq": 2})
        assert (await frame_from(receiver, channel))["seq"] == 2
        await sender.send(channel, {"type": "run.frame", "seq": 3})
        assert (await frame_from(receiver, channel))["seq"] == 3
        assert isinstance(await asyncio.wait_for(written_stale, 5), int)  # sent again, not failed
    finally:
        await sender.flush()
        await receiver.flush()


async def test_the_layers_own_log_lines_carry_no_run_id(own_redis: Any, caplog: pytest.LogCaptureFixture) -> None:
    """The receive task serves every run of its loop; the run that happened to start it must not tag its lines."""
    ours = layer(own_redis.url)
    caplog.handler.addFilter(RunContextFilter())

    async def first_run_on_this_loop() -> None:
        bind_run(7)
        channel = await ours.new_channel()  # starts the layer's receive task
        await ours.group_add("run-7", channel)

    try:
        await asyncio.create_task(first_run_on_this_loop())
        own_redis.restart()
        async with asyncio.timeout(10):
            while not (lost := [r for r in caplog.records if "subscription connection" in r.getMessage()]):
                await asyncio.sleep(0.05)
        assert lost[0].run_id is None  # type: ignore[attr-defined]
    finally:
        await ours.flush()


async def test_a_group_message_is_decoded_once_for_every_local_channel(
    sender: PlaygroundPubSubChannelLayer, receiver: PlaygroundPubSubChannelLayer
) -> None:
    channels = [await receiver.new_channel() for _ in range(3)]
    for channel in channels:
        await receiver.group_add("run-shared", channel)
    await sender.group_send("run-shared", {"type": "run.frame", "frame": {"seq": 1}})
    received = [await asyncio.wait_for(receiver.receive(c), 5) for c in channels]
    assert received[0] == {"type": "run.frame", "frame": {"seq": 1}}
    assert all(r is received[0] for r in received)  # one decoded message, shared (never changed by consumers)


async def test_receive_ready_takes_what_waits_without_waiting(
    sender: PlaygroundPubSubChannelLayer, receiver: PlaygroundPubSubChannelLayer
) -> None:
    channel = await receiver.new_channel()
    await receiver.group_add("run-ready", channel)
    assert receiver.receive_ready(channel) == []
    for seq in range(5):
        await sender.group_send("run-ready", {"type": "run.frame", "seq": seq})
    first = await asyncio.wait_for(receiver.receive(channel), 5)
    rest: list[dict[str, Any]] = []
    async with asyncio.timeout(5):
        while len(rest) < 4:
            rest += receiver.receive_ready(channel)
            await asyncio.sleep(0.01)
    assert [first["seq"], *(m["seq"] for m in rest)] == list(range(5))


async def test_after_redis_comes_back_every_channel_is_told_what_it_may_have_missed(own_redis: Any) -> None:
    """Frames published while Redis was away are gone: each channel gets RECONNECTED_EVENT so its
    consumer can catch up from the database (a run that ended meanwhile)."""
    ours = layer(own_redis.url)
    try:
        watcher = await ours.new_channel()
        await ours.group_add("run-7", watcher)
        await ours.group_send("run-7", {"type": "run.frame", "seq": 1})
        assert (await asyncio.wait_for(ours.receive(watcher), 5))["seq"] == 1
        own_redis.stop()
        await asyncio.sleep(0.5)  # the receiver notices the loss
        own_redis.start()
        assert (await asyncio.wait_for(ours.receive(watcher), 10))["type"] == RECONNECTED_EVENT
        await ours.group_send("run-7", {"type": "run.frame", "seq": 2})
        assert (await asyncio.wait_for(ours.receive(watcher), 10))["seq"] == 2  # still subscribed
    finally:
        await ours.flush()
