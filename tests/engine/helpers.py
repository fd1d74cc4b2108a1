"""Small builders shared by the engine tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from agents_app.config import TeamConfig, validate_team_config
from agents_app.engine import CancellationToken, InputRequest, MessageChunk, StoredMessage, TaskResult, TeamRunner


def task(content: str = "Do the task") -> dict[str, Any]:
    return {"source": "user", "type": "TextMessage", "content": content, "models_usage": None, "metadata": {}}


def text(source: str, content: str) -> dict[str, Any]:
    return {"source": source, "type": "TextMessage", "content": content, "models_usage": None, "metadata": {}}


def scripted(*replies: Any, rate: float = 0, loop: bool = True) -> dict[str, Any]:
    return {"provider": "scripted", "replies": list(replies), "tokens_per_second": rate, "loop": loop}


def assistant(name: str, *replies: Any, **extra: Any) -> dict[str, Any]:
    return {"kind": "assistant", "name": name, "model": scripted(*replies), **extra}


def team(kind: str, participants: list[dict[str, Any]], **extra: Any) -> TeamConfig:
    return validate_team_config({"kind": kind, "participants": participants, **extra})


class Run:
    """Everything one `TeamRunner.run` yielded, split by kind."""

    def __init__(self, events: list[Any]) -> None:
        self.events = events
        self.chunks = [e for e in events if isinstance(e, MessageChunk)]
        self.messages: list[StoredMessage] = [e for e in events if isinstance(e, StoredMessage)]
        self.input_requests = [e for e in events if isinstance(e, InputRequest)]
        assert isinstance(events[-1], TaskResult), events[-1]
        assert sum(isinstance(e, TaskResult) for e in events) == 1
        self.result: TaskResult = events[-1]

    @property
    def wire(self) -> list[dict[str, Any]]:
        return [m.to_wire() for m in self.messages]

    def contents(self) -> list[tuple[str, str, Any]]:
        return [(m.source, m.type, m.content_wire()) for m in self.messages]


async def run(
    config: TeamConfig | TeamRunner,
    transcript: Sequence[dict[str, Any]] | None = None,
    *,
    cancel: CancellationToken | None = None,
    history: Sequence[dict[str, Any]] = (),
    elapsed_before: float = 0.0,
    env: Mapping[str, str] | None = None,
) -> Run:
    runner = config if isinstance(config, TeamRunner) else TeamRunner(config, env=env or {})
    events = [
        e
        async for e in runner.run(
            list(transcript) if transcript is not None else [task()],
            cancel=cancel or CancellationToken(),
            history=history,
            elapsed_before=elapsed_before,
        )
    ]
    return Run(events)
