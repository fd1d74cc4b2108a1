"""AutoGen Studio component JSON in and out: round trips, secrets, refusals, error paths."""

from __future__ import annotations

import ast
import builtins
import copy
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from agents_app.autogen import export_team, import_team, is_autogen_component, parse_team_config
from agents_app.config import (
    REDACTED_KEY,
    AssistantAgentConfig,
    AzureOpenAIModel,
    ConfigErrorItem,
    OpenAIModel,
    ScriptedModel,
    TeamConfig,
    TeamConfigError,
    UserProxyAgentConfig,
)
from tests.autogen.documents import FIXTURE_FILES, FIXTURES, SHARED_FIXTURES, load_fixture

PLANTED_KEY = "sk-planted-9f8e7d6c5b4a-DO-NOT-STORE"


def errors_of(data: Any) -> list[ConfigErrorItem]:
    with pytest.raises(TeamConfigError) as info:
        import_team(data, warnings=[])
    return info.value.errors


def model_clients(doc: Any) -> list[dict[str, Any]]:
    """Every model client component anywhere in a document."""
    found = []
    if isinstance(doc, dict):
        if doc.get("component_type") == "model":
            found.append(doc)
        for value in doc.values():
            found += model_clients(value)
    elif isinstance(doc, list):
        for value in doc:
            found += model_clients(value)
    return found


def first_agent(doc: dict[str, Any]) -> dict[str, Any]:
    agent: dict[str, Any] = doc["config"]["participants"][0]["config"]
    return agent


# ---------------------------------------------------------------- round trips


def test_every_fixture_is_present() -> None:
    assert len(FIXTURE_FILES) == 10


def test_fixture_copy_matches_the_shared_fixtures() -> None:
    # The repository keeps its own copy so a clone anywhere runs the suite; beside ../shared it must not drift.
    shared = sorted(SHARED_FIXTURES.glob("*/*.json"))
    if not shared:
        pytest.skip(f"no shared fixtures at {SHARED_FIXTURES} (this clone is not beside ../shared)")
    assert [p.relative_to(SHARED_FIXTURES) for p in shared] == [p.relative_to(FIXTURES) for p in FIXTURE_FILES]
    for path in shared:
        assert (FIXTURES / path.relative_to(SHARED_FIXTURES)).read_bytes() == path.read_bytes(), path


def test_fixture_imports_exports_and_reimports_to_the_same_config(fixture_doc: dict[str, Any]) -> None:
    config = import_team(fixture_doc, warnings=[])
    exported = json.loads(json.dumps(export_team(config)))
    assert import_team(exported, warnings=[]) == config


def test_fixture_round_trips_through_the_agentchat_05_shape(fixture_doc: dict[str, Any]) -> None:
    config = import_team(fixture_doc, warnings=[])
    exported = export_team(config, flavor="0.5")
    agent = exported["config"]["participants"][0]
    assert agent["component_version"] == 1 and isinstance(agent["config"]["workbench"], dict)
    assert import_team(exported, warnings=[]) == config


def test_parse_detects_autogen_and_native(fixture_doc: dict[str, Any]) -> None:
    config, kind = parse_team_config(fixture_doc, warnings=[])
    assert kind == "autogen"
    assert parse_team_config(config.model_dump()) == (config, "native")


def test_export_uses_agentchat_07_shape_by_default() -> None:
    exported = export_team(import_team(load_fixture("0.5.7", "roundrobin_calculator"), warnings=[]))
    agent = exported["config"]["participants"][0]
    assert exported["provider"] == "autogen_agentchat.teams.RoundRobinGroupChat"
    assert agent["provider"] == "autogen_agentchat.agents.AssistantAgent"
    assert agent["component_version"] == 2
    [workbench] = agent["config"]["workbench"]
    [tool] = workbench["config"]["tools"]
    assert tool["provider"] == "autogen_core.tools.FunctionTool"
    assert tool["config"]["name"] == "calculator"
    assert "def calculator(expression: str)" in tool["config"]["source_code"]


def test_selector_settings_are_imported() -> None:
    config = import_team(load_fixture("0.7.5", "selector_writer_critic"), warnings=[])
    assert config.kind == "selector" and config.selector is not None
    assert config.selector.allow_repeated_speaker is False
    assert config.selector.max_selector_attempts == 3
    assert config.selector.selector_prompt.startswith("You are in a role play game.")
    assert isinstance(config.selector.model, OpenAIModel) and config.selector.model.model == "gpt-4o-mini"


