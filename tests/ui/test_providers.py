"""Providers in Chromium: add one, test it, list its models; pick a model from that list in the team
editor; the playground's first-run banner (offline team now, or add a provider, Ollama prefilled)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.support.fake_openai import FakeOpenAIThread
from tests.ui.conftest import Server, login, screenshot
from tests.ui.test_playground import LONG, new_session, send_task

KEY = "sk-ui-provider-key-5150"
PASSWORD = "carol-password-ui-1"


@pytest.fixture(scope="module")
def carol(server: Server) -> str:
    """A user of this module's own, so the demo user's first-run state stays as other tests expect it."""
    server.manage(
        "shell",
        "-c",
        f"from django.contrib.auth.models import User; User.objects.create_user('carol', password='{PASSWORD}')",
    )
    return "carol"


@pytest.fixture
def keyed_openai() -> Iterator[FakeOpenAIThread]:
    with FakeOpenAIThread(api_key=KEY) as fake:
        yield fake


def test_add_a_provider_test_it_and_pick_its_model_in_the_team_editor(
    page: Any, server: Server, carol: str, keyed_openai: FakeOpenAIThread
) -> None:
    login(page, carol, PASSWORD)
    page.goto("/providers/")
    page.get_by_label("Name").fill("local")
    page.get_by_label("Kind").select_option("openai_compatible")
    page.get_by_label("Base URL").fill(keyed_openai.base_url)
    page.get_by_label("API key").fill(KEY)
    page.get_by_role("button", name="Add provider").click()
    row = page.locator("#provider-rows tr", has_text="local")
    expect(row).to_contain_text(f"…{KEY[-4:]}")
    expect(page.locator("#provider-result")).to_contain_text("connected: ")  # tested on creation
    expect(page.locator('.model-list[data-provider="local"]')).to_contain_text("fake-echo")
    assert KEY not in page.content()
    screenshot(page, "providers-added")

    row.get_by_role("button", name="Models local").click()
    expect(page.locator('.model-list[data-provider="local"] li', has_text="fake-tools")).to_be_visible()

    # The team editor offers the provider and a dropdown of its models.
    page.goto("/teams/")
    page.get_by_role("button", name="New team").click()
    provider = page.locator('#form-view [data-path="participants[0].model.provider"]')
    provider.select_option("ref:local")
    models = page.locator('#form-view select[data-provider-models="local"]')
    expect(models.locator("option", has_text="fake-echo")).to_have_count(1)
    models.select_option("fake-echo")
    expect(page.locator("#validity")).to_have_attribute("data-state", "valid")
    config = json.loads(page.locator("#json-text").input_value())
    assert config["participants"][0]["model"] == {"provider_ref": "local", "model": "fake-echo"}
    screenshot(page, "team-editor-provider-models")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#save-result")).to_contain_text("Saved")

    # The playground's per-run "Run on" takes the provider too, with its models suggested.
    page.goto("/")
    new_session(page, "my_team")
    page.locator("#run-options summary").click()
    page.get_by_label("Provider (optional)").select_option("local")
    expect(page.locator('#run-models option[value="fake-tools"]')).to_have_count(1)
    page.get_by_label("Model for this run").fill("fake-echo")
    expect(page.locator("#run-options-summary")).to_have_text("model fake-echo on local")
    card = send_task(page, "Say it back")
    expect(card.get_by_test_id("run-status")).to_have_text("completed", timeout=LONG)
    expect(card.locator(".msgs")).to_contain_text("Say it back")
    requests = keyed_openai.chat_requests()
    assert requests and all(r.headers["authorization"] == f"Bearer {KEY}" for r in requests)
    assert KEY not in page.content()

    # A wrong key is reported as such by the Test button.
    keyed_openai.server.api_key = "sk-some-other-key-0000"
    page.goto("/providers/")
    page.locator("#provider-rows tr", has_text="local").get_by_role("button", name="Test local").click()
    expect(page.locator("#provider-result")).to_contain_text("wrong_key")
    expect(page.locator("#provider-result")).to_contain_text("401")


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def test_first_run_banner_runs_an_offline_team(page: Any, server: Server) -> None:
    login(page)  # the demo user: no provider, and the test server has no model key
    expect(page.locator("#team-select option").first).not_to_have_text("Loading teams…")
    banner = page.locator("#first-run")
    expect(banner).to_be_visible()
    expect(page.locator("#first-run-add")).to_have_attribute("href", "/providers/")
    page.get_by_role("button", name="Run an offline team").click()
    expect(banner).to_be_hidden()
    expect(page.locator("#task")).to_be_enabled()
    expect(page.locator("#session-team")).to_contain_text("Team: ")
    sessions = page.request.get("/api/sessions").json()["items"]
    team = page.request.get(f"/api/teams/{sessions[0]['team_id']}").json()
    models = [p["model"] for p in team["config"]["participants"] if "model" in p]
    assert models and all(m["provider"] == "scripted" for m in models), team["name"]  # runs with no key


def test_first_run_banner_prefills_a_local_ollama(page: Any, server: Server) -> None:
    if not _port_free(11434):
        answer = httpx.get("http://127.0.0.1:11434/v1/models", timeout=2)
        pytest.skip(f"something already listens on Ollama's port 11434 (answered {answer.status_code})")
    with FakeOpenAIThread(port=11434):
        login(page)
        add = page.locator("#first-run-add")
        expect(add).to_have_text("Add your local Ollama")
        screenshot(page, "first-run-banner-ollama")
        add.click()
    expect(page.get_by_label("Base URL")).to_have_value("http://127.0.0.1:11434/v1")
    expect(page.get_by_label("Name")).to_have_value("ollama")
    expect(page.get_by_label("Kind")).to_have_value("openai_compatible")
