"""Small builders for test objects (no factory library needed for this few)."""

from __future__ import annotations

from typing import Any

from agents_app.models import Team
from runs import services
from runs.models import Run

SCRIPTED_TEAM: dict[str, Any] = {
    "version": 1,
    "kind": "round_robin",
    "name": "echo",
    "participants": [
        {"kind": "assistant", "name": "writer", "model": {"provider": "scripted", "replies": ["Hello there."]}}
    ],
    "termination": {"type": "max_message", "max_messages": 2},
}


def make_team(owner: Any, name: str = "echo", config: dict[str, Any] | None = None) -> Team:
    return Team.objects.create(owner=owner, name=name, config=config or SCRIPTED_TEAM)


def make_run(owner: Any, status: str = "created", **fields: Any) -> Run:
    run = services.run_create(owner=owner, team_config=SCRIPTED_TEAM, task=fields.pop("task", "say hi"))
    if status != "created" or fields:
        # Test setup only: put a run straight into a state without walking the machine.
        Run.objects.filter(id=run.id).update(status=status, **fields)
        run.refresh_from_db()
    return run