def test_local_model_server_settings_are_imported() -> None:
    config = import_team(load_fixture("0.5.7", "roundrobin_human"), warnings=[])
    assistant, human = config.participants
    assert isinstance(assistant, AssistantAgentConfig) and isinstance(human, UserProxyAgentConfig)
    assert isinstance(assistant.model, OpenAIModel)
    assert assistant.model.base_url == "http://localhost:11434/v1"
    assert assistant.model.model_info is not None and assistant.model.model_info.function_calling is True
    assert assistant.model.api_key_env == "OPENAI_API_KEY"
    assert human.description == "A human user who provides feedback and approvals."


def test_swarm_handoffs_and_nested_terminations_are_imported() -> None:
    swarm = import_team(load_fixture("0.7.5", "swarm_handoff"), warnings=[])
    alice = swarm.participants[0]
    assert isinstance(alice, AssistantAgentConfig)
    assert [h.target for h in alice.handoffs] == ["Bob", "user"]
    assert swarm.termination is not None and swarm.termination.model_dump()["conditions"][0] == {
        "type": "handoff",
        "target": "user",
    }
    complex_ = import_team(load_fixture("0.5.7", "complex_termination"), warnings=[])
    assert complex_.termination is not None
    dumped = complex_.termination.model_dump()
    assert dumped["type"] == "and"
    assert [c["type"] for c in dumped["conditions"][0]["conditions"]] == ["token_usage", "timeout"]
    assert [c["type"] for c in dumped["conditions"][1]["conditions"]] == ["text_mention", "stop_message"]


def test_native_team_with_scripted_model_round_trips_exactly() -> None:
    config = TeamConfig.model_validate(
        {
            "kind": "round_robin",
            "name": "Scripted",
            "description": "offline",
            "participants": [
                {
                    "kind": "assistant",
                    "name": "bot",
                    "model": {"provider": "scripted", "replies": ["hi", {"content": "", "handoff": None}]},
                    "tools": ["current_time"],
                },
                {"kind": "user_proxy", "name": "human", "input_prompt": "Say something: "},
            ],
            "termination": {"type": "max_message", "max_messages": 4},
            "max_turns": 9,
            "human_input": {"deadline_seconds": 30, "on_deadline": "default_response", "default_response": "ok"},
        }
    )
    exported = json.loads(json.dumps(export_team(config)))
    placeholder = first_agent(exported)["model_client"]
    assert placeholder["provider"] == "autogen_ext.models.openai.OpenAIChatCompletionClient"
    assert placeholder["agent_playground"]["model"]["provider"] == "scripted"
    assert import_team(exported, warnings=[]) == config


def test_azure_model_round_trips() -> None:
    doc = load_fixture("0.7.5", "complex_termination")
    first_agent(doc)["model_client"] = {
        "provider": "AzureOpenAIChatCompletionClient",
        "config": {
            "model": "gpt-4o",
            "azure_endpoint": "https://example.openai.azure.com/",
            "azure_deployment": "gpt4o",
            "api_version": "2024-06-01",
            "api_key": REDACTED_KEY,
            "temperature": 0.2,
        },
    }
    config = import_team(doc, warnings=[])
    agent = config.participants[0]
    assert isinstance(agent, AssistantAgentConfig) and isinstance(agent.model, AzureOpenAIModel)
    assert agent.model.api_key_env == "AZURE_OPENAI_API_KEY" and agent.model.temperature == 0.2
    assert import_team(export_team(config), warnings=[]) == config


# ---------------------------------------------------------------- shapes and aliases


@pytest.mark.parametrize(
    "provider",
    [
        "OpenAIChatCompletionClient",
        "openai_chat_completion_client",
        "autogen_ext.models.openai.OpenAIChatCompletionClient",
        "autogen_ext.models.openai._openai_client.OpenAIChatCompletionClient",
    ],
)
def test_model_provider_aliases(provider: str) -> None:
    doc = load_fixture("0.7.5", "complex_termination")
    first_agent(doc)["model_client"]["provider"] = provider
    agent = import_team(doc, warnings=[]).participants[0]
    assert isinstance(agent, AssistantAgentConfig) and agent.model.provider == "openai"


def test_internal_module_paths_of_older_releases_resolve() -> None:
    doc = load_fixture("0.5.7", "roundrobin_calculator")
    doc["provider"] = "autogen_agentchat.teams._group_chat._round_robin_group_chat.RoundRobinGroupChat"
    doc["config"]["termination_condition"]["provider"] = "autogen_agentchat.base._termination.OrTerminationCondition"
    assert import_team(doc, warnings=[]).kind == "round_robin"


