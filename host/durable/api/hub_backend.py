"""The HTTP API's :class:`ClientBackend` over a task hub and the engine's management operations.

Reads (status, history, queries, purge, entity state and listings, hub deletion) go straight to
:class:`host.durable.taskhub.hub.TaskHub`; operations that change an instance (start, events,
terminate, suspend, resume, rewind, restart, entity signals) go to the engine's management
layer (:class:`EngineOps`, implemented by ``host.durable.management``).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from host.durable.api.backend import ClientBackend, EntityQuery, InstanceQuery, TaskHubNotFoundError
from host.durable.api.parsing import BadRequest
from host.durable.entities.ids import EntityId
from host.durable.entities.query import (
    ContinuationTokenError,
    entity_key_range,
    query_entities,
    read_entity_state,
)
from host.durable.entities.query import EntityQuery as RowQuery
from host.durable.taskhub.hub import TaskHub
from host.durable.taskhub.instances import instance_filter
from host.durable.taskhub.names import (
    DEFAULT_HUB_NAME,
    DEFAULT_PARTITION_COUNT,
    MAX_PARTITION_COUNT,
    TaskHubNames,
    default_hub_name,
    validate_hub_name,
)
from host.durable.taskhub.rows import InstanceStatus
from host.errors import ConfigError, DurableError, HostError

if TYPE_CHECKING:
    from host.runtime import HostRuntime
    from host.storage.interface import Storage


BAD_CONTINUATION = ("The continuation token (x-ms-continuation-token) is not one this host handed out: "
                    "send back the header of the previous page unchanged.")


class EngineOps(Protocol):
    """The engine's instance-changing operations on one task hub (``host.durable.management``)."""

    async def start(self, name: str, instance_id: str, input_json: str | None,
                    *, version: str | None = None) -> None: ...

    async def raise_event(self, instance_id: str, name: str, data_json: str | None,
                          *, check: bool = True) -> None: ...

    async def terminate(self, instance_id: str, reason: str | None) -> None: ...

    async def suspend(self, instance_id: str, reason: str | None) -> None: ...

    async def resume(self, instance_id: str, reason: str | None) -> None: ...

    async def rewind(self, instance_id: str, reason: str | None) -> None: ...

    async def restart(self, instance_id: str, *, new_instance_id: bool) -> str: ...

    async def signal_entity(self, entity: EntityId, operation: str, input_json: str | None) -> None: ...


OpsFactory = Callable[[TaskHub], EngineOps]


def default_ops(hub: TaskHub) -> EngineOps:
    """The engine's management operations for ``hub``."""
    from host.durable.management import Management

    ops: EngineOps = Management(hub)
    return ops


