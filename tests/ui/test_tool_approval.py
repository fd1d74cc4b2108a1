"""An MCP tool call waiting for approval in the browser: the card, editing the arguments, shortcuts,
the countdown, and the results (an image among them) rendered like any tool's."""

from __future__ import annotations

import re
import sys
from typing import Any

from playwright.sync_api import expect

from tests.ui.conftest import Server, login, screenshot
from tests.ui.test_playground import LONG, new_session, send_task


def test_approve_edit_and_see_an_image_result(page: Any, server: Server) -> None:
    server.manage(
        "mcp_server", "add", "uitools", "--command", f"{sys.executable} -m tests.support.mcp_test_server",
        "--share-all", "--approval", "always",
    )  # fmt: skip
    login(page)
    calls = [{"name": "add", "arguments": {"a": 2, "b": 3}}, {"name": "red_pixel"}]
    model = {"provider": "scripted", "replies": [{"tool_calls": calls}, "Done. TERMINATE"], "tokens_per_second": 0}
    config = {
        "version": 1,
        "kind": "round_robin",
        "name": "Guarded tools",
        "participants": [
            {
                "kind": "assistant",
                "name": "helper",
                "model": model,
                "mcp_servers": ["uitools"],
                "reflect_on_tool_use": True,
            }
        ],
        "max_turns": 1,
        "human_input": {"deadline_seconds": 300},
    }
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    response = page.request.post("/api/teams", data={"config": config}, headers={"X-CSRFToken": csrf})
    assert response.status == 201, response.text()
    page.reload()
    new_session(page, "Guarded tools")
    card = send_task(page, "Add two numbers and draw.")

    approval = card.get_by_test_id("approval-card")
    expect(approval).to_contain_text("helper wants to call a tool", timeout=LONG)
    expect(approval.locator(".tool-name")).to_have_text("add")
    expect(approval).to_contain_text("on uitools")
    expect(approval.locator(".countdown")).to_have_text(re.compile(r"Time left to decide: [45]:\d\d"))
    args = approval.get_by_label("Arguments (JSON; edit them to change the call)")
    expect(args).to_have_value(re.compile(r'"a": 2'))
    args.fill("{not json")
    approval.get_by_test_id("approve").click()
    expect(approval.locator(".field-error")).to_contain_text("not valid JSON")
    args.fill('{"a": "twenty", "b": 22}')
    approval.get_by_test_id("approve").click()
    expect(approval.locator(".field-error")).to_contain_text("arguments.a")
    args.fill('{"a": 20, "b": 22}')
    screenshot(page, "tool-approval")
    args.press("Control+Enter")

    second = card.get_by_test_id("approval-card")
    expect(second.locator(".tool-name")).to_have_text("red_pixel", timeout=LONG)
    second.get_by_test_id("approve").click()

    expect(card.get_by_test_id("run-status")).to_have_text("completed", timeout=LONG)
    decisions = card.get_by_test_id("tool-decision")
    expect(decisions).to_have_count(2)
    expect(decisions.first).to_contain_text("demo approved add with edited arguments")
    rows = card.locator(".tool-row")
    rows.first.locator("summary").click()
    expect(rows.first.locator(".tool-result")).to_contain_text("42")
    expect(rows.nth(1)).to_have_attribute("open", "")  # a result with an image stays open
    image = rows.nth(1).locator("a.attachment-thumb img")  # stored as an attachment, served to its owner
    expect(image).to_be_visible()
    page.wait_for_function("img => img.complete && img.naturalWidth === 1", arg=image.element_handle())
    screenshot(page, "tool-results-image")


def test_reject_with_a_reason_reaches_the_model(page: Any) -> None:
    login(page)
    model = {
        "provider": "scripted",
        "replies": [{"tool_calls": [{"name": "calculator", "arguments": {"expression": "2 ** 10"}}]}, "ok"],
    }
    config = {
        "version": 1,
        "kind": "round_robin",
        "name": "Asks before computing",
        "participants": [
            {"kind": "assistant", "name": "calc", "model": model, "tools": ["calculator"], "tool_approval": "always"}
        ],
        "max_turns": 1,
    }
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    assert page.request.post("/api/teams", data={"config": config}, headers={"X-CSRFToken": csrf}).status == 201
    page.reload()
    new_session(page, "Asks before computing")
    card = send_task(page, "Compute.")
    approval = card.get_by_test_id("approval-card")
    expect(approval.locator(".tool-name")).to_have_text("calculator", timeout=LONG)
    approval.get_by_label("Reason").fill("not now")
    approval.get_by_label("Reason").press("Control+Shift+Enter")
    expect(card.get_by_test_id("run-status")).to_have_text("completed", timeout=LONG)
    expect(card.get_by_test_id("tool-decision")).to_contain_text("demo rejected calculator: not now")
    row = card.locator(".tool-row").first
    expect(row.locator(".tool-result")).to_contain_text("Rejected by demo: not now")
