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


def json_reads(decoder: SSEDecoder, reads: list[bytes]) -> tuple[list[object], list[tuple[bytes, str]], list[str]]:
    """What feed_json makes of `reads`: the values, the events that ended them, the errors."""
    values: list[object] = []
    stops: list[tuple[bytes, str]] = []
    errors: list[str] = []
    for read in reads:
        got, stop, bad = decoder.feed_json(read)
        values += got
        if stop is not None:
            stops.append((stop.data, stop.event))
        if bad is not None:
            errors.append(type(bad).__name__)
    return values, stops, errors


def reference(reads: list[bytes]) -> tuple[list[object], list[tuple[bytes, str]], list[str]]:
    """The same from the general path: each read's events, decoded up to [DONE], an error event or a bad payload."""
    decoder = SSEDecoder()
    values: list[object] = []
    stops: list[tuple[bytes, str]] = []
    errors: list[str] = []
    for read in reads:
        payloads = []
        stop = None
        for event in decoder.feed(read):
            if event.data.startswith(b"[DONE]") or event.event == "error":
                stop = event
                break
            payloads.append(event.data)
        got, bad = decode_json_payloads(payloads)
        values += got
        if bad is not None:
            errors.append(type(bad).__name__)
        elif stop is not None:
            stops.append((stop.data, stop.event))
    return values, stops, errors


def test_json_reads_of_plain_data_events_decode_in_one_call_split_anywhere() -> None:
    events = [{"choices": [{"delta": {"content": f"t{i} \u00e9\\n\U0001f600"}}]} for i in range(6)]
    stream = b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events) + b"data: [DONE]\n\n"
    for cut in range(len(stream) + 1):
        for end in (b"\n", b"\r\n", b"\r"):
            s = stream.replace(b"\n", end)
            reads = [s[:cut], s[cut:]]
            assert json_reads(SSEDecoder(), reads) == (events, [(b"[DONE]", "message")], []), (cut, end)


def test_json_reads_agree_with_the_general_path_on_odd_streams() -> None:
    import random

    rng = random.Random(24)
    pieces = [
        b'data: {"a": 1}\n\n',
        b"data: [2, 3]\n\n",
        b'data: "x"\n\n',
        b"data: null\n\n",
        b"data: 1, 2\n\n",  # two values in one payload: refused
        b"data: {not json\n\n",
        b"data: NaN\n\n",  # json.loads takes it, orjson does not
        b'data: "\\ud800"\n\n',  # a lone surrogate: the same
        b'data:{"b":4}\n\n',  # no space after the colon
        b"data: {\n",  # a payload over two data lines
        b'data: "c": 5}\n\n',
        b": keep-alive\n\n",
        b'event: error\ndata: {"error": {"message": "overloaded"}}\n\n',
        b'event: ping\ndata: {"p": 1}\n\n',
        b"data: [DONE]\n\n",
        b"\n\n\n",
        b"data: \n\n",
        b"id: 7\nretry: 10\n\n",
    ]
    for _ in range(3000):
        stream = b"".join(rng.choice(pieces) for _ in range(rng.randint(1, 8)))
        if rng.random() < 0.3:
            stream = stream.replace(b"\n", rng.choice([b"\r\n", b"\r"]))
        cuts = sorted(rng.randint(0, len(stream)) for _ in range(rng.randint(0, 3)))
        reads = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
        assert json_reads(SSEDecoder(), reads) == reference(reads), reads


def test_a_payload_that_orjson_refuses_is_decoded_as_json_loads_does() -> None:
    assert json_reads(SSEDecoder(), [b"data: NaN\n\ndata: 1\n\n"])[0][1] == 1
    values, error = decode_json_payloads([b"NaN"])
    assert values[0] != values[0] and error is None  # NaN, as json.loads reads it
    assert decode_json_payloads([b"null"]) == ([None], None)
    assert decode_json_payloads([b"null", b"null"]) == ([None, None], None)


def test_plain_data_events_take_the_one_call_path(monkeypatch: pytest.MonkeyPatch) -> None:
    from agents_app.engine import sse

    def general_path(complete: bytes) -> list[ServerSentEvent]:
        raise AssertionError(f"general path taken for {complete!r}")

    monkeypatch.setattr(sse, "_events", general_path)
    decoder = SSEDecoder()
    assert decoder.feed_json(b'data: {"a": 1}\n\ndata: {"b": 2}\n\ndata: {"c"') == ([{"a": 1}, {"b": 2}], None, None)
    assert decoder.feed_json(b": 3}\r\n\r\n") == ([{"c": 3}], None, None)


async def test_a_paced_stream_hands_its_connection_back_reading(
    fake_server: FakeOpenAIThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The socket rests between reads under a timer; once the stream ends (or is abandoned while
    # resting) the connection goes back to the pool reading, so the next stream on it is not held.
    monkeypatch.setattr(model_http.PACER, "reads_per_second", 20.0)
    monkeypatch.setattr(model_http.PACER, "max_interval", 0.05)
    headers = {"X-Fake-Tokens": "20", "X-Fake-Rate": "200"}
    config = OpenAIModel(provider="openai", model="fake", base_url=fake_server.base_url, default_headers=headers)
    client = OpenAIClient(config, {})
    for _ in range(3):
        pieces = [p async for p in client.stream([{"role": "user", "content": "go"}]) if isinstance(p, str)]
        assert "".join(pieces) == "".join(f"t{i} " for i in range(20))
    abandoned = client.stream([{"role": "user", "content": "go"}])
    assert isinstance(await abandoned.__anext__(), str)
    await abandoned.aclose()  # while its socket rests
    pieces = [p async for p in client.stream([{"role": "user", "content": "go"}]) if isinstance(p, str)]
    assert "".join(pieces) == "".join(f"t{i} " for i in range(20))
    assert model_http.PACER.open_streams == 0
