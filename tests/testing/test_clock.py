"""The virtual clock (pure, on an event loop), and that the toolkit runs on it by default."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from host.testing import AppHost, function_app
from host.testing.clock import VirtualClock

T0 = datetime(2030, 1, 1, tzinfo=UTC)


async def test_callbacks_run_in_time_order_each_at_its_own_time() -> None:
    clock = VirtualClock(T0)
    seen: list[tuple[str, datetime]] = []
    clock.call_at(T0 + timedelta(hours=2), lambda: seen.append(("b", clock.now())))
    clock.call_at(T0 + timedelta(hours=1), lambda: seen.append(("a", clock.now())))
    clock.call_at(T0 + timedelta(hours=5), lambda: seen.append(("late", clock.now())))
    assert clock.next_due() == T0 + timedelta(hours=1)
    assert clock.jump(timedelta(hours=3)) == 2
    assert seen == [("a", T0 + timedelta(hours=1)), ("b", T0 + timedelta(hours=2))]
    assert clock.now() == T0 + timedelta(hours=3)
    assert clock.pending == 1


async def test_cancelled_callbacks_never_run_and_time_never_goes_back() -> None:
    clock = VirtualClock(T0)
    ran: list[int] = []
    timer = clock.call_at(T0 + timedelta(minutes=1), lambda: ran.append(1))
    timer.cancel()
    assert clock.next_due() is None
    clock.jump(timedelta(minutes=5))
    clock.jump_to(T0)
    assert ran == [] and clock.now() == T0 + timedelta(minutes=5)


async def test_a_callback_already_due_runs_soon_without_moving_time() -> None:
    clock = VirtualClock(T0)
    fired = asyncio.Event()
    clock.call_at(T0 - timedelta(seconds=1), fired.set)
    await asyncio.wait_for(fired.wait(), 1)
    assert clock.now() == T0


async def test_sleep_until_wakes_when_time_is_moved() -> None:
    clock = VirtualClock(T0)
    sleeper = asyncio.ensure_future(clock.sleep_until(T0 + timedelta(days=3)))
    await asyncio.sleep(0)
    clock.jump(timedelta(days=2))
    await asyncio.sleep(0)
    assert not sleeper.done()
    clock.jump(timedelta(days=1))
    await asyncio.wait_for(sleeper, 1)


def test_naive_start_is_utc_and_the_clock_is_callable_for_memory_storage() -> None:
    clock = VirtualClock(datetime(2030, 1, 1))
    assert clock() == T0 and clock.now().tzinfo is not None


def test_app_host_and_function_app_both_default_to_virtual_time() -> None:
    app_dir = Path(__file__).parent / "apps" / "toolkit"
    assert AppHost(app_dir).clock is not None
    assert function_app(app_dir).clock is not None
    assert AppHost(app_dir, virtual_time=False).clock is None
