"""Termination conditions with AutoGen's semantics and stop-reason texts.

A condition sees the messages of each step as one delta (the task first, then each
agent turn) and keeps state between calls, so a resumed run rebuilds that state by
feeding the stored transcript through, delta by delta.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from agents_app import config as cfg
from agents_app.engine.events import HandoffMessage, StopMessage, StoredMessage, TextMessage, ToolCallExecutionEvent


class ExternalFlag:
    """Set from outside the run (a graceful stop); fires at the next turn boundary."""

    def __init__(self) -> None:
        self.is_set = False

    def set(self) -> None:
        self.is_set = True


class Condition:
    def __init__(self) -> None:
        self.terminated = False

    def __call__(self, delta: Sequence[StoredMessage]) -> str | None:
        if self.terminated:
            return None
        reason = self.check(delta)
        if reason is not None:
            self.terminated = True
        return reason

    def check(self, delta: Sequence[StoredMessage]) -> str | None:
        raise NotImplementedError

    def after_model_call(self) -> str | None:
        """Checked after every model call, mid-turn too; only a condition on money spent answers."""
        return None


class MaxMessage(Condition):
    def __init__(self, c: cfg.MaxMessageTermination) -> None:
        super().__init__()
        self.max, self.include_events, self.count = c.max_messages, c.include_agent_event, 0

    def check(self, delta: Sequence[StoredMessage]) -> str | None:
        self.count += sum(1 for m in delta if self.include_events or m.is_chat)
        if self.count >= self.max:
            return f"Maximum number of messages {self.max} reached, current message count: {self.count}"
        return None


class TextMention(Condition):
    def __init__(self, c: cfg.TextMentionTermination) -> None:
        super().__init__()
        self.text, self.sources = c.text, c.sources

    def check(self, delta: Sequence[StoredMessage]) -> str | None:
        for m in delta:
            if (self.sources is None or m.source in self.sources) and self.text in m.to_text():
                return f"Text '{self.text}' mentioned"
        return None


class StopMessageCondition(Condition):
    def check(self, delta: Sequence[StoredMessage]) -> str | None:
        return "Stop message received" if any(isinstance(m, StopMessage) for m in delta) else None


class TokenUsage(Condition):
    def __init__(self, c: cfg.TokenUsageTermination) -> None:
        super().__init__()
        self.c = c
        self.prompt = self.completion = 0

    def check(self, delta: Sequence[StoredMessage]) -> str | None:
        for m in delta:
            if m.models_usage is not None:
                self.prompt += m.models_usage.prompt_tokens
                self.completion += m.models_usage.completion_tokens
        total, c = self.prompt + self.completion, self.c
        if (
            (c.max_total_token is not None and total >= c.max_total_token)
            or (c.max_prompt_token is not None and self.prompt >= c.max_prompt_token)
            or (c.max_completion_token is not None and self.completion >= c.max_completion_token)
        ):
            return (
                f"Token usage limit reached, total token count: {total}, prompt token count: {self.prompt}, "
                f"completion token count: {self.completion}."
            )
        return None


class Timeout(Condition):
    def __init__(self, c: cfg.TimeoutTermination, elapsed: Callable[[], float]) -> None:
        super().__init__()
        self.seconds, self.elapsed = c.timeout_seconds, elapsed

    def check(self, delta: Sequence[StoredMessage]) -> str | None:
        return f"Timeout of {self.seconds} seconds reached" if self.elapsed() >= self.seconds else None


class Handoff(Condition):
    def __init__(self, c: cfg.HandoffTermination) -> None:
        super().__init__()
        self.target = c.target

    def check(self, delta: Sequence[StoredMessage]) -> str | None:
        for m in delta:
            if isinstance(m, HandoffMessage) and m.target == self.target:
                return f"Handoff to {self.target} from {m.source} detected."
        return None


class SourceMatch(Condition):
    def __init__(self, c: cfg.SourceMatchTermination) -> None:
        super().__init__()
        self.sources = c.sources

    def check(self, delta: Sequence[StoredMessage]) -> str | None:
        for m in delta:
            if m.source in self.sources:
                return f"'{m.source}' answered"
        return None


class TextMessageCondition(Condition):
    def __init__(self, c: cfg.TextMessageTermination) -> None:
        super().__init__()
        self.source = c.source

    def check(self, delta: Sequence[StoredMessage]) -> str | None:
        for m in delta:
            if isinstance(m, TextMessage) and (self.source is None or m.source == self.source):
                return f"Text message received from '{m.source}'"
        return None


class FunctionCall(Condition):
    def __init__(self, c: cfg.FunctionCallTermination) -> None:
        super().__init__()
        self.name = c.function_name

    def check(self, delta: Sequence[StoredMessage]) -> str | None:
        for m in delta:
            if isinstance(m, ToolCallExecutionEvent) and any(r.name == self.name for r in m.content):
                return f"Function '{self.name}' was executed."
        return None


class CostLimit(Condition):
    def __init__(self, c: cfg.CostTermination, spent: Callable[[], float]) -> None:
        super().__init__()
        self.max_cost, self.spent = c.max_cost, spent

    def check(self, delta: Sequence[StoredMessage]) -> str | None:
        spent = self.spent()
        if spent >= self.max_cost:
            return f"Cost limit of ${self.max_cost:.4f} reached: ${spent:.4f} spent."
        return None

    def after_model_call(self) -> str | None:
        return self([])


class External(Condition):
    def __init__(self, flag: ExternalFlag) -> None:
        super().__init__()
        self.flag = flag

    def check(self, delta: Sequence[StoredMessage]) -> str | None:
        return "External termination requested" if self.flag.is_set else None


class And(Condition):
    def __init__(self, conditions: list[Condition]) -> None:
        super().__init__()
        self.conditions, self.reasons = conditions, []  # type: list[Condition], list[str]

    def check(self, delta: Sequence[StoredMessage]) -> str | None:
        for c in self.conditions:
            if not c.terminated:
                reason = c(delta)
                if reason is not None:
                    self.reasons.append(reason)
        return ", ".join(self.reasons) if all(c.terminated for c in self.conditions) else None

    def after_model_call(self) -> str | None:
        if self.terminated:
            return None
        for c in self.conditions:
            reason = c.after_model_call()
            if reason is not None:
                self.reasons.append(reason)
        if self.conditions and all(c.terminated for c in self.conditions):
            self.terminated = True
            return ", ".join(self.reasons)
        return None


class Or(Condition):
    def __init__(self, conditions: list[Condition]) -> None:
        super().__init__()
        self.conditions = conditions

    def check(self, delta: Sequence[StoredMessage]) -> str | None:
        reasons = [r for r in (c(delta) for c in self.conditions) if r is not None]
        return ", ".join(reasons) if reasons else None

    def after_model_call(self) -> str | None:
        if self.terminated:
            return None
        reasons = [r for r in (c.after_model_call() for c in self.conditions) if r is not None]
        if reasons:
            self.terminated = True
            return ", ".join(reasons)
        return None


def build_condition(
    c: cfg.TerminationConfig,
    *,
    elapsed: Callable[[], float],
    external: ExternalFlag,
    spent: Callable[[], float] = lambda: 0.0,
) -> Condition:
    """`elapsed` = seconds the run has run, `spent` = US dollars its model calls cost so far."""

    def sub(items: list[cfg.TerminationConfig]) -> list[Condition]:
        return [build_condition(i, elapsed=elapsed, external=external, spent=spent) for i in items]

    match c:
        case cfg.MaxMessageTermination():
            return MaxMessage(c)
        case cfg.TextMentionTermination():
            return TextMention(c)
        case cfg.StopMessageTermination():
            return StopMessageCondition()
        case cfg.TokenUsageTermination():
            return TokenUsage(c)
        case cfg.TimeoutTermination():
            return Timeout(c, elapsed)
        case cfg.HandoffTermination():
            return Handoff(c)
        case cfg.SourceMatchTermination():
            return SourceMatch(c)
        case cfg.TextMessageTermination():
            return TextMessageCondition(c)
        case cfg.FunctionCallTermination():
            return FunctionCall(c)
        case cfg.ExternalTermination():
            return External(external)
        case cfg.CostTermination():
            return CostLimit(c, spent)
        case cfg.AndTermination():
            return And(sub(c.conditions))
        case cfg.OrTermination():
            return Or(sub(c.conditions))
    raise TypeError(f"unknown termination {c!r}")
