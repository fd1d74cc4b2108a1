"""RunConsumer on the in-memory layer: every frame type, close code and kind of bad frame."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from hypothesis import HealthCheck, given, settings

from runs import consumers
from runs.frames import FrameError, parse_frame
from runs.models import Message, Run
from tests.runs.conftest import create_run, gallery_config
from tests.runs.frame_corpus import mistyped_frames, nul_frames
from tests.runs.wsclient import connect, messages, receive, receive_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("embedded_runtime")]


@pytest.fixture
def writer_run(alice: Any) -> int:
    return create_run(alice, gallery_config("writer_critic"))


async def test_token_in_query_connects_and_sends_system_frame(writer_run: int, alice_token: str) -> None:
    comm = await connect(f"/runs/{writer_run}?token={alice_token}")
    frame = await receive(comm)
    assert frame["type"] == "system" and frame["status"] == "connected"
    assert frame["run"]["id"] == writer_run and frame["run"]["status"] == "created" and frame["last_seq"] == 0
    await comm.disconnect()


async def test_bearer_header_and_alias_route(writer_run: int, alice_token: str) -> None:
    comm = await connect(f"/api/ws/runs/{writer_run}", [(b"authorization", f"Bearer {alice_token}".encode())])
    assert (await receive(comm))["type"] == "system"
    await comm.disconnect()


async def test_session_cookie_authenticates(writer_run: int, alice: Any, client: Any) -> None:
    await sync_to_async(client.force_login)(alice)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    comm = await connect(f"/runs/{writer_run}", [(b"cookie", cookie)])
    assert (await receive(comm))["type"] == "system"
    await comm.disconnect()


async def test_auth_frame_authenticates(writer_run: int, alice_token: str) -> None:
    comm = await connect(f"/runs/{writer_run}")
    await comm.send_json_to({"type": "auth", "token": alice_token})
    assert (await receive(comm))["type"] == "system"
    await comm.send_json_to({"type": "ping"})
    assert (await receive(comm))["type"] == "pong"
    await comm.disconnect()


async def test_bad_token_closes_4001_after_error(writer_run: int) -> None:
    comm = await connect(f"/runs/{writer_run}")
    await comm.send_json_to({"type": "auth", "token": "pg_not-a-token"})
    assert (await receive(comm))["type"] == "error"
    assert (await comm.receive_output(timeout=5))["code"] == 4001


async def test_other_frame_before_auth_closes_4001(writer_run: int) -> None:
    comm = await connect(f"/runs/{writer_run}")
    await comm.send_json_to({"type": "ping"})
    assert (await receive(comm))["type"] == "error"
    assert (await comm.receive_output(timeout=5))["code"] == 4001


async def test_a_socket_the_server_has_closed_is_sent_nothing_more(writer_run: int) -> None:
    # Daphne raises on a send to a socket that is closing (autobahn's Disconnected): after its own
    # close the consumer stays silent, whatever the client still sends.
    comm = await connect(f"/runs/{writer_run}")
    await comm.send_json_to({"type": "ping"})
    assert (await receive(comm))["type"] == "error"
    assert (await comm.receive_output(timeout=5))["code"] == 4001
    await comm.send_json_to({"type": "ping"})
    await comm.send_json_to({"type": "auth", "token": "pg_not-a-token"})
    assert await comm.receive_nothing(timeout=0.5), await comm.receive_output()


async def test_a_watcher_that_hears_nothing_between_two_pings_catches_up_from_the_database(
    writer_run: int, alice_token: str
) -> None:
    # The run ends while its frames cannot reach the watcher (a worker cut off from Redis): here the
    # end is written without being announced. The second ping with nothing heard in between asks.
    comm = await connect(f"/runs/{writer_run}?token={alice_token}")
    await receive(comm)
    await comm.send_json_to({"type": "ping"})
    assert (await receive(comm))["type"] == "pong"
    await Run.objects.filter(id=writer_run).aupdate(status="stopped", stop_reason="ended unheard")
    await comm.send_json_to({"type": "ping"})
    assert (await receive(comm))["type"] == "pong"
    final = await receive(comm)
    assert final["type"] == "completion" and final["data"]["task_result"]["stop_reason"] == "ended unheard"
    await comm.send_json_to({"type": "ping"})
    assert (await receive(comm))["type"] == "pong"
    assert await comm.receive_nothing(timeout=0.3)  # the end goes out once
    await comm.disconnect()


async def test_pings_of_a_runs_watchers_read_its_progress_once(
    writer_run: int, alice_token: str, monkeypatch: Any
) -> None:
    from runs import selectors

    reads: list[int] = []

    def counted(*, run_id: int) -> Any:
        reads.append(run_id)
        return selectors.Progress(last_seq=0, terminal=False, request_id="")

    monkeypatch.setattr(selectors, "run_progress", counted)
    comms = [await connect(f"/runs/{writer_run}?token={alice_token}") for _ in range(3)]
    for comm in comms:
        assert (await receive(comm))["type"] == "system"
    # The second and third ping of each, with nothing heard since the one before, ask; a socket's pings
    # are handled in turn, so the third's pong comes after the second's question was answered.
    for _ in range(3):
        for comm in comms:
            await comm.send_json_to({"type": "ping"})
            assert (await receive(comm))["type"] == "pong"
    assert reads == [writer_run]  # one read answered all six, and none needed a replay
    for comm in comms:
        assert await comm.receive_nothing(timeout=0.1)
        await comm.disconnect()


async def test_no_credentials_closes_4001_after_timeout(writer_run: int, monkeypatch: Any) -> None:
    monkeypatch.setattr(consumers, "AUTH_FRAME_TIMEOUT", 0.2)
    comm = await connect(f"/runs/{writer_run}")
    error = await receive(comm)
    assert error["type"] == "error" and "authentication required" in error["error"]
    assert (await comm.receive_output(timeout=5))["code"] == 4001


async def test_other_users_run_closes_4003(writer_run: int, bob_token: str) -> None:
    comm = await connect(f"/runs/{writer_run}?token={bob_token}")
    assert (await receive(comm))["type"] == "error"
    assert (await comm.receive_output(timeout=5))["code"] == 4003


async def test_auth_frame_for_another_users_run_closes_4003(writer_run: int, bob_token: str) -> None:
    comm = await connect(f"/runs/{writer_run}")
    await comm.send_json_to({"type": "auth", "token": bob_token})
    assert (await receive(comm))["type"] == "error"
    assert (await comm.receive_output(timeout=5))["code"] == 4003


async def test_a_bad_token_in_the_url_still_waits_for_an_auth_frame(writer_run: int, alice_token: str) -> None:
    comm = await connect(f"/runs/{writer_run}?token=pg_not-a-token")
    await comm.send_json_to({"type": "auth", "token": alice_token})
    frame = await receive(comm)
    assert frame["type"] == "system" and frame["run"]["id"] == writer_run
    await comm.disconnect()


async def test_a_session_user_wins_over_a_token_in_the_url(
    writer_run: int, alice: Any, bob_token: str, client: Any
) -> None:
    await sync_to_async(client.force_login)(alice)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    comm = await connect(f"/runs/{writer_run}?token={bob_token}", [(b"cookie", cookie)])
    assert (await receive(comm))["type"] == "system"  # alice's run, watched as alice
    await comm.disconnect()


async def test_unknown_run_closes_4004(alice_token: str) -> None:
    comm = await connect(f"/runs/999999?token={alice_token}")
    assert (await receive(comm))["type"] == "error"
    assert (await comm.receive_output(timeout=5))["code"] == 4004


@pytest.mark.parametrize(
    "payload,expected",
    [
        ("not json", "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('{"type": "dance"}', "unknown frame type"),
        ('{"type": "start", "task": 123}', "invalid start frame"),
        ('{"type": "resume", "after_seq": "x"}', "invalid resume frame"),
        ('{"type": "input_response"}', "invalid input_response frame"),
        ('{"type": "start", "task": "' + "x" * 70_000 + '"}', "frame too large"),
        # json.loads raises RecursionError past ~1,000 levels; 5 KiB is well inside the size limit.
        ('{"type": "start", "task": "x", "team_config": ' + '{"a": ' * 1_000 + "1" + "}" * 1_000 + "}", "nested"),
        ("[" * 30_000 + "]" * 30_000, "nested"),
    ],
    ids=["not-json", "array", "unknown-type", "task-type", "seq-type", "no-response", "too-large", "deep", "deeper"],
)
async def test_bad_frames_get_an_error_and_the_socket_lives_on(
    writer_run: int, alice_token: str, payload: str, expected: str
) -> None:
    comm = await connect(f"/runs/{writer_run}?token={alice_token}")
    await receive(comm)
    await comm.send_to(text_data=payload)
    error = await receive(comm)
    assert error["type"] == "error" and expected in error["error"]
    await comm.send_json_to({"type": "ping"})
    assert (await receive(comm))["type"] == "pong"
    await comm.disconnect()


async def _one_bad_frame(run_id: int, token: str, frame: dict[str, Any]) -> dict[str, Any]:
    """Send one frame on a fresh socket; the reply, once the socket has shown it still answers."""
    comm = await connect(f"/runs/{run_id}?token={token}")
    await receive(comm)
    await comm.send_json_to(frame)
    reply = await receive(comm)
    await comm.send_json_to({"type": "ping"})
    assert (await receive(comm))["type"] == "pong"
    await comm.disconnect()
    return reply


def _refused(case: tuple[dict[str, Any], str]) -> bool:
    try:
        parse_frame(case[0])
    except FrameError:
        return True
    return False


@settings(
    max_examples=60,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=nul_frames() | mistyped_frames().filter(_refused))
def test_generated_bad_frames_get_an_error_naming_the_field_and_nothing_is_stored(
    writer_run: int, alice_token: str, case: tuple[dict[str, Any], str]
) -> None:
    frame, field = case
    reply = async_to_sync(_one_bad_frame)(writer_run, alice_token, frame)
    assert reply["type"] == "error" and f"invalid {frame['type']} frame" in reply["error"] and field in reply["error"]
    run = Run.objects.get(id=writer_run)
    assert run.status == "created" and not Message.objects.filter(run_id=writer_run).exists()


@pytest.mark.parametrize(
    "service,frame",
    [
        ("run_start", {"type": "start", "task": "Write a haiku"}),
        ("run_request_stop", {"type": "stop"}),
        ("run_submit_input", {"type": "input_response", "response": "yes"}),
    ],
    ids=["start", "stop", "input_response"],
)
async def test_an_action_that_fails_unexpectedly_answers_with_an_error(
    writer_run: int, alice_token: str, monkeypatch: Any, caplog: Any, service: str, frame: dict[str, Any]
) -> None:
    def broken(**kwargs: Any) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(consumers.services, service, broken)
    comm = await connect(f"/runs/{writer_run}?token={alice_token}")
    await receive(comm)
    await comm.send_json_to(frame)
    error = await receive(comm)
    assert error["type"] == "error" and frame["type"] in error["error"]
    assert "the database went away" not in error["error"]  # internals stay in the log
    assert any(r.exc_info and "the database went away" in str(r.exc_info[1]) for r in caplog.records)
    await comm.send_json_to({"type": "ping"})
    assert (await receive(comm))["type"] == "pong"
    await comm.disconnect()


async def test_binary_frame_gets_an_error(writer_run: int, alice_token: str) -> None:
    comm = await connect(f"/runs/{writer_run}?token={alice_token}")
    await receive(comm)
    await comm.send_to(bytes_data=b"\x00\x01")
    assert "binary" in (await receive(comm))["error"]
    await comm.send_json_to({"type": "ping"})
    assert (await receive(comm))["type"] == "pong"
    await comm.disconnect()


async def test_start_streams_messages_and_ends_with_result(writer_run: int, alice_token: str) -> None:
    comm = await connect(f"/runs/{writer_run}?token={alice_token}")
    await receive(comm)
    await comm.send_json_to({"type": "start", "task": "Write a haiku about tea"})
    frames: list[dict[str, Any]] = []
    result = await receive_until(comm, {"result", "completion"}, keep=frames)
    assert result["type"] == "result" and result["status"] == "complete"
    msgs = messages(frames)
    assert msgs[0] == (1, "user", "Write a haiku about tea")
    assert [m[0] for m in msgs] == list(range(1, len(msgs) + 1))
    assert {m[1] for m in msgs[1:]} == {"writer", "critic"}
    chunks = [f for f in frames if f["type"] == "message_chunk"]
    assert chunks and all(c["data"]["type"] == "ModelClientStreamingChunkEvent" for c in chunks)
    # Every chunk carries the seq its message got, and their text adds up to that message.
    by_seq: dict[int, str] = {}
    for c in chunks:
        by_seq[c["seq"]] = by_seq.get(c["seq"], "") + c["data"]["content"]
    stored = {seq: content for seq, _, content in msgs}
    for seq, text in by_seq.items():
        assert stored[seq] == text
    usage = result["data"]["usage"]
    assert usage["completion_tokens"] > 0 and set(usage["per_agent"]) == {"writer", "critic"}
    assert result["data"]["task_result"]["stop_reason"]
    assert len(result["data"]["task_result"]["messages"]) == len(msgs)
    run = await Run.objects.aget(id=writer_run)
    assert run.status == "complete" and run.last_seq == len(msgs)
    await comm.send_json_to({"type": "start", "task": "again"})
    assert "already started" in (await receive(comm))["error"]
    await comm.send_json_to({"type": "stop"})
    assert "already complete" in (await receive(comm))["error"]
    await comm.disconnect()


async def test_stop_mid_stream_keeps_partial_text(alice: Any, alice_token: str) -> None:
    run_id = await sync_to_async(create_run)(alice, gallery_config("long_story", tokens_per_second=200))
    comm = await connect(f"/runs/{run_id}?token={alice_token}")
    await receive(comm)
    await comm.send_json_to({"type": "start", "task": "A story please"})
    frames: list[dict[str, Any]] = []
    for _ in range(10):
        await receive_until(comm, {"message_chunk"}, keep=frames)
    await comm.send_json_to({"type": "stop", "reason": "Enough, thanks"})
    completion = await receive_until(comm, {"result", "completion"}, keep=frames)
    assert completion["type"] == "completion" and completion["status"] == "cancelled"
    assert completion["data"]["task_result"]["stop_reason"] == "Enough, thanks"
    streamed = "".join(f["data"]["content"] for f in frames if f["type"] == "message_chunk")
    partial = await Message.objects.aget(run_id=run_id, partial=True)
    assert partial.source == "storyteller" and partial.content.startswith(streamed.strip()[:20])
    assert len(partial.content) >= len(streamed.strip()) - 1
    run = await Run.objects.aget(id=run_id)
    assert (run.status, run.stop_reason) == ("stopped", "Enough, thanks")
    partial_frames = [f for f in frames if f["type"] == "message" and f["data"]["partial"]]
    assert len(partial_frames) == 1
    await comm.disconnect()


async def test_input_request_answered_after_reconnect(alice: Any, alice_token: str) -> None:
    run_id = await sync_to_async(create_run)(alice, gallery_config("human_in_the_loop"))
    comm = await connect(f"/runs/{run_id}?token={alice_token}")
    await receive(comm)
    await comm.send_json_to({"type": "start", "task": "Draft a note"})
    request = await receive_until(comm, {"input_request"})
    assert request["prompt"] and request["request_id"] and request["data"]["source"] == "system"
    await comm.disconnect()

    run = await Run.objects.aget(id=run_id)
    assert run.status == "awaiting_input" and run.lease_owner == ""
    comm = await connect(f"/runs/{run_id}?token={alice_token}&after_seq={run.last_seq}")
    system = await receive(comm)
    assert system["run"]["input_request"]["id"] == request["request_id"]
    again = await receive(comm)
    assert again["type"] == "input_request" and again["request_id"] == request["request_id"]
    await comm.send_json_to({"type": "input_response", "response": "TERMINATE", "request_id": again["request_id"]})
    frames: list[dict[str, Any]] = []
    result = await receive_until(comm, {"result", "completion"}, keep=frames)
    assert result["type"] == "result"
    assert (run.last_seq + 1, "user", "TERMINATE") in messages(frames)
    await comm.send_json_to({"type": "input_response", "response": "late"})
    assert "not waiting for input" in (await receive(comm))["error"]
    await comm.disconnect()


async def test_replay_and_resume_send_each_message_once(writer_run: int, alice_token: str) -> None:
    comm = await connect(f"/runs/{writer_run}?token={alice_token}")
    await receive(comm)
    await comm.send_json_to({"type": "start", "task": "Write"})
    live: list[dict[str, Any]] = []
    await receive_until(comm, {"result"}, keep=live)
    await comm.send_json_to({"type": "resume", "after_seq": 2})
    replayed: list[dict[str, Any]] = []
    await receive_until(comm, {"result"}, keep=replayed)
    assert messages(replayed) == [m for m in messages(live) if m[0] > 2]
    await comm.disconnect()

    late = await connect(f"/runs/{writer_run}?token={alice_token}&after_seq=1")
    await receive(late)
    frames: list[dict[str, Any]] = []
    await receive_until(late, {"result"}, keep=frames)
    assert messages(frames) == [m for m in messages(live) if m[0] > 1]
    await late.disconnect()


async def test_two_watchers_see_the_same_run(writer_run: int, alice_token: str) -> None:
    first = await connect(f"/runs/{writer_run}?token={alice_token}")
    second = await connect(f"/runs/{writer_run}?token={alice_token}")
    await receive(first)
    await receive(second)
    await first.send_json_to({"type": "start", "task": "Write"})
    a: list[dict[str, Any]] = []
    b: list[dict[str, Any]] = []
    await asyncio.gather(receive_until(first, {"result"}, keep=a), receive_until(second, {"result"}, keep=b))
    assert messages(a) == messages(b) and len(messages(a)) >= 3
    await first.disconnect()
    await second.disconnect()


async def test_start_with_autogen_team_config(alice: Any, alice_token: str) -> None:
    run_id = await sync_to_async(create_run)(alice, gallery_config("writer_critic"))
    autogen = {
        "provider": "autogen_agentchat.teams.RoundRobinGroupChat",
        "component_type": "team",
        "config": {
            "participants": [
                {
                    "provider": "autogen_agentchat.agents.UserProxyAgent",
                    "component_type": "agent",
                    "config": {"name": "human", "description": "you"},
                }
            ],
            "termination_condition": {
                "provider": "autogen_agentchat.conditions.MaxMessageTermination",
                "component_type": "termination",
                "config": {"max_messages": 2},
            },
        },
    }
    comm = await connect(f"/runs/{run_id}?token={alice_token}")
    await receive(comm)
    await comm.send_json_to({"type": "start", "task": "hello", "team_config": autogen})
    request = await receive_until(comm, {"input_request"})
    assert request["source"] == "human"
    await comm.disconnect()


async def test_start_with_bad_team_config_names_the_path(writer_run: int, alice_token: str) -> None:
    comm = await connect(f"/runs/{writer_run}?token={alice_token}")
    await receive(comm)
    await comm.send_json_to({"type": "start", "task": "x", "team_config": {"kind": "round_robin", "participants": []}})
    error = await receive(comm)
    assert error["type"] == "error" and any(e["path"] == "participants" for e in error["errors"])
    assert (await Run.objects.aget(id=writer_run)).status == "created"
    await comm.send_json_to({"type": "ping"})
    assert (await receive(comm))["type"] == "pong"
    await comm.disconnect()


async def test_foreign_origin_is_refused_and_no_origin_is_allowed(writer_run: int, alice_token: str) -> None:
    from channels.testing import WebsocketCommunicator

    from playground.asgi import application

    evil = WebsocketCommunicator(
        application, f"/runs/{writer_run}?token={alice_token}", headers=[(b"origin", b"https://evil.example")]
    )
    connected, _ = await evil.connect(timeout=5)
    assert not connected
    script = WebsocketCommunicator(application, f"/runs/{writer_run}?token={alice_token}")
    connected, _ = await script.connect(timeout=5)
    assert connected and (await receive(script))["type"] == "system"
    await script.disconnect()


async def test_a_run_on_a_private_model_endpoint_fails_naming_it_when_the_server_refuses_them(
    alice: Any, alice_token: str, settings: Any
) -> None:
    # Checked again at each execution: a snapshot taken while the setting allowed it, or a name that
    # resolves elsewhere since, is refused before anything is called.
    model = {"provider": "openai", "model": "llama3", "base_url": "http://127.0.0.1:9/v1"}
    config = {
        "kind": "round_robin",
        "name": "local",
        "participants": [{"kind": "assistant", "name": "w", "model": model}],
    }
    run_id = await sync_to_async(create_run)(alice, config)
    settings.MODEL_ALLOW_PRIVATE_ADDRESSES = False
    comm = await connect(f"/runs/{run_id}?token={alice_token}")
    await receive(comm)
    await comm.send_json_to({"type": "start", "task": "Hello"})
    end = await receive_until(comm, {"result", "completion"})
    await comm.disconnect()
    assert end["status"] == "error" and "participants[0].model.base_url" in end["error"]
    assert "MODEL_ALLOW_PRIVATE_ADDRESSES" in end["error"]


async def test_model_failure_names_the_agent_and_keeps_streamed_text(alice: Any, alice_token: str) -> None:
    from agents_app.engine import aclose_model_clients
    from tests.support.fake_openai import FakeOpenAIThread

    with FakeOpenAIThread() as server:
        model = {"provider": "openai", "model": "fake-stream-error", "base_url": server.base_url, "max_retries": 0}
        config = {
            "kind": "round_robin",
            "name": "failing",
            "participants": [{"kind": "assistant", "name": "writer", "model": model}],
        }
        run_id = await sync_to_async(create_run)(alice, config)
        comm = await connect(f"/runs/{run_id}?token={alice_token}")
        await receive(comm)
        await comm.send_json_to({"type": "start", "task": "Write"})
        frames: list[dict[str, Any]] = []
        end = await receive_until(comm, {"result", "completion"}, keep=frames)
        await comm.disconnect()
        await aclose_model_clients()  # the inline run used this test's loop, which ends with the test
    assert end["type"] == "completion" and end["status"] == "error"
    # The server on 127.0.0.1 is in neither MODEL_KEY_HOSTS nor MODEL_ERROR_HOSTS: its words are not shown.
    assert "agent 'writer'" in end["error"] and "127.0.0.1" in end["error"] and "overloaded" not in end["error"]
    partial = [f for f in frames if f["type"] == "message" and f["data"]["partial"]]
    assert len(partial) == 1 and partial[0]["data"]["source"] == "writer" and partial[0]["data"]["content"]
    run = await Run.objects.aget(id=run_id)
    assert run.status == "error" and "writer" in run.error


async def test_a_watcher_joining_mid_message_gets_the_text_streamed_so_far(alice: Any, alice_token: str) -> None:
    """A reload in the middle of a long answer shows all of it: a snapshot, then live chunks, no repeats."""
    run_id = await sync_to_async(create_run)(alice, gallery_config("long_story", tokens_per_second=200))
    first = await connect(f"/runs/{run_id}?token={alice_token}")
    await receive(first)
    await first.send_json_to({"type": "start", "task": "A story please"})
    early: list[dict[str, Any]] = []
    for _ in range(30):
        await receive_until(first, {"message_chunk"}, keep=early)
    streaming_seq = early[-1]["seq"]

    late = await connect(f"/runs/{run_id}?token={alice_token}")
    await receive(late)
    frames: list[dict[str, Any]] = []
    await receive_until(late, {"result", "completion"}, keep=frames, timeout=60)
    chunks = [f for f in frames if f["type"] == "message_chunk" and f["seq"] == streaming_seq]
    stored = await Message.objects.aget(run_id=run_id, seq=streaming_seq)
    assert chunks[0]["offset"] == 0 and len(chunks[0]["data"]["content"]) >= 30  # the snapshot
    assert "".join(c["data"]["content"] for c in chunks) == stored.content  # nothing missing, nothing twice
    offsets = [c["offset"] for c in chunks]
    assert offsets == sorted(offsets) and len(set(offsets)) == len(offsets)
    await receive_until(first, {"result", "completion"}, timeout=60)
    await first.disconnect()
    await late.disconnect()


async def test_without_a_worker_to_answer_live_frames_go_out_after_the_snapshot_timeout(
    alice: Any, alice_token: str, monkeypatch: Any
) -> None:
    monkeypatch.setattr(consumers, "SNAPSHOT_TIMEOUT", 0.2)
    run_id = await sync_to_async(create_run)(alice, gallery_config("writer_critic"))
    await Run.objects.filter(id=run_id).aupdate(status="running")  # as if its worker had just died
    comm = await connect(f"/runs/{run_id}?token={alice_token}")
    await receive(comm)
    from runs import events

    await events.publish(run_id, events.chunk_frame(run_id, 2, "writer", "Hello", 0))
    frame = await receive(comm, timeout=5)
    assert frame["type"] == "message_chunk" and frame["data"]["content"] == "Hello"
    await comm.disconnect()
