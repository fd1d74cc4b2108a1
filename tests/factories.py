"""Small builders for test objects (no factory library needed for this few)."""

from __future__ import annotations

import copy
from typing import Any

from agents_app.models import Team
from agents_app.schemas import EXAMPLE_CONFIG
from runs import services
from runs.models import Run

# The same known-good team the API docs show.
SCRIPTED_TEAM: dict[str, Any] = copy.deepcopy(EXAMPLE_CONFIG)


def make_team(owner: Any, name: str = "echo", config: dict[str, Any] | None = None) -> Team:
    return Team.objects.create(owner=owner, name=name, config=config or SCRIPTED_TEAM)


def make_run(owner: Any, status: str = "created", **fields: Any) -> Run:
    run = services.run_create(owner=owner, team_config=SCRIPTED_TEAM, task=fields.pop("task", "say hi"))
    if status != "created" or fields:
        # Test setup only: put a run straight into a state without walking the machine.
        Run.objects.filter(id=run.id).update(status=status, **fields)
        run.refresh_from_db()
    return run
