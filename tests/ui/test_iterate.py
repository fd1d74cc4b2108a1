"""Iterating on a team in the browser: the versions panel (diff, restore) and the compare page."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from tests.ui.conftest import Server, login, screenshot
from tests.ui.test_playground import LONG, new_session, send_task


def test_versions_panel_diffs_restores_and_uploads(page: Any, tmp_path: Path) -> None:
    login(page)
    page.goto("/teams/")
    page.get_by_role("button", name="Install Long story (streaming) (offline)").click()
    expect(page.locator("#gallery")).to_contain_text("Installed as")
    row = page.locator("#team-rows tr", has_text="Long story (streaming) (offline)").first
    row.get_by_role("button", name="Edit Long story (streaming) (offline)").click()
    expect(page.get_by_test_id("validity")).to_have_text("Valid (our format)")
    page.get_by_label("Team name").fill("Short story")
    expect(page.get_by_test_id("validity")).to_have_text("Valid (our format)")
    page.get_by_label("Note for this version").fill("shorter title")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#save-result")).to_contain_text("Saved “Short story” (version 2)")

    page.locator("#team-rows tr", has_text="Short story").get_by_role("button", name="Versions of Short story").click()
    panel = page.locator("#versions")
    expect(panel.locator("tbody tr")).to_have_count(2)
    newest = panel.locator('tr[data-version="2"]')
    expect(newest).to_contain_text("current")
    expect(newest).to_contain_text("shorter title")
    expect(panel.get_by_role("link", name="Export version 1")).to_have_attribute(
        "href", re.compile(r"/api/teams/\d+/export\?format=native&version=1")
    )
    panel.get_by_role("button", name="Show diff").click()
    expect(panel.locator(".version-diff h3")).to_have_text("v1 → v2: 1 change")
    changed = panel.locator('.diff-table tr[data-path="name"]')
    expect(changed.locator("td").first).to_have_text("Long story (streaming) (offline)")
    expect(changed.locator("td").last).to_have_text("Short story")
    screenshot(page, "team-versions-diff")

    restore = panel.get_by_role("button", name="Restore version 1")
    restore.click()
    restore.click()
    expect(panel.get_by_role("status").first).to_contain_text("Restored version 1 as version 3")
    expect(panel.locator('tr[data-version="3"]')).to_contain_text("restored v1")
    expect(panel.locator('tr[data-version="3"]')).to_contain_text("current")
    expect(page.locator("#team-rows")).to_contain_text("Long story (streaming) (offline)")
    expect(page.locator("#editor-title")).to_contain_text("Long story (streaming) (offline)")

    # A file uploaded over the team is its next version.
    config = json.loads(page.get_by_label("Team config (JSON)").input_value())
    config["name"] = "Uploaded story"
    team_file = tmp_path / "story.json"
    team_file.write_text(json.dumps(config))
    panel.get_by_label("Note", exact=True).fill("from a file")
    panel.get_by_label("Upload a new version (.json)").set_input_files(str(team_file))
    expect(panel.get_by_role("status").first).to_contain_text("story.json saved as version 4")
    expect(panel.locator('tr[data-version="4"]')).to_contain_text("uploaded")
    expect(panel.locator('tr[data-version="4"]')).to_contain_text("from a file")
    expect(page.locator("#team-rows")).to_contain_text("Uploaded story")


def run_id_of(card: Any) -> int:
    href = card.get_by_role("link", name="run #").get_attribute("href")
    match = re.search(r"/runs/(\d+)/", href or "")
    assert match, href
    return int(match.group(1))


def test_compare_two_runs_side_by_side(page: Any, server: Server) -> None:
    login(page)
    new_session(page, "Calculator assistant (offline)")
    first = send_task(page, "What is 6 * 7?")
    expect(first.get_by_test_id("run-status")).to_have_text("completed", timeout=LONG)
    a = run_id_of(first)  # now: the locator means "the last run card", which the next session changes
    new_session(page, "Writer and critic (offline)")
    second = send_task(page, "Write two lines about rain.")
    expect(second.get_by_test_id("run-status")).to_have_text("completed", timeout=LONG)
    b = run_id_of(second)

    page.goto("/compare/")
    page.get_by_label(f"Compare run {a}", exact=True).check()
    expect(page.get_by_role("button", name="Compare")).to_be_disabled()
    page.get_by_label(f"Compare run {b}", exact=True).check()
    page.get_by_role("button", name="Compare").click()
    expect(page).to_have_url(re.compile(rf"/compare/\?runs={a},{b}$"))
    cards = page.locator(".compare-card")
    expect(cards).to_have_count(2)
    expect(cards.nth(0)).to_contain_text(f"Run #{a}")
    expect(cards.nth(0)).to_contain_text("Calculator assistant (offline) · v1")
    expect(cards.nth(1)).to_contain_text("Writer and critic (offline) · v1")
    expect(cards.nth(0).locator('[data-field="tokens"]')).to_contain_text("prompt")
    expect(cards.nth(0).locator('[data-field="cost"]')).to_have_text("$0")  # an offline model is free
    expect(page.locator("#diff-title")).to_be_visible()
    expect(page.locator(".diff-table").first.locator('tr[data-path="name"]')).to_have_count(1)
    turn_one = page.locator('.turns tr[data-seq="1"] td')
    expect(turn_one.nth(0)).to_contain_text("What is 6 * 7?")
    expect(turn_one.nth(1)).to_contain_text("Write two lines about rain.")
    expect(page.locator('.turns tr[data-seq="2"] td').nth(1).locator(".author")).to_have_text("writer")
    screenshot(page, "compare")

    # The address is the shareable link: it opens the same comparison for the owner.
    page.goto(f"/compare/?runs={a},{b}")
    expect(page.locator(".compare-card")).to_have_count(2)
    expect(page.get_by_label(f"Compare run {a}", exact=True)).to_be_checked()

    # For anyone else it is a 404.
    server.manage(
        "shell",
        "-c",
        "from django.contrib.auth.models import User; "
        "User.objects.filter(username='mallory').exists() or "
        "User.objects.create_user('mallory', password='mallory-password-1')",
    )
    page.context.clear_cookies()
    login(page, "mallory", "mallory-password-1")
    response = page.goto(f"/compare/?runs={a},{b}")
    assert response is not None and response.status == 404
