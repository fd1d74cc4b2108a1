"""The assistant agent: one turn = model calls and tool rounds until a chat message.

A turn is a function of the messages so far, so a turn interrupted after its tool call
request (a crash, a restart) is completed from what was stored, without asking the model again.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from typing import Any

from agents_app.config import AssistantAgentConfig, Handoff
from agents_app.engine.cancellation import CancellationToken
from agents_app.engine.context import accepts_images, agent_context
from agents_app.engine.errors import Cancelled, ModelCallError, ToolCallError
from agents_app.engine.events import (
    ApprovalRequest,
    FunctionCall,
    FunctionExecutionResult,
    HandoffMessage,
    MessageChunk,
    StoredMessage,
    TextMessage,
    ToolApprovalEvent,
    ToolCallExecutionEvent,
    ToolCallRequestEvent,
    ToolCallSummaryMessage,
)
from agents_app.engine.mcp import McpServerError, McpServerSpec, McpTool, mcp_sessions, openai_tool_name
from agents_app.engine.models import CreateResult, ModelClient
from agents_app.engine.pricing import Pricing
from agents_app.engine.tools import ToolRegistry
from agents_app.engine.tracing import ModelCallTimer, Span, Tracer, model_attributes

TurnEvent = MessageChunk | StoredMessage | ApprovalRequest


class AssistantAgent:
    def __init__(
        self,
        config: AssistantAgentConfig,
        client: ModelClient,
        registry: ToolRegistry,
        *,
        tracer: Tracer | None = None,
        pricing: Pricing | None = None,
        mcp_servers: Sequence[McpServerSpec] = (),
    ) -> None:
        """`mcp_servers`: the specs of the servers `config.mcp_servers` names, in that order."""
        self.config = config
        self.name = config.name
        self.client = client
        self.registry = registry
        self.tracer = tracer or Tracer(enabled=False)
        self.pricing = pricing
        self.vision = accepts_images(config.model)
        self._handoffs: dict[str, Handoff] = {}
        for h in config.handoffs:
            # Scripted replies name a handoff by target, i.e. by its default tool name.
            self._handoffs.setdefault(f"transfer_to_{h.target.lower()}", h)
            self._handoffs[h.name] = h
        self._tools = [registry.openai_schema(t) for t in config.tools if registry.get(t) is not None]
        self._tools += [_handoff_schema(h) for h in config.handoffs]
        self._mcp_servers = list(mcp_servers)
        # Listed at the first model call of each execution (listing needs the server, and await), and
        # again once the loop's sessions moved on (a server reconnected, or said its tools changed).
        self._mcp_tools: dict[str, tuple[McpServerSpec, McpTool]] | None = None
        self._mcp_generation = -1

    async def _offered_tools(self) -> list[dict[str, Any]]:
        """The registered tools and handoffs, then the MCP servers' tools (McpServerError if one is down)."""
        if not self._mcp_servers:
            return self._tools
        mcp = await self._list_mcp_tools()
        return [*self._tools, *(_mcp_schema(name, tool) for name, (_, tool) in mcp.items())]

    async def _list_mcp_tools(self) -> dict[str, tuple[McpServerSpec, McpTool]]:
        sessions = mcp_sessions()
        if self._mcp_tools is None or self._mcp_generation != sessions.generation:
            self._mcp_generation = sessions.generation
            taken = {t["function"]["name"] for t in self._tools}
            listed: dict[str, tuple[McpServerSpec, McpTool]] = {}
            for spec in self._mcp_servers:
                for tool in await sessions.tools(spec):
                    # Two servers may both have a `search`: the later one is offered as server__tool.
                    name = openai_tool_name(tool.name)
                    if name in taken or name in listed:
                        name = openai_tool_name(f"{spec.name}__{tool.name}")
                    listed[name] = (spec, tool)
            self._mcp_tools = listed
        return self._mcp_tools

    async def turn(
        self,
        before: Sequence[StoredMessage],
        started: Sequence[StoredMessage],
        cancel: CancellationToken,
        span: Span | None = None,
    ) -> AsyncGenerator[TurnEvent, None]:
        """Yield this turn's chunks and stored messages; `started` = this turn's messages already stored.
        `span` (the turn's) is the parent of the spans of its model and tool calls."""
        turn = list(started)
        # Calls that need no approval start as soon as the model asks for them, while the caller
        # stores the request: a call's latency is then the longer of the two, not their sum.
        early: _Started | None = None
        try:
            while True:
                last = turn[-1] if turn else None
                request, decisions = _open_request(turn)
                if request is not None:
                    if early is None:
                        # Calls are put to a person one at a time, in order; they run once all are decided.
                        asked = await self._approval_needed(request, decisions)
                        if asked is not None:
                            yield asked
                            return
                    running, early = early, None
                    executed = await self._execute(request, decisions, cancel, span, running)
                    turn.append(executed)
                    yield executed
                    continue
                tools: list[dict[str, Any]] | None = await self._offered_tools() or None
                reflecting = False
                if isinstance(last, ToolCallExecutionEvent):
                    final = self._after_tools(_open_request(turn[:-1])[0], last, turn)
                    if final is not None:
                        if isinstance(final, HandoffMessage):
                            self._record_handoff(final, span)
                        yield final
                        return
                    if sum(isinstance(m, ToolCallRequestEvent) for m in turn) >= self.config.max_tool_iterations:
                        tools, reflecting = None, True  # the model answers from the results
                result: CreateResult | None = None
                call = self.tracer.start("model", f"chat {self.config.model.model}", span)
                call.attributes.update(model_attributes(self.config.model, self.name, self.config.model_client_stream))
                async for item in self._model_call([*before, *turn], tools, cancel, call):
                    if isinstance(item, CreateResult):
                        result = item
                    else:
                        yield item
                assert result is not None
                # Calls to tools the agent lacks still go through, to fail visibly as error results.
                if result.tool_calls and not reflecting:
                    request_event = ToolCallRequestEvent(
                        source=self.name, content=result.tool_calls, models_usage=result.usage
                    )
                    call.produced = request_event
                    turn.append(request_event)
                    if await self._approval_needed(request_event, {}) is None:
                        early = self._start_calls(request_event, {}, span)
                        # One loop turn for the calls' first steps (an MCP request written to its server)
                        # before the caller's synchronous work of storing the request.
                        await asyncio.sleep(0)
                    yield request_event
                    continue
                message = TextMessage(source=self.name, content=result.content, models_usage=result.usage)
                call.produced = message
                yield message
                return
        finally:
            if early is not None:  # the caller closed the turn (a cancel, a failure storing the request)
                early.abandon(self.tracer)

    def _after_tools(
        self, request: ToolCallRequestEvent | None, results: ToolCallExecutionEvent, turn: list[StoredMessage]
    ) -> StoredMessage | None:
        """The turn's chat message once tools ran, or None when the model is to be asked again."""
        for r in results.content:
            handoff = self._handoffs.get(r.name)
            if handoff is not None and not r.is_error:
                return HandoffMessage(source=self.name, content=handoff.message, target=handoff.target)
        iterations = sum(isinstance(m, ToolCallRequestEvent) for m in turn)
        if iterations < self.config.max_tool_iterations or self.config.reflect_on_tool_use:
            return None
        calls = {c.id: c for c in request.content} if request else {}
        lines = []
        for r in results.content:
            call = calls.get(r.call_id)
            values = {"result": r.content, "tool_name": r.name, "arguments": call.arguments if call else "{}"}
            lines.append(self.config.tool_call_summary_format.format_map(_KeepMissing(values)))
        return ToolCallSummaryMessage(source=self.name, content="\n".join(lines))

    async def _model_call(
        self,
        messages: list[StoredMessage],
        tools: list[dict[str, Any]] | None,
        cancel: CancellationToken,
        span: Span,
    ) -> AsyncIterator[TurnEvent | CreateResult]:
        """The call's chunks, then its CreateResult priced; `span` is ended before the result is handed on."""
        context = agent_context(self.name, self.config.system_message, messages, vision=self.vision)
        timer = ModelCallTimer()
        stream = self.client.stream(context, tools, streaming=self.config.model_client_stream)
        parts: list[str] = []
        name = self.name
        try:
            while True:
                with cancel.interruptible():
                    item = await stream.__anext__()
                if isinstance(item, CreateResult):
                    if self.pricing is not None:
                        item.usage = item.usage.priced(self.pricing.cost(self.config.model, item.usage))
                    timer.record(span, item)
                    self.tracer.end(span)
                    yield item
                    return
                if timer.first is None:
                    timer.first = time.time()
                parts.append(item)
                yield MessageChunk(name, item)
        except StopAsyncIteration:
            self.tracer.end(span, "the model stream ended without a result")
            raise ModelCallError("the model stream ended without a result", permanent=False, source=name) from None
        except ModelCallError as exc:
            # A failed run keeps what it produced: the text streamed before the failure.
            exc.source = exc.source or name
            self.tracer.end(span, exc.message)
            if parts:
                span.produced = TextMessage(source=name, content="".join(parts), partial=True)
                yield span.produced
            raise
        except Cancelled:
            self.tracer.end(span, "cancelled")
            if parts:
                span.produced = TextMessage(source=name, content="".join(parts), partial=True)
                yield span.produced
            raise
        finally:
            timer.close()
            self.tracer.end(span)  # abandoned mid-stream (the run was ended around it)
            await stream.aclose()

    async def _approval_needed(
        self, request: ToolCallRequestEvent, decisions: dict[str, ToolApprovalEvent]
    ) -> ApprovalRequest | None:
        """The first call of the request that waits for a person's decision, or None."""
        for call in request.content:
            if call.id in decisions or call.name in self._handoffs or not await self._needs_approval(call.name):
                continue
            try:
                arguments = json.loads(call.arguments or "{}")
            except json.JSONDecodeError:
                continue  # it fails as a result anyway; nothing to approve
            mcp = (await self._list_mcp_tools()).get(call.name) if self._mcp_servers else None
            if mcp is not None:
                server, schema = mcp[0].name, mcp[1].input_schema
            else:
                tool = self.registry.get(call.name)
                server, schema = "", tool.parameters() if tool is not None else {}
            return ApprovalRequest(self.name, call.id, call.name, server, arguments, schema)
        return None

    async def _needs_approval(self, name: str) -> bool:
        policy = self.config.tool_approval
        if isinstance(policy, list):
            return name in policy
        if policy is not None:
            return policy == "always"
        if not self._mcp_servers:
            return False
        try:
            mcp = (await self._list_mcp_tools()).get(name)
        except McpServerError:
            return False  # the call fails as a result without the server anyway
        return mcp is not None and mcp[0].approval == "always"

    def _start_calls(
        self, request: ToolCallRequestEvent, decisions: dict[str, ToolApprovalEvent], parent: Span | None
    ) -> _Started:
        spans = [self._tool_span(c.id, c.name, parent) for c in request.content]
        pairs = zip(request.content, spans, strict=True)
        calls = asyncio.gather(*(self._timed(c, decisions.get(c.id), s) for c, s in pairs))
        return _Started(spans, calls)

    async def _timed(
        self, call: FunctionCall, decision: ToolApprovalEvent | None, span: Span
    ) -> FunctionExecutionResult:
        """A call whose span ends when it does (not when the turn, storing its request meanwhile, gets to it)."""
        result = await self._decided(call, decision)
        self.tracer.end(span, result.content if result.is_error else "")
        return result

    async def _execute(
        self,
        request: ToolCallRequestEvent,
        decisions: dict[str, ToolApprovalEvent],
        cancel: CancellationToken,
        parent: Span | None,
        started: _Started | None = None,
    ) -> ToolCallExecutionEvent:
        """The request's calls (`started` already, or now) and their results as one event."""
        calls = started or self._start_calls(request, decisions, parent)
        try:
            with cancel.interruptible():
                # Shielded: the calls may have started outside this scope; a cancel ends them below.
                results = await asyncio.shield(calls.results)
        except BaseException:  # Cancelled, or the turn closed around it
            calls.abandon(self.tracer)
            raise
        event = ToolCallExecutionEvent(source=self.name, content=list(results))
        for span in calls.spans:
            span.produced = event  # ended already (_timed); drained with the event, before it is stored
        return event

    def _tool_span(self, call_id: str, name: str, parent: Span | None) -> Span:
        kind = "handoff_call" if name in self._handoffs else "function"
        mcp = self._mcp_tools.get(name) if self._mcp_tools else None
        span = self.tracer.start(
            "tool",
            f"execute_tool {name}",
            parent,
            **{
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": name,
                "gen_ai.tool.call.id": call_id,
                "gen_ai.tool.type": kind,
                "gen_ai.agent.name": self.name,
            },
        )
        if mcp is not None:
            span.attributes["playground.mcp.server"] = mcp[0].name
        return span

    def _record_handoff(self, message: HandoffMessage, parent: Span | None) -> None:
        span = self.tracer.start(
            "handoff",
            f"handoff {self.name} -> {message.target}",
            parent,
            **{"playground.handoff.source": self.name, "playground.handoff.target": message.target},
        )
        span.produced = message
        self.tracer.end(span)

    async def _decided(self, call: FunctionCall, decision: ToolApprovalEvent | None) -> FunctionExecutionResult:
        """Run a call as decided: a rejection is the tool's result (the model reads the reason)."""
        if decision is None:
            return await self._run_one(call.id, call.name, call.arguments)
        if not decision.approved:
            who = decision.content.get("by") or "a person"
            reason = decision.content.get("reason") or "no reason given"
            return FunctionExecutionResult(call.id, call.name, f"Rejected by {who}: {reason}", True)
        edited = decision.content.get("arguments")
        arguments = json.dumps(edited) if edited is not None else call.arguments
        return await self._run_one(call.id, call.name, arguments)

    async def _run_one(self, call_id: str, name: str, arguments: str) -> FunctionExecutionResult:
        handoff = self._handoffs.get(name)
        if handoff is not None:
            return FunctionExecutionResult(call_id, name, handoff.message)
        try:
            mcp = (await self._list_mcp_tools()).get(name) if self._mcp_servers else None
        except McpServerError as exc:
            if name not in self.config.tools:
                return FunctionExecutionResult(call_id, name, f"Error: {exc}", True)
            mcp = None
        if name not in self.config.tools and mcp is None:
            return FunctionExecutionResult(call_id, name, f"Error: tool {name!r} is not available to this agent", True)
        try:
            args = json.loads(arguments or "{}")
            if mcp is not None:
                if not isinstance(args, dict):
                    return FunctionExecutionResult(call_id, name, "Error: arguments must be a JSON object", True)
                spec, tool = mcp
                outcome = await mcp_sessions().call(spec, tool.name, args)
                return FunctionExecutionResult(call_id, name, outcome.content, outcome.is_error, outcome.parts)
            return FunctionExecutionResult(call_id, name, await self.registry.call(name, args))
        except json.JSONDecodeError as exc:
            return FunctionExecutionResult(call_id, name, f"Error: arguments are not valid JSON: {exc}", True)
        except ToolCallError as exc:
            return FunctionExecutionResult(call_id, name, f"Error: {exc}", True)


