"""Run starts admitted while the event loop keeps up (runs.admission.StartGate)."""

from __future__ import annotations

import asyncio
import time

import pytest

from runs import admission
from runs.admission import StartGate


def gate(**overrides: float) -> StartGate:
    options = {"tick": 0.002, "max_lag": 0.05, "burst": 2, "max_wait": 0.2, **overrides}
    return StartGate(**options)  # type: ignore[arg-type]


async def enter_all(g: StartGate, count: int) -> list[int]:
    order: list[int] = []

    async def start(i: int) -> None:
        await g.enter()
        order.append(i)

    await asyncio.gather(*(start(i) for i in range(count)))
    return order


async def test_a_lone_start_goes_in_at_once() -> None:
    g = gate(tick=10.0)  # the probe would take ten seconds: the start does not wait for it
    await asyncio.wait_for(g.enter(), 1)
    assert g.admitted == 1


async def test_a_burst_of_zero_turns_the_gate_off() -> None:
    g = gate(burst=0, tick=10.0)
    await asyncio.wait_for(asyncio.gather(*(g.enter() for _ in range(5))), 1)


async def test_starts_arriving_together_go_in_by_bursts_in_arrival_order() -> None:
    g = gate()
    order = await enter_all(g, 9)
    assert order == list(range(9))
    assert g.admitted == 9
    assert g.held == 0


async def test_while_the_loop_lags_starts_wait_but_one_still_goes_in_per_max_wait() -> None:
    g = gate(tick=0.001, max_lag=0.001, burst=5, max_wait=0.05)
    loop = asyncio.get_running_loop()
    stop = loop.time() + 0.3

    hogs = 0

    def hog() -> None:  # a busy loop: every wake-up 10 ms late
        nonlocal hogs
        hogs += 1
        time.sleep(0.01)
        if loop.time() < stop:
            loop.call_soon(hog)

    loop.call_soon(hog)
    admitted_at: list[float] = []
    hogs_at_admission: list[int] = []

    async def start() -> None:
        await g.enter()
        admitted_at.append(loop.time())
        hogs_at_admission.append(hogs)

    await asyncio.gather(*(start() for _ in range(4)))
    assert g.held > 0  # late wake-ups admitted nobody...
    assert len(admitted_at) == 4  # ...yet nobody starved
    # While the loop was busy, the three queued starts went in one at a time, max_wait apart.
    lagged = [t for t in admitted_at[1:] if t < stop]
    assert all(b - a >= 0.05 for a, b in zip(lagged, lagged[1:], strict=False))
    # The first start went in at once, before the busy loop ran again (counted, not timed: a loaded
    # machine stretches every sleep).
    assert hogs_at_admission[0] == 1


async def test_a_cancelled_waiter_leaves_the_others_to_go_in() -> None:
    g = gate(tick=0.01)
    await g.enter()  # the probe is running: the next starts queue
    first = asyncio.create_task(g.enter())
    second = asyncio.create_task(g.enter())
    await asyncio.sleep(0)
    first.cancel()
    await asyncio.wait_for(second, 1)
    with pytest.raises(asyncio.CancelledError):
        await first


async def test_each_event_loop_has_its_own_gate(settings: object) -> None:
    here = admission.start_gate()
    assert admission.start_gate() is here

    def other_loop() -> StartGate:
        async def get() -> StartGate:
            return admission.start_gate()

        return asyncio.run(get())

    assert await asyncio.to_thread(other_loop) is not here


async def test_a_web_server_gates_start_requests_when_runs_execute_elsewhere(settings: object) -> None:
    settings.RUN_EXECUTOR = "celery"  # type: ignore[attr-defined]
    here = admission.start_gate()
    before = here.admitted
    await asyncio.wait_for(asyncio.gather(*(admission.admit_start_request() for _ in range(3))), 2)
    assert here.admitted == before + 3


async def test_with_the_inline_executor_only_the_execution_passes_the_gate(settings: object) -> None:
    settings.RUN_EXECUTOR = "inline"  # type: ignore[attr-defined]
    here = admission.start_gate()
    before = here.admitted
    await admission.admit_start_request()
    assert here.admitted == before
