"""manage.py seed_history (the bench's long histories and long runs), and a long run replayed to a socket."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.core.management import CommandError, call_command

from runs import events
from runs.models import Message, Run, RunStatus, Session
from runs.shapes import MessageOut
from tests.runs.wsclient import connect, receive_until

pytestmark = pytest.mark.django_db(transaction=True)


def seed(*args: str) -> dict[str, Any]:
    out = io.StringIO()
    call_command("seed_history", *args, stdout=out)
    return json.loads(out.getvalue())


def test_runs_and_messages_are_spread_with_gapless_seqs(alice: Any) -> None:
    made = seed("--username", alice.username, "--sessions", "3", "--runs", "7", "--messages", "30")
    runs = list(Run.objects.filter(owner=alice).order_by("id"))
    assert len(runs) == made["runs"] == 7 and len(made["sessions"]) == 3
    assert {r.session_id for r in runs} == set(made["sessions"])
    assert sorted(r.last_seq for r in runs) == [4, 4, 4, 4, 4, 5, 5]  # 30 over 7
    for run in runs:
        assert run.status == RunStatus.COMPLETE
        assert list(run.messages.order_by("seq").values_list("seq", flat=True)) == list(range(1, run.last_seq + 1))
    assert Message.objects.filter(run__owner=alice).count() == 30
    assert Session.objects.filter(owner=alice).count() == 3


def test_long_run_waits_for_an_answer(alice: Any) -> None:
    made = seed("--username", alice.username, "--long-run", "12")
    run = Run.objects.get(id=made["long_run"])
    assert (run.status, run.last_seq, run.input_request_id) == (RunStatus.AWAITING_INPUT, 12, "seeded")
    assert run.messages.count() == 12


def test_bad_arguments_are_named(alice: Any, tmp_path: Any) -> None:
    with pytest.raises(CommandError, match="--messages needs --runs"):
        seed("--username", alice.username, "--messages", "5")
    broken = tmp_path / "team.json"
    broken.write_text("{not json")
    with pytest.raises(CommandError, match="--team-config"):
        seed("--username", alice.username, "--long-run", "2", "--team-config", str(broken))


@pytest.mark.usefixtures("embedded_runtime")
async def test_replay_of_a_long_run_equals_its_stored_transcript(alice: Any, alice_token: str) -> None:
    made = await sync_to_async(seed)("--username", alice.username, "--long-run", "600")
    run_id = made["long_run"]
    comm = await connect(f"/runs/{run_id}?token={alice_token}")
    frames: list[dict[str, Any]] = []
    request = await receive_until(comm, {"input_request"}, keep=frames)
    stored = await sync_to_async(lambda: [events.message_frame(m) for m in Message.objects.filter(run_id=run_id)])()
    assert [f for f in frames if f["type"] == "message"] == stored
    assert len(stored) == 600 and request["request_id"] == "seeded"
    await comm.disconnect()


def pydantic_frames(run_id: int) -> list[dict[str, Any]]:
    """The stored transcript as frames, each message dumped by MessageOut itself (not runs.shapes' fast path)."""
    messages = Message.objects.filter(run_id=run_id).order_by("seq")
    dump = [MessageOut.model_validate(m).model_dump(mode="json") for m in messages]
    return [{"type": "message", "run_id": run_id, "seq": data["seq"], "data": data} for data in dump]


@pytest.mark.usefixtures("embedded_runtime")
async def test_a_finished_long_run_replays_its_transcript_then_a_result_listing_it(
    alice: Any, alice_token: str
) -> None:
    made = await sync_to_async(seed)("--username", alice.username, "--runs", "1", "--messages", "700")
    run_id = made["last_run"]
    stored = await sync_to_async(pydantic_frames)(run_id)
    comm = await connect(f"/runs/{run_id}?token={alice_token}")
    frames: list[dict[str, Any]] = []
    result = await receive_until(comm, {"result"}, keep=frames)
    assert [f for f in frames if f["type"] == "message"] == stored and len(stored) == 700
    assert result["data"]["task_result"]["messages"] == [f["data"] for f in stored]
    # Resuming after seq 650: the 50 after it, and the result again with every message.
    await comm.send_json_to({"type": "resume", "after_seq": 650})
    again: list[dict[str, Any]] = []
    result = await receive_until(comm, {"result"}, keep=again)
    assert [f for f in again if f["type"] == "message"] == stored[650:]
    assert result["data"]["task_result"]["messages"] == [f["data"] for f in stored]
    await comm.disconnect()
