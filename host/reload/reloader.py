"""The reload loop of ``python -m host start``: on a saved change, re-read the settings, import
the app fresh, (with ``--reload-strict``) refuse code that breaks in-flight instances, switch the
runtime's components and the served HTTP app to the new app, and print what changed.

A change that fails (settings or import) keeps the old app serving and prints the one-line error;
the next good save loads. What needs a new process (port, address, the ``AzureWebJobsStorage``
account) is reported, not applied; everything else in host.json (the task hub name included)
applies, since the components restart on the new settings.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from host.config.settings import HostSettings
from host.errors import HostError
from host.http.app import build_app
from host.http.auth import lacks_master_key
from host.indexing.loader import index_app
from host.indexing.registry import ORCHESTRATION_TRIGGER, Registry
from host.logs import console
from host.reload.diff import ListingDiff, diff_functions, format_diff
from host.reload.modules import forget_app_modules, restore_modules
from host.reload.safety import SafetyReport, check_hub
from host.reload.watch import app_changes, watch_options
from host.storage.resolve import storage_account

if TYPE_CHECKING:
    from host.runtime import HostRuntime

log = logging.getLogger("host.reload")


def restart_needed(old: HostSettings, new: HostSettings) -> list[str]:
    """What changed between ``old`` and ``new`` that only a restart applies: the port, the address,
    and the host's storage account (a connection string or identity-based settings)."""
    return [
        what
        for what, before, after in (
            ("the port", old.port, new.port),
            ("the address", old.address, new.address),
            ("AzureWebJobsStorage", storage_account(old), storage_account(new)),
        )
        if before != after
    ]


@dataclass(frozen=True)
class ReloadOptions:
    """``start``'s reload options and how to read the settings again with the same CLI options."""

    load_settings: Callable[[], HostSettings]
    enabled: bool = True
    strict: bool = False