class _Started:
    """A request's calls, running, and their spans."""

    __slots__ = ("results", "spans")

    def __init__(self, spans: list[Span], results: asyncio.Future[list[FunctionExecutionResult]]) -> None:
        self.spans = spans
        self.results = results

    def abandon(self, tracer: Tracer) -> None:
        """Cancel the calls still running and end their spans as cancelled."""
        if not self.results.done():
            self.results.cancel()
        elif not self.results.cancelled():
            self.results.exception()  # retrieved, so asyncio does not log it as never retrieved
        for span in self.spans:
            tracer.end(span, "cancelled")


class _KeepMissing(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _open_request(turn: Sequence[StoredMessage]) -> tuple[ToolCallRequestEvent | None, dict[str, ToolApprovalEvent]]:
    """The turn's tool call request still to be executed (only decisions stored after it), and those decisions."""
    decisions: dict[str, ToolApprovalEvent] = {}
    for message in reversed(turn):
        if isinstance(message, ToolApprovalEvent):
            decisions.setdefault(message.call_id, message)
        elif isinstance(message, ToolCallRequestEvent):
            return message, decisions
        else:
            break
    return None, {}


def _mcp_schema(name: str, tool: McpTool) -> dict[str, Any]:
    function = {"name": name, "description": tool.description, "parameters": tool.input_schema}
    return {"type": "function", "function": function}


def _handoff_schema(h: Handoff) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": h.name,
            "description": h.description,
            "parameters": {"type": "object", "properties": {}, "additionalProperties": False},
        },
    }
