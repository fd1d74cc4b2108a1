"""The server-side tool registry: the only tools an agent can call.

Uploaded configs name tools; they never carry code that runs here. A tool is a plain
function (sync tools run in a worker thread); its JSON-schema parameters come from its
type hints and its docstring (first paragraph = description, Google-style `Args:`).
"""

from __future__ import annotations

import ast
import asyncio
import builtins
import importlib
import inspect
import json
import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from agents_app.engine.errors import ToolCallError


@dataclass(slots=True)
class Tool:
    name: str
    description: str
    func: Callable[..., Any]
    args_model: type[BaseModel]
    is_async: bool

    def parameters(self) -> dict[str, Any]:
        schema = self.args_model.model_json_schema()
        _strip_titles(schema)
        schema.setdefault("properties", {})
        schema["additionalProperties"] = False
        return schema


class ToolRegistry:
    def __init__(self) -> None:
        self._tools: dict[str, Tool] = {}

    def register(
        self, func: Callable[..., Any] | None = None, *, name: str | None = None, description: str | None = None
    ) -> Any:
        """Decorator (`@register` or `@register(name=..., description=...)`); returns the function unchanged."""

        def decorate(f: Callable[..., Any]) -> Callable[..., Any]:
            self.add(f, name=name, description=description)
            return f

        return decorate(func) if func is not None else decorate

    def add(self, func: Callable[..., Any], *, name: str | None = None, description: str | None = None) -> Tool:
        tool_name = name or func.__name__
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", tool_name):
            raise ValueError(f"tool name {tool_name!r} must match [A-Za-z0-9_-]{{1,64}} (OpenAI's rule)")
        summary, arg_docs = _parse_docstring(inspect.getdoc(func) or "")
        tool = Tool(
            name=tool_name,
            description=description or summary or tool_name,
            func=func,
            args_model=_args_model(tool_name, func, arg_docs),
            is_async=inspect.iscoroutinefunction(func),
        )
        self._tools[tool_name] = tool
        return tool

    def unregister(self, name: str) -> None:
        self._tools.pop(name, None)

    def get(self, name: str) -> Tool | None:
        return self._tools.get(name)

    def names(self) -> list[str]:
        return sorted(self._tools)

    def openai_schema(self, name: str) -> dict[str, Any]:
        tool = self._require(name)
        return {
            "type": "function",
            "function": {"name": tool.name, "description": tool.description, "parameters": tool.parameters()},
        }

    async def call(self, name: str, arguments: dict[str, Any]) -> str:
        """Run a tool; any failure (unknown tool, bad arguments, the tool raising) is a ToolCallError."""
        tool = self.get(name)
        if tool is None:
            raise ToolCallError(f"unknown tool {name!r}")
        if not isinstance(arguments, dict):
            raise ToolCallError(f"arguments for {name!r} must be a JSON object")
        try:
            kwargs = dict(tool.args_model.model_validate(arguments))
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'arguments'}: {e['msg']}" for e in exc.errors())
            raise ToolCallError(f"invalid arguments for {name!r}: {problems}") from None
        try:
            if tool.is_async:
                result = await tool.func(**kwargs)
            else:
                result = await asyncio.to_thread(tool.func, **kwargs)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - a tool's failure is reported to the model, not raised
            raise ToolCallError(f"{type(exc).__name__}: {exc}") from exc
        return result if isinstance(result, str) else json.dumps(result, default=str)

    def source_code(self, name: str) -> str:
        """Standalone source with the tool's signature, for export as AutoGen's FunctionTool.

        The real body when it needs nothing but builtins and its own imports; otherwise a stub
        (the body lives on this server, and uploaded code is never executed here anyway).
        """
        tool = self._require(name)
        source = _standalone_source(tool.func)
        if source is not None:
            return source
        sig = inspect.signature(tool.func)
        doc = textwrap.indent(json.dumps(tool.description), "    ")
        keyword = "async def" if tool.is_async else "def"
        return (
            f"{keyword} {tool.func.__name__}{_render_signature(sig)}:\n{doc}\n"
            f"    raise NotImplementedError('{tool.name} runs on the Agent Playground server')\n"
        )

    def _require(self, name: str) -> Tool:
        tool = self.get(name)
        if tool is None:
            raise KeyError(f"unknown tool {name!r}")
        return tool

    def register_module(self, dotted_path: str) -> None:
        """Import a project module whose import registers tools (e.g. with `@registry.register`)."""
        importlib.import_module(dotted_path)


