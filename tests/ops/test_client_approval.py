"""The terminal client's approval prompt: a tool call is approved, rejected or edited (a / r / e)."""

from __future__ import annotations

import sys
from typing import Any

import pexpect
import pytest

from agents_app.models import Team
from runs.models import Message, Run
from tests.ops.conftest import ROOT, subprocess_env
from tests.ops.test_client import server  # noqa: F401  (the Daphne fixture)

pytestmark = [pytest.mark.nodb, pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]


def guarded(owner: Any) -> Run:
    calls = [{"name": "calculator", "arguments": {"expression": "6 * 7"}}]
    model = {"provider": "scripted", "replies": [{"tool_calls": calls}, "done"], "tokens_per_second": 0}
    agent = {"kind": "assistant", "name": "calc", "model": model, "tools": ["calculator"], "tool_approval": "always"}
    config = {"kind": "round_robin", "name": "guarded", "participants": [agent], "max_turns": 1}
    team = Team.objects.create(owner=owner, name="guarded", config=config)
    return Run.objects.create(owner=owner, team=team, team_config=config)


def client(address: str, run: Run, token: str) -> Any:
    args = ["manage.py", "playground_client", "--server", f"ws://{address}/runs/{run.id}", "--token", token, "-m", "go"]
    return pexpect.spawn(
        sys.executable, args, cwd=str(ROOT), env=subprocess_env(), encoding="utf-8", timeout=60, dimensions=(50, 160)
    )


def test_edit_then_approve_at_the_prompt(server: str, alice: Any, alice_token: str) -> None:  # noqa: F811
    run = guarded(alice)
    child = client(server, run, alice_token)
    child.expect("calc wants to call calculator")
    child.expect(r"\[a\]pprove, \[r\]eject or \[e\]dit")
    child.sendline("e")
    child.expect("Arguments as JSON: ")
    child.sendline('{"expression": 5}')  # not what the tool takes: the server refuses, the prompt comes back
    child.expect(r"\[a\]pprove, \[r\]eject or \[e\]dit")
    child.sendline("a")
    child.expect("tool approval refused")
    child.expect(r"\[a\]pprove, \[r\]eject or \[e\]dit")
    child.sendline("e")
    child.expect("Arguments as JSON: ")
    child.sendline('{"expression": "1 + 1"}')
    child.expect(r"\[a\]pprove, \[r\]eject or \[e\]dit")
    child.sendline("a")
    child.expect("Run complete")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    executed = Message.objects.get(run_id=run.id, type="ToolCallExecutionEvent")
    assert executed.content[0]["content"] == "2"


def test_reject_with_a_reason_at_the_prompt(server: str, alice: Any, alice_token: str) -> None:  # noqa: F811
    run = guarded(alice)
    child = client(server, run, alice_token)
    child.expect(r"\[a\]pprove, \[r\]eject or \[e\]dit")
    child.sendline("r")
    child.expect("Reason")
    child.sendline("no thanks")
    child.expect("Run complete")
    child.expect(pexpect.EOF)
    child.close()
    executed = Message.objects.get(run_id=run.id, type="ToolCallExecutionEvent")
    assert executed.content[0]["content"] == "Rejected by alice: no thanks"
