"""Cancellation that interrupts an in-flight await at once, not at the next token.

A model stream may be paced or hanging, so checking a flag between tokens is not
enough. While the engine awaits the network (or a tool), it marks the await as
`interruptible()`; `cancel()` then cancels the task doing that await, and the scope
turns the resulting CancelledError back into `Cancelled` (uncancelling the task, the
way `asyncio.timeout` does). Scopes never span a `yield` to the caller, so a cancel()
issued by the caller itself can never land in the caller's own code.
"""

from __future__ import annotations

import asyncio
from types import TracebackType

from agents_app.engine.errors import Cancelled


class CancellationToken:
    def __init__(self) -> None:
        self._cancelled = False
        self.reason: str | None = None
        self._task: asyncio.Task[object] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._interrupted = False

    @property
    def is_cancelled(self) -> bool:
        return self._cancelled

    def cancel(self, reason: str | None = None) -> None:
        """Request cancellation; safe from any task, and from another thread."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                running = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is not loop:
                loop.call_soon_threadsafe(self._cancel, reason)
                return
        self._cancel(reason)

    def _cancel(self, reason: str | None) -> None:
        if self._cancelled:
            return
        self._cancelled = True
        self.reason = reason
        task = self._task
        if task is not None and not self._interrupted and task is not asyncio.current_task():
            self._interrupted = True
            task.cancel()

    def check(self) -> None:
        if self._cancelled:
            raise Cancelled(self.reason or "cancelled")

    def interruptible(self) -> _Scope:
        return _Scope(self)


class _Scope:
    __slots__ = ("_token",)

    def __init__(self, token: CancellationToken) -> None:
        self._token = token

    def __enter__(self) -> None:
        token = self._token
        if token._cancelled:
            raise Cancelled(token.reason or "cancelled")
        token._task = asyncio.current_task()
        if token._loop is None:
            token._loop = asyncio.get_running_loop()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        token = self._token
        task = token._task
        token._task = None
        if token._interrupted:
            token._interrupted = False
            if task is not None:
                task.uncancel()
            if exc_type is None or issubclass(exc_type, asyncio.CancelledError):
                raise Cancelled(token.reason or "cancelled") from None
