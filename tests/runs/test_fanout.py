"""Fan-out: a frame encoded once per process, chunks merged for a watcher behind, and many watchers of
one run each getting every token in order (the in-memory layer in the embedded pass, Redis in the
services pass)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from channels.layers import get_channel_layer

from runs import events
from runs.fanout import coalesce, encoded
from runs.watch import Gap
from tests.runs.conftest import create_run, gallery_config
from tests.runs.wsclient import connect, receive, receive_until


def chunk(seq: int, text: str, offset: int, source: str = "writer") -> dict[str, Any]:
    return events.chunk_frame(7, seq, source, text, offset)


def test_contiguous_chunks_of_one_message_merge() -> None:
    merged = coalesce([chunk(2, "a ", 0), chunk(2, "b ", 2), chunk(2, "c", 4)])
    assert merged == [chunk(2, "a b c", 0)]


def test_chunks_that_do_not_continue_each_other_stay_apart() -> None:
    outs = [chunk(2, "a", 0), chunk(3, "b", 0), chunk(3, "c", 5), chunk(3, "d", 6, source="critic")]
    assert coalesce(outs) == outs


def test_other_frames_keep_their_place_between_merged_chunks() -> None:
    message = {"type": "message", "run_id": 7, "seq": 2, "data": {"source": "writer", "content": "a b"}}
    gap = Gap(2, 3, {"type": "message", "run_id": 7, "seq": 4})
    outs = [chunk(2, "a ", 0), chunk(2, "b", 2), message, gap, chunk(5, "x", 0), chunk(5, "y", 1)]
    assert coalesce(outs) == [chunk(2, "a b", 0), message, gap, chunk(5, "xy", 0)]


def test_a_chunk_without_offset_is_sent_as_it_came() -> None:
    bare = {"type": "message_chunk", "run_id": 7, "seq": 2, "data": {"source": "writer", "content": "a"}}
    assert coalesce([bare, dict(bare)]) == [bare, bare]


def test_a_frame_is_encoded_once_and_as_json_dumps_writes_it() -> None:
    frame = chunk(2, 'say "hi" ☃', 0)
    text = encoded(frame)
    assert text == json.dumps(frame) and encoded(frame) is text
    other = chunk(2, 'say "hi" ☃', 0)
    assert encoded(other) == text


@pytest.mark.django_db(transaction=True)
async def test_many_watchers_of_one_run_each_get_every_token_in_order(alice: Any, alice_token: str) -> None:
    from asgiref.sync import sync_to_async

    run_id = await sync_to_async(create_run)(alice, gallery_config("writer_critic"))
    watchers = [await connect(f"/runs/{run_id}?token={alice_token}") for _ in range(40)]
    for comm in watchers:
        assert (await receive(comm))["type"] == "system"
    words = [f"w{i} " for i in range(300)]
    layer = get_channel_layer()
    offset = 0
    sends = []
    for word in words:  # published without waiting between frames: the watchers fall behind
        message = {"type": events.FRAME_EVENT, "frame": events.chunk_frame(run_id, 1, "writer", word, offset)}
        sends.append(asyncio.ensure_future(layer.group_send(events.run_group(run_id), message)))
        offset += len(word)
    await asyncio.gather(*sends)
    done = {"type": "message", "run_id": run_id, "seq": 1, "data": {"source": "writer", "content": "".join(words)}}
    await layer.group_send(events.run_group(run_id), {"type": events.FRAME_EVENT, "frame": done})
    for comm in watchers:
        frames: list[dict[str, Any]] = []
        await receive_until(comm, {"message"}, keep=frames)
        chunks = [f for f in frames if f["type"] == "message_chunk"]
        assert "".join(f["data"]["content"] for f in chunks) == "".join(words)
        ends = [f["offset"] + len(f["data"]["content"]) for f in chunks]
        assert [f["offset"] for f in chunks] == [0, *ends[:-1]]  # in order, nothing twice, no hole
        assert frames[-1] == done
        await comm.disconnect()


def test_chunks_of_two_attempts_stay_apart_and_a_merge_keeps_its_attempt() -> None:
    first, again = events.chunk_frame(7, 2, "writer", "ab", 0, 1), events.chunk_frame(7, 2, "writer", "cd", 2, 2)
    assert coalesce([first, again]) == [first, again]  # the same place in the message, another execution's text
    merged = coalesce([events.chunk_frame(7, 2, "writer", "ab", 0, 2), again])
    assert merged == [events.chunk_frame(7, 2, "writer", "abcd", 0, 2)]
