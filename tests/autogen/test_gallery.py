"""The default gallery: every file is a valid team in our format, offline teams need no key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agents_app.autogen import export_team, import_team
from agents_app.config import AssistantAgentConfig, OpenAIModel, ScriptedModel, TeamConfigError, validate_team_config
from agents_app.gallery import gallery_files, load_gallery

OFFLINE = ["writer_critic", "calculator", "human_in_the_loop", "selector", "swarm", "long_story"]
ONLINE = ["writer_critic_openai", "calculator_openai", "human_in_the_loop_openai", "selector_openai", "swarm_openai"]


@pytest.mark.parametrize("path", gallery_files(), ids=lambda p: p.stem)
def test_gallery_file_validates_and_has_a_name_and_description(path: Path) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["name"] and data["description"]
    validate_team_config(data)


def test_gallery_has_every_demo_team() -> None:
    assert sorted(load_gallery()) == sorted(OFFLINE + ONLINE)


@pytest.mark.parametrize("name", OFFLINE)
def test_offline_teams_use_only_the_scripted_model(name: str) -> None:
    config = load_gallery()[name]
    models = [p.model for p in config.participants if isinstance(p, AssistantAgentConfig)]
    models += [config.selector.model] if config.selector else []
    assert models and all(isinstance(m, ScriptedModel) for m in models)


@pytest.mark.parametrize("name", ONLINE)
def test_openai_teams_mirror_the_offline_ones_without_a_key(name: str) -> None:
    gallery = load_gallery()
    online, offline = gallery[name], gallery[name.removesuffix("_openai")]
    assert [p.name for p in online.participants] == [p.name for p in offline.participants]
    assert online.termination == offline.termination
    for agent in online.participants:
        if isinstance(agent, AssistantAgentConfig):
            assert isinstance(agent.model, OpenAIModel) and agent.model.model == "gpt-4o-mini"
            assert agent.model.api_key_env == "OPENAI_API_KEY"
    assert 'api_key"' not in json.dumps(online.model_dump())


def test_long_story_streams_about_600_words_at_40_tokens_per_second() -> None:
    [agent] = load_gallery()["long_story"].participants
    assert isinstance(agent, AssistantAgentConfig) and isinstance(agent.model, ScriptedModel)
    assert agent.model.tokens_per_second == 40
    [story] = agent.model.replies
    assert isinstance(story, str) and 550 <= len(story.split()) <= 700


@pytest.mark.parametrize("name", OFFLINE + ONLINE)
def test_gallery_team_round_trips_through_autogen_export(name: str) -> None:
    config = load_gallery()[name]
    assert import_team(json.loads(json.dumps(export_team(config))), warnings=[]) == config


def test_a_broken_gallery_file_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "broken.json").write_text(json.dumps({"kind": "round_robin", "participants": []}))
    monkeypatch.setattr("agents_app.gallery.GALLERY_DIR", tmp_path)
    with pytest.raises(TeamConfigError) as info:
        load_gallery()
    assert info.value.errors[0].path.startswith("broken.json:")
