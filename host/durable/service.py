"""The durable component of the host: the engine for the app's task hub, the client binding and
the HTTP API (``create_services(runtime)`` is called by :mod:`host.runtime`)."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
import socket
from typing import TYPE_CHECKING, Any

from host.clock import Clock
from host.durable.api.admin import admin_instance_routes
from host.durable.api.binding import close_sdk_client_session, install
from host.durable.api.inspect_routes import inspect_routes
from host.durable.api.resolver import ManagementResolver
from host.durable.engine.dispatcher import DurableEngine
from host.durable.engine.foreign import warn_about_foreign_instances
from host.durable.engine.options import EngineOptions
from host.durable.inspect.inspector import HubInspector
from host.durable.management import Management
from host.durable.taskhub.hub import TaskHub, TaskHubNames
from host.errors import HostError
from host.indexing.registry import (
    ACTIVITY_TRIGGER,
    DURABLE_CLIENT,
    ENTITY_TRIGGER,
    ORCHESTRATION_TRIGGER,
    Registry,
)

if TYPE_CHECKING:
    from host.runtime import HostRuntime

log = logging.getLogger("host.durable")

DURABLE_TRIGGERS = (ORCHESTRATION_TRIGGER, ACTIVITY_TRIGGER, ENTITY_TRIGGER)


def uses_durable(registry: Registry) -> bool:
    """Whether the app has durable functions or a durable client binding."""
    return any(
        f.trigger_type in DURABLE_TRIGGERS or any(b.type == DURABLE_CLIENT for b in f.bindings)
        for f in registry
    )


def stable_worker_id(runtime: HostRuntime) -> str:
    """Machine, app folder and port: a restarted host gets its partitions back at once, while two
    hosts on one machine (necessarily on different ports) stay distinct."""
    root = hashlib.sha1(str(runtime.settings.script_root).encode()).hexdigest()[:8]
    return f"{socket.gethostname()}-{root}-{runtime.settings.port}"


def engine_options(runtime: HostRuntime) -> EngineOptions:
    section = runtime.settings.get_path("extensions.durableTask") or {}
    return EngineOptions.from_host_json(section if isinstance(section, dict) else {})


class DurableService:
    """Starts and stops the engine of the app's default task hub."""

    def __init__(self, runtime: HostRuntime, options: EngineOptions, *, clock: Clock | None = None) -> None:
        self.runtime = runtime
        self.options = options
        names = TaskHubNames(options.hub_name, options.partition_count)
        self.hub = TaskHub(runtime.storage, names, clock=clock.now if clock is not None else None)
        self.engine = DurableEngine(
            self.hub,
            runtime.registry,
            runtime.invoker,
            options,
            clock=clock,
            worker_id=stable_worker_id(runtime),
        )
        self.management = Management(
            self.hub, self.engine, default_version=options.versioning.default_version
        )
        self.inspector = HubInspector(self.hub, this_host=self.engine.worker_id)
        """Read-only views of the hub (listing, entities, health) for the dashboard and admin API."""
        self.resolver: ManagementResolver | None = None
        self._foreign_check: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.engine.start()
        log.info(
            "Durable task hub %s: %d partitions, worker %s",
            self.options.hub_name,
            self.options.partition_count,
            self.engine.worker_id,
        )
        self._foreign_check = asyncio.create_task(self._check_foreign(), name="foreign-instances")

    async def _check_foreign(self) -> None:
        """Warn about other apps' unfinished instances in the hub (off the start-up path)."""
        try:
            await warn_about_foreign_instances(self.hub, self.runtime.registry)
        except (HostError, OSError) as err:  # a check, not a duty: storage trouble shows elsewhere
            log.debug(
                "could not look for other apps' instances in task hub %s: %s", self.options.hub_name, err
            )

    async def stop(self) -> None:
        if self._foreign_check is not None:
            self._foreign_check.cancel()
            await asyncio.gather(self._foreign_check, return_exceptions=True)
        await self.engine.stop()
        if self.resolver is not None:
            await self.resolver.close()  # storage clients of other accounts named by bindings
        await close_sdk_client_session()


def create_services(runtime: HostRuntime) -> list[Any]:
    """The durable engine service, plus the client binding and HTTP API routes."""
    if not uses_durable(runtime.registry) or not runtime.has_storage:
        return []
    options = engine_options(runtime)
    if runtime.durable_overrides:  # knobs an embedding host (the testing toolkit) sets
        options = dataclasses.replace(options, **runtime.durable_overrides)
    service = DurableService(runtime, options, clock=runtime.clock)
    runtime.register_durable(service)
    service.resolver = ManagementResolver(runtime, own=service.management)
    install(runtime, service.resolver)
    engine = service.engine
    runtime.routes.extend(
        admin_instance_routes(
            service.management,
            engine,
            engine.orchestrator_handle,
            keys=runtime.keys,
            app_root=runtime.settings.script_root,
        )
    )
    runtime.routes.extend(inspect_routes(service.inspector, runtime.keys))
    return [service]
