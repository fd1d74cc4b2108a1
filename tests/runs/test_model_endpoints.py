"""Model endpoints on private addresses (issue 17 item 10): what such an endpoint answers stays out of the
run's error unless the endpoint is trusted, and MODEL_ALLOW_PRIVATE_ADDRESSES off refuses them at save,
at run creation and again at execution. The model is the local test server on 127.0.0.1, over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client

from agents_app.engine import aclose_model_clients
from agents_app.models import Team
from providers import services as provider_services
from runs import loops
from runs.models import Run
from tests.api.conftest import assert_error
from tests.runs.test_api import api, create, wait_for
from tests.support.fake_openai import FakeOpenAIThread

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("embedded_runtime")]

SECRET = "redis://admin:internal-s3cret@10.0.0.7:6379 refused the command"


@pytest.fixture
def server() -> Iterator[FakeOpenAIThread]:
    with FakeOpenAIThread() as fake:
        yield fake
        # The runs' SDK clients belong to the inline executor's loop: closed there, before the server goes.
        asyncio.run_coroutine_threadsafe(aclose_model_clients(), loops.inline_loop()).result(10)


def failing_model(server: FakeOpenAIThread) -> dict[str, Any]:
    """An OpenAI-compatible model whose endpoint answers 400 with an internal-looking message."""
    headers = {"X-Fake-Status": "400", "X-Fake-Error-Message": SECRET}
    return {"provider": "openai", "model": "fake", "base_url": server.base_url, "default_headers": headers,
            "max_retries": 0}  # fmt: skip


def team_config(model: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": "round_robin",
        "name": "probe",
        "participants": [{"kind": "assistant", "name": "a", "model": model}],
    }


def failed_run(client: Client, model: dict[str, Any]) -> Run:
    created = create(client, team_config=team_config(model), task="hi")
    run = wait_for(created["id"], {"complete", "error"})
    assert run.status == "error"
    return run


def test_a_private_endpoints_error_body_is_not_shown(
    alice_token: str, server: FakeOpenAIThread, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("MODEL_KEY_HOSTS", raising=False)
    monkeypatch.delenv("MODEL_ERROR_HOSTS", raising=False)
    client = api(alice_token)
    run = failed_run(client, failing_model(server))
    host = urlsplit(server.base_url).netloc
    assert "internal-s3cret" not in run.error and "400" in run.error and host in run.error, run.error
    assert "MODEL_ERROR_HOSTS" in run.error
    shown = (
        client.get(f"/api/runs/{run.id}").content.decode() + client.get(f"/api/runs/{run.id}/messages").content.decode()
    )
    assert "internal-s3cret" not in shown
    assert any("internal-s3cret" in r.getMessage() for r in caplog.records)  # the operator can still read it


@pytest.mark.parametrize("setting", ["MODEL_KEY_HOSTS", "MODEL_ERROR_HOSTS"])
def test_an_allowed_endpoints_error_body_is_shown(
    alice_token: str, server: FakeOpenAIThread, monkeypatch: pytest.MonkeyPatch, setting: str
) -> None:
    monkeypatch.setenv(setting, f"api.example.com, {urlsplit(server.base_url).netloc}")
    run = failed_run(api(alice_token), failing_model(server))
    assert SECRET in run.error and "400" in run.error


def test_a_users_own_providers_error_body_is_shown(
    alice: Any, alice_token: str, server: FakeOpenAIThread, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MODEL_ERROR_HOSTS", raising=False)
    settings.PROVIDER_ALLOW_PRIVATE_ADDRESSES = True
    provider_services.provider_create(owner=alice, name="mine", kind="openai_compatible", base_url=server.base_url)
    model = failing_model(server)
    model = {"provider_ref": "mine", "model": "fake", "default_headers": model["default_headers"], "max_retries": 0}
    run = failed_run(api(alice_token), model)
    assert SECRET in run.error


def test_private_endpoints_refused_when_the_setting_is_off(
    alice_token: str, server: FakeOpenAIThread, settings: Any
) -> None:
    settings.MODEL_ALLOW_PRIVATE_ADDRESSES = False
    client = api(alice_token)
    model = failing_model(server)
    saved = client.post("/api/teams", {"config": team_config(model)}, content_type="application/json")
    error = assert_error(saved, 400)["errors"][0]
    assert (
        error["path"] == "config.participants[0].model.base_url" and "MODEL_ALLOW_PRIVATE_ADDRESSES" in error["message"]
    )
    run = client.post("/api/runs", {"team_config": team_config(model), "task": "hi"}, content_type="application/json")
    assert assert_error(run, 400)["errors"][0]["path"] == "team_config.participants[0].model.base_url"
    azure = {"provider": "azure_openai", "model": "m", "azure_endpoint": "http://169.254.169.254/", "api_version": "1"}
    saved = client.post("/api/teams", {"config": team_config(azure)}, content_type="application/json")
    assert assert_error(saved, 400)["errors"][0]["path"] == "config.participants[0].model.azure_endpoint"
    scripted = {"provider": "scripted", "replies": ["ok"]}
    body = {"team_config": team_config(scripted), "task": "hi",
            "model_override": {"model": "fake", "base_url": server.base_url}}  # fmt: skip
    overridden = client.post("/api/runs", body, content_type="application/json")
    assert assert_error(overridden, 400)["errors"][0]["path"] == "model_override.base_url"
    assert server.chat_requests() == []


def test_a_run_is_refused_at_execution_when_its_endpoint_became_private(
    alice: Any, alice_token: str, server: FakeOpenAIThread, settings: Any
) -> None:
    settings.MODEL_ALLOW_PRIVATE_ADDRESSES = True
    model = {"provider": "openai", "model": "fake", "base_url": server.base_url, "max_retries": 0}
    team = Team.objects.create(owner=alice, name="probe", config=team_config(model))
    client = api(alice_token)
    created = create(client, team_id=team.id)
    settings.MODEL_ALLOW_PRIVATE_ADDRESSES = False  # as if the host had come to resolve to a private address
    started = client.post(f"/api/runs/{created['id']}/start", {"task": "Go"}, content_type="application/json")
    assert started.status_code == 200
    run = wait_for(created["id"], {"complete", "error"})
    assert run.status == "error" and "participants[0].model.base_url" in run.error
    assert "MODEL_ALLOW_PRIVATE_ADDRESSES" in run.error and server.chat_requests() == []


def test_private_endpoints_work_when_the_setting_is_on(
    alice_token: str, server: FakeOpenAIThread, settings: Any
) -> None:
    settings.MODEL_ALLOW_PRIVATE_ADDRESSES = True
    client = api(alice_token)
    model = {"provider": "openai", "model": "fake", "base_url": server.base_url, "max_retries": 0}
    saved = client.post("/api/teams", {"config": team_config(model)}, content_type="application/json")
    assert saved.status_code == 201, saved.content
    run = wait_for(create(client, team_id=saved.json()["id"], task="hi")["id"], {"complete", "error"})
    assert run.status == "complete", run.error
