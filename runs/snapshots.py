"""Which config a run runs: the team's current one, one of its versions, a config sent inline,
each optionally with a model override. The result is the run's snapshot, which stays the truth.

Shared by run creation, the `start` frame and forks (runs.services), so the three read the same
fields the same way. Errors are TeamConfigError naming the request field (`team_version`,
`model_override.writer.model`), mapped once per interface like any bad config.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agents_app.autogen import parse_team_config
from agents_app.config import TeamConfigError
from agents_app.endpoints import check_model_endpoints, check_override
from agents_app.model_override import apply_model_override, override_dump, parse_model_override
from agents_app.models import Team, TeamVersion
from mcp_servers.selectors import check_team_servers


@dataclass(frozen=True)
class Snapshot:
    config: dict[str, Any]
    team_version: int | None = None
    model_override: dict[str, Any] | None = None


def of_team(team: Team) -> Snapshot:
    return Snapshot(team.config, team.version or None)


def choose(
    *,
    current: Snapshot,
    team: Team | None,
    owner: Any,
    team_config: Any = None,
    team_version: int | None = None,
    model_override: Any = None,
) -> Snapshot:
    """`current` unless the request names another config (inline or a version); then the override on top.
    The MCP servers it names must be `owner`'s to use (the run's owner: a shared team reaches only
    the servers its runner may use)."""
    if team_config is not None and team_version is not None:
        raise TeamConfigError([{"path": "team_version", "message": "give team_config or team_version, not both"}])
    snapshot = current
    if team_config is not None:
        config, _ = parse_team_config(team_config)
        snapshot = Snapshot(config.model_dump(mode="json"))
    elif team_version is not None:
        snapshot = Snapshot(version_config(team, team_version), team_version)
    check_team_servers(snapshot.config, owner)
    if model_override is None:
        check_model_endpoints(snapshot.config, "team_config." if team_config is not None else "")
        return snapshot
    spec = parse_model_override(model_override)
    check_override(model_override)
    overridden = apply_model_override(snapshot.config, spec)
    check_model_endpoints(overridden)
    return Snapshot(overridden, snapshot.team_version, override_dump(spec))


def version_config(team: Team | None, number: int) -> dict[str, Any]:
    if team is None:
        raise TeamConfigError([{"path": "team_version", "message": "this run has no team to take a version of"}])
    config = TeamVersion.objects.filter(team=team, number=number).values_list("config", flat=True).first()
    if config is None:
        raise TeamConfigError([{"path": "team_version", "message": f"team {team.id} has no version {number}"}])
    return config  # type: ignore[no-any-return]