class HubBackend(ClientBackend):
    """One task hub as the HTTP API sees it."""

    def __init__(self, hub: TaskHub, ops: EngineOps) -> None:
        self.hub = hub
        self.ops = ops

    @property
    def task_hub(self) -> str:
        return self.hub.names.hub

    async def get_status(self, instance_id: str, *, show_input: bool = True) -> InstanceStatus | None:
        if instance_id.startswith("@"):
            return None
        return await self.hub.get_instance(instance_id)

    async def get_history(self, instance_id: str) -> list[dict[str, Any]]:
        return (await self.hub.load_history(instance_id)).events

    async def query(self, query: InstanceQuery) -> tuple[list[Any], str | None]:
        if query.prefix:
            try:  # the prefix becomes a key range in a storage filter
                instance_filter(instance_id_prefix=query.prefix)
                query.prefix.encode("utf-8")
            except ValueError:
                raise BadRequest(f"instanceIdPrefix {query.prefix[:60]!r} cannot be used in a storage "
                                 f"query.") from None
        try:
            return await self.hub.query_instances(
                query.statuses or None, query.created_from, query.created_to, query.prefix,
                top=query.top, continuation=query.continuation, include_input_output=True,
            )
        except ValueError:  # the storage layer's word for a token it never handed out
            if query.continuation:
                raise BadRequest(BAD_CONTINUATION) from None
            raise

    async def purge(self, instance_id: str) -> int:
        return await self.hub.purge_instance(instance_id)

    async def purge_by(self, created_from: datetime, created_to: datetime | None,
                       statuses: Sequence[str]) -> int:
        return await self.hub.purge_instances(created_from, created_to or self.hub.now(), statuses or None)

    async def read_entity(self, entity: EntityId) -> tuple[bool, Any]:
        row = await self.hub.get_instance(entity.instance_id)
        return read_entity_state(row.input) if row is not None else (False, None)

    async def query_entities(self, query: EntityQuery) -> tuple[list[dict[str, Any]], str | None]:
        low, _ = entity_key_range(query.name)
        rows, _ = await self.hub.query_instances(instance_id_prefix=low, include_input_output=True,
                                                 exclude_entities=False)
        try:
            page = query_entities(rows, RowQuery(
                name=query.name, fetch_state=query.fetch_state, top=query.top,
                last_operation_from=query.last_operation_from, last_operation_to=query.last_operation_to,
                continuation_token=query.continuation))
        except ContinuationTokenError:
            raise BadRequest(BAD_CONTINUATION) from None
        return page.entities, page.continuation_token

    async def delete_hub(self) -> None:
        await self.hub.delete()

    async def wait_terminal(self, instance_id: str, timeout: float) -> None:
        engine = getattr(self.ops, "engine", None)  # EngineManagement: the engine runs here
        if engine is not None and engine.hub is self.hub:
            await engine.wait_terminal(instance_id, timeout)
        else:
            await asyncio.sleep(timeout)

    async def start(self, name: str, instance_id: str, input_json: str | None,
                    *, version: str | None = None) -> None:
        await self.ops.start(name, instance_id, input_json, version=version)

    async def raise_event(self, instance_id: str, name: str, data_json: str) -> None:
        # the route has read the row already (404/410 before 400): no second read
        await self.ops.raise_event(instance_id, name, data_json, check=False)

    async def terminate(self, instance_id: str, reason: str | None) -> None:
        await self.ops.terminate(instance_id, reason)

    async def suspend(self, instance_id: str, reason: str | None) -> None:
        await self.ops.suspend(instance_id, reason)

    async def resume(self, instance_id: str, reason: str | None) -> None:
        await self.ops.resume(instance_id, reason)

    async def rewind(self, instance_id: str, reason: str | None) -> None:
        await self.ops.rewind(instance_id, reason)

    async def restart(self, instance_id: str, *, new_instance_id: bool) -> str:
        return await self.ops.restart(instance_id, new_instance_id=new_instance_id)

    async def signal_entity(self, entity: EntityId, operation: str, input_json: str | None) -> None:
        await self.ops.signal_entity(entity, operation, input_json)


