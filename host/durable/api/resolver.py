"""Which :class:`~host.durable.management.Management` serves a ``taskHub``/``connection`` pair.

The host's own hub is served by the management its durable service holds (the one that hands
starts to the in-process engine); other hubs and accounts get a plain :class:`Management`.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from host.durable.api.backend import TaskHubNotFoundError
from host.durable.api.parsing import BadRequest
from host.durable.management import Management
from host.durable.taskhub.hub import TaskHub
from host.durable.taskhub.names import (
    DEFAULT_HUB_NAME,
    DEFAULT_PARTITION_COUNT,
    MAX_PARTITION_COUNT,
    TaskHubNames,
    default_hub_name,
    validate_hub_name,
)
from host.errors import ConfigError, DurableError, HostError

if TYPE_CHECKING:
    from host.runtime import HostRuntime
    from host.storage.connection import StorageAccount
    from host.storage.interface import Storage


class ManagementResolver:
    """Managements by (hub, connection), cached; the host's own hub and account by default.

    ``own`` (when given) is the management of the engine's hub in this process, so its
    in-process hand-over and wake-ups serve API operations.
    """

    def __init__(self, runtime: HostRuntime, *, own: Management | None = None) -> None:
        self._runtime = runtime
        self._own = own
        self._default_name = own.task_hub if own is not None else default_hub_name(runtime.settings)
        self._backends: dict[tuple[str, str | None], Management] = {}
        self._storages: dict[str, Storage] = {}

    async def __call__(
        self, task_hub: str | None, connection: str | None, *, create: bool = False
    ) -> Management:
        try:
            name = validate_hub_name(task_hub, setting="taskHub") if task_hub else self._default_name
        except ConfigError as e:
            raise BadRequest(str(e)) from None
        conn = None if (connection or "Storage") in ("Storage", "AzureWebJobsStorage") else connection
        key = (name.lower(), conn)
        found = self._backends.get(key)
        if found is None:
            own = conn is None and name.lower() == self._default_name.lower()
            if own and self._own is not None:
                found = self._own
            else:
                # This host's client stamps its defaultVersion whichever hub it starts in.
                default_version = self._own.default_version if self._own is not None else ""
                hub = await self._open(name, conn, create=create or own)
                found = Management(hub, default_version=default_version)
            self._backends[key] = found
        return found

    async def _open(self, name: str, connection: str | None, *, create: bool) -> TaskHub:
        """The hub ``name`` as it exists (a read creates nothing), or created when ``create``."""
        storage = self._storage(connection)
        try:
            names, exists = await discover_hub(storage, name)
        except HostError:
            raise
        except Exception as e:  # a client error may show the account's endpoint, never more
            raise DurableError(
                f"connection '{connection or 'Storage'}': the storage account cannot be "
                f"reached ({type(e).__name__})"
            ) from None
        hub = TaskHub(storage, names)
        if not exists:
            if not create:
                raise TaskHubNotFoundError(
                    f"Task hub '{name}' does not exist in the storage account of "
                    f"connection '{connection or 'Storage'}'."
                )
            await hub.create()
        return hub

    def _storage(self, connection: str | None) -> Storage:
        if connection is None:
            return self._runtime.storage
        found = self._storages.get(connection)
        if found is None:
            from host.storage.factory import open_storage
            from host.storage.resolve import storage_account

            problem = (
                f"connection '{connection}' is not an app setting holding a valid storage connection "
                "string (nor identity-based settings)"
            )
            try:
                account = storage_account(self._runtime.settings, connection)
            except ConfigError:  # its message may quote part of the setting's value
                raise BadRequest(problem) from None
            if account is None:
                raise BadRequest(problem)
            found = self._storages[connection] = open_storage(account)
        return found

    async def close(self) -> None:
        """Close the storage clients of other accounts this resolver opened."""
        for storage in self._storages.values():
            await storage.close()
        self._storages.clear()


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
async def direct_management(
    connection: str | StorageAccount, hub: str | None, *, create: bool = False, default_version: str = ""
) -> AsyncIterator[Management]:
    """The management of a hub straight over storage (the CLI without a running host).

    The hub must exist unless ``create`` is set (then what is missing is created).
    """
    from host.storage.factory import open_storage

    name = validate_hub_name(hub, setting="--hub") if hub else DEFAULT_HUB_NAME
    storage = open_storage(connection)
    try:
        names, exists = await discover_hub(storage, name)
        task_hub = TaskHub(storage, names)
        if create:
            await task_hub.create()
        elif not exists:
            raise DurableError(
                f"task hub '{name}' does not exist in this storage account "
                f"(--hub names another one; starting an orchestration creates it)"
            )
        yield Management(task_hub, default_version=default_version)
    finally:
        await storage.close()
