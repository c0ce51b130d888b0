"""Helpers shared by the engine tests: app paths, deadline waits, history and storage reads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TypeVar

from waiting import eventually

from host.durable.taskhub.rows import InstanceStatus
from host.testing.app_host import AppHost

APPS = Path(__file__).parent / "apps"
FEATURES = APPS / "features"

T = TypeVar("T")


until = eventually


async def status_of(host: AppHost, instance_id: str) -> InstanceStatus:
    status = await host.management.get_status(instance_id)
    assert status is not None, f"no Instances row for {instance_id}"
    return status


async def until_custom_status(
    host: AppHost, instance_id: str, expected: Any, timeout: float = 20.0
) -> InstanceStatus:
    """Wait until the instance's custom status (JSON) equals ``expected``."""

    async def probe() -> InstanceStatus | None:
        status = await host.management.get_status(instance_id)
        if (
            status is not None
            and status.custom_status not in (None, "")
            and json.loads(status.custom_status) == expected
        ):
            return status
        return None

    return await until(probe, timeout, what=f"custom status {expected!r} of {instance_id}")


async def until_status(
    host: AppHost, instance_id: str, runtime_status: str, timeout: float = 20.0
) -> InstanceStatus:
    async def probe() -> InstanceStatus | None:
        status = await host.management.get_status(instance_id)
        return status if status is not None and status.runtime_status == runtime_status else None

    return await until(probe, timeout, what=f"{instance_id} to be {runtime_status}")


async def raise_event(host: AppHost, instance_id: str, name: str, value: Any) -> None:
    """Raise ``name`` with ``value`` as the SDK client does (its data is the JSON text)."""
    await host.management.raise_event(instance_id, name, json.dumps(value))


def output(status: InstanceStatus) -> Any:
    """The instance's output as a Python value."""
    assert status.output is not None
    return json.loads(status.output)


def event_types(history: list[dict[str, Any]]) -> list[str]:
    """The history's event type names (e.g. ``TaskScheduled``)."""
    from host.durable.replay.history import EventType

    return [EventType(int(e["EventType"])).name for e in history]
