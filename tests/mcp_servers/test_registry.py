"""The operator's registry: the management command, the admin, and who may name which server."""

from __future__ import annotations

import io
import json
import sys
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from agents_app.models import Team
from mcp_servers.models import McpServer
from mcp_servers.selectors import check_team_servers, run_specs, spec_of
from tests.api.conftest import assert_error
from tests.mcp_servers.conftest import config_with_servers, register

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(120)]


def command(*args: str) -> str:
    out = io.StringIO()
    call_command("mcp_server", *args, stdout=out)
    return out.getvalue()


def test_add_list_remove_from_the_command_line() -> None:
    out = command("add", "testsrv", "--command", f"{sys.executable} -m tests.support.mcp_test_server", "--share-all")
    assert "added testsrv" in out
    server = McpServer.objects.get(name="testsrv")
    assert (server.transport, server.command, server.args) == (
        "stdio",
        sys.executable,
        ["-m", "tests.support.mcp_test_server"],
    )
    listing = command("list")
    assert "testsrv (stdio:" in listing and "  add: Add two integers." in listing
    server.refresh_from_db()
    assert {"name": "add", "description": "Add two integers."} in server.last_tools and server.last_error == ""
    assert "removed testsrv" in command("remove", "testsrv")
    assert not McpServer.objects.exists()


def test_add_http_server_with_header_from_environment(alice: Any) -> None:
    command("add", "web", "--url", "http://127.0.0.1:9/mcp", "--header", "Authorization=WEB_AUTH", "--user", "alice")
    server = McpServer.objects.get(name="web")
    assert server.header_env == {"Authorization": "WEB_AUTH"} and list(server.users.all()) == [alice]
    spec = spec_of(server, {"WEB_AUTH": "Bearer s3cret"})
    assert spec.headers == (("Authorization", "Bearer s3cret"),) and "s3cret" not in repr(spec)


def test_listing_a_broken_server_records_its_health() -> None:
    register("ghost", command="/nonexistent/mcp-ghost", args=[])
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("mcp_server", "list", stdout=out)
    assert "error: MCP server 'ghost'" in out.getvalue()
    assert "mcp-ghost" in McpServer.objects.get(name="ghost").last_error


def test_bad_registrations_are_refused_naming_the_field() -> None:
    with pytest.raises(CommandError, match="name"):
        command("add", "bad name", "--command", "true")
    with pytest.raises(CommandError, match="no such user"):
        command("add", "x", "--command", "true", "--user", "nobody")
    with pytest.raises(CommandError, match="no MCP server"):
        command("remove", "missing")


def test_unknown_disabled_and_unshared_servers_read_the_same(alice: Any, bob: Any) -> None:
    register("mine", users=[alice])
    register("off", shared_with_all=True, enabled=False)
    register("everyone", shared_with_all=True)
    config = config_with_servers("everyone", "mine", "off", "nope")
    with pytest.raises(Exception) as alice_err:
        check_team_servers(config, alice)
    assert [e.path for e in alice_err.value.errors] == [  # type: ignore[attr-defined]
        "participants[0].mcp_servers[2]",
        "participants[0].mcp_servers[3]",
    ]
    with pytest.raises(Exception) as bob_err:
        check_team_servers(config, bob)
    paths = [e.path for e in bob_err.value.errors]  # type: ignore[attr-defined]
    assert paths[0] == "participants[0].mcp_servers[1]" and "must register it" in str(bob_err.value)
    assert "mine" not in str(bob_err.value).split("available to you:")[1]  # bob is not told of alice's server
    assert set(run_specs(config_with_servers("everyone", "mine"), alice)) == {"everyone", "mine"}


def test_team_api_refuses_a_server_the_owner_may_not_use(
    alice: Any, bob: Any, alice_api: Client, bob_api: Client
) -> None:
    register("mine", users=[alice])
    ok = alice_api.post("/api/teams", {"config": config_with_servers("mine")}, content_type="application/json")
    assert ok.status_code == 201, ok.content
    refused = bob_api.post("/api/teams", {"config": config_with_servers("mine")}, content_type="application/json")
    body = assert_error(refused, 400)
    assert body["errors"][0]["path"] == "config.participants[0].mcp_servers[0]"
    validated = bob_api.post("/api/teams/validate", config_with_servers("mine"), content_type="application/json")
    assert validated.json()["valid"] is False
    assert validated.json()["errors"][0]["path"] == "participants[0].mcp_servers[0]"


def test_a_shared_team_runs_only_with_servers_of_its_runner(alice: Any, bob: Any, bob_api: Client) -> None:
    register("mine", users=[alice])
    team = Team.objects.create(owner=alice, name="shared", config=config_with_servers("mine"), shared=True)
    refused = bob_api.post("/api/runs", {"team_id": team.id}, content_type="application/json")
    body = assert_error(refused, 400)
    assert body["errors"][0]["path"] == "participants[0].mcp_servers[0]"


def test_admin_is_for_staff_and_shows_health(admin_client: Client, alice: Any, client: Client) -> None:
    server = register("testsrv", shared_with_all=True)
    listed = admin_client.post(
        "/admin/mcp_servers/mcpserver/", {"action": "list_tools", "_selected_action": [server.pk]}, follow=True
    )
    assert b"9 tools: echo, add, weather" in listed.content
    page = admin_client.get("/admin/mcp_servers/mcpserver/")
    assert b"ok (" in page.content and b"red_pixel" in page.content
    alice.is_staff = True
    alice.save()
    client.force_login(alice)
    assert client.get("/admin/mcp_servers/mcpserver/").status_code == 403  # staff, but not given the permission
    client.logout()
    assert client.get("/admin/mcp_servers/mcpserver/").status_code == 302  # to the login page


def test_the_editor_lists_the_servers_a_user_may_name_with_their_tools(
    alice: Any, alice_api: Client, bob_api: Client
) -> None:
    server = register("mine", users=[alice], description="Sums and pictures", approval="always")
    McpServer.objects.filter(pk=server.pk).update(last_tools=[{"name": "add", "description": "Add two integers."}])
    register("off", shared_with_all=True, enabled=False)
    listed = alice_api.get("/api/mcp-servers").json()
    assert listed == [
        {
            "name": "mine",
            "description": "Sums and pictures",
            "transport": "stdio",
            "approval": "always",
            "tools": [{"name": "add", "description": "Add two integers."}],
        }
    ]
    assert bob_api.get("/api/mcp-servers").json() == []
    assert "command" not in json.dumps(listed)
