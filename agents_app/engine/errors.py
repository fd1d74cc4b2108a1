"""Small engine exceptions, mapped once per interface by the Django side."""

from __future__ import annotations


class EngineError(Exception):
    """Base class for errors raised by the engine."""


class ModelCallError(EngineError):
    """A model call failed. `permanent` = retrying the same request will not help (bad key, bad request)."""

    def __init__(self, message: str, permanent: bool, source: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.source = source  # the agent whose call failed, when known

    def __repr__(self) -> str:
        return f"ModelCallError({self.message!r}, permanent={self.permanent})"


class TranscriptError(EngineError, ValueError):
    """A transcript or wire dict the engine cannot continue from."""


class ToolCallError(EngineError):
    """A tool call failed; becomes an `is_error=True` result, never a crashed run."""


class Cancelled(EngineError):
    """Raised inside the engine when its CancellationToken fires; never escapes `TeamRunner.run`."""
