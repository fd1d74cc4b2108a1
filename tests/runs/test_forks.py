"""Forks (from any message, edited, on another version), retry, and the per-run model override."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from agents_app import services as team_services
from agents_app.config import TeamConfig
from runs import services
from runs.models import Message, Run
from tests.runs.conftest import gallery_config
from tests.runs.test_api import api, create, wait_for
from tests.support.fake_openai import FakeOpenAIThread

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("embedded_runtime")]
DONE = {"complete", "error", "stopped"}
FIELDS = ("seq", "source", "type", "content", "models_usage", "metadata", "partial", "target")


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAIThread]:
    with FakeOpenAIThread() as server:
        yield server


def transcript(run_id: int) -> list[tuple[Any, ...]]:
    return [tuple(getattr(m, f) for f in FIELDS) for m in Message.objects.filter(run_id=run_id).order_by("seq")]


def writers_team(owner: Any) -> Any:
    config = TeamConfig.model_validate(gallery_config("writer_critic"))
    return team_services.team_create(owner=owner, config=config)


def finished(client: Client, **body: Any) -> int:
    created = create(client, **body)
    assert wait_for(created["id"], DONE).status == "complete"
    return int(created["id"])


def fork(client: Client, run_id: int, **body: Any) -> Any:
    return client.post(f"/api/runs/{run_id}/fork", body, content_type="application/json")


def test_a_fork_at_any_point_keeps_the_parents_prefix_seq_by_seq_then_continues(alice: Any, alice_token: str) -> None:
    client = api(alice_token)
    parent_id = finished(client, team_id=writers_team(alice).id, task="A poem about the sea")
    parent = transcript(parent_id)
    assert len(parent) == 5
    for after in (1, 2, 3, 4):
        response = fork(client, parent_id, after_seq=after)
        assert response.status_code == 201, response.content
        created = response.json()
        # Started at once: queued, or already further along by the time the answer is read back.
        assert created["status"] != "created" and created["ws_url"] == f"/runs/{created['id']}"
        run = wait_for(created["id"], DONE)
        assert run.status == "complete", run.error
        child = transcript(run.id)
        assert child[:after] == parent[:after]  # the copy, every field
        # The scripted team is deterministic: resumed from the prefix it says what the parent said.
        assert [m[1:4] for m in child[after:]] == [m[1:4] for m in parent[after:]]
        assert (run.parent_id, run.fork_after_seq, run.fork_edited_seq) == (parent_id, after, None)
        assert run.task == "A poem about the sea" and run.team_version == 1


def test_a_fork_with_an_edited_message_resumes_from_the_edit(alice: Any, alice_token: str) -> None:
    client = api(alice_token)
    parent_id = finished(client, team_id=writers_team(alice).id, task="A poem about the sea")
    edit = {"seq": 2, "content": "My own draft: the sea is wide."}
    created = fork(client, parent_id, after_seq=2, edit=edit).json()
    run = wait_for(created["id"], DONE)
    child, parent = transcript(run.id), transcript(parent_id)
    assert child[0] == parent[0] and child[1][1:4] == ("writer", "TextMessage", "My own draft: the sea is wide.")
    assert child[2][1] == "critic" and run.status == "complete" and run.fork_edited_seq == 2
    # The parent is untouched.
    assert transcript(parent_id) == parent
    # Editing the task gives the fork its new task.
    retasked = fork(client, parent_id, after_seq=1, edit={"seq": 1, "content": "A poem about rain"}).json()
    assert wait_for(retasked["id"], DONE).task == "A poem about rain"


def test_a_fork_on_another_version_runs_that_version(alice: Any, alice_token: str) -> None:
    team = writers_team(alice)
    v2 = copy.deepcopy(team.config)
    v2["participants"][1]["model"]["replies"] = ["APPROVE. Version two likes it at once."]
    team_services.team_update(team=team, author=alice, config=TeamConfig.model_validate(v2))
    client = api(alice_token)
    parent_id = finished(client, team_id=team.id, team_version=1, task="A poem")
    created = fork(client, parent_id, after_seq=2, team_version=2).json()
    run = wait_for(created["id"], DONE)
    child = transcript(run.id)
    assert child[:2] == transcript(parent_id)[:2]
    assert child[2][1:4] == ("critic", "TextMessage", "APPROVE. Version two likes it at once.")
    assert len(child) == 3 and run.team_version == 2


def test_a_fork_with_an_inline_config(alice: Any, alice_token: str) -> None:
    client = api(alice_token)
    parent_id = finished(client, team_id=writers_team(alice).id, task="A poem")
    inline = gallery_config("writer_critic")
    inline["participants"][1]["model"]["replies"] = ["APPROVE inline."]
    run = wait_for(fork(client, parent_id, after_seq=2, team_config=inline).json()["id"], DONE)
    assert transcript(run.id)[2][3] == "APPROVE inline." and run.team_version is None


def test_fork_refusals_name_the_field(alice: Any, alice_token: str, bob_token: str) -> None:
    client = api(alice_token)
    team = writers_team(alice)
    parent_id = finished(client, team_id=team.id, task="A poem")
    assert fork(api(bob_token), parent_id, after_seq=2).status_code == 404  # another user's run
    cases = [
        ({"after_seq": 6}, "after_seq"),
        ({"after_seq": 2, "edit": {"seq": 3, "content": "x"}}, "edit.seq"),
        ({"after_seq": 2, "team_version": 9}, "team_version"),
        ({"after_seq": 2, "team_version": 1, "team_config": gallery_config("writer_critic")}, "team_version"),
        ({"after_seq": 2, "model_override": {"nobody": {"model": "x"}}}, "model_override.nobody"),
    ]
    for body, path in cases:
        response = fork(client, parent_id, **body)
        assert response.status_code == 400, (body, response.content)
        assert response.json()["errors"][0]["path"] == path, response.json()
    assert fork(client, parent_id, after_seq=0).status_code == 422
    assert Run.objects.count() == 1


def test_retry_forks_a_stopped_run_from_its_last_complete_message(alice: Any) -> None:
    parent = services.run_create(owner=alice, team_config=gallery_config("writer_critic"), task="A poem")
    Run.objects.filter(id=parent.id).update(status="running")
    for source, text, partial in [("user", "A poem", False), ("writer", "Draft", False), ("critic", "Half", True)]:
        services.message_append(run_id=parent.id, source=source, type="TextMessage", content=text, partial=partial)
    Run.objects.filter(id=parent.id).update(status="stopped")
    parent.refresh_from_db()
    retried = services.run_retry(run=parent)
    assert retried.fork_after_seq == 2 and [m[3] for m in transcript(retried.id)] == ["A poem", "Draft"]
    run = wait_for(retried.id, DONE)
    assert run.status == "complete" and transcript(run.id)[2][1] == "critic"
    with pytest.raises(services.RunStateError):
        services.run_retry(run=run)


def test_admin_retry_action(client: Client, django_user_model: Any, alice: Any) -> None:
    failed = services.run_create(owner=alice, team_config=gallery_config("writer_critic"), task="A poem")
    Run.objects.filter(id=failed.id).update(status="running")
    services.message_append(run_id=failed.id, source="user", type="TextMessage", content="A poem")
    Run.objects.filter(id=failed.id).update(status="error", error="Model call failed")
    done = services.run_create(owner=alice, team_config=gallery_config("writer_critic"), task="x")
    Run.objects.filter(id=done.id).update(status="complete")
    client.force_login(django_user_model.objects.create_superuser("root", password="root-password-1"))
    response = client.post(
        "/admin/runs/run/", {"action": "retry", "_selected_action": [failed.id, done.id]}, follow=True
    )
    page = response.content.decode()
    assert response.status_code == 200 and "Retrying 1 run(s)" in page and "1 run(s) were not retried" in page
    [fork_run] = Run.objects.filter(parent_id=failed.id)
    assert fork_run.owner_id == alice.id and fork_run.fork_after_seq == 1
    assert wait_for(fork_run.id, DONE).status == "complete"


def test_a_model_override_for_every_agent_reaches_the_model_server(
    alice: Any, alice_token: str, fake_openai: FakeOpenAIThread
) -> None:
    client = api(alice_token)
    team = writers_team(alice)
    override = {"model": "fake", "base_url": fake_openai.base_url}
    run = wait_for(create(client, team_id=team.id, task="Hello", model_override=override)["id"], DONE)
    assert run.status == "complete", run.error
    assert run.model_override == override and run.team_version == 1
    models = [p["model"] for p in run.team_config["participants"]]
    assert all(m["provider"] == "openai" and m["model"] == "fake" for m in models)
    assert all(m["base_url"] == fake_openai.base_url for m in models)
    received = {r.model for r in fake_openai.chat_requests()}
    assert received == {"fake"}
    assert len(fake_openai.chat_requests()) == run.last_seq - 1  # every agent turn went to the server


def test_a_per_agent_override_changes_only_that_agent(
    alice: Any, alice_token: str, fake_openai: FakeOpenAIThread
) -> None:
    client = api(alice_token)
    team = writers_team(alice)
    override = {"critic": {"model": "fake-echo", "base_url": fake_openai.base_url}}
    run = wait_for(create(client, team_id=team.id, task="Hello", model_override=override)["id"], DONE)
    assert run.status == "complete", run.error
    writer, critic = run.team_config["participants"]
    assert writer["model"]["provider"] == "scripted" and critic["model"]["model"] == "fake-echo"
    critic_turns = Message.objects.filter(run=run, source="critic").count()
    assert critic_turns > 0 and [r.model for r in fake_openai.chat_requests()] == ["fake-echo"] * critic_turns


def test_an_override_given_at_start_and_on_a_fork(alice: Any, alice_token: str, fake_openai: FakeOpenAIThread) -> None:
    client = api(alice_token)
    team = writers_team(alice)
    created = create(client, team_id=team.id)
    override = {"model": "fake", "base_url": fake_openai.base_url}
    started = client.post(
        f"/api/runs/{created['id']}/start", {"task": "Hi", "model_override": override}, content_type="application/json"
    )
    assert started.status_code == 200, started.content
    run = wait_for(created["id"], DONE)
    assert run.model_override == override and run.status == "complete"
    other = {"model": "fake-echo", "base_url": fake_openai.base_url}
    forked = wait_for(fork(client, run.id, after_seq=2, model_override=other).json()["id"], DONE)
    assert forked.model_override == other
    assert fake_openai.chat_requests()[-1].model == "fake-echo"


def test_a_bad_override_is_400_naming_the_field(alice: Any, alice_token: str) -> None:
    client = api(alice_token)
    team = writers_team(alice)
    for override, path in [
        ({"model": ""}, "model_override.model"),
        ({"critic": {"model": "x", "colour": "red"}}, "model_override.critic.colour"),
        ({"ghost": {"model": "x"}}, "model_override.ghost"),
        ({}, "model_override"),
    ]:
        response = client.post(
            "/api/runs", {"team_id": team.id, "model_override": override}, content_type="application/json"
        )
        assert response.status_code == 400, response.content
        assert response.json()["errors"][0]["path"] == path, response.json()


def test_the_export_and_compare_name_the_fork_point_and_the_override(alice: Any, alice_token: str) -> None:
    client = api(alice_token)
    parent_id = finished(client, team_id=writers_team(alice).id, task="A poem")
    edited = fork(client, parent_id, after_seq=2, edit={"seq": 2, "content": "mine"}).json()
    wait_for(edited["id"], DONE)
    doc = client.get(f"/api/runs/{edited['id']}/export").json()
    assert doc["fork"] == {"parent_id": parent_id, "after_seq": 2, "edited_seq": 2} and doc["model_override"] is None
    text = client.get(f"/api/runs/{edited['id']}/export?format=markdown").content.decode()
    assert f"- **Forked from:** run {parent_id} after message 2 (message 2 edited)" in text
    both = client.get(f"/api/runs/compare?ids={parent_id},{edited['id']}").json()
    assert both["runs"][0]["fork"] is None and both["runs"][1]["fork"]["parent_id"] == parent_id
    assert both["team_diffs"][0]["changes"] == []


def test_a_sessions_runs_list_with_their_fork_points(alice: Any, alice_token: str, bob_token: str) -> None:
    client = api(alice_token)
    team = writers_team(alice)
    session = client.post("/api/sessions", {"name": "s", "team_id": team.id}, content_type="application/json").json()
    parent_id = finished(client, session_id=session["id"], task="A poem")
    child = fork(client, parent_id, after_seq=2, edit={"seq": 2, "content": "mine"}).json()
    finished(client, team_id=team.id, task="elsewhere")  # another session's run is not listed
    listed = client.get(f"/api/runs?session_id={session['id']}").json()["items"]
    forks = {r["id"]: (r["parent_id"], r["fork_after_seq"], r["fork_edited_seq"]) for r in listed}
    assert forks == {parent_id: (None, None, None), child["id"]: (parent_id, 2, 2)}
    assert child["session_id"] == session["id"] and child["team_version"] == 1
    assert api(bob_token).get(f"/api/runs?session_id={session['id']}").json()["count"] == 0


def test_a_fork_after_a_tool_call_runs_the_tool_again(alice: Any, alice_token: str) -> None:
    client = api(alice_token)
    parent_id = finished(client, team_config=gallery_config("calculator"), task="What is 6 * 7?")
    parent = transcript(parent_id)
    assert [m[2] for m in parent[1:3]] == ["ToolCallRequestEvent", "ToolCallExecutionEvent"]
    run = wait_for(fork(client, parent_id, after_seq=2).json()["id"], DONE)
    child = transcript(run.id)
    assert run.status == "complete" and child[:2] == parent[:2]
    # The execution is the tool's own result again (the call ids match), then the answer.
    assert [m[1:4] for m in child[2:]] == [m[1:4] for m in parent[2:]]
