"""Teams (upload, live validation, fix, run), the run page, API tokens and login."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from tests.ui.conftest import DEMO_PASSWORD, Server, login, screenshot
from tests.ui.test_playground import LONG, new_session, send_task

# Markdown, a code block, and HTML a model might emit that must never run.
REPLY = (
    'A *single* line, freshly fixed. <img src=x onerror="window.__xss=1"><script>window.__xss=2</script>\n\n'
    "```python\nprint('hi')\n```\n\nTERMINATE"
)
BROKEN_TEAM = {
    "version": 1,
    "kind": "round_robin",
    "name": "Uploaded poet",
    "description": "Uploaded by the UI test.",
    "participants": [
        {
            "kind": "assistant",
            "name": "bad name!",
            "system_message": "You write one line.",
            "model": {"provider": "scripted", "replies": [REPLY]},
        }
    ],
    "termination": {"type": "text_mention", "text": "TERMINATE"},
}


def test_upload_error_shown_at_field_then_fixed_and_run(page: Any, tmp_path: Path) -> None:
    team_file = tmp_path / "poet.json"
    team_file.write_text(json.dumps(BROKEN_TEAM, indent=2))
    login(page)
    page.goto("/teams/")
    page.get_by_label("Team file").set_input_files(str(team_file))
    expect(page.locator("#upload-result")).to_contain_text("was not saved")
    expect(page.locator("#error-list li").first).to_contain_text("participants[0].name")
    name_field = page.locator('#form-view [data-path="participants[0].name"]')
    expect(name_field).to_have_value("bad name!")
    expect(name_field).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_test_id("error-participants[0].name")).not_to_be_empty()
    expect(page.get_by_role("button", name="Save")).to_be_disabled()
    screenshot(page, "teams-upload-error")

    # The JSON view points at the same place.
    page.locator("#error-list li button").first.click()
    page.get_by_role("tab", name="JSON").click()
    page.locator("#error-list li button").first.click()
    selected = page.locator("#json-text").evaluate("t => t.value.slice(t.selectionStart, t.selectionEnd)")
    assert "bad name!" in selected, selected

    page.get_by_role("tab", name="Form").click()
    name_field = page.locator('#form-view [data-path="participants[0].name"]')
    name_field.fill("poet")
    expect(page.get_by_test_id("validity")).to_have_text("Valid (our format)")
    expect(name_field).not_to_have_attribute("aria-invalid", "true")
    expect(page.locator("#error-list li")).to_have_count(0)
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#save-result")).to_contain_text("Saved")
    expect(page.locator("#team-rows")).to_contain_text("Uploaded poet")
    page.get_by_role("button", name="Open in playground").click()
    page.wait_for_url("**/?session=*")
    card = send_task(page, "One line, please.")
    expect(card.get_by_test_id("run-status")).to_have_text("completed", timeout=LONG)
    expect(card.locator(".msg .author")).to_have_text(["poet"])
    bubble = card.locator(".msg .md")
    expect(bubble.locator("em")).to_have_text("single")  # Markdown rendered
    expect(bubble.locator("pre code")).to_have_text("print('hi')")
    expect(bubble.locator("script, [onerror]")).to_have_count(0)
    assert page.evaluate("window.__xss") is None


def test_run_page_replays_finished_run(page: Any, server: Server) -> None:
    login(page)
    new_session(page, "Calculator assistant (offline)")
    card = send_task(page, "What is 12 * 7?")
    expect(card.get_by_test_id("run-status")).to_have_text("completed", timeout=LONG)
    live_text = card.locator(".msgs").inner_text()
    tool_rows = card.locator("details.tool-row")
    expect(tool_rows.first).to_be_visible()
    expect(tool_rows.first).not_to_have_attribute("open", "")
    card.get_by_role("link", name="run #").click()
    page.wait_for_url("**/runs/*/")
    replay = page.locator("article.run")
    expect(replay.get_by_test_id("run-status")).to_have_text("completed")
    expect(replay.locator(".run-task")).to_have_text("What is 12 * 7?")
    assert replay.locator(".msgs").inner_text() == live_text
    expect(replay.locator("details.tool-row").first.locator("code.tool-name")).not_to_be_empty()
    replay.locator("details.tool-row summary").first.click()
    expect(replay.locator("details.tool-row .tool-args").first).to_be_visible()
    screenshot(page, "run-page")

    # Someone else's run is a 404.
    run_url = page.url
    server.manage(
        "shell",
        "-c",
        "from django.contrib.auth.models import User; "
        "User.objects.filter(username='mallory').exists() or "
        "User.objects.create_user('mallory', password='mallory-password-1')",
    )
    page.context.clear_cookies()
    login(page, "mallory", "mallory-password-1")
    response = page.goto(run_url)
    assert response is not None and response.status == 404


def test_tokens_create_shown_once_and_revoke(page: Any) -> None:
    login(page)
    page.goto("/tokens/")
    page.get_by_label("Name").fill("ui-laptop")
    page.get_by_role("button", name="Create token").click()
    secret = page.get_by_test_id("token-secret")
    expect(secret).not_to_be_empty()
    row = page.locator("#token-rows tr", has_text="ui-laptop")
    expect(row).to_contain_text("active")
    screenshot(page, "tokens")
    revoke = row.get_by_role("button", name="Revoke ui-laptop")
    revoke.click()
    revoke.click()
    expect(page.locator("#token-rows tr", has_text="ui-laptop")).to_contain_text("revoked")
    page.reload()
    expect(page.get_by_test_id("token-secret")).to_be_hidden()


def test_login_page_shows_demo_hint(page: Any) -> None:
    page.goto("/login/")
    expect(page.get_by_test_id("demo-username")).to_have_text("demo")
    expect(page.get_by_test_id("demo-password")).to_have_text(DEMO_PASSWORD)
    screenshot(page, "login")
    page.get_by_label("Username").fill("demo")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert").filter(has_text="correct username")).to_be_visible()
    page.goto("/teams/")
    page.wait_for_url("**/login/?next=/teams/")
    screenshot_teams_after_login(page)


def screenshot_teams_after_login(page: Any) -> None:
    login(page)
    page.goto("/teams/")
    expect(page.locator("#gallery .gallery-item").first).to_be_visible()
    screenshot(page, "teams")


def test_edit_team_in_form_and_json_then_delete(page: Any) -> None:
    login(page)
    page.goto("/teams/")
    page.get_by_role("button", name="Install Research team (selector) (offline)").click()
    expect(page.locator("#gallery")).to_contain_text("Installed as")
    row = page.locator("#team-rows tr", has_text="Research team (selector) (offline)").first
    expect(row.get_by_role("link", name="Export Research team (selector) (offline) as JSON")).to_have_attribute(
        "href", re.compile(r"/api/teams/\d+/export\?format=native")
    )
    row.get_by_role("button", name="Edit Research team (selector) (offline)").click()
    expect(page.get_by_test_id("validity")).to_have_text("Valid (our format)")
    page.get_by_label("Team name").fill("Renamed research team")
    expect(page.get_by_test_id("validity")).to_have_text("Valid (our format)")

    page.get_by_role("tab", name="JSON").click()
    text = page.get_by_label("Team config (JSON)")
    expect(text).to_have_value(re.compile('"name": "Renamed research team"'))
    good = text.input_value()
    text.fill(good.replace('"kind": "selector"', '"kind": "selector",,'))
    expect(page.get_by_test_id("validity")).to_have_text("Not valid JSON")
    expect(page.locator("#error-list")).to_contain_text("JSON syntax")
    text.fill(good.replace('"kind": "selector"', '"kind": "pyramid"'))
    expect(page.locator("#error-list")).to_contain_text("kind")
    expect(page.get_by_role("button", name="Save")).to_be_disabled()
    text.fill(good)
    expect(page.get_by_test_id("validity")).to_have_text("Valid (our format)")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#save-result")).to_contain_text("Saved “Renamed research team”")
    row = page.locator("#team-rows tr", has_text="Renamed research team")
    expect(row).to_have_count(1)
    delete = row.get_by_role("button", name="Delete")
    delete.click()
    delete.click()
    expect(page.locator("#team-rows tr", has_text="Renamed research team")).to_have_count(0)


def test_failed_asset_shows_error_not_endless_loading(page: Any) -> None:
    login(page)
    page.route("**/static/vendor/**", lambda route: route.abort())
    page.goto("/")
    expect(page.locator("#asset-error")).to_be_visible()
    expect(page.locator("#asset-error")).to_contain_text("failed to load")
