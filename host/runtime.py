"""One host: settings → (Azurite) → storage → index → invoker → component services.

The HTTP server (:mod:`host.serve`) runs on top of a started :class:`HostRuntime`; the testing
toolkit can run one in-process with its own storage. Components are modules with a
``create_services(runtime) -> list[Service]`` factory, listed in :data:`COMPONENTS`; what they
share lives in typed places on the runtime (the invoker, the clock, the durable service registered
with :meth:`HostRuntime.register_durable`), never in attributes they add.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import logging
import socket
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, Protocol

from host.config.settings import HostSettings
from host.errors import ConfigError, HostError
from host.indexing.loader import index_app
from host.indexing.registry import Registry
from host.runtime_storage import connect_storage, plan_azurite, share_azurite
from host.storage.azure.lazy import LazyAzureStorage
from host.storage.interface import Storage
from host.storage.resolve import storage_account

if TYPE_CHECKING:
    from starlette.routing import BaseRoute

    from host.clock import Clock
    from host.durable.service import DurableService
    from host.http.auth import KeyStore
    from host.invocation import Invoker
    from host.invocation_stats import InvocationStats
    from host.storage.azurite_share import AzuriteLease

log = logging.getLogger("host.runtime")

COMPONENTS: tuple[str, ...] = (
    "host.durable.service",
    "host.triggers.service",
    "host.triggers.eventgrid",
    "host.dashboard.component",
)
"""Modules whose ``create_services(runtime)`` the runtime calls (skipped if not present)."""

_STORAGE_BINDINGS = frozenset({"queueTrigger", "queue", "blobTrigger", "blob", "table", "timerTrigger"})
COMPONENT_BINDINGS: dict[str, frozenset[str]] = {
    "host.durable.service": frozenset(
        {"orchestrationTrigger", "activityTrigger", "entityTrigger", "durableClient"}
    ),
    "host.triggers.service": _STORAGE_BINDINGS,
    "host.triggers.eventgrid": frozenset({"eventGridTrigger", "eventGrid"}),
}
"""Binding types a component serves: it is not even imported for an app that uses none of them
(start-up time). Components missing here are always loaded."""

STORAGE_PING_TIMEOUT = 5.0

RuntimeState = Literal["Default", "Initializing", "Running", "Stopping", "Stopped", "Error"]


class Service(Protocol):
    """Something that runs alongside the HTTP server (a trigger listener, the durable engine)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class HostRuntime:
    """The state of one running host, shared by every component."""

    def __init__(
        self,
        settings: HostSettings,
        *,
        storage: Storage | None = None,
        registry: Registry | None = None,
        components: Sequence[str] | None = None,
        clock: Clock | None = None,
        durable_overrides: Mapping[str, Any] | None = None,
    ) -> None:
        self.settings = settings
        self._registry = registry
        self._storage = storage
        self._owns_storage = storage is None
        self._invoker: Invoker | None = None
        self._durable: DurableService | None = None
        self.clock: Clock | None = clock
        """The clock components run on; ``None`` is real time (the testing toolkit plugs in a virtual one)."""
        self.durable_overrides: dict[str, Any] = dict(durable_overrides or {})
        """``EngineOptions`` fields replacing what host.json says (set by an embedding host)."""
        self.base_url = f"http://{_url_host(settings.address)}:{settings.port}"
        self.services: list[Service] = []
        self.routes: list[BaseRoute] = []
        self.components = tuple(COMPONENTS if components is None else components)
        self.azurite: AzuriteLease | None = None
        """This host's lease on the Azurite it started or shares with other hosts."""
        self.state: RuntimeState = "Default"
        """``Default`` → ``Initializing`` → ``Running`` → ``Stopping`` → ``Stopped`` (or ``Error``)."""
        self.errors: list[str] = []
        self.dashboard_path: str | None = None
        """Where the dashboard is served (set by its component; ``None``: not served)."""
        self.warm_modules: list[str] = []
        """Modules to import while Azurite boots (the server adds its HTTP app here)."""
        self.started_at = time.monotonic()
        self.host_id = compute_host_id(settings)
        self._started: list[Service] = []
        self._keys: KeyStore | None = None

    # -- shared state -------------------------------------------------------------------
    @property
    def invoker(self) -> Invoker:
        """Runs the app's functions (created by :meth:`start` before any component)."""
        if self._invoker is None:
            raise HostError("the host has not been started yet")
        return self._invoker

    @property
    def function_stats(self) -> InvocationStats:
        """Invocations, failures and the last error of each function since start (the invoker's)."""
        return self.invoker.stats

    @property
    def durable(self) -> DurableService | None:
        """The durable component's service (``None`` when the app has no durable functions)."""
        return self._durable

    def register_durable(self, service: DurableService) -> None:
        """Where the durable component puts its service (one per runtime; reload replaces it)."""
        self._durable = service

    @property
    def registry(self) -> Registry:
        if self._registry is None:
            raise HostError("the app has not been indexed yet")
        return self._registry

    @property
    def storage(self) -> Storage:
        """The ``AzureWebJobsStorage`` account (ConfigError if the setting is missing)."""
        if self._storage is None:
            raise ConfigError(
                "Missing value for AzureWebJobsStorage in local.settings.json: it is "
                "required for all triggers other than httpTrigger (a connection string, or "
                "AzureWebJobsStorage__accountName for an identity-based connection)"
            )
        return self._storage

    @property
    def keys(self) -> KeyStore | None:
        """The app's keys with ``--enable-auth`` (generated on first use), else ``None``."""
        if self._keys is None and self.settings.enable_auth:
            from host.http.auth import load_keys

            self._keys = load_keys(self.settings, self.registry)
        return self._keys

    @property
    def has_storage(self) -> bool:
        return self._storage is not None

    @property
    def storage_problem(self) -> str | None:
        """What is wrong with the ``AzureWebJobsStorage`` account right now (``None`` while it answers)."""
        storage = self._storage
        return storage.health.problem if isinstance(storage, LazyAzureStorage) else None

    @property
    def ready(self) -> bool:
        """True once indexing, storage, services and (when served) the HTTP listener are up."""
        return self.state == "Running"

    @property
    def uptime_ms(self) -> int:
        return int((time.monotonic() - self.started_at) * 1000)

    def mark_running(self) -> None:
        """Called by the server once it listens (or by an in-process host once started)."""
        self.state = "Running"

    # -- lifecycle ----------------------------------------------------------------------
    async def start(self) -> None:
        """Bring everything up except the HTTP server; on failure undo what was started."""
        self.state = "Initializing"
        loop = asyncio.get_running_loop()
        azurite_future: asyncio.Future[AzuriteLease | None] | None = None
        try:
            connection = storage_account(self.settings) if self._storage is None else None
            plan = plan_azurite(self.settings, connection) if connection else None
            if plan is not None:
                # Azurite boots in a thread while the app is imported on this one.
                azurite_future = loop.run_in_executor(None, share_azurite, plan)
            phase = _Phases()
            if self._registry is None:
                self._registry = index_app(self.settings)
                phase("indexed %d functions", len(self._registry))
                _startup_notes(self.settings, self._registry)
            if azurite_future is not None:
                self._warm_up()
                phase("imported the rest while Azurite starts")
                self.azurite = await azurite_future
                azurite_future = None
                phase("Azurite listening")
            if connection:
                self._storage = await connect_storage(
                    self.settings, connection, STORAGE_PING_TIMEOUT, started_azurite=self.azurite is not None
                )
                phase("storage reachable")
            self._invoker = self._create_invoker()
            for module in self.components:
                self.services.extend(_component_services(module, self))
            phase("created %d services", len(self.services))
            lazy = self._storage if isinstance(self._storage, LazyAzureStorage) else None
            if self.services and lazy is not None and not lazy.materialized:
                lazy.materialize()  # the services will need it: time it on its own
                phase("storage SDKs loaded")
            for service in self.services:
                await service.start()
                self._started.append(service)
            phase("services started")
        except BaseException as e:
            if azurite_future is not None:
                try:
                    self.azurite = await azurite_future
                except Exception:
                    pass
            self.state = "Error"
            self.errors.append(str(e))
            await self.stop(timeout=5.0)
            self.state = "Error"
            raise

    def _warm_up(self) -> None:
        """Import now what start-up will need anyway (the caller waits for Azurite meanwhile)."""
        uses = binding_types(self.registry)
        modules = ["host.invocation", *self.warm_modules]
        modules += [
            m
            for m in self.components
            if m not in COMPONENT_BINDINGS or not COMPONENT_BINDINGS[m].isdisjoint(uses)
        ]
        if not uses <= {"httpTrigger", "http"}:
            modules.append("host.storage.azure.storage")  # the app will touch storage: the SDKs
        for name in modules:
            try:
                importlib.import_module(name)
            except ImportError:
                pass  # a missing optional component: _component_services skips it too

    def _create_invoker(self) -> Invoker:
        from host.invocation import Invoker

        return Invoker(self.registry, settings=self.settings)

    async def reload(self, settings: HostSettings, registry: Registry, timeout: float = 10.0) -> Invoker:
        """Switch to a re-indexed app on the same storage and Azurite: stop the component services
        (running work finishes, waiting work is handed back), then create and start them anew.

        Returns the previous invoker: the caller closes it (``aclose``) once no HTTP request can
        reach it any more.
        """
        await self._stop_services(time.monotonic() + timeout)
        previous = self.invoker
        self.settings, self._registry, self._keys, self._durable = settings, registry, None, None
        self.routes, self.services = [], []
        self._invoker = self._create_invoker()
        self._invoker.stats = previous.stats  # counted since the host started, across reloads
        for module in self.components:
            self.services.extend(_component_services(module, self))
        for service in self.services:
            await service.start()
            self._started.append(service)
        return previous

    async def _stop_services(self, deadline: float) -> None:
        for service in reversed(self._started):
            remaining = max(0.1, deadline - time.monotonic())
            try:
                await asyncio.wait_for(service.stop(), remaining)
            except TimeoutError:
                log.warning("%s did not stop within %.1f s", type(service).__name__, remaining)
            except Exception as e:
                log.warning("%s failed to stop: %s", type(service).__name__, e)
        self._started.clear()

    async def stop(self, timeout: float = 10.0) -> None:
        """Stop services (newest first), close storage, release Azurite (stopped by the last host)."""
        if self.state in ("Stopped", "Stopping"):
            return
        self.state = "Stopping"
        deadline = time.monotonic() + timeout
        await self._stop_services(deadline)
        if self._invoker is not None:
            try:
                await asyncio.wait_for(self._invoker.aclose(), max(0.1, deadline - time.monotonic()))
            except Exception as e:
                log.warning("the invoker failed to close: %s", e)
        if self._storage is not None and self._owns_storage:
            try:
                await asyncio.wait_for(self._storage.close(), 5.0)
            except Exception as e:
                log.debug("closing storage: %s", e)
        if self.azurite is not None:
            azurite, self.azurite = self.azurite, None
            await asyncio.get_running_loop().run_in_executor(None, azurite.release)
        self.state = "Stopped"


