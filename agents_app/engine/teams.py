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
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any

from agents_app.config import AssistantAgentConfig, TeamConfig, UserProxyAgentConfig
from agents_app.engine.agents import AssistantAgent
from agents_app.engine.cancellation import CancellationToken
from agents_app.engine.errors import Cancelled, TranscriptError
from agents_app.engine.events import (
    Event,
    HandoffMessage,
    InputRequest,
    Outcome,
    SelectSpeakerEvent,
    StoredMessage,
    TaskResult,
    Usage,
    message_from_wire,
)
from agents_app.engine.models import ModelClient, model_client
from agents_app.engine.speakers import USER, Selection, round_robin_next, selector_next, swarm_next
from agents_app.engine.terminations import Condition, ExternalFlag, build_condition
from agents_app.engine.tools import ToolRegistry
from agents_app.engine.tools import registry as default_registry

# Without max_turns a team that never meets its termination would loop forever.
SAFETY_MAX_TURNS = 100


class TeamRunner:
    def __init__(
        self, config: TeamConfig, *, env: Mapping[str, str] | None = None, registry: ToolRegistry | None = None
    ) -> None:
        self.config = config
        self.env: Mapping[str, str] = os.environ if env is None else env
        self.external_termination = ExternalFlag()
        tools = registry or default_registry
        self.agents: dict[str, AssistantAgent] = {
            p.name: AssistantAgent(p, model_client(p.model, self.env), tools)
            for p in config.participants
            if isinstance(p, AssistantAgentConfig)
        }
        self.selector_client: ModelClient | None = (
            model_client(config.selector.model, self.env) if config.selector is not None else None
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
    ) -> AsyncIterator[Event]:
        """Yield only new events; a TaskResult is always last unless an exception (ModelCallError) escapes."""
        started = time.monotonic()
        messages = [message_from_wire(d) for d in transcript]
        earlier = [message_from_wire(d) for d in history]
        if not messages:
            raise TranscriptError("the transcript is empty: its first item must be the task")
        state = _RunState(self, messages, earlier, lambda: elapsed_before + time.monotonic() - started)

        def result(outcome: Outcome, reason: str | None) -> TaskResult:
            duration = elapsed_before + time.monotonic() - started
            return TaskResult(outcome, reason, Usage.of(state.messages), duration)

        try:
            async for event in state.drive(cancel):
                if isinstance(event, _Stop):
                    yield result(event.outcome, event.reason)
                    return
                yield event
        except Cancelled as exc:
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
        self.condition: Condition | None = None
        if self.config.termination is not None:
            self.condition = build_condition(
                self.config.termination, elapsed=elapsed, external=runner.external_termination
            )
        self.turns, self.pending = _split_turns(messages)
        self.max_turns = self.config.max_turns or SAFETY_MAX_TURNS

    def check(self, delta: Sequence[StoredMessage]) -> str | None:
        reason = self.condition(delta) if self.condition is not None else None
        if reason is None and self.runner.external_termination.is_set:
            reason = "External termination requested"
        return reason

    def turn_limit_reason(self) -> str | None:
        if len(self.turns) < self.max_turns:
            return None
        if self.config.max_turns is not None:
            return f"Maximum number of turns {self.max_turns} reached."
        return f"Stopped after {SAFETY_MAX_TURNS} turns: no termination condition fired and max_turns is not set."

    async def drive(self, cancel: CancellationToken) -> AsyncIterator[Event | _Stop]:
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
            async for event in self._turn(selection, delta, fresh, cancel):
                yield event
            self.turns.append(delta)
            self.pending = []
            reason = self.check(delta) or self.turn_limit_reason()
            if reason is not None:
                yield _Stop("complete", reason)
                return

    async def _turn(
        self, selection: Selection, delta: list[StoredMessage], fresh: bool, cancel: CancellationToken
    ) -> AsyncIterator[Event]:
        """Run the speaker's turn; `delta` holds what is already stored of it and collects the rest."""
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
        async for event in agent.turn(before, started, cancel):
            if isinstance(event, StoredMessage):
                if metadata:
                    event.metadata.update(metadata)
                    metadata = {}
                self.messages.append(event)
                delta.append(event)
            yield event

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
        return await selector_next(
            self.config,
            self.runner.selector_client,
            self.messages,
            [*self.earlier, *self.messages],
            len(self.turns),
            cancel,
        )


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
