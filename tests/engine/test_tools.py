from __future__ import annotations

import asyncio
from typing import Literal

import pytest

from agents_app.engine.errors import ToolCallError
from agents_app.engine.tools import ToolRegistry, registry


async def test_calculator_does_arithmetic() -> None:
    assert await registry.call("calculator", {"expression": "(2 + 3) * 4 ** 2 - 7 // 2 % 3"}) == "80"
    assert await registry.call("calculator", {"expression": "-1.5 / 3"}) == "-0.5"


@pytest.mark.parametrize(
    "expression",
    [
        "__import__('os').system('true')",  # call
        "x + 1",  # name
        "(1).real",  # attribute
        "2 ** 100000",  # huge exponent
        "9 ** 9 ** 9",  # nested huge exponent
        "10 ** 99 * 10 ** 99 * 10 ** 99",  # huge operands
        "[1, 2]",  # not arithmetic
        "'a' * 3",  # strings
        "1 +" * 400 + "1",  # too long
        "lambda: 1",
    ],
)
async def test_calculator_rejects_unsafe_or_huge_input(expression: str) -> None:
    with pytest.raises(ToolCallError):
        await registry.call("calculator", {"expression": expression})


async def test_current_time_defaults_to_utc() -> None:
    assert (await registry.call("current_time", {})).endswith("+00:00")


def test_schema_comes_from_type_hints_and_docstring() -> None:
    tools = ToolRegistry()

    @tools.register(name="lookup")
    def find(city: str, days: int = 3, unit: Literal["c", "f"] = "c", exact: bool = False) -> str:
        """Look up the weather.

        Args:
            city: the city name
            days: how many days ahead
        """
        return city

    schema = tools.openai_schema("lookup")["function"]
    assert schema["name"] == "lookup" and schema["description"] == "Look up the weather."
    params = schema["parameters"]
    assert params["required"] == ["city"]
    assert params["properties"]["city"] == {"type": "string", "description": "the city name"}
    assert params["properties"]["days"]["type"] == "integer"
    assert params["properties"]["unit"]["enum"] == ["c", "f"]
    assert params["properties"]["exact"]["type"] == "boolean"
    assert tools.names() == ["lookup"] and tools.get("missing") is None


async def test_tool_failures_are_tool_call_errors() -> None:
    tools = ToolRegistry()

    @tools.register
    def boom(n: int) -> str:
        raise RuntimeError("kaput")

    with pytest.raises(ToolCallError, match="kaput"):
        await tools.call("boom", {"n": 1})
    with pytest.raises(ToolCallError, match="invalid arguments"):
        await tools.call("boom", {"n": "not a number"})
    with pytest.raises(ToolCallError, match="invalid arguments"):
        await tools.call("boom", {"n": 1, "extra": 2})
    with pytest.raises(ToolCallError, match="unknown tool"):
        await tools.call("nope", {})


async def test_sync_tools_run_in_a_thread_and_async_tools_are_awaited() -> None:
    import threading

    tools = ToolRegistry()
    main = threading.get_ident()

    @tools.register
    def where() -> str:
        return "thread" if threading.get_ident() != main else "loop"

    @tools.register
    async def later(x: float) -> dict[str, float]:
        await asyncio.sleep(0)
        return {"x": x}

    assert await tools.call("where", {}) == "thread"
    assert await tools.call("later", {"x": 2}) == '{"x": 2.0}'


def test_source_code_is_standalone_with_the_same_signature() -> None:
    source = registry.source_code("calculator")
    namespace: dict[str, object] = {}
    exec(compile(source, "<export>", "exec"), namespace)  # the test checks our own export, not uploaded code
    assert namespace["calculator"]("6 * 7") == "42"  # type: ignore[operator]
    assert source.startswith("def calculator(expression: str) -> str:")

    tools = ToolRegistry()
    helper = len

    @tools.register
    def uses_global(text: str, times: int = 2) -> str:
        """Needs a module-level helper."""
        return str(helper(text) * times)

    stub = tools.source_code("uses_global")
    assert stub.startswith("def uses_global(text: str, times: int = 2) -> str:")
    assert "NotImplementedError" in stub


def test_register_module_imports_project_tools() -> None:
    registry.register_module("tests.engine.sample_tools")
    assert registry.get("shout") is not None
    registry.unregister("shout")


def test_team_configs_may_only_name_registered_tools() -> None:
    from agents_app.config import TeamConfigError, validate_team_config

    config = {
        "kind": "round_robin",
        "participants": [
            {"kind": "assistant", "name": "a", "model": {"provider": "scripted", "replies": ["x"]}, "tools": ["rm_rf"]}
        ],
    }
    try:
        validate_team_config(config)
    except TeamConfigError as exc:
        assert exc.errors[0].path == "participants[0].tools[0]"
        assert "calculator" in exc.errors[0].message
    else:
        raise AssertionError("an unknown tool was accepted")
