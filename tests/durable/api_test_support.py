"""Shared by the durable API tests: the engine boundary recorder and a one-orchestrator registry."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from host.durable.entities.ids import EntityId
from host.durable.taskhub.hub import TaskHub
from host.durable.taskhub.rows import InstanceStatus
from host.errors import InstanceNotFoundError, InvalidInstanceStateError
from host.indexing.registry import ORCHESTRATION_TRIGGER, Binding, FunctionInfo, Registry

_ACTIVE = ("Pending", "Running", "ContinuedAsNew", "Suspended")
T0 = datetime(2024, 3, 1, 12, 0, 0, tzinfo=UTC)


class RecordingOps:
    """The engine boundary: records calls, starts write a Pending row like the engine does."""

    def __init__(self, hub: TaskHub) -> None:
        self.hub = hub
        self.calls: list[tuple[Any, ...]] = []

    async def start(self, name: str, instance_id: str, input_json: str | None,
                    *, version: str | None = None) -> None:
        self.calls.append(("start", name, instance_id, input_json, version))
        await self.hub.write_instance(InstanceStatus(instance_id, name=name, runtime_status="Pending",
                                                     created_time=T0, input=input_json), merge=False)

    async def raise_event(self, instance_id: str, name: str, data_json: str | None,
                          *, check: bool = True) -> None:
        self.calls.append(("raise_event", instance_id, name, data_json))

    async def _refuse(self, instance_id: str, allowed: tuple[str, ...]) -> None:
        """Refuse as the engine's Management does (it reads the row itself)."""
        status = await self.hub.get_instance(instance_id, fetch_large=False)
        if status is None:
            raise InstanceNotFoundError(instance_id)
        if status.runtime_status not in allowed:
            raise InvalidInstanceStateError(f"{instance_id} is {status.runtime_status}")

    async def terminate(self, instance_id: str, reason: str | None) -> None:
        await self._refuse(instance_id, _ACTIVE)
        self.calls.append(("terminate", instance_id, reason))

    async def suspend(self, instance_id: str, reason: str | None) -> None:
        await self._refuse(instance_id, ("Pending", "Running", "ContinuedAsNew"))
        self.calls.append(("suspend", instance_id, reason))

    async def resume(self, instance_id: str, reason: str | None) -> None:
        await self._refuse(instance_id, ("Suspended",))
        self.calls.append(("resume", instance_id, reason))

    async def rewind(self, instance_id: str, reason: str | None) -> None:
        await self._refuse(instance_id, ("Failed",))
        self.calls.append(("rewind", instance_id, reason))

    async def restart(self, instance_id: str, *, new_instance_id: bool) -> str:
        self.calls.append(("restart", instance_id, new_instance_id))
        return "restarted-" + instance_id if new_instance_id else instance_id

    async def signal_entity(self, entity: EntityId, operation: str, input_json: str | None) -> None:
        self.calls.append(("signal", entity.instance_id, operation, input_json))


def registry() -> Registry:
    trigger = Binding("context", ORCHESTRATION_TRIGGER, "in", {})
    return Registry([FunctionInfo("Orch", trigger, [trigger], lambda context: None)])
