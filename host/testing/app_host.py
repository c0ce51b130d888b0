"""An in-process host for tests: the app indexed and run without a subprocess or a socket.

``async with AppHost(app_dir, storage="memory") as app:`` indexes the app, opens the storage
(in memory, or the Azure Storage account of ``connection_string``), starts every component on a
fresh task hub and gives an ``httpx.AsyncClient`` bound to the ASGI app (``app.client``), the
durable client (``app.durable_client``), activity stubs, and — with ``virtual_time=True`` — a
virtual clock that moves only by :meth:`AppHost.advance` or, while a test waits for an
instance, by itself whenever nothing but timers is pending.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import httpx

from host.config.settings import HostSettings, load_settings
from host.durable.management import Management
from host.durable.taskhub.rows import InstanceStatus
from host.errors import ConfigError, HostError
from host.indexing.loader import index_app
from host.indexing.registry import Registry
from host.storage.interface import Storage
from host.testing import sdk_routing
from host.testing.clock import VirtualClock
from host.testing.durable_client import DurableClient
from host.testing.events import HistoryEvent
from host.testing.idle import IdleDetector
from host.testing.runtime import TestingRuntime
from host.testing.stubs import ActivityCall, Stub
from host.testing.tracking import TrackingStorage

if TYPE_CHECKING:
    from host.durable.service import DurableService
    from host.testing.sync import SyncApp

MEMORY = "memory"
AZURITE = "azurite"
_UNSET: Any = object()


class AppHost:
    """One app running in this process (use as an async context manager).

    ``storage``: ``"memory"`` (default without ``connection_string``), ``"azurite"`` (the
    account of ``connection_string``, else ``AzureWebJobsStorage`` from the app's settings) or a
    :class:`Storage`. ``hub_name``: default a fresh name, so every app (test) has its own hub.
    ``virtual_time`` (default on): run the engine, storage and timer triggers on a :class:`VirtualClock`;
    ``auto_advance``: let waits skip time when only timers are pending.
    """

    def __init__(
        self,
        app_dir: Path | str,
        *,
        storage: str | Storage | None = None,
        connection_string: str | None = None,
        hub_name: str | None = None,
        settings: Mapping[str, str] | None = None,
        host_json: Mapping[str, Any] | None = None,
        port: int = 7071,
        virtual_time: bool = True,
        auto_advance: bool = True,
        start_time: datetime | None = None,
        partition_table: bool = False,
        registry: Registry | None = None,
    ) -> None:
        self.app_dir = Path(app_dir).resolve()
        self.hub_name = hub_name or f"t{uuid.uuid4().hex[:16]}"
        kind = storage if isinstance(storage, str) or storage is None else "custom"
        if kind is None:
            kind = AZURITE if connection_string else MEMORY
        if kind not in (MEMORY, AZURITE, "custom"):
            raise ConfigError(f"storage must be 'memory', 'azurite' or a Storage, not {storage!r}")
        self.storage_kind = kind
        self._given_storage = None if isinstance(storage, str) else storage
        self._connection_string = connection_string
        env = dict(os.environ)
        env.pop("AzureWebJobsStorage", None)
        if connection_string:
            env["AzureWebJobsStorage"] = connection_string
        env.update(settings or {})
        env["AzureFunctionsJobHost__extensions__durableTask__hubName"] = self.hub_name
        # Per-app host id: timer-trigger status blobs and locks are keyed by it.
        env.setdefault("AzureFunctionsWebHost__hostid", self.hub_name.lower())
        env.update(_flatten("AzureFunctionsJobHost", dict(host_json or {})))
        self._environ = env
        self._port = port
        self.clock: VirtualClock | None = VirtualClock(start_time) if virtual_time else None
        self.auto_advance = auto_advance
        self._overrides: dict[str, Any] = {} if partition_table else {"use_partition_table": False}
        self._registry = registry
        self._restore_env: dict[str, str | None] = {}
        self.runtime: TestingRuntime | None = None
        self.client: httpx.AsyncClient | None = None
        self.storage: TrackingStorage | None = None
        self.idle: IdleDetector | None = None
        self._durable_client: DurableClient | None = None
        self._scheduled: asyncio.Event | None = None

    # ------------------------------------------------------------------ life cycle
    @property
    def settings(self) -> HostSettings:
        return self._runtime.settings

    @property
    def registry(self) -> Registry:
        return self._runtime.registry

    @property
    def _runtime(self) -> TestingRuntime:
        if self.runtime is None:
            raise HostError("the app is not running (use 'async with AppHost(...)')")
        return self.runtime

    async def __aenter__(self) -> AppHost:
        await self.start_app()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop_app()

    def __enter__(self) -> SyncApp:
        """Run the app on a background loop for synchronous tests."""
        from host.testing.sync import SyncApp

        self._sync = SyncApp(self)
        return self._sync.open()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._sync.close()

    async def start_app(self) -> None:
        """Index, open storage, start the components (what ``async with`` does)."""
        settings = load_settings(self.app_dir, port=self._port, azurite=False, environ=self._environ)
        self._apply_environ(settings)
        try:
            registry = self._registry or index_app(settings, chdir=False)
            inner = await self._open_storage(settings)
            self.storage = TrackingStorage(inner, tracked_prefix=self.hub_name)
            runtime = TestingRuntime(
                settings,
                storage=self.storage,
                registry=registry,
                clock=self.clock,
                durable_overrides=self._overrides,
            )
            self.runtime = runtime
            await runtime.start()
            from host.http.app import build_app

            app = build_app(runtime)
            runtime.mark_running()
            self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=runtime.base_url)
            sdk_routing.register(runtime.base_url, self.client)
            service = runtime.durable
            self.idle = IdleDetector(
                storage=self.storage,
                invocations=runtime.testing_invoker.in_flight,
                engine=service.engine if service is not None else None,
            )
            self._scheduled = asyncio.Event()
            if self.clock is not None:
                self.clock.on_schedule = self._scheduled.set
        except BaseException:
            await self.stop_app()
            raise

    async def stop_app(self) -> None:
        """Stop the components, close storage, restore the environment."""
        try:
            if self.client is not None:
                sdk_routing.unregister(self.client)
                await self.client.aclose()
            if self.runtime is not None:
                await self.runtime.stop()
            if self.storage is not None and self._given_storage is None:
                await self.storage.inner.close()
        finally:
            self.client = None
            for key, value in self._restore_env.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            self._restore_env.clear()

    async def _open_storage(self, settings: HostSettings) -> Storage:
        if self._given_storage is not None:
            return self._given_storage
        if self.storage_kind == MEMORY:
            from host.storage.memory import MemoryStorage

            return MemoryStorage(clock=self.clock)
        from host.storage import open_storage
        from host.storage.resolve import storage_account

        account = self._connection_string or storage_account(settings)
        if not account:
            raise ConfigError(
                "storage='azurite' needs a connection string: pass connection_string= or set "
                "AzureWebJobsStorage (or its identity-based settings) in local.settings.json"
            )
        return open_storage(account)

    def _apply_environ(self, settings: HostSettings) -> None:
        """App settings into ``os.environ`` while the app runs, as the real host does."""
        for key, value in self._environ.items():
            if (
                key.startswith(("AzureFunctionsJobHost__", "AzureFunctionsWebHost__"))
                or os.environ.get(key) == value
            ):
                continue
            self._restore_env.setdefault(key, os.environ.get(key))
            os.environ[key] = value

    # ------------------------------------------------------------------ durable
    @property
    def durable(self) -> DurableService:
        """The durable service (``.hub``, ``.engine``)."""
        service = self._runtime.durable
        if service is None:
            raise HostError("the app has no durable functions")
        return service

    @property
    def management(self) -> Management:
        return self.durable_client.management

    @property
    def durable_client(self) -> DurableClient:
        """The in-process durable client of the app's task hub."""
        if self._durable_client is None:
            drive = self._drive_time if self.clock is not None and self.auto_advance else None
            self._durable_client = DurableClient(self.durable.hub, self.durable.engine, drive)
        return self._durable_client

    async def start(self, name: str, input: Any = None, *, instance_id: str | None = None) -> str:
        """Start orchestration ``name`` with ``input`` (a JSON-serializable value)."""
        return await self.durable_client.start_new(name, instance_id, input)

    async def wait(self, instance_id: str, timeout: float = 30.0) -> InstanceStatus:
        """Wait until the instance is Completed, Failed or Terminated; returns its status row."""
        return await self.durable_client.wait_for_completion(instance_id, timeout)

    async def run(
        self, name: str, input: Any = None, *, timeout: float = 30.0, expect: str | None = None
    ) -> InstanceStatus:
        """Start ``name`` and wait for it to finish (``expect="Completed"`` checks the outcome)."""
        return await self.durable_client.run(name, input, timeout=timeout, expect=expect)

    async def raise_event(self, instance_id: str, name: str, data: Any = None) -> None:
        await self.durable_client.raise_event(instance_id, name, data)

    async def history(self, instance_id: str) -> list[HistoryEvent]:
        return await self.durable_client.history(instance_id)

    def output(self, status: InstanceStatus) -> Any:
        return None if status.output is None else json.loads(status.output)

    # ------------------------------------------------------------------ stubs and calls
    def stub(self, name: str, func: Callable[[Any], Any] | None = None, *, result: Any = _UNSET) -> Stub:
        """Replace activity ``name`` with ``func(input)`` or a fixed ``result`` for this app's life."""
        if result is _UNSET:
            return self._runtime.stubs.stub(name, func)
        return self._runtime.stubs.stub(name, func, result=result)

    def calls(self, name: str | None = None) -> list[ActivityCall]:
        """Every activity call so far (of ``name``, when given), in order."""
        return self._runtime.stubs.calls_of(name)

    def invocations(self, name: str | None = None) -> list[str]:
        """Names of the functions invoked so far (only ``name``, when given), any trigger, in order."""
        invoked: list[str] = self._runtime.testing_invoker.invoked
        return [n for n in invoked if name is None or n == name]

    # ------------------------------------------------------------------ time
    def _virtual(self) -> VirtualClock:
        if self.clock is None:
            raise HostError("this app runs on real time: start it with virtual_time=True")
        return self.clock

    def now(self) -> datetime:
        """The app's current time (virtual or real)."""
        return self.clock.now() if self.clock is not None else datetime.now().astimezone()

    async def settle(self, timeout: float = 30.0) -> None:
        """Wait until the app has nothing to do but wait (for time, events or requests)."""
        assert self.idle is not None
        await self.idle.settle(timeout)

    async def advance(
        self,
        delta: timedelta | None = None,
        *,
        days: float = 0,
        hours: float = 0,
        minutes: float = 0,
        seconds: float = 0,
    ) -> None:
        """Move virtual time forward, firing due timers in order and letting the app settle after each."""
        step = (
            delta
            if delta is not None
            else timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
        )
        await self.advance_to(self._virtual().now() + step)

    async def advance_to(self, when: datetime) -> None:
        clock = self._virtual()
        await self.settle()
        while (due := clock.next_due()) is not None and due <= when:
            clock.jump_to(due)
            await self.settle()
        clock.jump_to(when)
        await self.settle()

    async def _drive_time(self, until: asyncio.Future[Any]) -> None:
        """Skip to the next timer whenever the app is idle, until ``until`` is done.

        Sleeps while no timer is pending (a new timer wakes it), so runs without timers pay nothing.
        """
        clock = self._virtual()
        assert self._scheduled is not None
        scheduled = self._scheduled
        while not until.done():
            scheduled.clear()
            if clock.next_due() is None:
                waiter = asyncio.ensure_future(scheduled.wait())
                try:
                    await asyncio.wait([until, waiter], return_when=asyncio.FIRST_COMPLETED)
                finally:
                    waiter.cancel()
                continue
            await self.settle()
            if until.done():
                return
            due = clock.next_due()
            if due is not None:
                clock.jump_to(due)


def _flatten(prefix: str, value: Mapping[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, inner in value.items():
        path = f"{prefix}__{key}"
        if isinstance(inner, Mapping):
            out.update(_flatten(path, inner))
        else:
            out[path] = json.dumps(inner) if isinstance(inner, bool) else str(inner)
    return out
