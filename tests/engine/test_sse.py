"""The per-read SSE decoder and the read pacing under the model client."""

from __future__ import annotations

import json

import pytest

from agents_app.config import OpenAIModel
from agents_app.engine import model_http
from agents_app.engine.model_http import ReadPacer
from agents_app.engine.openai_client import OpenAIClient
from agents_app.engine.sse import ServerSentEvent, SSEDecoder, decode_json_payloads
from tests.support.fake_openai import FakeOpenAIThread

pytestmark = pytest.mark.usefixtures("openai_clients")


def feed_all(*reads: bytes) -> list[ServerSentEvent]:
    decoder = SSEDecoder()
    return [event for read in reads for event in decoder.feed(read)]


def test_events_are_split_at_blank_lines_and_an_unfinished_one_waits() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b'data: {"a": 1}\n\ndata: {"b"') == [ServerSentEvent(b'{"a": 1}')]
    assert decoder.feed(b": 2}\n\n") == [ServerSentEvent(b'{"b": 2}')]
    assert decoder.feed(b"data: never finished") == []


@pytest.mark.parametrize("end", [b"\r\n", b"\r", b"\n"])
def test_every_line_end_works_also_split_across_reads(end: bytes) -> None:
    stream = b"data: one" + end + end + b"data: two" + end + end
    for cut in range(len(stream) + 1):
        assert feed_all(stream[:cut], stream[cut:]) == [ServerSentEvent(b"one"), ServerSentEvent(b"two")], cut


def test_multi_line_data_comments_event_names_and_extra_blank_lines() -> None:
    stream = b": keep-alive\n\nevent: error\ndata: line 1\ndata:line 2\n\n\ndata\n\nid: 7\nretry: 10\n\n"
    assert feed_all(stream) == [ServerSentEvent(b"line 1\nline 2", "error"), ServerSentEvent(b"")]


def test_json_payloads_decode_in_one_call_and_a_bad_one_keeps_those_before_it() -> None:
    assert decode_json_payloads([b'{"a":1}', b"[2]", b'"x"']) == ([{"a": 1}, [2], "x"], None)
    values, error = decode_json_payloads([b'{"a":1}', b"{not json", b"3"])
    assert values == [{"a": 1}] and isinstance(error, json.JSONDecodeError)
    values, error = decode_json_payloads([b"1, 2", b"3"])  # joins to a valid array of three: still refused
    assert values == [] and error is not None
    assert decode_json_payloads([]) == ([], None)


def test_the_pacer_spaces_reads_by_the_number_of_open_streams() -> None:
    pacer = ReadPacer(reads_per_second=2000, max_interval=0.1)
    assert pacer.interval() == 0
    pacer.open_streams = 1
    assert pacer.interval() == 0.0005  # below MIN_PAUSE: read at once
    pacer.open_streams = 50
    assert pacer.interval() == 0.025
    pacer.open_streams = 1000
    assert pacer.interval() == 0.1
    with pytest.raises(ValueError):
        ReadPacer(reads_per_second=0, max_interval=0.1)


async def test_under_load_a_stream_is_read_in_batches_and_loses_nothing(
    fake_server: FakeOpenAIThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As if 100 streams were open at 2,000 reads/s: this one rests 50 ms between reads.
    monkeypatch.setattr(model_http.PACER, "reads_per_second", 20.0)
    monkeypatch.setattr(model_http.PACER, "max_interval", 0.05)
    headers = {"X-Fake-Tokens": "40", "X-Fake-Rate": "200"}  # 0.2 s of tokens, one HTTP chunk each
    config = OpenAIModel(provider="openai", model="fake", base_url=fake_server.base_url, default_headers=headers)
    stream = OpenAIClient(config, {}).stream([{"role": "user", "content": "go"}])
    pieces = [p async for p in stream if isinstance(p, str)]
    assert "".join(pieces) == "".join(f"t{i} " for i in range(40))
    assert len(pieces) <= 6  # one piece per read, a read every 50 ms at most
