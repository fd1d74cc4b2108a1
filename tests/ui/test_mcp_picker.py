"""The team editor's MCP server picker in Chromium: the servers an operator shared with the user, with
their tools and descriptions, chosen for an agent, saved, and the saved config naming them."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.ui.conftest import Server, login, screenshot

PASSWORD = "dora-password-ui-1"


@pytest.fixture(scope="module")
def dora(server: Server) -> str:
    """A user of this module's own: the servers are shared with her alone, so other tests' editors stay as they were."""
    server.manage(
        "shell",
        "-c",
        f"from django.contrib.auth.models import User; User.objects.create_user('dora', password='{PASSWORD}')",
    )
    command = f"{sys.executable} -m tests.support.mcp_test_server"
    add = ("mcp_server", "add")
    server.manage(*add, "testsrv", "--command", command, "--user", "dora", "--description", "the suite's")
    server.manage(*add, "asking", "--command", command, "--user", "dora", "--approval", "always")
    server.manage(*add, "hidden", "--command", command)  # shared with nobody: not offered
    listed = server.manage("mcp_server", "list", "testsrv", "asking")  # lists their tools live, as an operator does
    assert "echo" in listed, listed
    return "dora"


def test_the_editor_offers_the_shared_servers_with_their_tools_and_saves_the_choice(
    page: Any, server: Server, dora: str
) -> None:
    login(page, dora, PASSWORD)
    page.goto("/teams/")
    page.get_by_role("button", name="New team").click()
    picker = page.get_by_test_id("mcp-servers").first
    servers = picker.locator(".mcp-server")
    expect(servers).to_have_count(2)  # "hidden" is not shared with her
    mine = servers.filter(has_text="testsrv")
    expect(mine).to_contain_text("the suite's")
    tool = lambda name: mine.locator("li", has=page.get_by_text(name, exact=True))  # noqa: E731
    expect(tool("echo")).to_contain_text("Return the text unchanged.")
    expect(tool("add")).to_contain_text("Add two integers.")
    expect(servers.filter(has_text="asking")).to_contain_text("asks before each call")
    expect(picker).not_to_contain_text("hidden")

    picker.get_by_label("testsrv").check()
    expect(page.locator("#validity")).to_have_attribute("data-state", "valid")
    config = json.loads(page.locator("#json-text").input_value())
    assert config["participants"][0]["mcp_servers"] == ["testsrv"]
    screenshot(page, "team-editor-mcp-servers")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#save-result")).to_contain_text("Saved")

    (saved,) = [t for t in page.request.get("/api/teams").json()["items"] if t["owner"] == dora]
    assert saved["config"]["participants"][0]["mcp_servers"] == ["testsrv"]
    stored = page.request.get(f"/api/teams/{saved['id']}").json()
    assert stored["config"]["participants"][0]["mcp_servers"] == ["testsrv"]

    # Opened again, the editor shows the saved choice.
    page.reload()
    page.get_by_role("button", name=f"Edit {saved['name']}").click()
    expect(page.get_by_test_id("mcp-servers").first.get_by_label("testsrv")).to_be_checked()
    expect(page.get_by_test_id("mcp-servers").first.get_by_label("asking")).not_to_be_checked()