def tools_of(doc: dict[str, Any]) -> list[str]:
    agent = import_team(doc, warnings=[]).participants[0]
    assert isinstance(agent, AssistantAgentConfig)
    return agent.tools


def test_tools_from_component_version_1_single_workbench() -> None:
    doc = load_fixture("0.5.7", "roundrobin_calculator")
    assert isinstance(first_agent(doc)["workbench"], dict)
    assert tools_of(doc) == ["calculator"]


def test_tools_from_component_version_2_workbench_list() -> None:
    doc = load_fixture("0.7.5", "roundrobin_calculator")
    assert isinstance(first_agent(doc)["workbench"], list)
    assert tools_of(doc) == ["calculator"]


def test_tools_from_the_older_top_level_tools_list() -> None:
    doc = load_fixture("0.5.7", "roundrobin_calculator")
    agent = first_agent(doc)
    agent["tools"] = agent.pop("workbench")["config"]["tools"]
    assert tools_of(doc) == ["calculator"]


def test_record_wrapping_the_component_is_accepted() -> None:
    record = {"id": 7, "component": load_fixture("0.7.5", "swarm_handoff")}
    assert is_autogen_component(record)
    assert import_team(record, warnings=[]).kind == "swarm"


def test_not_a_component() -> None:
    assert not is_autogen_component({"kind": "round_robin", "participants": []})
    assert not is_autogen_component(["provider"])
    with pytest.raises(TeamConfigError):
        import_team({"kind": "round_robin"})


# ---------------------------------------------------------------- secrets


def test_planted_key_is_dropped_with_a_warning_and_never_exported() -> None:
    doc = load_fixture("0.7.5", "selector_writer_critic")
    clients = model_clients(doc)
    assert len(clients) == 3
    for client in clients:
        client["config"]["api_key"] = PLANTED_KEY
    warnings: list[ConfigErrorItem] = []
    config = import_team(doc, warnings=warnings)
    assert {w.path for w in warnings} >= {
        "config.participants[0].config.model_client.config.api_key",
        "config.model_client.config.api_key",
    }
    assert PLANTED_KEY not in config.model_dump_json()
    exported = json.dumps(export_team(config)).encode()
    assert PLANTED_KEY.encode() not in exported
    assert b'api_key"' not in exported  # not even the redaction marker is written


def test_redacted_or_absent_key_is_no_warning() -> None:
    doc = load_fixture("0.5.7", "roundrobin_human")
    del first_agent(doc)["model_client"]["config"]["api_key"]
    warnings: list[ConfigErrorItem] = []
    import_team(doc, warnings=warnings)
    assert warnings == []


def test_api_key_env_from_an_upload_must_name_an_api_key_variable() -> None:
    doc = load_fixture("0.7.5", "complex_termination")
    first_agent(doc)["model_client"]["agent_playground"] = {"api_key_env": "DATABASE_URL"}
    warnings: list[ConfigErrorItem] = []
    agent = import_team(doc, warnings=warnings).participants[0]
    assert isinstance(agent, AssistantAgentConfig) and agent.model.api_key_env == "OPENAI_API_KEY"
    assert any("DATABASE_URL" in w.message for w in warnings)


# ---------------------------------------------------------------- uploaded code is never run


def evil_source(marker: Path, name: str) -> str:
    return (
        f"import pathlib\npathlib.Path({str(marker)!r}).write_text('ran')\n"
        f"raise SystemExit('executed')\n"
        f"def {name}(x: str) -> str:\n    return x\n"
    )


@contextmanager
def uploaded_code_never_reaches_the_interpreter(marker: Path) -> Iterator[None]:
    """Fail if the uploaded source (recognised by its marker path) is given to exec/eval/compile/ast.parse.

    The server may parse its *own* registered tools (to export them); only uploaded text is off limits.
    """
    originals = {"exec": builtins.exec, "eval": builtins.eval, "compile": builtins.compile, "parse": ast.parse}

    def guard(name: str) -> Any:
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if any(str(marker) in str(a) for a in (*args, *kwargs.values())):
                raise AssertionError(f"uploaded code reached {name}()")
            return originals[name](*args, **kwargs)

        return guarded

    with pytest.MonkeyPatch.context() as patch:
        for name in ("exec", "eval", "compile"):
            patch.setattr(builtins, name, guard(name))
        patch.setattr(ast, "parse", guard("parse"))
        yield


