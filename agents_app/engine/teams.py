"""TeamRunner: drives round-robin, selector and swarm teams from a transcript.

A run is a function of its transcript. Each call to `run` rebuilds the termination
state by feeding the stored transcript through the conditions (the task first, then
one delta per agent turn; a turn ends with its chat message), finishes a turn that
was interrupted mid-way, and continues turn by turn until a condition fires, a human
is needed (the run suspends), or it is cancelled.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping, Sequence
from contextlib import aclosing
from typing import Any

from agents_app.config import AssistantAgentConfig, TeamConfig, UserProxyAgentConfig
from agents_app.engine.agents import AssistantAgent
from agents_app.engine.cancellation import CancellationToken
from agents_app.engine.errors import Cancelled, TranscriptError
from agents_app.engine.events import (
    ApprovalRequest,
    Event,
    HandoffMessage,
    InputRequest,
    Outcome,
    SelectSpeakerEvent,
    StoredMessage,
    TaskResult,
    Usage,
    message_cost,
    message_from_wire,
)
from agents_app.engine.mcp import McpServerError, McpServerSpec
from agents_app.engine.models import ModelClient, ProviderEndpoint, model_client
from agents_app.engine.pricing import Pricing
from agents_app.engine.speakers import USER, Selection, round_robin_next, selector_next, swarm_next
from agents_app.engine.terminations import Condition, ExternalFlag, build_condition
from agents_app.engine.tools import ToolRegistry
from agents_app.engine.tools import registry as default_registry
from agents_app.engine.tracing import Span, SpanEvent, Tracer

# Without max_turns a team that never meets its termination would loop forever.
SAFETY_MAX_TURNS = 100


class TeamRunner:
    """`mcp_servers` are the specs of the MCP servers the agents name (plain data: the caller looked
    them up). `tracer` collects the run's spans (yielded as SpanStart/SpanEnd events; none when it is disabled,
    the default); `pricing` puts a cost on each model call (none without it, and `cost` terminations
    then never fire)."""

    def __init__(
        self,
        config: TeamConfig,
        *,
        env: Mapping[str, str] | None = None,
        registry: ToolRegistry | None = None,
        tracer: Tracer | None = None,
        pricing: Pricing | None = None,
        mcp_servers: Mapping[str, McpServerSpec] | None = None,
        providers: Mapping[str, ProviderEndpoint] | None = None,
    ) -> None:
        self.config = config
        self.env: Mapping[str, str] = os.environ if env is None else env
        self.providers = providers or {}
        self.external_termination = ExternalFlag()
        self.tracer = tracer or Tracer(enabled=False)
        self.pricing = pricing
        tools = registry or default_registry
        servers = mcp_servers or {}
        self.agents: dict[str, AssistantAgent] = {}
        for p in config.participants:
            if isinstance(p, AssistantAgentConfig):
                missing = [n for n in p.mcp_servers if n not in servers]
                if missing:
                    raise McpServerError(missing[0], f"agent {p.name!r} names it, but it is not available to this run")
                self.agents[p.name] = AssistantAgent(
                    p,
                    model_client(p.model, self.env, self.providers),
                    tools,
                    tracer=self.tracer,
                    pricing=pricing,
                    mcp_servers=[servers[n] for n in p.mcp_servers],
                )
        self.selector_client: ModelClient | None = (
            model_client(config.selector.model, self.env, self.providers) if config.selector is not None else None
        )

    def __repr__(self) -> str:
        return f"TeamRunner(kind={self.config.kind!r}, participants={list(self.agents)!r})"

    async def run(
        self,
        transcript: Sequence[dict[str, Any]],
        *,
        cancel: CancellationToken,
        history: Sequence[dict[str, Any]] = (),
        elapsed_before: float = 0.0,
    ) -> AsyncIterator[Event | SpanEvent]:
        """Yield only new events; a TaskResult is always last unless an exception (ModelCallError) escapes.
        After an exception the spans it ended are still in `self.tracer.drain()`."""
        started = time.monotonic()
        messages = [message_from_wire(d) for d in transcript]
        earlier = [message_from_wire(d) for d in history]
        if not messages:
            raise TranscriptError("the transcript is empty: its first item must be the task")
        state = _RunState(self, messages, earlier, lambda: elapsed_before + time.monotonic() - started)

        def result(outcome: Outcome, reason: str | None) -> TaskResult:
            duration = elapsed_before + time.monotonic() - started
            return TaskResult(outcome, reason, Usage.of(state.messages), duration)

        tracer = self.tracer
        async with aclosing(state.drive(cancel)) as events:
            try:
                async for event in events:
                    if tracer.pending:
                        for span_event in tracer.drain():
                            yield span_event
                    if isinstance(event, _Stop):
                        await events.aclose()  # ends the spans still open (a turn a `cost` stop cut short)
                        for span_event in tracer.drain():
                            yield span_event
                        yield result(event.outcome, event.reason)
                        return
                    yield event
            except Cancelled as exc:
                for span_event in tracer.drain():
                    yield span_event
                yield result("cancelled", cancel.reason or str(exc))


class _Stop:
    __slots__ = ("outcome", "reason")

    def __init__(self, outcome: Outcome, reason: str | None) -> None:
        self.outcome, self.reason = outcome, reason


class _RunState:
    def __init__(
        self,
        runner: TeamRunner,
        messages: list[StoredMessage],
        earlier: list[StoredMessage],
        elapsed: Callable[[], float],
    ) -> None:
        self.runner = runner
        self.config = runner.config
        self.messages = messages
        self.earlier = earlier
        self.tracer = runner.tracer
        # US dollars this run's model calls cost so far (the `cost` termination reads it).
        self.spent = sum(message_cost(m) for m in messages)
        self.condition: Condition | None = None
        if self.config.termination is not None:
            self.condition = build_condition(
                self.config.termination,
                elapsed=elapsed,
                external=runner.external_termination,
                spent=lambda: self.spent,
            )
        self.turns, self.pending = _split_turns(messages)
        self.max_turns = self.config.max_turns or SAFETY_MAX_TURNS

    def check(self, delta: Sequence[StoredMessage]) -> str | None:
        reason = self.condition(delta) if self.condition is not None else None
        if reason is None and self.runner.external_termination.is_set:
            reason = "External termination requested"
        return reason

    def spend(self, cost: float | None) -> str | None:
        """After each model call: count its cost; the reason to stop when a `cost` termination fires."""
        if cost:
            self.spent += cost
        return self.condition.after_model_call() if self.condition is not None else None

    def turn_limit_reason(self) -> str | None:
        if len(self.turns) < self.max_turns:
            return None
        if self.config.max_turns is not None:
            return f"Maximum number of turns {self.max_turns} reached."
        return f"Stopped after {SAFETY_MAX_TURNS} turns: no termination condition fired and max_turns is not set."

    async def drive(self, cancel: CancellationToken) -> AsyncGenerator[Event | _Stop, None]:
        for delta in [self.messages[:1], *self.turns]:
            reason = self.check(delta)
            if reason is not None:
                yield _Stop("complete", reason)
                return
        reason = self.turn_limit_reason()
        if reason is not None:
            yield _Stop("complete", reason)
            return
        while True:
            cancel.check()
            waiting = self._waiting_for_user()
            if waiting is not None:
                yield waiting
                yield _Stop("input_required", None)
                return
            fresh = not self.pending
            selection = await self._next_speaker(cancel)
            if selection.usage is not None:
                reason = self.spend(selection.usage.cost)
                if reason is not None:
                    yield _Stop("complete", reason)
                    return
            try:
                agent_config = self.config.agent(selection.speaker)
            except KeyError:
                raise TranscriptError(
                    f"the transcript hands the turn to {selection.speaker!r}, not in this team"
                ) from None
            if isinstance(agent_config, UserProxyAgentConfig):
                yield InputRequest(agent_config.name, agent_config.input_prompt)
                yield _Stop("input_required", None)
                return
            delta = list(self.pending)
            async with aclosing(self._turn(selection, delta, fresh, cancel)) as turn:
                async for event in turn:
                    yield event
                    if isinstance(event, _Stop):
                        return
            self.turns.append(delta)
            self.pending = []
            reason = self.check(delta) or self.turn_limit_reason()
            if reason is not None:
                yield _Stop("complete", reason)
                return

    async def _turn(
        self, selection: Selection, delta: list[StoredMessage], fresh: bool, cancel: CancellationToken
    ) -> AsyncGenerator[Event | _Stop, None]:
        """Run the speaker's turn; `delta` holds what is already stored of it and collects the rest.
        Ends early with a _Stop when a model call's cost fires a `cost` termination."""
        span = self.tracer.start(
            "turn",
            f"invoke_agent {selection.speaker}",
            None,
            **{"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": selection.speaker},
        )
        span.attributes["playground.turn"] = len(self.turns) + 1
        if delta:
            span.attributes["playground.resumed"] = True  # finishing a turn an earlier execution began
        with self.tracer.active(span):
            async with aclosing(self._agent_turn(selection, delta, fresh, cancel, span)) as events:
                async for event in events:
                    if isinstance(event, StoredMessage) and event.is_chat and not event.partial:
                        self.tracer.end(span)  # ended before its last message, so it is stored with it
                    yield event
                    if isinstance(event, _Stop):
                        return

    async def _agent_turn(
        self, selection: Selection, delta: list[StoredMessage], fresh: bool, cancel: CancellationToken, span: Span
    ) -> AsyncGenerator[Event | _Stop, None]:
        metadata = selection.metadata
        if fresh and self.config.emit_team_events and self.config.kind == "selector":
            selected = SelectSpeakerEvent(source="SelectorGroupChatManager", content=[selection.speaker])
            selected.metadata.update(metadata)
            metadata = {}
            self.messages.append(selected)
            delta.append(selected)
            yield selected
        agent = self.runner.agents[selection.speaker]
        started = [m for m in delta if m.source == selection.speaker]
        before = [*self.earlier, *self.messages[: len(self.messages) - len(started)]]
        async with aclosing(agent.turn(before, started, cancel, span)) as events:
            async for event in events:
                if isinstance(event, StoredMessage):
                    if metadata:
                        event.metadata.update(metadata)
                        metadata = {}
                    self.messages.append(event)
                    delta.append(event)
                yield event
                if isinstance(event, ApprovalRequest):  # the run waits for a person's decision
                    yield _Stop("input_required", None)
                    return
                if isinstance(event, StoredMessage) and event.models_usage is not None:
                    reason = self.spend(event.models_usage.cost)
                    if reason is not None:
                        yield _Stop("complete", reason)
                        return

    def _waiting_for_user(self) -> InputRequest | None:
        """Swarm: a handoff to 'user' that no termination ended waits for the user's answer."""
        if self.config.kind != "swarm" or self.pending:
            return None
        _, waiting = swarm_next(self.config, [*self.earlier, *self.messages])
        if not waiting:
            return None
        handoff = next(m for m in reversed(self.messages) if isinstance(m, HandoffMessage))
        return InputRequest(USER, handoff.content)

    async def _next_speaker(self, cancel: CancellationToken) -> Selection:
        if self.pending:
            return Selection(_pending_speaker(self.pending))
        kind = self.config.kind
        if kind == "round_robin":
            return Selection(round_robin_next(self.config, self.messages))
        if kind == "swarm":
            return Selection(swarm_next(self.config, [*self.earlier, *self.messages])[0])
        assert self.runner.selector_client is not None
        span = self.tracer.start("selector", "select_speaker")
        with self.tracer.active(span):
            selection = await selector_next(
                self.config,
                self.runner.selector_client,
                self.messages,
                [*self.earlier, *self.messages],
                len(self.turns),
                cancel,
                tracer=self.tracer,
                parent=span,
                pricing=self.runner.pricing,
            )
            span.attributes["playground.selected"] = selection.speaker
        return selection


def _split_turns(messages: list[StoredMessage]) -> tuple[list[list[StoredMessage]], list[StoredMessage]]:
    """(complete turns after the task, the trailing incomplete turn's messages)."""
    turns: list[list[StoredMessage]] = []
    current: list[StoredMessage] = []
    for m in messages[1:]:
        current.append(m)
        if m.is_chat:
            turns.append(current)
            current = []
    # Events that are not a turn's own work (AutoGen's input-request marker) do not start a turn.
    current = [m for m in current if m.type != "UserInputRequestedEvent"]
    return turns, current


def _pending_speaker(pending: list[StoredMessage]) -> str:
    first = pending[0]
    if isinstance(first, SelectSpeakerEvent) and first.content:
        return first.content[0]
    return first.source
