"""/api/runs over HTTP with a bearer token; runs execute inline (a background loop stands in for Daphne's)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from channels.layers import get_channel_layer
from django.test import Client

from runs import events, loops
from runs.models import Run
from tests.runs.conftest import gallery_config

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("embedded_runtime")]


def api(token: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


def wait_for(run_id: int, statuses: set[str], timeout: float = 30) -> Run:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = Run.objects.get(id=run_id)
        if run.status in statuses:
            return run
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} stayed {Run.objects.get(id=run_id).status}")


def first_chunk_of(run_id: int, source: str) -> threading.Event:
    """Set once `source` streams its first chunk of the run: a watcher on the inline executor's loop,
    which also owns the in-memory layer's queues. It has joined the run's group when this returns."""
    joined, streamed = threading.Event(), threading.Event()

    async def watch() -> None:
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add(events.run_group(run_id), channel)
        joined.set()
        try:
            while not streamed.is_set():
                frame = (await layer.receive(channel))["frame"]
                if frame["type"] == "message_chunk" and frame["data"]["source"] == source:
                    streamed.set()
        finally:
            await layer.group_discard(events.run_group(run_id), channel)

    loops.spawn_inline(watch())
    assert joined.wait(10)
    return streamed


def create(client: Client, **body: Any) -> dict[str, Any]:
    response = client.post("/api/runs", body, content_type="application/json")
    assert response.status_code == 201, response.content
    return response.json()


def test_create_with_task_runs_to_completion(alice_token: str) -> None:
    client = api(alice_token)
    created = create(client, team_config=gallery_config("writer_critic"), task="Write a haiku")
    assert created["ws_url"] == f"/runs/{created['id']}" and created["status"] == "queued"
    run = wait_for(created["id"], {"complete", "error"})
    assert run.status == "complete" and run.usage["completion_tokens"] > 0
    detail = client.get(f"/api/runs/{run.id}").json()
    assert detail["status"] == "complete" and detail["last_seq"] == run.last_seq
    page = client.get(f"/api/runs/{run.id}/messages?after_seq=1").json()
    assert [m["seq"] for m in page["items"]] == list(range(2, run.last_seq + 1))
    assert page["count"] == run.last_seq - 1


def test_create_without_task_waits_then_starts(alice_token: str, alice: Any) -> None:
    from agents_app.models import Team

    team = Team.objects.create(owner=alice, name="wc", config=gallery_config("writer_critic"))
    client = api(alice_token)
    created = create(client, team_id=team.id)
    assert created["status"] == "created"
    response = client.post(f"/api/runs/{created['id']}/start", {"task": "Go"}, content_type="application/json")
    assert response.status_code == 200
    assert wait_for(created["id"], {"complete"}).task == "Go"
    again = client.post(f"/api/runs/{created['id']}/start", {"task": "Go"}, content_type="application/json")
    assert again.status_code == 409 and "already started" in again.json()["detail"]


def test_answer_an_input_request_over_rest(alice_token: str) -> None:
    client = api(alice_token)
    created = create(client, team_config=gallery_config("human_in_the_loop"), task="Draft a note")
    run = wait_for(created["id"], {"awaiting_input"})
    pending = client.get(f"/api/runs/{run.id}").json()["input_request"]
    assert pending["id"] == run.input_request_id and pending["prompt"]
    stale = client.post(
        f"/api/runs/{run.id}/input", {"response": "x", "request_id": "nope"}, content_type="application/json"
    )
    assert stale.status_code == 409
    answer = client.post(
        f"/api/runs/{run.id}/input",
        {"response": "TERMINATE", "request_id": pending["id"]},
        content_type="application/json",
    )
    assert answer.status_code == 200 and answer.json()["content"] == "TERMINATE"
    assert wait_for(run.id, {"complete"}).stop_reason


def test_stop_over_rest_keeps_partial_and_reason(alice_token: str) -> None:
    client = api(alice_token)
    config = gallery_config("long_story", tokens_per_second=100)
    story = config["participants"][0]
    opener = {
        "kind": "assistant",
        "name": "opener",
        "model": {"provider": "scripted", "replies": ["Once upon a time."], "tokens_per_second": 0},
    }
    config["participants"] = [opener, story]
    config["termination"] = {"type": "max_message", "max_messages": 3}
    created = create(client, team_config=config)
    streaming = first_chunk_of(created["id"], "storyteller")
    started = client.post(f"/api/runs/{created['id']}/start", {"task": "Story"}, content_type="application/json")
    assert started.status_code == 200, started.content
    assert streaming.wait(30), "the storyteller never streamed"
    response = client.post(f"/api/runs/{created['id']}/stop", {"reason": "Too long"}, content_type="application/json")
    assert response.status_code == 200 and response.json()["status"] in {"stopping", "stopped"}
    run = wait_for(created["id"], {"stopped"})
    assert run.stop_reason == "Too long"
    partial = list(run.messages.filter(partial=True).values_list("source", flat=True))
    details = [(m.seq, m.source, m.partial, len(str(m.content)), m.metadata) for m in run.messages.all()]
    details.append((run.started_at, run.finished_at, run.recovery_attempts))
    assert partial == ["storyteller"], details
    finished = client.post(f"/api/runs/{run.id}/stop", {}, content_type="application/json")
    assert finished.status_code == 409


def test_other_users_run_is_404_everywhere(alice_token: str, bob_token: str) -> None:
    created = create(api(alice_token), team_config=gallery_config("writer_critic"))
    bob = api(bob_token)
    run_id = created["id"]
    assert bob.get(f"/api/runs/{run_id}").status_code == 404
    assert bob.get(f"/api/runs/{run_id}/messages").status_code == 404
    for action, body in [("start", {"task": "x"}), ("stop", {}), ("input", {"response": "x"})]:
        response = bob.post(f"/api/runs/{run_id}/{action}", body, content_type="application/json")
        assert response.status_code == 404 and response.json()["detail"] == "Not found."
    assert bob.get("/api/runs").json()["count"] == 0


def test_unauthenticated_is_401() -> None:
    assert Client().get("/api/runs").status_code == 401
    response = Client().post("/api/runs", {}, content_type="application/json")
    assert response.status_code == 401 and "detail" in response.json()


@pytest.mark.parametrize(
    "body,path",
    [
        ({}, "team_id"),
        ({"team_id": 999999}, "team_id"),
        ({"team_config": {"kind": "round_robin", "participants": []}}, "participants"),
        (
            {
                "team_config": {
                    "provider": "autogen_agentchat.teams.MagenticOneGroupChat",
                    "component_type": "team",
                    "config": {},
                }
            },
            "provider",
        ),
    ],
)
def test_bad_run_requests_name_the_field(alice_token: str, body: dict[str, Any], path: str) -> None:
    response = api(alice_token).post("/api/runs", body, content_type="application/json")
    assert response.status_code == 400
    assert any(path in e["path"] for e in response.json()["errors"]), response.json()


def test_wrong_types_and_unknown_fields_are_422(alice_token: str) -> None:
    client = api(alice_token)
    assert client.post("/api/runs", {"team_id": "1"}, content_type="application/json").status_code == 422
    assert client.post("/api/runs", {"tem_id": 1}, content_type="application/json").status_code == 422
    assert client.post("/api/runs", "not json", content_type="application/json").status_code in {400, 422}


def test_active_run_cap_answers_429(alice_token: str, settings: Any) -> None:
    settings.RUN_MAX_ACTIVE_PER_USER = 1
    client = api(alice_token)
    create(client, team_config=gallery_config("human_in_the_loop"), task="first")
    response = client.post(
        "/api/runs", {"team_config": gallery_config("writer_critic"), "task": "second"}, content_type="application/json"
    )
    assert response.status_code == 429 and "limit is 1" in response.json()["detail"]
    assert Run.objects.count() == 1
