"""The playground page against a real server: streaming, human input, stop, reload and resume."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.ui.conftest import Server, login, screenshot

LONG = 60_000

# Grows while a bubble streams: remembers the first length it saw per seq and reports the
# first later read (still streaming) that is longer.
STREAM_GROWS = """() => {
  const el = document.querySelector('.msg.streaming');
  if (!el) return false;
  const seq = el.dataset.seq, len = el.querySelector('.md').textContent.length;
  window.__seen = window.__seen || {};
  if (!(seq in window.__seen) || len === 0) { window.__seen[seq] = len; return false; }
  return len > window.__seen[seq] ? {seq, first: window.__seen[seq], later: len} : false;
}"""


THREAD = "document.getElementById('thread')"
AT_BOTTOM = f"() => {{ const t = {THREAD}; return t.scrollHeight - t.scrollTop - t.clientHeight < 48; }}"
OVERFLOWS = f"() => {{ const t = {THREAD}; return t.scrollHeight > t.clientHeight + 80; }}"


def new_session(page: Any, team_label: str) -> None:
    page.get_by_label("Team", exact=True).select_option(label=team_label)
    page.get_by_role("button", name="New session").click()
    expect(page.locator("#session-title")).to_have_text(team_label)
    expect(page.get_by_label("Task for the team")).to_be_enabled()


def send_task(page: Any, task: str) -> Any:
    box = page.get_by_label("Task for the team")
    expect(box).to_have_value("")  # never pre-filled
    box.fill(task)
    page.get_by_role("button", name="Send").click()
    card = page.locator("article.run").last
    expect(card.locator(".run-task")).to_have_text(task)
    return card


def seqs(card: Any) -> list[int]:
    return [int(s) for s in card.locator(".msgs > li").evaluate_all("els => els.map(e => e.dataset.seq)")]


def test_stream_writer_critic_in_order(page: Any) -> None:
    login(page)
    new_session(page, "Writer and critic (offline)")
    card = send_task(page, "Write a four-line poem about the sea at dawn.")
    expect(card.get_by_test_id("run-status")).to_have_text("running")
    growth = page.wait_for_function(STREAM_GROWS, timeout=LONG, polling="raf").json_value()
    assert growth["later"] > growth["first"]
    expect(page.get_by_role("button", name="Stop")).to_be_visible()
    expect(card.get_by_test_id("run-status")).to_have_text("completed", timeout=LONG)
    authors = card.locator(".msg .author")
    expect(authors).to_have_text(["writer", "critic", "writer", "critic"])
    expect(card.locator(".msg").last).to_contain_text("APPROVE")
    expect(card.locator(".msg.streaming")).to_have_count(0)
    expect(card.get_by_test_id("run-stats")).to_contain_text("5 messages")
    expect(card.get_by_test_id("run-stats")).to_contain_text("tokens")
    expect(page.get_by_role("button", name="Send")).to_be_visible()
    screenshot(page, "playground")


def test_finished_runs_show_their_stored_messages_after_a_reload(page: Any) -> None:
    # The session's run list leaves messages out: each finished card pages its own from the run's list.
    login(page)
    new_session(page, "Writer and critic (offline)")
    for task in ("A poem about the sea.", "A poem about the hills."):
        card = send_task(page, task)
        expect(card.get_by_test_id("run-status")).to_have_text("completed", timeout=LONG)
    page.reload()
    cards = page.locator("article.run")
    expect(cards).to_have_count(2)
    for i in range(2):
        expect(cards.nth(i).locator(".msg .author")).to_have_text(["writer", "critic", "writer", "critic"])
        expect(cards.nth(i).get_by_test_id("run-status")).to_have_text("completed")
        assert seqs(cards.nth(i)) == [1, 2, 3, 4, 5]


def test_answer_input_request_with_two_tabs_live(page: Any) -> None:
    login(page)
    new_session(page, "Human in the loop (offline)")
    card = send_task(page, "Draft a two-sentence announcement for our team picnic.")
    input_card = card.get_by_test_id("input-card")
    expect(input_card).to_be_visible(timeout=LONG)
    expect(input_card).to_contain_text("assistant asks you")
    expect(input_card).to_contain_text("Your feedback")
    expect(card.get_by_test_id("run-status")).to_have_text("waiting for you")
    expect(page.get_by_label("Task for the team")).to_be_disabled()
    answer = input_card.get_by_label("Your answer")
    expect(answer).to_be_focused()
    screenshot(page, "playground-input")

    other = page.context.new_page()  # a second tab on the same run stays live too
    other.goto(page.url)
    other_card = other.locator("article.run").last
    expect(other_card.get_by_test_id("input-card")).to_be_visible()

    answer.fill("TERMINATE")
    input_card.get_by_role("button", name="Submit").click()
    expect(card.get_by_test_id("run-status")).to_have_text("completed", timeout=LONG)
    expect(card.get_by_test_id("input-card")).to_have_count(0)
    expect(card.locator(".msg.mine")).to_contain_text("TERMINATE")
    expect(page.get_by_label("Task for the team")).to_be_enabled()
    expect(other_card.get_by_test_id("run-status")).to_have_text("completed", timeout=LONG)
    expect(other_card.get_by_test_id("input-card")).to_have_count(0)
    expect(other_card.locator(".msg.mine")).to_have_count(1)


def test_reconnects_after_server_restart(page: Any, server: Server) -> None:
    login(page)
    new_session(page, "Human in the loop (offline)")
    card = send_task(page, "Draft a one-line invitation.")
    expect(card.get_by_test_id("input-card")).to_be_visible(timeout=LONG)
    expect(page.locator("#conn")).to_have_attribute("data-state", "connected")
    before = seqs(card)
    server.stop()
    expect(page.locator("#conn")).to_have_attribute("data-state", re.compile("reconnecting|offline"))
    server.start()
    expect(page.locator("#conn")).to_have_attribute("data-state", "connected", timeout=LONG)
    assert seqs(card) == before
    page.reload()  # a fresh page finds the pending question too, asked by the same agent
    card = page.locator("article.run").last
    expect(card.get_by_test_id("input-card")).to_contain_text("assistant asks you")
    assert seqs(card) == before
    card.get_by_test_id("input-card").get_by_label("Your answer").fill("TERMINATE")
    card.get_by_test_id("input-card").get_by_role("button", name="Submit").click()
    expect(card.get_by_test_id("run-status")).to_have_text("completed", timeout=LONG)
    numbers = seqs(card)
    assert numbers == sorted(set(numbers)) and len(numbers) == len(before) + 1, (before, numbers)


def test_failed_run_shows_error_in_card(page: Any) -> None:
    login(page)
    new_session(page, "Writer and critic (OpenAI)")
    card = send_task(page, "Write a poem.")
    expect(card.get_by_test_id("run-status")).to_have_text("failed", timeout=LONG)
    error = card.get_by_test_id("run-error")
    expect(error).to_contain_text("OPENAI_API_KEY")
    error.get_by_text("Details").click()
    expect(error.locator("pre")).to_be_visible()
    expect(page.get_by_role("button", name="Send")).to_be_enabled()


def test_stop_keeps_partial_text(page: Any) -> None:
    login(page)
    new_session(page, "Long story (streaming) (offline)")
    card = send_task(page, "Tell me a story about a lighthouse.")
    streaming = card.locator(".msg.streaming .md")
    expect(streaming).to_contain_text("toolbox", timeout=LONG)
    expect(page.get_by_role("button", name="Stop")).to_be_visible()
    page.keyboard.press("Escape")  # the composer's Stop, from the keyboard
    expect(card.get_by_test_id("run-status")).to_have_text("stopped", timeout=LONG)
    story = card.locator('.msg[data-source="storyteller"]')
    expect(story).to_have_count(1)
    expect(story).to_have_class("msg partial")
    expect(story).to_contain_text("toolbox")
    expect(story.get_by_test_id("partial-tag")).to_have_text("stopped")
    expect(card.locator(".msg.streaming")).to_have_count(0)
    assert "The end." not in story.inner_text()
    expect(page.get_by_role("button", name="Send")).to_be_visible()


def test_reload_mid_run_resumes_without_duplicates(page: Any) -> None:
    login(page)
    new_session(page, "Long story (streaming) (offline)")
    card = send_task(page, "Tell me a story about a lighthouse.")
    expect(card.locator(".msg.streaming .md")).to_contain_text("lighthouse", timeout=LONG)
    page.reload()
    card = page.locator("article.run").last
    expect(card.locator(".run-task")).to_have_text("Tell me a story about a lighthouse.")
    # Still running after the reload, and the stream comes back live.
    expect(card.get_by_test_id("run-status")).to_have_text("running")
    expect(page.locator("#conn")).to_have_attribute("data-state", "connected")
    expect(card.locator(".msg.streaming")).to_have_count(1, timeout=LONG)

    # Reading back up stops the auto-follow; "Jump to latest" brings it back.
    thread = page.locator("#thread")
    thread.evaluate("t => t.style.maxHeight = '160px'")
    page.wait_for_function(OVERFLOWS)
    thread.hover()
    page.mouse.wheel(0, -400)
    jump = page.get_by_role("button", name="Jump to latest")
    expect(jump).to_be_visible()
    grown = card.locator(".msg.streaming .md").inner_text()
    expect(card.locator(".msg .md").first).not_to_have_text(grown)  # still streaming...
    assert not page.evaluate(AT_BOTTOM)  # ...and the view stays where the reader is
    jump.click()
    expect(jump).to_be_hidden()
    page.wait_for_function(AT_BOTTOM)
    thread.evaluate("t => t.style.maxHeight = ''")

    expect(card.get_by_test_id("run-status")).to_have_text("completed", timeout=LONG)
    expect(card.locator(".msg")).to_have_count(1)
    expect(card.locator(".msg").first).to_contain_text("The end.")
    numbers = seqs(card)
    assert numbers == sorted(set(numbers)), numbers
    assert numbers == [1, 2], numbers
    expect(card.get_by_test_id("run-stats")).to_contain_text("2 messages")
    page.set_viewport_size({"width": 375, "height": 740})
    screenshot(page, "playground-phone")


def test_input_request_deadline_shows_countdown(page: Any) -> None:
    login(page)
    config = {
        "version": 1,
        "kind": "round_robin",
        "name": "Asks with a deadline",
        "participants": [
            {"kind": "assistant", "name": "asker", "model": {"provider": "scripted", "replies": ["Shall I go on?"]}},
            {"kind": "user_proxy", "name": "you", "input_prompt": "Yes or no?"},
        ],
        "termination": {"type": "max_message", "max_messages": 3},
        "human_input": {"deadline_seconds": 300, "on_deadline": "stop"},
    }
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    response = page.request.post("/api/teams", data={"config": config}, headers={"X-CSRFToken": csrf})
    assert response.status == 201, response.text()
    page.reload()
    new_session(page, "Asks with a deadline")
    card = send_task(page, "Ask me.")
    input_card = card.get_by_test_id("input-card")
    expect(input_card).to_contain_text("asker asks you")
    expect(input_card).to_contain_text("Yes or no?")
    expect(input_card.locator(".countdown")).to_have_text(re.compile(r"Time left to answer: [45]:\d\d"))
    input_card.get_by_label("Your answer").fill("yes")
    input_card.get_by_label("Your answer").press("Enter")
    expect(card.get_by_test_id("run-status")).to_have_text("completed", timeout=LONG)
    expect(card.locator(".msg.mine .author")).to_have_text("you")
    expect(card.locator(".msg.mine .md")).to_have_text("yes")


def test_without_a_model_key_an_offline_team_is_preselected(page: Any) -> None:
    login(page)
    expect(page.locator("#offline-hint")).to_contain_text("No model key is set")
    select = page.get_by_label("Team", exact=True)
    expect(select).not_to_have_value("")
    chosen = select.evaluate("s => s.options[s.selectedIndex].text")
    teams = page.evaluate("async () => (await (await fetch('/api/teams?limit=200')).json()).items")
    offline = {t["name"]: providers(t["config"]) == {"scripted"} for t in teams}
    assert chosen == next(name for name, is_offline in offline.items() if is_offline)


def providers(node: Any) -> set[str]:
    """Every model provider named anywhere in a team config."""
    found: set[str] = set()
    if isinstance(node, list):
        for item in node:
            found |= providers(item)
    elif isinstance(node, dict):
        if isinstance(node.get("model"), dict):
            found.add(node["model"].get("provider"))
        for value in node.values():
            found |= providers(value)
    return found
