"""Files in the task box, in Chromium: picker, drag and drop, paste, remove before sending; thumbnails
that open full size and file chips in the transcript, again after a reload; a refused file keeps the task."""

from __future__ import annotations

import json
import re
import shlex
import sys
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from tests.mcp_servers.conftest import config_with_servers
from tests.support import files
from tests.support.mcp_servers import SERVER_ARGS
from tests.ui.conftest import DEMO_USER, Server, login, screenshot
from tests.ui.test_playground import LONG, new_session

# Hands the composer a file the way a drop or a paste does (a DataTransfer of File objects).
GIVE = """([how, name, type, text]) => {
  const data = new DataTransfer();
  data.items.add(new File([text], name, { type }));
  const target = how === "drop" ? document.getElementById("composer") : document.getElementById("task");
  const event = how === "drop"
    ? new DragEvent("drop", { dataTransfer: data, bubbles: true, cancelable: true })
    : new ClipboardEvent("paste", { clipboardData: data, bubbles: true, cancelable: true });
  target.dispatchEvent(event);
}"""


def test_files_go_with_the_task_and_show_in_the_transcript(page: Any, tmp_path: Path) -> None:
    picture, notes = tmp_path / "red.png", tmp_path / "notes.md"
    picture.write_bytes(files.png(40, 30))
    notes.write_text("# Plan\nship on Friday\n")
    login(page)
    new_session(page, "Writer and critic (offline)")
    page.locator("#file-input").set_input_files([str(picture), str(notes)])
    page.evaluate(GIVE, ["drop", "numbers.csv", "text/csv", "a,b\n1,2\n"])
    page.evaluate(GIVE, ["paste", "pasted.txt", "text/plain", "from the clipboard"])
    chips = page.get_by_test_id("composer-file")
    expect(chips).to_have_count(4)
    expect(chips.first.locator("img")).to_be_visible()  # a thumbnail before sending
    page.get_by_role("button", name="Remove pasted.txt").click()
    expect(chips).to_have_count(3)

    page.get_by_label("Task for the team").fill("Check the picture against the plan")
    page.get_by_role("button", name="Send").click()
    card = page.locator("article.run").last
    expect(card.locator(".run-task")).to_have_text("Check the picture against the plan")
    expect(chips).to_have_count(0)
    shown = card.locator(".run-head").get_by_test_id("attachments")
    thumb = shown.locator("a.attachment-thumb img")
    expect(thumb).to_have_attribute("alt", "red.png")
    page.wait_for_function("img => img.complete && img.naturalWidth === 40", arg=thumb.element_handle())
    link = shown.locator("a.attachment-thumb")
    assert link.get_attribute("target") == "_blank" and link.get_attribute("href").startswith("/api/attachments/")
    chip = shown.locator("a.file-chip", has_text="notes.md")
    expect(chip).to_have_attribute("download", "notes.md")
    with page.expect_download() as download:
        chip.click()
    assert Path(download.value.path()).read_text() == "# Plan\nship on Friday\n"
    expect(card.locator(".msg").first).to_contain_text(
        "Received 3 attachments: red.png, notes.md, numbers.csv", timeout=LONG
    )
    expect(card.get_by_test_id("run-status")).to_have_text("completed", timeout=LONG)
    screenshot(page, "attachments")

    page.reload()  # the stored run comes back with its files
    card = page.locator("article.run").last
    again = card.locator(".run-head").get_by_test_id("attachments")
    expect(again.locator("a.attachment-thumb img")).to_have_attribute("alt", "red.png")
    expect(again.locator("a.file-chip")).to_have_count(2)


def test_a_refused_file_is_named_and_the_task_stays(page: Any) -> None:
    login(page)
    new_session(page, "Writer and critic (offline)")
    page.locator("#file-input").set_input_files([{"name": "cat.png", "mimeType": "image/png", "buffer": files.elf()}])
    box = page.get_by_label("Task for the team")
    box.fill("Look at my cat")
    runs_before = page.locator("article.run").count()
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#composer-note")).to_contain_text(
        "cat.png: its content is application/x-executable, which is not an allowed type"
    )
    expect(box).to_have_value("Look at my cat")
    expect(page.get_by_test_id("composer-file")).to_have_count(1)
    assert page.locator("article.run").count() == runs_before


def test_an_image_an_mcp_tool_returned_shows_in_its_result(page: Any, server: Server, tmp_path: Path) -> None:
    command = shlex.join([sys.executable, *SERVER_ARGS])
    server.manage("mcp_server", "add", "ui-images", "--command", command, "--user", DEMO_USER, "--call-timeout", "20")
    team = tmp_path / "team.json"
    team.write_text(json.dumps(config_with_servers("ui-images", replies=[{"tool_calls": [{"name": "red_pixel"}]}])))
    out = server.manage("run_team", str(team), "Draw a pixel")
    match = re.search(r"Run (\d+) ", out)
    assert match, out
    login(page)
    page.goto(f"/runs/{match.group(1)}/")
    row = page.locator("details.tool-row", has=page.locator("code.tool-name", has_text="red_pixel"))
    expect(row).to_have_attribute("open", "")  # a result with an image stays open
    thumb = row.locator(".tool-result a.attachment-thumb img")
    expect(thumb).to_have_attribute("alt", "red_pixel-1.png")
    page.wait_for_function("img => img.complete && img.naturalWidth === 1", arg=thumb.element_handle())
    assert row.locator("a.attachment-thumb").get_attribute("href").startswith("/api/attachments/")
