"""Runs on a stored provider: the engine calls its URL with its key, and the key leaks nowhere.

A team names a provider by `provider_ref`; the run resolves it against its owner's providers (or a
shared one) when it executes. The fake OpenAI server records what it received.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest
from channels.layers import get_channel_layer
from django.test import Client

from agents_app.engine import aclose_model_clients
from agents_app.models import Team
from providers import services as provider_services
from providers.models import Provider
from runs import events, execution, services
from runs.models import Run
from tests.api.conftest import assert_error
from tests.providers.conftest import KEY
from tests.support.fake_openai import FakeOpenAIThread

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("inline_runtime")]


def team_config(model: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": "round_robin",
        "name": "on a provider",
        "participants": [{"kind": "assistant", "name": "writer", "model": model}],
        "termination": {"type": "max_message", "max_messages": 2},
    }


ON_PROVIDER = team_config({"provider_ref": "local", "model": "fake-echo"})


def drive_and_collect(run: Run, task: str) -> list[dict[str, Any]]:
    """Start the run and drive it here; every frame its watchers were sent, in order."""
    frames: list[dict[str, Any]] = []
    services.message_append(run_id=run.id, source="user", type="TextMessage", content=task)
    services.transition(run_id=run.id, to="queued", expected=["created"])

    async def go() -> None:
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add(events.run_group(run.id), channel)
        await execution.drive(run.id)
        await aclose_model_clients()
        while True:
            try:
                frames.append(await asyncio.wait_for(layer.receive(channel), 0.5))
            except TimeoutError:
                return

    asyncio.run(go())
    return frames


def test_a_run_reaches_the_provider_with_its_key_and_url_and_the_key_leaks_nowhere(
    alice: Any,
    alice_provider: Provider,
    fake_openai: FakeOpenAIThread,
    alice_api: Client,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    run = services.run_create(owner=alice, team_config=ON_PROVIDER)
    frames = drive_and_collect(run, "Echo this")
    run.refresh_from_db()
    assert run.status == "complete", run.error
    [request] = fake_openai.chat_requests()
    assert request.path == "/v1/chat/completions"  # the provider's base_url
    assert request.headers["authorization"] == f"Bearer {KEY}"  # and its key
    assert request.body["model"] == "fake-echo"
    assert run.messages.order_by("seq").last().content == "Echo this"  # type: ignore[union-attr]
    assert run.team_config["participants"][0]["model"]["provider_ref"] == "local"
    seen = {
        "frames": json.dumps(frames),
        "snapshot": json.dumps(run.team_config),
        "run": alice_api.get(f"/api/runs/{run.id}").content.decode(),
        "messages": alice_api.get(f"/api/runs/{run.id}/messages").content.decode(),
        "export": alice_api.get(f"/api/runs/{run.id}/export").content.decode(),
        "markdown": alice_api.get(f"/api/runs/{run.id}/export?format=markdown").content.decode(),
        "trace": alice_api.get(f"/api/runs/{run.id}/trace").content.decode(),
        "providers": alice_api.get("/api/providers").content.decode(),
        "logs": "\n".join(r.getMessage() + repr(r.args) for r in caplog.records),
    }
    assert frames and seen["trace"] and caplog.records
    assert [where for where, text in seen.items() if KEY in text] == []


def test_a_shared_team_naming_a_private_provider_is_refused_for_others(
    alice: Any, alice_provider: Provider, bob_api: Client, fake_openai: FakeOpenAIThread
) -> None:
    team = Team.objects.create(owner=alice, name="shared", config=ON_PROVIDER, shared=True)
    body = assert_error(bob_api.post("/api/runs", {"team_id": team.id}, content_type="application/json"), 400)
    [error] = body["errors"]
    assert error["path"] == "participants[0].model.provider_ref"
    assert "no provider named 'local'" in error["message"] and "add a provider of that name" in error["message"]
    assert fake_openai.chat_requests() == [] and not Run.objects.filter(owner__username="bob").exists()


def test_a_user_with_a_provider_of_that_name_runs_the_shared_team_on_their_own(
    alice: Any, bob: Any, alice_provider: Provider, fake_openai: FakeOpenAIThread
) -> None:
    bob_key = "sk-bob-own-key-4242"
    fake_openai.server.api_key = bob_key
    provider_services.provider_create(
        owner=bob, name="local", kind="openai_compatible", base_url=fake_openai.base_url, api_key=bob_key
    )
    run = services.run_create(owner=bob, team_config=ON_PROVIDER)
    drive_and_collect(run, "hi")
    assert Run.objects.get(id=run.id).status == "complete"
    assert fake_openai.chat_requests()[0].headers["authorization"] == f"Bearer {bob_key}"


def test_a_provider_shared_by_staff_is_used_with_its_key(
    alice: Any, bob: Any, alice_provider: Provider, fake_openai: FakeOpenAIThread
) -> None:
    Provider.objects.filter(id=alice_provider.id).update(shared=True)
    run = services.run_create(owner=bob, team_config=ON_PROVIDER)
    drive_and_collect(run, "hi")
    assert Run.objects.get(id=run.id).status == "complete"
    assert fake_openai.chat_requests()[0].headers["authorization"] == f"Bearer {KEY}"


def test_a_provider_deleted_before_the_run_executes_fails_it_clearly(
    alice: Any, alice_provider: Provider, fake_openai: FakeOpenAIThread
) -> None:
    run = services.run_create(owner=alice, team_config=ON_PROVIDER)
    alice_provider.delete()
    drive_and_collect(run, "hi")
    run.refresh_from_db()
    assert run.status == "error" and "no provider named 'local'" in run.error
    assert fake_openai.chat_requests() == []


def test_a_model_override_can_name_a_provider(
    alice: Any, alice_api: Client, alice_provider: Provider, fake_openai: FakeOpenAIThread
) -> None:
    team = Team.objects.create(
        owner=alice, name="scripted", config=team_config({"provider": "scripted", "replies": ["x"]})
    )
    body = {"team_id": team.id, "model_override": {"model": "fake-echo", "provider_ref": "local"}}
    created = alice_api.post("/api/runs", body, content_type="application/json")
    assert created.status_code == 201, created.content
    run = Run.objects.get(id=created.json()["id"])
    assert run.team_config["participants"][0]["model"] == {
        "provider": "openai",
        "provider_ref": "local",
        "model": "fake-echo",
        **_defaults(run),
    }
    drive_and_collect(run, "hello there")
    run.refresh_from_db()
    assert run.status == "complete", run.error
    assert fake_openai.chat_requests()[0].headers["authorization"] == f"Bearer {KEY}"


def _defaults(run: Run) -> dict[str, Any]:
    model = run.team_config["participants"][0]["model"]
    return {k: v for k, v in model.items() if k not in ("provider", "provider_ref", "model")}


def test_autogen_import_points_a_matching_base_url_at_the_users_provider(
    alice_api: Client, alice_provider: Provider, fake_openai: FakeOpenAIThread
) -> None:
    from tests.autogen.documents import FIXTURES

    data = json.loads((FIXTURES / "agentchat-0.5.7" / "roundrobin_human.json").read_text())
    client = data["config"]["participants"][0]["config"]["model_client"]["config"]
    client.update(base_url=fake_openai.base_url + "/", model="fake-echo")
    created = alice_api.post("/api/teams", {"config": data}, content_type="application/json")
    assert created.status_code == 201, created.content
    model = created.json()["config"]["participants"][0]["model"]
    assert model["provider_ref"] == "local" and model["model"] == "fake-echo" and model["base_url"] is None
    warnings = [w for w in created.json()["warnings"] if "provider 'local'" in w["message"]]
    assert warnings and warnings[0]["path"].startswith("config.config.participants[0]")
    assert "your provider 'local'" in warnings[0]["message"]


def test_a_provider_ref_with_a_base_url_is_a_config_error(alice_api: Client) -> None:
    config = team_config({"provider_ref": "local", "model": "m", "base_url": "http://example.com/v1"})
    body = assert_error(alice_api.post("/api/teams", {"config": config}, content_type="application/json"), 400)
    assert body["errors"][0]["path"] == "config.participants[0].model"
    assert "not given with provider_ref" in body["errors"][0]["message"]


def test_saving_a_team_naming_a_provider_you_lack_warns(alice_api: Client) -> None:
    created = alice_api.post("/api/teams", {"config": ON_PROVIDER}, content_type="application/json")
    assert created.status_code == 201, created.content
    [warning] = created.json()["warnings"]
    assert warning["path"] == "config.participants[0].model.provider_ref"
    assert "no provider named 'local'" in warning["message"]
    checked = alice_api.post("/api/teams/validate", ON_PROVIDER, content_type="application/json").json()
    assert checked["valid"] and checked["warnings"][0]["path"] == "participants[0].model.provider_ref"