def test_function_tool_with_unknown_name_is_refused_and_not_run(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    doc = load_fixture("0.7.5", "roundrobin_calculator")
    tool = first_agent(doc)["workbench"][0]["config"]["tools"][0]
    tool["config"] |= {"name": "wipe_disk", "source_code": evil_source(marker, "wipe_disk")}
    with uploaded_code_never_reaches_the_interpreter(marker), pytest.raises(TeamConfigError) as info:
        import_team(doc, warnings=[])
    [error] = info.value.errors
    assert error.path == "config.participants[0].config.workbench[0].config.tools[0]"
    assert "wipe_disk" in error.message and "registered" in error.message
    assert not marker.exists()


def test_function_tool_named_like_a_registered_tool_uses_ours(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    doc = load_fixture("0.5.7", "roundrobin_calculator")
    tool = first_agent(doc)["workbench"]["config"]["tools"][0]
    tool["config"]["source_code"] = evil_source(marker, "calculator")
    warnings: list[ConfigErrorItem] = []
    with uploaded_code_never_reaches_the_interpreter(marker):
        agent = import_team(doc, warnings=warnings).participants[0]
    assert isinstance(agent, AssistantAgentConfig) and agent.tools == ["calculator"]
    assert [w.path for w in warnings] == ["config.participants[0].config.workbench.config.tools[0].config.source_code"]
    assert not marker.exists()


def test_unsupported_tool_provider_is_refused() -> None:
    doc = load_fixture("0.7.5", "roundrobin_calculator")
    first_agent(doc)["workbench"][0]["config"]["tools"][0]["provider"] = (
        "autogen_ext.tools.code_execution.PythonCodeExecutionTool"
    )
    [error] = errors_of(doc)
    assert error.path == "config.participants[0].config.workbench[0].config.tools[0].provider"
    assert "PythonCodeExecutionTool" in error.message


# ---------------------------------------------------------------- refusals and error paths


def test_unsupported_model_provider_names_it_and_its_path() -> None:
    doc = load_fixture("0.5.7", "roundrobin_human")
    third = copy.deepcopy(doc["config"]["participants"][0])
    doc["config"]["participants"].append(third)
    third["config"]["name"] = "claude"
    third["config"]["model_client"]["provider"] = "autogen_ext.models.anthropic.AnthropicChatCompletionClient"
    [error] = errors_of(doc)
    assert error.path == "config.participants[2].config.model_client.provider"
    assert "autogen_ext.models.anthropic.AnthropicChatCompletionClient" in error.message


@pytest.mark.parametrize(
    ("where", "provider"),
    [
        ("team", "autogen_agentchat.teams.MagenticOneGroupChat"),
        ("agent", "autogen_agentchat.agents.CodeExecutorAgent"),
        ("termination", "my_package.MyTermination"),
    ],
)
def test_unsupported_components_are_refused(where: str, provider: str) -> None:
    doc = load_fixture("0.7.5", "swarm_handoff")
    target = {
        "team": doc,
        "agent": doc["config"]["participants"][1],
        "termination": doc["config"]["termination_condition"]["config"]["conditions"][1],
    }[where]
    target["provider"] = provider
    [error] = errors_of(doc)
    expected = {
        "team": "provider",
        "agent": "config.participants[1].provider",
        "termination": "config.termination_condition.config.conditions[1].provider",
    }[where]
    assert error.path == expected and provider in error.message


def test_component_in_the_wrong_place_is_refused() -> None:
    doc = load_fixture("0.7.5", "complex_termination")
    first_agent(doc)["model_client"]["provider"] = "autogen_agentchat.conditions.MaxMessageTermination"
    [error] = errors_of(doc)
    assert error.path == "config.participants[0].config.model_client.provider"
    assert "expected a component of type 'model'" in error.message


def test_bad_values_are_reported_at_their_document_paths() -> None:
    doc = load_fixture("0.7.5", "selector_writer_critic")
    doc["config"]["termination_condition"]["config"]["conditions"][1]["config"]["max_messages"] = 0
    doc["config"]["participants"][1]["config"]["model_client"]["config"]["temperature"] = 9
    paths = {e.path for e in errors_of(doc)}
    assert paths == {
        "config.termination_condition.config.conditions[1].config.max_messages",
        "config.participants[1].config.model_client.config.temperature",
    }


def test_team_level_problems_point_at_the_team() -> None:
    doc = load_fixture("0.7.5", "selector_writer_critic")
    doc["config"]["participants"][1]["config"]["name"] = "writer"
    [error] = errors_of(doc)
    assert error.path == "config" and "writer" in error.message


def test_unknown_handoff_target_is_refused() -> None:
    doc = load_fixture("0.7.5", "swarm_handoff")
    first_agent(doc)["handoffs"][0]["target"] = "Carol"
    [error] = errors_of(doc)
    assert "Carol" in error.message


def test_other_model_context_and_extra_settings_only_warn() -> None:
    doc = load_fixture("0.7.5", "complex_termination")
    agent = first_agent(doc)
    agent["model_context"] = {
        "provider": "autogen_core.model_context.BufferedChatCompletionContext",
        "config": {"buffer_size": 5},
    }
    agent["model_client"]["config"]["seed"] = 42
    warnings: list[ConfigErrorItem] = []
    import_team(doc, warnings=warnings)
    assert {w.path for w in warnings} == {
        "config.participants[0].config.model_context",
        "config.participants[0].config.model_client.config.seed",
    }


def test_single_condition_and_collapses() -> None:
    doc = load_fixture("0.7.5", "complex_termination")
    doc["config"]["termination_condition"]["config"]["conditions"].pop()
    config = import_team(doc, warnings=[])
    assert config.termination is not None and config.termination.type == "or"


def test_scripted_model_exports_as_an_openai_placeholder() -> None:
    model = ScriptedModel(provider="scripted", replies=["hello"])
    config = TeamConfig(
        kind="round_robin", participants=[AssistantAgentConfig(kind="assistant", name="a", model=model)]
    )
    client = first_agent(export_team(config))["model_client"]
    assert client["config"] == {"model": "gpt-4o-mini"}
    assert client["agent_playground"]["model"]["replies"] == ["hello"]


def test_the_guard_would_catch_uploaded_code_being_run(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    with uploaded_code_never_reaches_the_interpreter(marker), pytest.raises(AssertionError):
        exec(evil_source(marker, "f"))  # noqa: S102 - proves the guard trips
    assert not marker.exists()


ALL_LEAF_TERMINATIONS: list[dict[str, Any]] = [
    {"type": "max_message", "max_messages": 5, "include_agent_event": True},
    {"type": "text_mention", "text": "DONE"},
    {"type": "stop_message"},
    {"type": "token_usage", "max_total_token": 500},
    {"type": "timeout", "timeout_seconds": 60},
    {"type": "handoff", "target": "user"},
    {"type": "source_match", "sources": ["bot"]},
    {"type": "text_message", "source": "bot"},
    {"type": "function_call", "function_name": "calculator"},
    {"type": "external"},
]


def test_every_termination_round_trips_with_autogen_provider_names() -> None:
    config = TeamConfig.model_validate(
        {
            "kind": "round_robin",
            "participants": [{"kind": "assistant", "name": "bot", "model": {"provider": "openai", "model": "gpt-4o"}}],
            "termination": {
                "type": "or",
                "conditions": [*ALL_LEAF_TERMINATIONS, {"type": "and", "conditions": ALL_LEAF_TERMINATIONS[:2]}],
            },
        }
    )
    exported = export_team(config)
    providers = [c["provider"] for c in exported["config"]["termination_condition"]["config"]["conditions"]]
    assert providers[0] == "autogen_agentchat.conditions.MaxMessageTermination"
    assert providers[-1] == "autogen_agentchat.base.AndTerminationCondition"
    token_usage = exported["config"]["termination_condition"]["config"]["conditions"][3]["config"]
    assert token_usage == {"max_total_token": 500, "max_prompt_token": None, "max_completion_token": None}
    assert import_team(exported, warnings=[]) == config


def test_bare_class_names_are_accepted_as_providers() -> None:
    doc = load_fixture("0.5.7", "roundrobin_human")
    doc["provider"] = "RoundRobinGroupChat"
    doc["config"]["participants"][1]["provider"] = "UserProxyAgent"
    assert import_team(doc, warnings=[]).participants[1].kind == "user_proxy"


def test_only_a_scripted_model_is_restored_from_our_namespace() -> None:
    doc = load_fixture("0.7.5", "complex_termination")
    first_agent(doc)["model_client"]["agent_playground"] = {
        "model": {"provider": "openai", "model": "gpt-4o", "api_key_env": "SECRET_KEY", "base_url": "http://evil"}
    }
    warnings: list[ConfigErrorItem] = []
    agent = import_team(doc, warnings=warnings).participants[0]
    assert isinstance(agent, AssistantAgentConfig) and isinstance(agent.model, OpenAIModel)
    assert agent.model.api_key_env == "OPENAI_API_KEY" and agent.model.base_url is None
    assert [w.path for w in warnings] == ["config.participants[0].config.model_client.agent_playground.model"]