def _parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    summary = doc.split("\n\n", 1)[0].replace("\n", " ").strip()
    args: dict[str, str] = {}
    match = re.search(r"^(Args|Arguments|Parameters):\s*\n((?:[ \t]+.*\n?)+)", doc, re.MULTILINE)
    if match:
        for line in match.group(2).splitlines():
            m = re.match(r"\s+(\w+)(?:\s*\([^)]*\))?:\s*(.*)", line)
            if m:
                args[m.group(1)] = m.group(2).strip()
    return summary, args


def _args_model(tool_name: str, func: Callable[..., Any], arg_docs: dict[str, str]) -> type[BaseModel]:
    hints = inspect.get_annotations(func, eval_str=True)
    fields: dict[str, Any] = {}
    for param in inspect.signature(func).parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise ValueError(f"tool {tool_name!r}: *args/**kwargs cannot be described to a model")
        annotation = hints.get(param.name, str)
        default = ... if param.default is inspect.Parameter.empty else param.default
        fields[param.name] = (annotation, Field(default, description=arg_docs.get(param.name)))
    return create_model(f"{tool_name}_args", __config__=ConfigDict(extra="forbid"), **fields)


def _strip_titles(schema: Any) -> None:
    if isinstance(schema, dict):
        schema.pop("title", None)
        for value in schema.values():
            _strip_titles(value)
    elif isinstance(schema, list):
        for value in schema:
            _strip_titles(value)


def _render_signature(sig: inspect.Signature) -> str:
    return str(
        sig.replace(
            parameters=[p.replace(annotation=_annotation_text(p.annotation)) for p in sig.parameters.values()],
            return_annotation=_annotation_text(sig.return_annotation),
        )
    )


class _Raw(str):
    def __repr__(self) -> str:
        return str(self)


def _annotation_text(annotation: Any) -> Any:
    if annotation is inspect.Parameter.empty:
        return annotation
    if isinstance(annotation, str):
        return _Raw(annotation)
    if isinstance(annotation, type):
        return _Raw(annotation.__name__)
    return _Raw(repr(annotation).replace("typing.", ""))


def _standalone_source(func: Callable[..., Any]) -> str | None:
    try:
        source = textwrap.dedent(inspect.getsource(func))
    except (OSError, TypeError):
        return None
    tree = ast.parse(source)
    node = tree.body[0]
    if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        return None
    node.decorator_list = []
    bound = {a.arg for a in ast.walk(node.args) if isinstance(a, ast.arg)}
    loaded: set[str] = set()
    scopes: list[ast.AST] = [*node.body, *node.args.defaults, *[d for d in node.args.kw_defaults if d is not None]]
    for top in scopes:
        for sub in ast.walk(top):
            if isinstance(sub, ast.Name):
                (bound if isinstance(sub.ctx, ast.Store) else loaded).add(sub.id)
            elif isinstance(sub, ast.FunctionDef | ast.AsyncFunctionDef):
                bound.add(sub.name)
                bound |= {a.arg for a in ast.walk(sub.args) if isinstance(a, ast.arg)}
            elif isinstance(sub, ast.ClassDef):
                bound.add(sub.name)
            elif isinstance(sub, ast.Lambda):
                bound |= {a.arg for a in ast.walk(sub.args) if isinstance(a, ast.arg)}
            elif isinstance(sub, ast.alias):
                bound.add((sub.asname or sub.name).split(".")[0])
            elif isinstance(sub, ast.ExceptHandler) and sub.name:
                bound.add(sub.name)
    # Annotations are exported as written; only the body and defaults must resolve standalone.
    return None if loaded - bound - set(dir(builtins)) else ast.unparse(node) + "\n"


registry = ToolRegistry()
register = registry.register

# Built-ins register themselves on import.
from agents_app.engine import builtin_tools as _builtin_tools  # noqa: E402,F401
