"""What the durable HTTP API needs from the engine: one task hub's management operations.

:class:`ClientBackend` is the narrow surface the routes of :mod:`host.durable.api.routes` call;
:mod:`host.durable.api.hub_backend` adapts the engine's management layer to it. A
:class:`BackendResolver` picks the backend of a ``taskHub``/``connection`` pair (a binding or a
query string may name a second hub or a second storage account).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from host.durable.api.payloads import StatusLike
from host.durable.entities.ids import EntityId
from host.errors import DurableError


class TaskHubNotFoundError(DurableError):
    """A request names a task hub that does not exist (and would not create it): 404."""


@dataclass(frozen=True)
class InstanceQuery:
    """Filters of ``GET/DELETE instances/`` (``None`` = no filter)."""

    created_from: datetime | None = None
    created_to: datetime | None = None
    statuses: tuple[str, ...] = ()
    prefix: str | None = None
    top: int | None = None
    continuation: str | None = None
    show_input: bool = True


@dataclass(frozen=True)
class EntityQuery:
    """Filters of ``GET entities/[{name}]``."""

    name: str | None = None
    last_operation_from: datetime | None = None
    last_operation_to: datetime | None = None
    top: int | None = None
    continuation: str | None = None
    fetch_state: bool = False


class ClientBackend(Protocol):
    """Management operations of one task hub (errors from :mod:`host.errors`)."""

    @property
    def task_hub(self) -> str: ...

    async def get_status(self, instance_id: str, *, show_input: bool = True) -> StatusLike | None:
        """The Instances row of ``instance_id`` (``None`` when unknown)."""
        ...

    async def get_history(self, instance_id: str) -> list[dict[str, Any]]:
        """The latest execution's history events as DTFx event dicts (``EventType`` int or name)."""
        ...

    async def start(self, name: str, instance_id: str, input_json: str | None,
                    *, version: str | None = None) -> None:
        """Create (or replace a finished) instance; InstanceAlreadyExistsError if it runs."""
        ...

    async def query(self, query: InstanceQuery) -> tuple[list[StatusLike], str | None]:
        """One page of orchestration instances (no entities) and the continuation token."""
        ...

    async def raise_event(self, instance_id: str, name: str, data_json: str) -> None:
        """Send an event; the caller has checked that the instance exists and is not finished."""
        ...

    async def terminate(self, instance_id: str, reason: str | None) -> None:
        """InstanceNotFoundError when unknown, InvalidInstanceStateError when finished."""
        ...

    async def suspend(self, instance_id: str, reason: str | None) -> None: ...

    async def resume(self, instance_id: str, reason: str | None) -> None: ...

    async def rewind(self, instance_id: str, reason: str | None) -> None: ...

    async def restart(self, instance_id: str, *, new_instance_id: bool) -> str:
        """Start the instance again with its name and input; returns the (new) instance id."""
        ...

    async def purge(self, instance_id: str) -> int:
        """Delete history, row and blobs of one instance; the number of instances deleted."""
        ...

    async def purge_by(self, created_from: datetime, created_to: datetime | None,
                       statuses: Sequence[str]) -> int: ...

    async def signal_entity(self, entity: EntityId, operation: str, input_json: str | None) -> None: ...

    async def read_entity(self, entity: EntityId) -> tuple[bool, Any]:
        """Whether the entity exists and its state (a JSON value)."""
        ...

    async def query_entities(self, query: EntityQuery) -> tuple[list[dict[str, Any]], str | None]:
        """One page of ``{"entityId": …, "lastOperationTime": …[, "state": …]}`` and its token."""
        ...

    async def delete_hub(self) -> None:
        """Delete every queue, table and container of the task hub."""
        ...

    async def wait_terminal(self, instance_id: str, timeout: float) -> None:
        """Return once this host sees ``instance_id`` finish, or after ``timeout`` seconds.

        Callers re-read the status afterwards: this is a wake-up, not an answer.
        """
        ...


class BackendResolver(Protocol):
    """The backend of a task hub and connection (``None`` = the host's defaults).

    Only with ``create`` (starting an orchestration, signalling an entity) may a hub that does not
    exist yet be created; otherwise that is :class:`TaskHubNotFoundError`.
    """

    async def __call__(self, task_hub: str | None, connection: str | None,
                       *, create: bool = False) -> ClientBackend: ...
