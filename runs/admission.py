"""Run starts admitted while the event loop keeps up: runs already streaming keep priority.

Starting and finishing a run cost a worker as much CPU as seconds of streaming, so many starts
at once would stall every stream on the loop. A process therefore admits run starts through one
`StartGate` per loop: while starts wait, a probe sleeps `tick` seconds and measures how late it
wakes (the loop's lag); after a prompt wake-up it admits up to `burst` starts, after a late one
none. So starts go in as fast as the loop absorbs them, one goes in at least every `max_wait`
seconds whatever the load (no run is starved), and a start with no other start in the last tick
goes in at once. A `burst` of 0 turns the gate off.

A web server whose runs execute elsewhere (Celery) gates the `start` frames it receives too
(`admit_start_request`): each start is a database transaction and a Celery publish on the
server's threads, which would otherwise hold back the frames of the runs already streaming. With
the inline executor the run's execution passes the same loop's gate, so the request does not.
"""

from __future__ import annotations

import asyncio
import weakref
from collections import deque

from django.conf import settings

from runs.loops import runs_in_celery


class StartGate:
    def __init__(self, *, tick: float, max_lag: float, burst: int, max_wait: float) -> None:
        self.tick = tick
        self.max_lag = max_lag
        self.burst = burst
        self.max_wait = max_wait
        self._waiting: deque[asyncio.Future[None]] = deque()
        self._probe: asyncio.Task[None] | None = None
        self.admitted = 0
        self.held = 0  # late probe wake-ups while starts waited

    async def enter(self) -> None:
        if self.burst <= 0:  # the gate is off: every start goes in at once
            return
        if self._probe is None or self._probe.done():
            # Nothing queued or measured lately: in at once; the probe's next sample decides for
            # the starts that follow within a tick.
            self._probe = asyncio.create_task(self._run_probe())
            self.admitted += 1
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter in self._waiting:
                self._waiting.remove(waiter)
            raise

    async def _run_probe(self) -> None:
        loop = asyncio.get_running_loop()
        last_admission = loop.time()
        while True:
            before = loop.time()
            await asyncio.sleep(self.tick)
            now = loop.time()
            lag = now - before - self.tick
            if lag <= self.max_lag:
                count = self.burst
            elif now - last_admission >= self.max_wait:
                count = 1
            else:
                self.held += 1
                continue
            for _ in range(min(count, len(self._waiting))):
                waiter = self._waiting.popleft()
                if not waiter.done():
                    waiter.set_result(None)
                    self.admitted += 1
            last_admission = now
            if not self._waiting:
                return


_gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, StartGate] = weakref.WeakKeyDictionary()


async def admit_start_request() -> None:
    """Wait, on a web server, until this loop admits one more start request (see the module doc)."""
    if runs_in_celery():
        await start_gate().enter()


def start_gate() -> StartGate:
    """The running loop's gate, configured from settings (RUN_START_*)."""
    loop = asyncio.get_running_loop()
    gate = _gates.get(loop)
    if gate is None:
        gate = _gates[loop] = StartGate(
            tick=settings.RUN_START_TICK_MS / 1000,
            max_lag=settings.RUN_START_MAX_LAG_MS / 1000,
            burst=settings.RUN_START_BURST,
            max_wait=settings.RUN_START_MAX_WAIT_MS / 1000,
        )
    return gate
