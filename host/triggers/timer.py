"""Timer trigger listener with the storage schedule monitor (as the WebJobs ``TimerListener``).

With ``useMonitor`` (default true; off for schedules firing more than once a minute) the status
``{"Last", "Next", "LastUpdated"}`` lives in blob
``azure-webjobs-hosts/timers/<hostId>/Host.Functions.<name>/status``. On start a missing status
is written; a changed schedule recomputes ``Next``; ``now > Next`` means a run was missed while
the host was down and the timer fires once at once with ``IsPastDue``. Else ``runOnStartup``
fires once at start. Runs of one timer never overlap; a failure does not change the schedule.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

from host.clock import sleep_until
from host.errors import NotFoundError, StorageError
from host.indexing.registry import TIMER_TRIGGER, FunctionInfo
from host.ncrontab import Schedule, parse_schedule
from host.storage.interface import Storage
from host.triggers.common import Invoke
from host.triggers.convert import timer_payload, timer_trigger_value
from host.triggers.names import HOSTS_CONTAINER, timer_status_blob
from host.triggers.timezones import resolve_timezone

if TYPE_CHECKING:
    from host.runtime import HostRuntime

log = logging.getLogger("host.triggers.timer")
NEVER = "0001-01-01T00:00:00"
_MAX_SLEEP = 3600.0  # re-check the wall clock at least hourly (clock changes, suspend)
_TOLERANCE = timedelta(milliseconds=1)


def format_time(value: datetime | None, tz: tzinfo) -> str:
    """Newtonsoft's ISO form of a local ``DateTime``: local offset, fraction only when non-zero."""
    if value is None:
        return NEVER
    local = value.astimezone(tz)
    text = local.strftime("%Y-%m-%dT%H:%M:%S")
    if local.microsecond:
        text += f".{local.microsecond:06d}".rstrip("0")
    offset = local.strftime("%z")
    return text + (f"{offset[:3]}:{offset[3:]}" if offset else "Z")


def parse_time(text: Any) -> datetime | None:
    """A stored status time (``None`` for ``Never``/missing); naive times are read as UTC."""
    if not isinstance(text, str) or not text or text.startswith("0001-01-01"):
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class ScheduleStatus:
    """``Last``/``Next``/``LastUpdated`` of one timer (aware datetimes; ``None`` = Never)."""

    def __init__(self, last: datetime | None, next_: datetime | None, last_updated: datetime | None) -> None:
        self.last = last
        self.next = next_
        self.last_updated = last_updated

    def to_json(self, tz: tzinfo) -> dict[str, str]:
        return {
            "Last": format_time(self.last, tz),
            "Next": format_time(self.next, tz),
            "LastUpdated": format_time(self.last_updated, tz),
        }


