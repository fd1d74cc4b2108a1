"""The terminal commands run a team on a stored provider: `run_team --provider NAME --model M`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pexpect
import pytest
from django.core.management.base import CommandError

from providers.models import Provider
from runs.cli.options import model_override
from runs.models import Run
from tests.ops.conftest import ROOT, subprocess_env
from tests.providers.conftest import KEY
from tests.support.fake_openai import FakeOpenAIThread

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]


def test_run_team_runs_every_agent_on_the_named_provider(
    alice: Any, alice_provider: Provider, fake_openai: FakeOpenAIThread, tmp_path: Path
) -> None:
    team = tmp_path / "team.json"
    team.write_text(
        json.dumps(
            {
                "kind": "round_robin",
                "participants": [
                    {"kind": "assistant", "name": "writer", "model": {"provider": "scripted", "replies": ["offline"]}}
                ],
                "termination": {"type": "max_message", "max_messages": 2},
            }
        )
    )
    child = pexpect.spawn(
        sys.executable,
        [
            "manage.py",
            "run_team",
            str(team),
            "Repeat me",
            "--user",
            "alice",
            *("--provider", "local"),
            *("--model", "fake-echo"),
        ],
        cwd=str(ROOT),
        env=subprocess_env(PROVIDER_ALLOW_PRIVATE_ADDRESSES="true"),
        encoding="utf-8",
        timeout=60,
        dimensions=(50, 120),
    )
    child.expect("Run complete")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    assert KEY not in (child.before or "")
    run = Run.objects.get(owner=alice)
    assert run.model_override == {"model": "fake-echo", "provider_ref": "local"}
    [request] = fake_openai.chat_requests()
    assert request.headers["authorization"] == f"Bearer {KEY}" and request.body["model"] == "fake-echo"


def test_the_model_options_make_a_model_override() -> None:
    assert model_override({"provider": "local", "model": "m"}) == {"model": "m", "provider_ref": "local"}
    assert model_override({"provider": None, "model": "m"}) == {"model": "m"}
    assert model_override({}) is None
    with pytest.raises(CommandError, match="--provider needs --model"):
        model_override({"provider": "local"})
