"""The WebSocket `start` frame chooses what runs like POST /api/runs does: a team version, a model override."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from agents_app import services as team_services
from agents_app.config import TeamConfig
from runs import services
from runs.models import Message, Run
from tests.runs.conftest import gallery_config
from tests.runs.wsclient import connect, receive, receive_until
from tests.support.fake_openai import FakeOpenAIThread

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("embedded_runtime")]


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAIThread]:
    with FakeOpenAIThread() as server:
        yield server


def team_with_two_versions(owner: Any) -> Any:
    """writer_critic whose critic approves at once from version 2 on."""
    config = gallery_config("writer_critic")
    team = team_services.team_create(owner=owner, config=TeamConfig.model_validate(config))
    v2 = copy.deepcopy(config)
    v2["participants"][1]["model"]["replies"] = ["APPROVE. Version two likes it at once."]
    return team_services.team_update(team=team, author=owner, config=TeamConfig.model_validate(v2))


def created_run(owner: Any, team: Any) -> int:
    return services.run_create(owner=owner, team=team, team_config=team.config, team_version=team.version).id


async def test_a_start_frame_pinned_to_v1_runs_v1(alice: Any, alice_token: str) -> None:
    team = await sync_to_async(team_with_two_versions)(alice)
    run_id = await sync_to_async(created_run)(alice, team)
    comm = await connect(f"/runs/{run_id}?token={alice_token}")
    assert (await receive(comm))["run"]["team_version"] == 2
    await comm.send_json_to({"type": "start", "task": "A poem", "team_version": 1})
    frames: list[dict[str, Any]] = []
    result = await receive_until(comm, {"result", "completion"}, keep=frames)
    assert result["type"] == "result", result
    run = await Run.objects.aget(id=run_id)
    v1 = await team.versions.aget(number=1)
    assert run.team_version == 1 and run.team_config == v1.config
    critics = [m.content async for m in Message.objects.filter(run_id=run_id, source="critic")]
    assert critics and "Version two" not in critics[0]
    statuses = [f["run"] for f in frames if f["type"] == "run_status"]
    assert statuses and all(s["team_version"] == 1 for s in statuses)
    await comm.disconnect()


async def test_a_start_frame_override_reaches_the_model_server(
    alice: Any, alice_token: str, fake_openai: FakeOpenAIThread
) -> None:
    team = await sync_to_async(team_with_two_versions)(alice)
    run_id = await sync_to_async(created_run)(alice, team)
    comm = await connect(f"/runs/{run_id}?token={alice_token}")
    await receive(comm)
    override = {"critic": {"model": "fake-echo", "base_url": fake_openai.base_url}}
    await comm.send_json_to({"type": "start", "task": "A poem", "model_override": override})
    frames: list[dict[str, Any]] = []
    result = await receive_until(comm, {"result", "completion"}, keep=frames)
    assert result["type"] == "result", result
    run = await Run.objects.aget(id=run_id)
    assert run.model_override == override and run.team_version == 2
    critic = run.team_config["participants"][1]["model"]
    assert (critic["provider"], critic["model"], critic["base_url"]) == ("openai", "fake-echo", fake_openai.base_url)
    critic_turns = await Message.objects.filter(run_id=run_id, source="critic").acount()
    assert critic_turns and [r.model for r in fake_openai.chat_requests()] == ["fake-echo"] * critic_turns
    assert [f["run"]["model_override"] for f in frames if f["type"] == "run_status"][-1] == override
    await comm.disconnect()


async def test_a_refused_choice_names_the_field_and_the_socket_lives(alice: Any, alice_token: str) -> None:
    team = await sync_to_async(team_with_two_versions)(alice)
    run_id = await sync_to_async(created_run)(alice, team)
    comm = await connect(f"/runs/{run_id}?token={alice_token}")
    await receive(comm)
    ghost = "model_override.ghost"
    cases = [
        ({"team_version": 9}, "invalid start frame: team_version: team", "team_version"),
        ({"model_override": {"ghost": {"model": "x"}}}, "invalid start frame: model_override.ghost", ghost),
        ({"team_version": 1, "team_config": gallery_config("writer_critic")}, "invalid start frame", "team_version"),
    ]
    for extra, message, path in cases:
        await comm.send_json_to({"type": "start", "task": "A poem", **extra})
        error = await receive(comm)
        assert error["type"] == "error" and error["error"].startswith(message), error
        assert [e["path"] for e in error["errors"]] == [path]
    await comm.send_json_to({"type": "start", "task": "A poem", "team_version": 0})
    error = await receive(comm)
    assert error["error"].startswith("invalid start frame: team_version: Input should be greater than or equal to 1")
    run = await Run.objects.aget(id=run_id)
    assert (run.status, run.team_version, run.model_override) == ("created", 2, None)
    await comm.send_json_to({"type": "ping"})
    assert (await receive(comm))["type"] == "pong"
    await comm.disconnect()