class _Phases:
    """Logs each start-up phase with its duration (visible with --verbose)."""

    def __init__(self) -> None:
        self.last = time.perf_counter()

    def __call__(self, what: str, *args: object) -> None:
        now = time.perf_counter()
        log.info(what + " (%dms)", *args, round((now - self.last) * 1000))
        self.last = now


def _startup_notes(settings: HostSettings, registry: Registry) -> None:
    """What Core Tools says at start about host.json and an app without functions."""
    bundle = settings.get_path("extensionBundle")
    if isinstance(bundle, dict):
        log.info(
            "host.json extensionBundle '%s' %s is not needed here: the bindings are built in",
            bundle.get("id", ""),
            bundle.get("version", ""),
        )
    if not len(registry):
        log.warning(
            "No job functions found. %s defines none that this host loads (decorate them with "
            "@app.route, @app.orchestration_trigger, @app.activity_trigger, ...).",
            settings.script_file,
        )


def binding_types(registry: Registry) -> set[str]:
    """Every trigger and binding type the app uses."""
    return {b.type for fn in registry for b in (fn.trigger, *fn.bindings)}


def _component_services(module_name: str, runtime: HostRuntime) -> list[Service]:
    serves = COMPONENT_BINDINGS.get(module_name)
    if serves is not None and serves.isdisjoint(binding_types(runtime.registry)):
        return []
    try:
        found = importlib.util.find_spec(module_name) is not None
    except ModuleNotFoundError:
        found = False
    if not found:
        return []
    module = importlib.import_module(module_name)
    factory = getattr(module, "create_services", None)
    return list(factory(runtime)) if factory is not None else []


def _url_host(address: str) -> str:
    return "127.0.0.1" if address in ("0.0.0.0", "", "::") else address


def _stable_hash(text: str) -> int:
    """C#'s ``h = 23; h = h * 31 + c`` over UTF-16 code units, in int32 arithmetic."""
    data = text.encode("utf-16-le")
    h = 23
    for i in range(0, len(data), 2):
        h = (h * 31 + (data[i] | data[i + 1] << 8)) & 0xFFFFFFFF
    return h - (1 << 32) if h >= (1 << 31) else h


def compute_host_id(settings: HostSettings, machine: str | None = None) -> str:
    """The local host id (``AzureFunctionsWebHost__hostid`` or machine name + script path hash)."""
    explicit = settings.setting("AzureFunctionsWebHost__hostid")
    if explicit:
        return explicit
    name = "".join(c for c in (machine or socket.gethostname()) if c.isalnum())
    hashed = abs(_stable_hash(str(settings.script_root)))
    return f"{name}-{hashed}"[:32].lower().rstrip("-")