class AppSwitch:
    """The ASGI app the server runs: forwards to the host's current app, replaced on reload."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


@dataclass
class ReloadReport:
    """The last reload: what changed, whether it switched, and its replay check."""

    changed_files: list[str] = field(default_factory=list)
    status: str = "none"
    """``none`` (no reload yet), ``reloaded``, ``failed`` (old app serving) or ``refused`` (strict)."""
    error: str | None = None
    diff: ListingDiff = field(default_factory=ListingDiff)
    seconds: float = 0.0
    check: SafetyReport | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "changedFiles": self.changed_files,
            "error": self.error,
            "functions": self.diff.to_json(),
            "seconds": round(self.seconds, 3),
            "replayCheck": self.check.to_json() if self.check is not None else None,
        }


class Reloader:
    """Watches the app of a started ``runtime`` and reloads it; serve :attr:`switch`."""

    def __init__(self, runtime: HostRuntime, options: ReloadOptions) -> None:
        self.runtime = runtime
        self.options = options
        self.switch = AppSwitch(self.build())
        """The app to serve (it follows every reload)."""
        self.last = ReloadReport()
        self._stop = asyncio.Event()
        self._armed = asyncio.Event()
        self._lock = asyncio.Lock()
        self._checks: set[asyncio.Task[None]] = set()
        self._watching: asyncio.Task[None] | None = None

    def build(self) -> ASGIApp:
        """The HTTP app of the runtime's current app, with this reloader's admin endpoints."""
        return build_app(self.runtime, extra_routes=self.routes())

    # ---------------------------------------------------------------- the loop
    async def start(self) -> None:
        """Start watching; the watcher is armed when this returns (a save from then on reloads)."""
        self._watching = asyncio.create_task(self._run(), name="reload-watch")
        armed = asyncio.ensure_future(self._armed.wait())
        await asyncio.wait([armed, self._watching], return_when=asyncio.FIRST_COMPLETED)
        armed.cancel()

    async def _run(self) -> None:
        """Watch and reload until :meth:`stop` (host.json ``fileWatchingEnabled`` false: nothing)."""
        settings = self.runtime.settings
        enabled, dirs = watch_options(settings.host_json, settings.script_root)
        if not enabled:
            console("File watching is off (host.json fileWatchingEnabled): saved changes are not reloaded")
            return
        try:
            async for changed in app_changes(settings.script_root, dirs, self._stop, self._armed):
                try:
                    await self.reload(changed)
                except Exception:  # a bug here must not end the watching
                    log.exception("reload failed")
        except OSError as err:  # e.g. the system's limit of file watches: say so, keep serving
            console("Cannot watch %s for changes (%s): hot reload is off", settings.script_root, err)

    async def stop(self) -> None:
        """Stop watching; a reload under way finishes first, background checks are cancelled."""
        self._stop.set()
        if self._watching is not None:
            async with self._lock:
                self._watching.cancel()
            await asyncio.gather(self._watching, return_exceptions=True)
        for task in list(self._checks):
            task.cancel()
        await asyncio.gather(*self._checks, return_exceptions=True)

    # ---------------------------------------------------------------- one reload
    async def reload(self, changed: list[Path]) -> ReloadReport:
        """Reload the app for ``changed`` files; the old app keeps serving when anything fails."""
        async with self._lock:
            return await self._reload(changed)

    async def _reload(self, changed: list[Path]) -> ReloadReport:
        t0 = time.perf_counter()
        runtime = self.runtime
        old_settings, old_registry = runtime.settings, runtime.registry
        root = old_settings.script_root
        report = ReloadReport(changed_files=[_shown(p, root) for p in changed])
        console("Change detected in %s: reloading", ", ".join(report.changed_files))
        previous: dict[str, Any] = {}
        try:
            settings = self._read_settings(old_settings)
            previous = forget_app_modules(root)
            registry = await asyncio.to_thread(index_app, settings)
        except HostError as err:
            if previous:
                restore_modules(root, previous)
            return self._finish(report, "failed", t0, f"{err} (the previous version keeps serving)")
        report.diff = diff_functions(old_registry, registry)
        if self.options.strict:
            report.check = await self.check(registry, also=old_registry, settings=settings)
            if report.check is not None and not report.check.ok:
                restore_modules(root, previous)
                for line in report.check.lines():
                    console("%s", line)
                why = (
                    "--reload-strict: not switching to code that breaks in-flight instances "
                    "(the previous version keeps serving)"
                )
                return self._finish(report, "refused", t0, why)
        try:
            old_invoker = await runtime.reload(settings, registry)
        except Exception as err:
            console("The new version failed to start (%s): going back to the previous one", err)
            restore_modules(root, previous)
            old_invoker = await runtime.reload(old_settings, old_registry)
            self.switch.app = self.build()
            await old_invoker.aclose()
            return self._finish(report, "failed", t0, str(err))
        self.switch.app = self.build()
        await old_invoker.aclose()
        previous.clear()
        report.seconds = time.perf_counter() - t0
        base = f"http://localhost:{settings.port}"
        console(
            "Reloaded (%dms):\n%s",
            round(report.seconds * 1000),
            format_diff(report.diff, registry, base, settings.route_prefix),
        )
        for warning in registry.warnings:  # likely mistakes the save brought, as start prints them
            if warning not in old_registry.warnings:
                console("%s", warning)
        report.status = "reloaded"
        self.last = report
        if report.check is not None:
            for line in report.check.lines():
                console("%s", line)
        else:
            self._spawn_check(report, registry, old_registry)
        return report

    def _finish(self, report: ReloadReport, status: str, t0: float, error: str) -> ReloadReport:
        report.status, report.error, report.seconds = status, error, time.perf_counter() - t0
        console("Reload %s: %s", status, error)
        self.last = report
        return report

    def _read_settings(self, old: HostSettings) -> HostSettings:
        """The settings again, with local.settings.json ``Values`` re-applied; what only a restart
        changes is kept and reported."""
        removed: dict[str, str] = {}
        if old.environ is os.environ:  # local.settings.json Values were copied there: read them anew
            for key, value in old.values.items():
                if value is not None and os.environ.get(key) == value:
                    removed[key] = os.environ.pop(key)
        try:
            new = self.options.load_settings()
        except HostError:
            os.environ.update(removed)
            raise
        kept = restart_needed(old, new)
        if kept:
            console("Restart the host to apply the change of %s", ", ".join(kept))
        for message in new.messages:  # what start prints (a misspelled key, a bad Value), once
            if message not in old.messages:
                console("%s", message)
        return dataclasses.replace(new, port=old.port, address=old.address)

    # ---------------------------------------------------------------- replay check
    async def check(
        self,
        registry: Registry | None = None,
        *,
        also: Registry | None = None,
        settings: HostSettings | None = None,
    ) -> SafetyReport | None:
        """Replay the hub's unfinished instances of the app's orchestrators (those of ``registry``,
        default the app now, and of ``also``, the app before a change) against ``registry``.

        ``settings``: the settings the new code would run with; when they select another task hub,
        that hub's instances are the ones the new code would run (those of the hub it leaves stay).
        """
        durable = self.runtime.durable
        if durable is None:
            return None
        code = registry or self.runtime.registry
        names = {
            f.durable_name for r in (code, also) if r is not None for f in r.by_trigger(ORCHESTRATION_TRIGGER)
        }
        from host.durable.api.resolver import discover_hub  # the app uses durable functions: loaded
        from host.durable.management import Management
        from host.durable.taskhub.hub import TaskHub
        from host.durable.taskhub.names import default_hub_name

        root = self.runtime.settings.script_root
        hub = default_hub_name(settings) if settings is not None else durable.hub.names.hub
        if hub.lower() == durable.hub.names.hub.lower():
            return await check_hub(durable.management, code, root, orchestrators=names)
        hub_names, exists = await discover_hub(self.runtime.storage, hub)
        if not exists:
            return SafetyReport()  # a new hub: nothing in flight to break
        return await check_hub(
            Management(TaskHub(self.runtime.storage, hub_names)), code, root, orchestrators=names
        )

    def _spawn_check(self, report: ReloadReport, registry: Registry, old: Registry) -> None:
        async def run() -> None:
            try:
                report.check = await self.check(registry, also=old)
            except HostError as err:
                console("Replay check failed: %s", err)
                return
            if report.check is not None:
                for line in report.check.lines():
                    console("%s", line)

        task = asyncio.create_task(run(), name="reload-replay-check")
        self._checks.add(task)
        task.add_done_callback(self._checks.discard)

    # ---------------------------------------------------------------- admin
    def routes(self) -> list[BaseRoute]:
        """``GET /admin/reload`` (the last reload) and ``GET /admin/reload/check`` (a check now);
        with ``--enable-auth`` both need the master key, as every admin endpoint."""

        def denied(request: Request) -> bool:
            return lacks_master_key(self.runtime.keys, request.headers, request.query_params)

        async def last(request: Request) -> Response:
            if denied(request):
                return Response(status_code=401)
            return JSONResponse(self.last.to_json())

        async def check(request: Request) -> Response:
            if denied(request):
                return Response(status_code=401)
            report = await self.check()
            if report is None:
                return JSONResponse(
                    {"ok": True, "checked": 0, "unchecked": 0, "divergences": [], "errors": []}
                )
            return JSONResponse(report.to_json())

        return [
            Route("/admin/reload", last, methods=["GET"]),
            Route("/admin/reload/check", check, methods=["GET"]),
        ]


def _shown(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
