"""`manage.py playground_client` against a real Daphne (embedded: SQLite file + inline executor)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pexpect
import pytest

from agents_app.config import TeamConfig
from agents_app.models import Team
from agents_app.services import team_create, team_update
from runs.models import Run
from tests.integration.stack import free_port, wait_http
from tests.ops.conftest import ROOT, subprocess_env
from tests.runs.conftest import gallery_config

pytestmark = [pytest.mark.nodb, pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = subprocess_env(RUN_EXECUTOR="inline", MEDIA_ROOT=str(tmp_path / "media"))
    env.pop("REDIS_URL", None)
    with open(tmp_path / "daphne.log", "wb") as log:
        daphne = [str(Path(sys.executable).parent / "daphne"), "-b", "127.0.0.1", "-p", str(port)]
        proc = subprocess.Popen(
            [*daphne, "playground.asgi:application"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            wait_http(f"http://127.0.0.1:{port}/api/version", proc)
            yield f"127.0.0.1:{port}"
        finally:
            proc.terminate()
            proc.wait(timeout=15)


def team(owner: Any, name: str, pace: float = 0) -> Team:
    return Team.objects.create(owner=owner, name=name, config=gallery_config(name, tokens_per_second=pace))


def client(*args: str) -> list[str]:
    return [sys.executable, "manage.py", "playground_client", *args]


def run_client(*args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    """playground_client to its end, its output captured."""
    return subprocess.run(
        client(*args), cwd=ROOT, env=subprocess_env(), capture_output=True, text=True, timeout=timeout
    )


def test_scripted_run_to_completion_of_a_team_given_by_name(server: str, alice: Any, alice_token: str) -> None:
    writers = team(alice, "writer_critic")
    done = run_client("--server", f"http://{server}", "--team", writers.name, "--token", alice_token, "-m", "A poem")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Run complete" in done.stdout and "APPROVE" in done.stdout
    run = Run.objects.get(owner=alice)
    assert run.status == "complete" and run.task == "A poem"
    for message in run.messages.exclude(source="user"):
        assert done.stdout.count(message.content.splitlines()[0][:60]) == 1  # each message once


def test_team_version_runs_that_version_of_the_team(server: str, alice: Any, alice_token: str) -> None:
    writers = team_create(owner=alice, config=TeamConfig.model_validate(gallery_config("writer_critic")))
    first = writers.config
    writers = team_update(team=writers, author=alice, config=TeamConfig.model_validate(gallery_config("calculator")))
    assert writers.version == 2
    done = run_client(
        *("--server", f"http://{server}", "--team", writers.name, "--token", alice_token),
        *("--team-version", "1", "-m", "A poem"),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    run = Run.objects.get(owner=alice)
    assert run.team_version == 1 and run.team_config == first and run.status == "complete"
    assert "APPROVE" in done.stdout  # the writer and critic of version 1, not the calculator of version 2

    refused = run_client(
        *("--server", f"http://{server}", "--team", writers.name, "--token", alice_token, "--team-version", "9")
    )
    said = " ".join((refused.stdout + refused.stderr).split())  # the console wraps long lines
    assert refused.returncode != 0 and "team_version: team" in said and "has no version 9" in said


def test_input_request_is_answered_at_the_prompt(server: str, alice: Any, alice_token: str) -> None:
    humans = team(alice, "human_in_the_loop")
    run = Run.objects.create(owner=alice, team=humans, team_config=humans.config)
    child = pexpect.spawn(
        sys.executable,
        [
            "manage.py",
            "playground_client",
            "--server",
            f"ws://{server}/runs/{run.id}",
            "--token",
            alice_token,
            "-m",
            "Draft a picnic note",
        ],
        cwd=str(ROOT),
        env=subprocess_env(),
        encoding="utf-8",
        timeout=60,
        dimensions=(50, 120),
    )
    child.expect(r"TERMINATE to finish\): ")
    child.sendline("Mention the frisbee")
    child.expect(r"TERMINATE to finish\): ")
    child.sendline("TERMINATE")
    child.expect("Run complete")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    answers = list(Run.objects.get(id=run.id).messages.filter(source="user").values_list("content", flat=True))
    assert answers == ["Draft a picnic note", "Mention the frisbee", "TERMINATE"]


def test_interactive_ping_and_stop_exit_non_zero(server: str, alice: Any, alice_token: str) -> None:
    humans = team(alice, "human_in_the_loop")
    child = pexpect.spawn(
        sys.executable,
        [
            "manage.py",
            "playground_client",
            "--server",
            f"http://{server}",
            "--team",
            str(humans.id),
            "--token",
            alice_token,
            "-i",
        ],
        cwd=str(ROOT),
        env=subprocess_env(),
        encoding="utf-8",
        timeout=60,
        dimensions=(50, 120),
    )
    child.expect("Task: ")
    child.sendline("ping")
    child.expect("pong")
    child.sendline("Draft a note")
    child.expect(r"TERMINATE to finish\): ")
    child.sendline("stop Not now")
    child.expect("Run stopped: Not now")
    child.expect("Next task")
    child.sendline("")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 2
    run = Run.objects.get(owner=alice)
    assert (run.status, run.stop_reason) == ("stopped", "Not now")


def test_bad_token_is_refused(server: str, alice: Any) -> None:
    run = Run.objects.create(owner=alice, team_config=gallery_config("writer_critic"))
    done = run_client("--server", f"ws://{server}/runs/{run.id}", "--token", "pg_nope", "-m", "x", timeout=60)
    assert done.returncode == 3 and "not authenticated" in done.stdout


def test_unknown_team_name_is_refused(server: str, alice: Any, alice_token: str) -> None:
    team(alice, "writer_critic")
    args = ("--server", f"http://{server}", "--team", "no such team", "--token", alice_token, "-m", "x")
    done = run_client(*args, timeout=60)
    assert done.returncode == 3 and "no team named 'no such team'" in done.stdout


def test_files_go_with_the_task(server: str, alice: Any, alice_token: str, tmp_path: Path) -> None:
    from tests.support import files

    writers = team(alice, "writer_critic")
    (tmp_path / "red.png").write_bytes(files.png())
    (tmp_path / "cat.png").write_bytes(files.elf())
    base = ("--server", f"http://{server}", "--team", str(writers.id), "--token", alice_token, "-m", "Look")
    done = run_client(*base, "--file", str(tmp_path / "red.png"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "red.png (image/png" in done.stdout and "Received 1 attachment: red.png" in done.stdout
    run = Run.objects.get(owner=alice)
    assert [a.name for a in run.attachments.all()] == ["red.png"]
    refused = run_client(*base, "--file", str(tmp_path / "cat.png"))
    assert refused.returncode == 3
    said = " ".join(refused.stdout.split())  # the console wraps long lines
    assert "File refused: cat.png: its content is application/x-executable" in said
    assert list(Run.objects.filter(owner=alice)) == [run]  # the files are checked before a run is created
    missing = run_client(*base, "--file", str(tmp_path / "nope.txt"), timeout=60)
    assert missing.returncode != 0 and "cannot read" in missing.stderr
