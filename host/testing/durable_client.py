"""The durable client of an in-process app: start, wait, raise events, read history and entities.

Method names follow the SDK's ``DurableOrchestrationClient`` where one exists; everything is
in-process (no HTTP). Waiting is woken by the engine when the instance finishes; with a
virtual clock and auto-advance, time skips to the next timer whenever the app is idle.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from host.durable.entities.ids import EntityId
from host.durable.entities.query import read_entity_state
from host.durable.management import Management
from host.durable.replay.ledger import Divergence
from host.durable.taskhub.rows import InstanceStatus
from host.errors import HostError, InvocationError
from host.indexing.registry import ORCHESTRATION_TRIGGER, Registry
from host.testing.events import HistoryEvent, typed

if TYPE_CHECKING:
    from host.durable.taskhub.hub import TaskHub


DriveTime = Callable[[asyncio.Future[Any]], Coroutine[Any, Any, None]]


class OrchestrationFailed(HostError):
    """Raised by :meth:`DurableClient.run` when ``expect`` was given and the status differs."""


class DurableClient:
    """Durable operations on one app's task hub."""

    def __init__(self, hub: TaskHub, engine: Any, drive_time: DriveTime | None = None) -> None:
        self.hub = hub
        self.engine = engine
        local = engine if engine is not None and engine.hub is hub else None
        default_version = local.options.versioning.default_version if local is not None else ""
        self.management = Management(hub, local, default_version=default_version)
        self._drive_time = drive_time

    # -- orchestrations -----------------------------------------------------------------
    async def start_new(
        self,
        name: str,
        instance_id: str | None = None,
        client_input: Any = None,
        *,
        version: str | None = None,
    ) -> str:
        """Start orchestration ``name``; ``context.get_input()`` gives back ``client_input``;
        ``context.version`` is ``version`` (default: host.json ``defaultVersion``).

        Raises :class:`InvocationError` naming the app's orchestrators when it has none called ``name``.
        """
        self._check_orchestrator(name)
        text = None if client_input is None else json.dumps(json.dumps(client_input))
        return await self.management.start_orchestration(name, instance_id, text, version=version)

    def _check_orchestrator(self, name: str) -> None:
        if self.engine is None:
            return  # a client of another hub: nothing known about its app
        registry: Registry = self.engine.registry
        if registry.orchestrator(name) is not None:
            return
        names = sorted(f.durable_name for f in registry if f.trigger_type == ORCHESTRATION_TRIGGER)
        raise InvocationError(
            f"the app has no orchestrator function named '{name}'; its orchestrators: "
            f"{', '.join(names) or 'none'}"
        )

    async def get_status(self, instance_id: str) -> InstanceStatus | None:
        """The instance's status row (``None`` when unknown)."""
        return await self.hub.get_instance(instance_id)

    async def wait_for_completion(self, instance_id: str, timeout: float = 30.0) -> InstanceStatus:
        """Wait until the instance is Completed, Failed or Terminated (``timeout`` in real seconds)."""
        waiter = asyncio.ensure_future(self.engine.wait_terminal(instance_id, timeout))
        driver: asyncio.Task[None] | None = None
        try:
            await asyncio.sleep(0)  # the waiter is registered before the status is read
            status = await self.hub.get_instance(instance_id)
            if status is None or not status.is_terminal:
                if self._drive_time is not None:
                    driver = asyncio.ensure_future(self._drive_time(waiter))
                await asyncio.wait(
                    [waiter] if driver is None else [waiter, driver], return_when=asyncio.FIRST_COMPLETED
                )
                if driver is not None and driver.done() and not waiter.done():
                    driver.result()  # the clock driver failed (e.g. the app never went idle)
                    await waiter
                status = await self.hub.get_instance(instance_id)
        finally:
            for task in (waiter, driver):
                if task is not None and not task.done():
                    task.cancel()
        if status is None or not status.is_terminal:
            raise TimeoutError(
                f"instance {instance_id!r} did not finish within {timeout:g} s "
                f"(status {status.runtime_status if status else 'unknown'})"
            )
        return status

    async def run(
        self,
        name: str,
        client_input: Any = None,
        *,
        instance_id: str | None = None,
        timeout: float = 30.0,
        expect: str | None = None,
    ) -> InstanceStatus:
        """Start ``name`` and wait for it; with ``expect`` (e.g. ``"Completed"``) check the status."""
        started = await self.start_new(name, instance_id, client_input)
        status = await self.wait_for_completion(started, timeout)
        if expect is not None and status.runtime_status != expect:
            raise OrchestrationFailed(
                f"orchestration {name!r} ({status.instance_id}) ended "
                f"{status.runtime_status}, expected {expect}: {status.output}"
            )
        return status

    async def raise_event(self, instance_id: str, event_name: str, event_data: Any = None) -> None:
        """Send external event ``event_name`` with ``event_data`` (any JSON value)."""
        await self.management.raise_event(instance_id, event_name, json.dumps(event_data))

    async def terminate(self, instance_id: str, reason: str | None = None) -> None:
        await self.management.terminate(instance_id, reason)

    async def history(self, instance_id: str) -> list[HistoryEvent]:
        """The latest execution's history as typed events."""
        return typed(await self.management.get_history(instance_id))

    async def raw_history(self, instance_id: str) -> list[dict[str, Any]]:
        return await self.management.get_history(instance_id)

    def output(self, status: InstanceStatus) -> Any:
        """The instance's output as a Python value."""
        return None if status.output is None else json.loads(status.output)

    async def replay_check(self, instance_id: str) -> Divergence | None:
        """Replay the instance's recorded history against the app's current orchestrator code."""
        from host.durable.app_check import check_history

        status = await self.hub.get_instance(instance_id)
        if status is None:
            raise HostError(f"no orchestration instance with id {instance_id!r}")
        return check_history(
            self.engine.registry, await self.management.get_history(instance_id), name=status.name
        )

    # -- entities -----------------------------------------------------------------------
    async def signal_entity(self, name: str, key: str, operation: str, input: Any = None) -> None:
        """Send a one-way ``operation`` to entity ``name``/``key``."""
        # As the SDK client sends it: JSON text of the JSON text of the value.
        await self.management.signal_entity(
            EntityId(name.lower(), key), operation, None if input is None else json.dumps(json.dumps(input))
        )

    async def read_entity_state(self, name: str, key: str) -> tuple[bool, Any]:
        """``(exists, state)`` of entity ``name``/``key``."""
        row = await self.hub.get_instance(EntityId(name.lower(), key).instance_id)
        return read_entity_state(row.input) if row is not None else (False, None)
