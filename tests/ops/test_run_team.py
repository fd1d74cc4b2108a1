"""`manage.py run_team` in a pseudo-terminal: AutoGen Studio JSON on the fake OpenAI server, human input, Ctrl-C."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pexpect
import pytest

from agents_app.config import TeamConfig
from agents_app.services import team_create, team_update
from runs.models import Run
from tests.autogen.documents import FIXTURES as AUTOGEN_FIXTURES
from tests.ops.conftest import ROOT, subprocess_env
from tests.runs.conftest import gallery_config
from tests.support.fake_openai import FakeOpenAIThread

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]


@pytest.fixture(scope="module")
def fake_openai() -> Iterator[FakeOpenAIThread]:
    with FakeOpenAIThread() as server:
        yield server


@pytest.fixture
def autogen_team(tmp_path: Path, fake_openai: FakeOpenAIThread) -> Path:
    """AutoGen Studio's roundrobin_human (assistant + user proxy), its model pointed at the fake server."""
    data = json.loads((AUTOGEN_FIXTURES / "agentchat-0.5.7" / "roundrobin_human.json").read_text())
    model = data["config"]["participants"][0]["config"]["model_client"]["config"]
    model.update(base_url=fake_openai.base_url, model="fake-echo")
    path = tmp_path / "team.json"
    path.write_text(json.dumps(data))
    return path


def run_team(*args: str) -> pexpect.spawn:
    return pexpect.spawn(
        sys.executable,
        ["manage.py", "run_team", *args, "--user", "alice"],
        cwd=str(ROOT),
        env=subprocess_env(),
        encoding="utf-8",
        timeout=60,
        dimensions=(50, 120),
    )


def finish(child: pexpect.spawn) -> int:
    child.expect(pexpect.EOF)
    child.close()
    return int(child.exitstatus)


def test_autogen_file_runs_to_completion(alice: Any, autogen_team: Path) -> None:
    data = json.loads(autogen_team.read_text())
    data["config"]["termination_condition"]["config"]["conditions"][1]["config"]["max_messages"] = 2
    autogen_team.write_text(json.dumps(data))  # the task and one reply, no human turn
    child = run_team(str(autogen_team), "Say hello")
    child.expect("Run complete")
    assert finish(child) == 0, child.before
    run = Run.objects.get(owner=alice)
    assert run.status == "complete" and run.team is None and run.task == "Say hello"
    assert run.team_config["participants"][0]["model"]["base_url"].endswith("/v1")
    transcript = list(run.messages.order_by("seq").values_list("source", "content"))
    assert transcript == [("user", "Say hello"), ("assistant_agent", "Say hello")]  # fake-echo repeats the task


def test_input_request_is_answered_at_the_prompt(alice: Any, autogen_team: Path) -> None:
    child = run_team(str(autogen_team), "Say hello")
    child.expect("Say hello")  # the task, then the echoed reply
    child.expect("user_proxy|Enter your response|response")
    run = Run.objects.get(owner=alice)
    assert run.status == "awaiting_input"
    child.sendline("Looks good, APPROVE")
    child.expect("Run complete")
    assert finish(child) == 0, child.before
    run.refresh_from_db()
    assert run.status == "complete"
    last = run.messages.order_by("seq").values_list("source", "content").last()
    assert last == ("user_proxy", "Looks good, APPROVE")


def test_ctrl_c_stops_the_run_with_a_reason(alice: Any) -> None:
    child = run_team(str(ROOT / "agents_app" / "gallery" / "long_story.json"), "Tell a story")
    child.expect("storyteller …")  # streaming has begun
    child.sendintr()
    child.expect("Run stopped")
    assert finish(child) == 2
    run = Run.objects.get(owner=alice)
    assert (run.status, run.stop_reason) == ("stopped", "Interrupted at the terminal (Ctrl-C)")
    assert run.messages.filter(partial=True).count() == 1


def test_bad_team_file_is_refused_with_its_errors(alice: Any, tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"kind": "round_robin", "participants": "nope"}))
    child = run_team(str(path), "anything")
    child.expect("not a valid team config")
    assert finish(child) != 0
    assert not Run.objects.exists()


def test_file_goes_with_the_task_and_a_disguised_one_is_refused(alice: Any, tmp_path: Path) -> None:
    from tests.support import files

    notes, fake = tmp_path / "notes.md", tmp_path / "cat.png"
    notes.write_text("# Plan\nship on Friday\n")
    fake.write_bytes(files.elf())
    env = subprocess_env(MEDIA_ROOT=str(tmp_path / "media"))
    team = str(ROOT / "agents_app" / "gallery" / "writer_critic.json")
    child = pexpect.spawn(
        sys.executable,
        ["manage.py", "run_team", team, "Summarise the plan", "--file", str(notes), "--user", "alice"],
        cwd=str(ROOT),
        env=env,
        encoding="utf-8",
        timeout=60,
        dimensions=(50, 160),
    )
    child.expect("notes.md")
    child.expect("Received 1 attachment: notes.md")
    child.expect("Run complete")
    assert finish(child) == 0, child.before
    run = Run.objects.get(owner=alice)
    assert run.messages.get(seq=1).attachments[0]["name"] == "notes.md"
    assert run.attachments.get().text == "# Plan\nship on Friday\n"

    child = pexpect.spawn(
        sys.executable,
        ["manage.py", "run_team", team, "Look", "--file", str(fake), "--user", "alice"],
        cwd=str(ROOT),
        env=env,
        encoding="utf-8",
        timeout=60,
        dimensions=(50, 160),
    )
    child.expect("cat.png: its content is application/x-executable, which is not an allowed type")
    assert finish(child) != 0
    assert Run.objects.count() == 1


def test_team_version_runs_that_version_of_a_saved_team(alice: Any) -> None:
    writers = team_create(owner=alice, config=TeamConfig.model_validate(gallery_config("writer_critic")))
    first = writers.config
    team_update(team=writers, author=alice, config=TeamConfig.model_validate(gallery_config("calculator")))
    child = run_team(str(writers.id), "A poem", "--team-version", "1")
    child.expect("Run complete")
    assert finish(child) == 0, child.before
    run = Run.objects.get(owner=alice)
    assert run.team_version == 1 and run.team_config == first

    child = run_team(str(writers.id), "A poem", "--team-version", "7")
    child.expect("has no version 7")
    assert finish(child) != 0
    assert Run.objects.filter(owner=alice).count() == 1  # the refused run was not kept
