"""Runs whose agents call MCP tools, on the inline executor: results stored, failures as results."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from mcp_servers.models import McpServer
from runs.models import Attachment, Message
from tests.mcp_servers.conftest import config_with_servers, register
from tests.runs.test_api import wait_for
from tests.support.mcp_test_server import RED_PIXEL

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("inline_runtime", "inline_mcp_sessions"),
    pytest.mark.timeout(120),
]


def start(api: Client, config: dict[str, Any], task: str = "Use the tools") -> int:
    response = api.post("/api/runs", {"team_config": config, "task": task}, content_type="application/json")
    assert response.status_code == 201, response.content
    return int(response.json()["id"])


def executed(run_id: int) -> list[dict[str, Any]]:
    message = Message.objects.get(run_id=run_id, type="ToolCallExecutionEvent")
    return list(message.content)


def test_a_run_calls_mcp_tools_and_stores_text_and_image_results(
    alice: Any, alice_api: Client, bob_api: Client
) -> None:
    register("testsrv", users=[alice])
    calls = {"tool_calls": [{"name": "add", "arguments": {"a": 2, "b": 40}}, {"name": "red_pixel"}]}
    run_id = start(alice_api, config_with_servers("testsrv", replies=[calls]))
    run = wait_for(run_id, {"complete", "error"})
    assert run.status == "complete", run.error
    add, pixel = executed(run_id)
    assert (add["name"], add["content"], add["is_error"]) == ("add", "42", False)
    assert pixel["content"].startswith("[image: image/png,") and "parts" not in pixel  # no base64 in the row
    message = Message.objects.get(run_id=run_id, type="ToolCallExecutionEvent")
    (image,) = message.attachments
    assert (image["kind"], image["content_type"], image["call_id"]) == ("image", "image/png", pixel["call_id"])
    attachment = Attachment.objects.get(id=image["id"])
    assert attachment.message_id == message.id and attachment.run_id == run_id
    served = alice_api.get(f"/api/attachments/{image['id']}")
    assert served.status_code == 200 and served["Content-Type"] == "image/png"
    assert b"".join(served.streaming_content if served.streaming else [served.content]) == RED_PIXEL
    assert bob_api.get(f"/api/attachments/{image['id']}").status_code == 404
    replayed = alice_api.get(f"/api/runs/{run_id}/messages").json()["items"]
    (tool,) = [m for m in replayed if m["type"] == "ToolCallExecutionEvent"]
    assert tool["attachments"][0]["url"] == f"/api/attachments/{image['id']}"
    assert tool["attachments"][0]["call_id"] == pixel["call_id"]
    assert isinstance(tool["content"], list) and tool["content"][1]["name"] == "red_pixel"
    exported = alice_api.get(f"/api/runs/{run_id}/export?format=markdown").content.decode()
    assert f"- Attachment: [{image['name']}](/api/attachments/{image['id']})" in exported
    assert '"content": "42"' in exported  # the results themselves are still in the export


def test_a_crash_mid_call_is_an_error_result_and_the_run_goes_on(alice: Any, alice_api: Client) -> None:
    register("testsrv", users=[alice])
    calls = {"tool_calls": [{"name": "crash"}]}
    run_id = start(alice_api, config_with_servers("testsrv", replies=[calls]))
    assert wait_for(run_id, {"complete", "error"}).status == "complete"
    (result,) = executed(run_id)
    assert result["is_error"] and "closed the connection" in result["content"]
    again = start(alice_api, config_with_servers("testsrv", replies=[{"tool_calls": [{"name": "whoami"}]}]))
    assert wait_for(again, {"complete", "error"}).status == "complete"
    assert not executed(again)[0]["is_error"]  # a new server process answered


def test_a_server_removed_after_the_run_was_created_fails_it_clearly(alice: Any, alice_api: Client) -> None:
    register("testsrv", users=[alice])
    response = alice_api.post(
        "/api/runs", {"team_config": config_with_servers("testsrv")}, content_type="application/json"
    )
    run_id = int(response.json()["id"])
    McpServer.objects.filter(name="testsrv").delete()
    assert (
        alice_api.post(f"/api/runs/{run_id}/start", {"task": "go"}, content_type="application/json").status_code == 200
    )
    run = wait_for(run_id, {"complete", "error"})
    assert run.status == "error" and "unknown MCP server 'testsrv'" in run.error