class TimerListener:
    """Fires one timer function on its schedule."""

    def __init__(
        self,
        fn: FunctionInfo,
        storage: Storage,
        invoke: Invoke,
        *,
        host_id: str,
        tz: tzinfo | None = None,
        clock: Callable[[], datetime] | None = None,
        sleep_until: Callable[[datetime], Awaitable[None]] | None = None,
    ) -> None:
        self.fn = fn
        self.storage = storage
        self.invoke = invoke
        self.host_id = host_id
        self.tz = tz if tz is not None else resolve_timezone()
        self.clock = clock or (lambda: datetime.now(UTC))
        self.sleep_until = sleep_until
        """Waits until a time of ``clock`` (for a virtual clock); default: ``asyncio.sleep``."""
        self.schedule: Schedule = parse_schedule(str(fn.trigger.get("schedule", "")))
        use_monitor = fn.trigger.get("useMonitor", True)
        self.use_monitor = bool(use_monitor) and not self.schedule.is_sub_minute(self.clock(), self.tz)
        self.run_on_startup = bool(fn.trigger.get("runOnStartup", False))
        self.status: ScheduleStatus | None = None
        self.blob_name = timer_status_blob(host_id, fn.name)
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.invocations = 0

    # -- status blob --------------------------------------------------------------------
    async def read_status(self) -> ScheduleStatus | None:
        try:
            data, _ = await self.storage.download_blob(HOSTS_CONTAINER, self.blob_name)
            raw = json.loads(data.decode("utf-8-sig"))
        except NotFoundError:
            return None
        except (ValueError, UnicodeDecodeError):
            log.warning("Timer status blob '%s' is not valid JSON; starting afresh.", self.blob_name)
            return None
        return ScheduleStatus(
            parse_time(raw.get("Last")), parse_time(raw.get("Next")), parse_time(raw.get("LastUpdated"))
        )

    async def write_status(self, status: ScheduleStatus) -> None:
        body = json.dumps(status.to_json(self.tz), separators=(",", ":")).encode()
        try:
            await self.storage.upload_blob(
                HOSTS_CONTAINER, self.blob_name, body, content_type="application/octet-stream"
            )
        except StorageError as e:  # best effort, as the real monitor
            log.error("Function '%s' failed to update the timer trigger status: %s", self.fn.name, e)

    def _next(self, after: datetime) -> datetime:
        nxt = self.schedule.next_occurrence(after, self.tz)
        return nxt if nxt is not None else datetime.max.replace(tzinfo=UTC)

    async def _check_past_due(self, now: datetime) -> bool:
        """``ScheduleMonitor.CheckPastDueAsync``: initialise or reconcile the status."""
        status = await self.read_status()
        if status is None or status.next is None:
            status = ScheduleStatus(None, self._next(now), now)
            await self.write_status(status)
        else:
            if status.last is not None:
                expected, updated = self._next(status.last), status.last
            elif status.last_updated is not None:
                expected, updated = self._next(status.last_updated), status.last_updated
            else:
                expected, updated = self._next(now), now
            if abs(status.next - expected) > _TOLERANCE:  # the schedule changed
                if now > expected:
                    expected, updated = self._next(now), now
                status = ScheduleStatus(None, expected, updated)
                await self.write_status(status)
        self.status = status
        assert status.next is not None
        return now > status.next

    # -- lifecycle ----------------------------------------------------------------------
    async def start(self) -> None:
        now = self.clock()
        past_due = await self._check_past_due(now) if self.use_monitor else False
        if self.status is None:
            self.status = ScheduleStatus(None, self._next(now), None)
        startup = "IsPastDue" if past_due else ("RunOnStartup" if self.run_on_startup else None)
        self._task = asyncio.create_task(self._run(startup), name=f"timer:{self.fn.name}")

    async def stop(self) -> None:
        self._stopping = True
        if self._task is not None:
            async with self._lock:  # let a running invocation finish
                self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self, startup: str | None) -> None:
        if startup is not None:
            await self.fire(past_due=startup == "IsPastDue", unscheduled=startup)
        while not self._stopping:
            assert self.status is not None and self.status.next is not None
            delay = (self.status.next - self.clock()).total_seconds()
            if delay > 0:
                if self.sleep_until is not None:
                    await self.sleep_until(self.status.next)
                else:
                    await asyncio.sleep(min(delay, _MAX_SLEEP))
                continue
            await self.fire()

    async def fire(self, *, past_due: bool = False, unscheduled: str | None = None) -> None:
        """Run the function once and move the schedule on (also used by admin invocations)."""
        async with self._lock:
            if self._stopping:
                return
            invoked_at = self.clock()
            payload = self.payload(past_due)
            try:
                await self.invoke(
                    self.fn,
                    timer_trigger_value(self.fn, payload),
                    trigger_metadata={},
                    reason=f"Timer fired at {format_time(invoked_at, self.tz)}",
                )
            except Exception as e:
                log.debug("Timer function '%s' failed: %s", self.fn.name, e)
            self.invocations += 1
            adjusted = invoked_at
            status = self.status
            if (
                unscheduled is None
                and status is not None
                and status.next is not None
                and status.next > invoked_at
            ):
                adjusted = status.next  # fired early (clock skew): do not fire twice for one slot
            self.status = ScheduleStatus(adjusted, self._next(adjusted), adjusted)
            if self.use_monitor:
                await self.write_status(self.status)

    def payload(self, past_due: bool) -> dict[str, Any]:
        status = self.status.to_json(self.tz) if (self.use_monitor and self.status) else None
        return timer_payload(past_due, status)


def create_listeners(runtime: HostRuntime) -> list[TimerListener]:
    """A listener per timer-triggered function."""
    tz = resolve_timezone(runtime.settings.environ)
    clock = runtime.clock  # a virtual clock when the testing toolkit runs the app; None: real time
    now = clock.now if clock is not None else None
    wait = functools.partial(sleep_until, clock) if clock is not None else None
    return [
        TimerListener(
            fn,
            runtime.storage,
            runtime.invoker.invoke,
            host_id=runtime.host_id,
            tz=tz,
            clock=now,
            sleep_until=wait,
        )
        for fn in runtime.registry.by_trigger(TIMER_TRIGGER)
    ]
