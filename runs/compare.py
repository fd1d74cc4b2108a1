"""Two to four runs side by side: their transcripts, outcomes, durations, tokens and the team diff.

The transcripts line up by turn: a message's `seq` is its turn in the run (1 is the task), so
runs forked from one another or started on versions of one team share their first turns.
"""

from __future__ import annotations

from typing import Any

from agents_app.diff import config_diff
from agents_app.team_io import redact, scrub_secrets
from runs.export import fork_point
from runs.models import Message, Run
from runs.shapes import message_json, run_json

MIN_RUNS, MAX_RUNS = 2, 4


def compare_document(runs: list[tuple[Run, list[Message]]]) -> dict[str, Any]:
    items = [_item(run, messages) for run, messages in runs]
    base = runs[0][0]
    diffs = [
        {"base": base.id, "other": run.id, "changes": config_diff(redact(base.team_config), redact(run.team_config))}
        for run, _ in runs[1:]
    ]
    turns = max((len(item["messages"]) and item["messages"][-1]["seq"]) for item in items)
    return scrub_secrets({"runs": items, "turns": turns, "team_diffs": diffs})  # type: ignore[no-any-return]


def _item(run: Run, messages: list[Message]) -> dict[str, Any]:
    usage = run.usage or {}
    cost = usage.get("cost")
    return {
        **run_json(run),
        "team": {
            "id": run.team_id,
            "name": run.team.name if run.team_id and run.team else str(run.team_config.get("name") or ""),
            "version": run.team_version,
        },
        "duration": run.duration,
        "tokens": {
            "prompt": int(usage.get("prompt_tokens") or 0),
            "completion": int(usage.get("completion_tokens") or 0),
            "total": int(usage.get("total") or 0),
        },
        "cost": cost if isinstance(cost, (int, float)) else None,
        "model_override": run.model_override,
        "fork": fork_point(run),
        "team_config": redact(run.team_config),
        "messages": [message_json(m) for m in messages],
    }
