"""Re-running in the browser: from any message, with an edit, on another model; the fork tree; exports."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support.fake_openai import FakeOpenAIThread
from tests.ui.conftest import Server, login, screenshot
from tests.ui.test_iterate import run_id_of
from tests.ui.test_playground import LONG, new_session, send_task


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAIThread]:
    with FakeOpenAIThread() as server:
        yield server


def authors(card: Any) -> list[str]:
    return [a.strip() for a in card.locator(".msg .author").all_inner_texts()]


def test_rerun_and_edit_from_a_message_and_the_fork_tree(page: Any) -> None:
    login(page)
    new_session(page, "Writer and critic (offline)")
    parent = send_task(page, "Write two lines about rain.")
    expect(parent.get_by_test_id("run-status")).to_have_text("completed", timeout=LONG)
    parent_id = run_id_of(parent)
    parent = page.locator(f'article.run[data-run-id="{parent_id}"]')  # not "the last card" any more
    cards = page.locator("article.run")

    # Re-run from the writer's first draft: the fork keeps messages 1-2 and carries on.
    parent.get_by_role("button", name="Re-run from message 2").click()
    expect(cards).to_have_count(2)
    rerun = cards.nth(1)
    expect(rerun.get_by_test_id("run-status")).to_have_text("completed", timeout=LONG)
    expect(rerun.get_by_test_id("fork-of")).to_have_text(f"fork of #{parent_id} after message 2")
    assert authors(rerun) == authors(parent)  # the offline team is deterministic
    draft = '.msg[data-seq="2"] .md'
    assert rerun.locator(draft).text_content() == parent.locator(draft).text_content()

    # Edit the draft and re-run: the fork's message 2 is the new text, the critic answers it.
    parent.get_by_role("button", name="Edit message 2 and re-run").click()
    parent.get_by_label("New text for message 2").fill("My own draft: rain on the roof.")
    parent.get_by_role("button", name="Re-run with this").click()
    expect(cards).to_have_count(3)
    edited = cards.nth(2)
    expect(edited.get_by_test_id("run-status")).to_have_text("completed", timeout=LONG)
    expect(edited.locator('.msg[data-seq="2"] .md')).to_have_text("My own draft: rain on the roof.")
    expect(edited.locator('.msg[data-seq="3"] .author')).to_have_text("critic")
    expect(edited.get_by_test_id("fork-of")).to_contain_text("message 2 edited")
    compare = edited.get_by_role("link", name=f"Compare it with run {parent_id}")
    expect(compare).to_have_attribute("href", f"/compare/?runs={parent_id},{run_id_of(edited)}")
    expect(parent.get_by_label("New text for message 2")).to_have_count(0)  # the form closed

    # Edit the task itself: the fork runs the new task.
    parent.get_by_role("button", name="Edit message 1 and re-run").click()
    parent.get_by_label("New text for message 1").fill("Write two lines about snow.")
    parent.get_by_role("button", name="Re-run with this").click()
    expect(cards).to_have_count(4)
    retasked = cards.nth(3)
    expect(retasked.locator(".run-task")).to_have_text("Write two lines about snow.")
    expect(retasked.get_by_test_id("run-status")).to_have_text("completed", timeout=LONG)

    # Every run of the family shows the tree: the first run, its three forks, the current one marked.
    tree = parent.get_by_test_id("fork-tree")
    expect(tree.locator("li")).to_have_count(4)
    expect(tree.locator("[aria-current]")).to_have_text(f"#{parent_id} · original")
    expect(tree.locator("li li")).to_have_count(3)
    expect(tree.locator("li li").nth(1)).to_contain_text("from message 2 (edited)")
    expect(edited.get_by_test_id("fork-tree").locator("[aria-current]")).to_contain_text("from message 2 (edited)")
    family = ",".join(tree.locator("li").evaluate_all("els => els.map(e => e.dataset.runId)"))
    expect(tree.get_by_role("link", name="Compare these runs")).to_have_attribute("href", f"/compare/?runs={family}")
    assert family.startswith(f"{parent_id},") and len(family.split(",")) == 4
    tree.scroll_into_view_if_needed()
    screenshot(page, "rerun-fork-tree")

    # The fork's own page shows the tree too; a re-run there opens the new run's page.
    edited_id = run_id_of(edited)
    tree.get_by_role("link", name="Compare these runs").click()
    expect(page.locator(".compare-card")).to_have_count(4)
    expect(page.locator('.turns tr[data-seq="2"] td').nth(2)).to_contain_text("My own draft: rain on the roof.")
    page.goto(f"/runs/{edited_id}/")
    run = page.locator("article.run")
    expect(run.get_by_test_id("run-status")).to_have_text("completed")
    expect(run.get_by_test_id("fork-tree").locator("li")).to_have_count(4)
    expect(run.get_by_role("link", name=f"parent run {parent_id}")).to_have_attribute("href", f"/runs/{parent_id}/")
    run.get_by_role("button", name="Re-run from message 3").click()
    page.wait_for_url(lambda url: re.search(r"/runs/(\d+)/$", url) is not None and f"/runs/{edited_id}/" not in url)
    expect(page.locator("article.run").get_by_test_id("run-status")).to_have_text("completed", timeout=LONG)
    expect(page.locator("article.run").get_by_test_id("fork-of")).to_have_text(f"fork of #{edited_id} after message 3")


def test_a_model_chosen_for_a_run_is_called_and_shown(page: Any, fake_openai: FakeOpenAIThread) -> None:
    login(page)
    new_session(page, "Writer and critic (offline)")
    page.locator("#run-options summary").click()
    page.get_by_label("Model for this run").fill("fake")
    page.get_by_label("Model endpoint (base URL, optional)").fill(fake_openai.base_url)
    expect(page.locator("#run-options summary")).to_have_text("Run on: model fake")
    card = send_task(page, "Write two lines about rain.")
    expect(card.get_by_test_id("run-status")).to_have_text("completed", timeout=LONG)
    run_id = run_id_of(card)  # `card` means "the last card": pin this one by its id
    card = page.locator(f'article.run[data-run-id="{run_id}"]')
    expect(card.get_by_test_id("run-override")).to_have_text("model fake")
    expect(card.get_by_test_id("run-version")).to_have_text("v1")
    requests = fake_openai.chat_requests()
    assert requests and {r.model for r in requests} == {"fake"}

    # A model the endpoint refuses fails the run with the endpoint's error; the override is on the card.
    page.get_by_label("Model for this run").fill("fake-401")
    failed = send_task(page, "Once more.")
    expect(failed.get_by_test_id("run-status")).to_have_text("failed", timeout=LONG)
    expect(failed.get_by_test_id("run-override")).to_have_text("model fake-401")
    expect(failed.get_by_test_id("run-error")).to_contain_text("writer")

    # One agent only: the critic runs on the endpoint, the writer keeps its offline model.
    before = len(fake_openai.chat_requests())
    page.get_by_label("Model for", exact=True).select_option("critic")
    page.get_by_label("Model for this run").fill("fake-echo")
    expect(page.locator("#run-options summary")).to_have_text("Run on: critic: fake-echo")
    one = send_task(page, "A line about tea.")
    expect(one.get_by_test_id("run-status")).to_have_text("completed", timeout=LONG)
    expect(one.get_by_test_id("run-override")).to_have_text("critic: fake-echo")
    critic_turns = one.locator('.msg[data-source="critic"]').count()
    assert critic_turns and [r.model for r in fake_openai.chat_requests()[before:]] == ["fake-echo"] * critic_turns

    # The run page shows the override as well, and the export carries it.
    expect(card.get_by_test_id("run-override")).to_have_text("model fake")
    page.goto(f"/runs/{run_id}/")
    expect(page.get_by_test_id("run-override")).to_have_text("model fake")
    exported = page.request.get(f"/api/runs/{run_id}/export?format=json").json()
    assert exported["model_override"] == {"model": "fake", "base_url": fake_openai.base_url}
    assert exported["run"]["model_override"] == exported["model_override"]


def test_a_playground_card_links_its_exports(page: Any) -> None:
    login(page)
    new_session(page, "Calculator assistant (offline)")
    card = send_task(page, "What is 6 * 7?")
    expect(card.get_by_test_id("run-status")).to_have_text("completed", timeout=LONG)
    run_id = run_id_of(card)
    json_link = card.get_by_role("link", name=f"Export run {run_id} as JSON")
    expect(json_link).to_have_attribute("href", f"/api/runs/{run_id}/export?format=json")
    with page.expect_download() as download:
        card.get_by_role("link", name=f"Export run {run_id} as Markdown").click()
    text = open(download.value.path(), encoding="utf-8").read()
    assert text.startswith(f"# Run {run_id}: What is 6 * 7?") and "## Messages" in text


VERSIONED_TEAM = """
import copy
from django.contrib.auth.models import User
from agents_app import services
from agents_app.config import TeamConfig
from agents_app.models import Team
demo = User.objects.get(username="demo")
base = Team.objects.filter(owner=demo, name="Writer and critic (offline)").first().config
config = copy.deepcopy(base)
config["participants"][1]["model"]["replies"] = ["APPROVE. Version one approves."]
team = services.team_create(owner=demo, config=TeamConfig.model_validate(config), name="Two versions")
config["participants"][1]["model"]["replies"] = ["APPROVE. Version two approves."]
services.team_update(team=team, author=demo, config=TeamConfig.model_validate(config), note="kinder critic")
"""


def test_a_run_started_on_an_older_version_runs_it(page: Any, server: Server) -> None:
    server.manage("shell", "-c", VERSIONED_TEAM)
    login(page)
    new_session(page, "Two versions")
    page.locator("#run-options summary").click()
    version = page.get_by_label("Team version")
    expect(version.locator("option")).to_have_text(["the current one (v2)", "v1"])
    version.select_option("1")
    expect(page.locator("#run-options summary")).to_have_text("Run on: v1")
    old = send_task(page, "A line about tea.")
    expect(old.get_by_test_id("run-status")).to_have_text("completed", timeout=LONG)
    expect(old.get_by_test_id("run-version")).to_have_text("v1")
    expect(old.locator(".msg").last).to_contain_text("Version one approves.")
    version.select_option("")
    current = send_task(page, "A line about coffee.")
    expect(current.get_by_test_id("run-status")).to_have_text("completed", timeout=LONG)
    expect(current.get_by_test_id("run-version")).to_have_text("v2")
    expect(current.locator(".msg").last).to_contain_text("Version two approves.")

    # A version's "Run" on the teams page opens the playground with that version chosen for a new session.
    page.goto("/teams/")
    row = page.locator("#team-rows tr", has_text="Two versions")
    row.get_by_role("button", name="Versions of Two versions").click()
    page.locator("#versions").get_by_role("link", name="Run version 1 in the playground").click()
    page.wait_for_url("**/?team=*&version=1")
    expect(page.get_by_label("Team", exact=True).locator("option:checked")).to_have_text("Two versions")
    page.get_by_role("button", name="New session").click()
    expect(page.locator("#run-options summary")).to_have_text("Run on: v1")
    again = send_task(page, "A line about water.")
    expect(again.get_by_test_id("run-status")).to_have_text("completed", timeout=LONG)
    expect(again.get_by_test_id("run-version")).to_have_text("v1")
    expect(again.locator(".msg").last).to_contain_text("Version one approves.")