class ManagementResolver:
    """Backends by (hub, connection), cached; the host's own hub and account by default.

    ``default_hub`` (when given) returns the engine's own :class:`TaskHub` once it runs, so its
    in-process wake-ups see API operations at once.
    """

    def __init__(self, runtime: HostRuntime, *,
                 default_hub: TaskHub | Callable[[], TaskHub | None] | None = None,
                 default_name: str | None = None, ops_factory: OpsFactory = default_ops) -> None:
        self._runtime = runtime
        if isinstance(default_hub, TaskHub):
            fixed = default_hub
            default_name = default_name or fixed.names.hub
            self._default_hub: Callable[[], TaskHub | None] | None = lambda: fixed
        else:
            self._default_hub = default_hub
        self._default_name = default_name or default_hub_name(runtime.settings)
        self._ops = ops_factory
        self._backends: dict[tuple[str, str | None], HubBackend] = {}
        self._storages: dict[str, Storage] = {}

    async def __call__(self, task_hub: str | None, connection: str | None,
                       *, create: bool = False) -> ClientBackend:
        try:
            name = validate_hub_name(task_hub, setting="taskHub") if task_hub else self._default_name
        except ConfigError as e:
            raise BadRequest(str(e)) from None
        conn = None if (connection or "Storage") in ("Storage", "AzureWebJobsStorage") else connection
        key = (name.lower(), conn)
        found = self._backends.get(key)
        if found is None:
            own = conn is None and name.lower() == self._default_name.lower()
            hub = self._default_hub() if own and self._default_hub else None  # its wake-ups see us
            if hub is None:
                hub = await self._open(name, conn, create=create or own)
            found = self._backends[key] = HubBackend(hub, self._ops(hub))
        return found

    async def _open(self, name: str, connection: str | None, *, create: bool) -> TaskHub:
        """The hub ``name`` as it exists (a read creates nothing), or created when ``create``."""
        storage = self._storage(connection)
        try:
            names, exists = await discover_hub(storage, name)
        except HostError:
            raise
        except Exception as e:  # a client error may show the account's endpoint, never more
            raise DurableError(f"connection '{connection or 'Storage'}': the storage account cannot be "
                               f"reached ({type(e).__name__})") from None
        hub = TaskHub(storage, names)
        if not exists:
            if not create:
                raise TaskHubNotFoundError(f"Task hub '{name}' does not exist in the storage account of "
                                           f"connection '{connection or 'Storage'}'.")
            await hub.create()
        return hub

    def _storage(self, connection: str | None) -> Storage:
        if connection is None:
            return self._runtime.storage
        found = self._storages.get(connection)
        if found is None:
            from host.storage.factory import open_storage

            problem = (f"connection '{connection}' is not an app setting holding a valid storage "
                       f"connection string")
            text = self._runtime.settings.connection(connection)
            if not text:
                raise BadRequest(problem)
            try:
                found = self._storages[connection] = open_storage(text)
            except ConfigError:  # its message may quote part of the setting's value
                raise BadRequest(problem) from None
        return found

    async def close(self) -> None:
        """Close the storage clients of other accounts this resolver opened."""
        for storage in self._storages.values():
            await storage.close()
        self._storages.clear()


def backend_resolver(runtime: HostRuntime, service: Any) -> ManagementResolver:
    """The resolver for a host whose durable service exposes ``hub`` and ``options.hub_name``."""
    return ManagementResolver(runtime, default_hub=lambda: getattr(service, "hub", None),
                              default_name=service.options.hub_name)


async def discover_hub(storage: Storage, hub: str) -> tuple[TaskHubNames, bool]:
    """The names of ``hub`` as it exists in ``storage`` and whether it exists (2 list requests).

    The partition count comes from the hub's control queues, so a client without the host's
    host.json still routes each instance to the queue its engine reads.
    """
    low = hub.lower()
    queues, tables = await asyncio.gather(storage.list_queues(f"{low}-control-"), storage.list_tables(hub))
    pattern = re.compile(rf"{re.escape(low)}-control-(\d\d)")
    found = [int(m.group(1)) for q in queues if (m := pattern.fullmatch(q))]
    count = min(max(found) + 1, MAX_PARTITION_COUNT) if found else DEFAULT_PARTITION_COUNT
    instances = f"{hub}Instances".lower()
    exists = bool(found) or any(t.lower() == instances for t in tables)
    return TaskHubNames(hub, count), exists


@asynccontextmanager
async def direct_backend(connection_string: str, hub: str | None, ops_factory: OpsFactory = default_ops,
                         *, create: bool = False) -> AsyncIterator[HubBackend]:
    """A backend straight over storage (the CLI without a running host).

    The hub must exist unless ``create`` is set (then what is missing is created).
    """
    from host.storage.factory import open_storage

    name = validate_hub_name(hub, setting="--hub") if hub else DEFAULT_HUB_NAME
    storage = open_storage(connection_string)
    try:
        names, exists = await discover_hub(storage, name)
        task_hub = TaskHub(storage, names)
        if create:
            await task_hub.create()
        elif not exists:
            raise DurableError(f"task hub '{name}' does not exist in this storage account "
                               f"(--hub names another one; starting an orchestration creates it)")
        yield HubBackend(task_hub, ops_factory(task_hub))
    finally:
        await storage.close()
