"""AutoGen's McpWorkbench in and out: a workbench maps to a registered server by command + args or URL;
anything else is refused naming the JSON path, and nothing named in a document is ever started."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from agents_app.autogen import export_team, import_team
from agents_app.config import ConfigErrorItem, TeamConfigError, validate_team_config
from mcp_servers.services import server_add
from tests.api.conftest import assert_error
from tests.runs.conftest import create_run
from tests.runs.wsclient import connect, receive, receive_until
from tests.support.mcp_servers import children

pytestmark = pytest.mark.django_db(transaction=True)
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "autogen_mcp"
PWNED = Path("/tmp/agent-playground-pwned")


def fixture(version: str, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"agentchat-{version}" / f"{name}.json").read_text())
    return data


@pytest.fixture
def registered(alice: Any) -> None:
    """The servers the fixtures name, as an operator registered them (never started by these tests)."""
    server_add(name="time", command="uvx", args=["mcp-server-time"], users=[alice])
    server_add(
        name="web",
        transport="http",
        url="http://127.0.0.1:8931/mcp",
        header_env={"Authorization": "WEB_AUTH"},
        users=[alice],
    )


@pytest.mark.parametrize("version", ["0.7.5", "0.5.7"])
def test_mcp_workbench_maps_to_the_registered_servers(registered: None, version: str) -> None:
    warnings: list[ConfigErrorItem] = []
    config = import_team(fixture(version, "mcp_workbench"), warnings=warnings)
    expected = ["time", "web"] if version == "0.7.5" else ["time"]
    assert config.participants[0].mcp_servers == expected  # type: ignore[union-attr]
    if version == "0.7.5":
        header = "config.participants[0].config.workbench[1].config.server_params.headers"
        assert any(w.path == header and "dropped" in w.message for w in warnings)


def test_an_unregistered_command_is_refused_naming_the_path(registered: None) -> None:
    with pytest.raises(TeamConfigError) as refused:
        import_team(fixture("0.7.5", "mcp_unregistered"))
    (error,) = refused.value.errors
    assert error.path == "config.participants[0].config.workbench[0].config.server_params"
    assert "bash -c 'touch /tmp/agent-playground-pwned'" in error.message and "operator must register" in error.message
    with pytest.raises(TeamConfigError) as old:
        import_team(fixture("0.5.7", "mcp_unregistered"))
    assert old.value.errors[0].path == "config.participants[0].config.workbench.config.server_params"


def test_same_command_other_arguments_is_not_a_match(registered: None) -> None:
    doc = fixture("0.5.7", "mcp_workbench")
    doc["config"]["participants"][0]["config"]["workbench"]["config"]["server_params"]["args"] = ["mcp-server-git"]
    with pytest.raises(TeamConfigError, match="uvx mcp-server-git"):
        import_team(doc)


@pytest.mark.parametrize("flavor", ["0.7", "0.5"])
def test_export_writes_mcp_workbenches_that_import_back(registered: None, flavor: str) -> None:
    config = import_team(fixture("0.7.5", "mcp_workbench"))
    exported = export_team(config, flavor=flavor)  # type: ignore[arg-type]
    workbench = exported["config"]["participants"][0]["config"]["workbench"]
    if flavor == "0.7":
        stdio, http = workbench
        assert stdio["provider"] == "autogen_ext.tools.mcp.McpWorkbench" and stdio["component_type"] == "workbench"
        assert stdio["config"]["server_params"]["type"] == "StdioServerParams"
        assert (stdio["config"]["server_params"]["command"], stdio["config"]["server_params"]["args"]) == (
            "uvx",
            ["mcp-server-time"],
        )
        assert http["config"]["server_params"] == {
            **http["config"]["server_params"],
            "url": "http://127.0.0.1:8931/mcp",
            "headers": {},
        }
    assert import_team(exported).participants[0].mcp_servers == ["time", "web"]  # type: ignore[union-attr]
    assert "not-a-real-token" not in json.dumps(exported)


def test_tool_approval_survives_an_export_round_trip(registered: None) -> None:
    config = import_team(fixture("0.7.5", "mcp_workbench"))
    data = config.model_dump(mode="json")
    data["participants"][0]["tool_approval"] = ["get_current_time"]
    again = import_team(export_team(validate_team_config(data), flavor="0.7"))
    assert again.participants[0].tool_approval == ["get_current_time"]  # type: ignore[union-attr]


def _no_new_process(before: set[int]) -> None:
    assert children() <= before and not PWNED.exists()


def test_upload_and_rest_body_with_an_unregistered_command_spawn_nothing(alice_api: Client, registered: None) -> None:
    before = children()
    doc = fixture("0.7.5", "mcp_unregistered")
    upload = SimpleUploadedFile("team.json", json.dumps(doc).encode(), content_type="application/json")
    body = assert_error(alice_api.post("/api/teams/upload", {"file": upload}), 400)
    assert body["errors"][0]["path"] == "config.participants[0].config.workbench[0].config.server_params"
    created = alice_api.post("/api/teams", {"config": doc}, content_type="application/json")
    assert assert_error(created, 400)["errors"][0]["path"].startswith("config.config.participants[0]")
    run = alice_api.post("/api/runs", {"team_config": doc, "task": "go"}, content_type="application/json")
    assert_error(run, 400)
    _no_new_process(before)


def test_upload_of_registered_workbenches_makes_a_team(alice_api: Client, registered: None) -> None:
    upload = SimpleUploadedFile("team.json", json.dumps(fixture("0.7.5", "mcp_workbench")).encode())
    response = alice_api.post("/api/teams/upload", {"file": upload})
    assert response.status_code == 201, response.content
    assert response.json()["config"]["participants"][0]["mcp_servers"] == ["time", "web"]


def test_a_server_not_shared_with_the_uploader_is_refused(bob_api: Client, registered: None) -> None:
    upload = SimpleUploadedFile("team.json", json.dumps(fixture("0.7.5", "mcp_workbench")).encode())
    body = assert_error(bob_api.post("/api/teams/upload", {"file": upload}), 400)
    assert body["errors"][0]["path"] == "participants[0].mcp_servers[0]"


@pytest.mark.usefixtures("inline_runtime")
async def test_start_frame_with_an_unregistered_command_spawns_nothing(
    alice: Any, alice_token: str, registered: None
) -> None:
    before = children()
    config = {
        "kind": "round_robin",
        "name": "t",
        "participants": [{"kind": "assistant", "name": "a", "model": {"provider": "scripted", "replies": ["x"]}}],
    }
    run_id = await sync_to_async(create_run)(alice, config)
    comm = await connect(f"/runs/{run_id}?token={alice_token}")
    await receive(comm)
    await comm.send_json_to({"type": "start", "task": "go", "team_config": fixture("0.7.5", "mcp_unregistered")})
    error = await receive_until(comm, {"error"})
    assert "operator must register" in json.dumps(error)
    await comm.disconnect()
    _no_new_process(before)


@pytest.mark.parametrize(
    ("tools", "servers", "flavor", "golden"),
    [([], ["time", "web"], "0.7", "two_mcp-0.7"), ([], ["time"], "0.5", "one_mcp-0.5")],
)
def test_export_is_what_autogens_own_loader_accepted(
    registered: None, tools: list[str], servers: list[str], flavor: str, golden: str
) -> None:
    agent = {"kind": "assistant", "name": "helper", "model": {"provider": "openai", "model": "gpt-4o-mini"}}
    agent |= {"tools": tools, "mcp_servers": servers, "tool_approval": "always"}
    config = validate_team_config({"kind": "round_robin", "name": "t", "participants": [agent], "max_turns": 2})
    expected = json.loads((FIXTURES / "exported" / f"{golden}.json").read_text())
    assert export_team(config, flavor=flavor) == expected  # type: ignore[arg-type]
