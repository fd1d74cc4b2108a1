"""Our `cost` termination has no AutoGen class: it rides an ExternalTermination and comes back on import."""

from __future__ import annotations

from agents_app.autogen import export_team, import_team
from agents_app.config import validate_team_config


def test_cost_termination_round_trips_through_autogen_json() -> None:
    config = validate_team_config(
        {
            "kind": "round_robin",
            "participants": [{"kind": "assistant", "name": "a", "model": {"provider": "scripted", "replies": ["x"]}}],
            "termination": {
                "type": "or",
                "conditions": [{"type": "cost", "max_cost": 0.25}, {"type": "max_message", "max_messages": 5}],
            },
        }
    )
    exported = export_team(config)
    stand_in = exported["config"]["termination_condition"]["config"]["conditions"][0]
    assert stand_in["provider"] == "autogen_agentchat.conditions.ExternalTermination"
    for flavor in ("0.7", "0.5"):
        assert import_team(export_team(config, flavor=flavor)).termination == config.termination  # type: ignore[arg-type]
