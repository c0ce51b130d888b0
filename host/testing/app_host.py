"""An in-process host for tests: the app indexed and served without a subprocess or a socket.

``async with AppHost(app_dir, connection_string=…) as host:`` indexes the app, connects the
storage, starts every component (the durable engine, trigger listeners) and gives an
``httpx.AsyncClient`` bound to the ASGI app, plus helpers to start orchestrations and wait for
them (woken by the engine, no polling).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from host.config.settings import HostSettings, load_settings
from host.durable.history_rows import InstanceStatus
from host.durable.management import Management
from host.errors import HostError
from host.indexing.loader import index_app
from host.runtime import HostRuntime
from host.storage.interface import Storage


class AppHost:
    """One app running in this process (use as an async context manager)."""

    def __init__(
        self,
        app_dir: Path | str,
        *,
        connection_string: str | None = None,
        storage: Storage | None = None,
        hub_name: str | None = None,
        settings: Mapping[str, str] | None = None,
        host_json: Mapping[str, Any] | None = None,
        port: int = 7071,
    ) -> None:
        self.app_dir = Path(app_dir).resolve()
        self.hub_name = hub_name or f"t{uuid.uuid4().hex[:16]}"
        env = dict(os.environ)
        env.pop("AzureWebJobsStorage", None)
        if connection_string:
            env["AzureWebJobsStorage"] = connection_string
        env.update(settings or {})
        overrides = {"AzureFunctionsJobHost__extensions__durableTask__hubName": self.hub_name}
        for path, value in _flatten("AzureFunctionsJobHost", dict(host_json or {})).items():
            overrides[path] = value
        env.update(overrides)
        self._environ = env
        self._storage = storage
        self._port = port
        self.runtime: HostRuntime | None = None
        self.client: httpx.AsyncClient | None = None

    @property
    def settings(self) -> HostSettings:
        assert self.runtime is not None
        return self.runtime.settings

    async def __aenter__(self) -> AppHost:
        settings = load_settings(self.app_dir, port=self._port, azurite=False, environ=self._environ)
        registry = index_app(settings, chdir=False)
        runtime = HostRuntime(settings, storage=self._storage, registry=registry)
        await runtime.start()
        self.runtime = runtime
        from host.http.app import build_app

        app = build_app(runtime)
        runtime.mark_running()
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=runtime.base_url)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        if self.client is not None:
            await self.client.aclose()
        if self.runtime is not None:
            await self.runtime.stop()

    # ------------------------------------------------------------------ durable helpers
    @property
    def durable(self) -> Any:
        assert self.runtime is not None
        service = getattr(self.runtime, "durable", None)
        if service is None:
            raise HostError("the app has no durable functions")
        return service

    @property
    def management(self) -> Management:
        return self.durable.management  # type: ignore[no-any-return]

    async def start(self, name: str, input: Any = None, *, instance_id: str | None = None) -> str:
        """Start orchestration ``name`` with ``input`` (a JSON-serializable value).

        The input is stored as the SDK's client stores it (JSON text of the JSON text), so
        ``context.get_input()`` gives back ``input`` whatever its type.
        """
        text = None if input is None else json.dumps(json.dumps(input))
        return await self.management.start_orchestration(name, instance_id, text)

    async def wait(self, instance_id: str, timeout: float = 30.0) -> InstanceStatus:
        """Wait until the instance is Completed, Failed or Terminated; returns its status row."""
        engine = self.durable.engine
        status = await self.durable.hub.get_instance(instance_id)
        if status is not None and status.is_terminal:
            return status  # type: ignore[no-any-return]
        finished = await engine.wait_terminal(instance_id, timeout)
        status = await self.durable.hub.get_instance(instance_id)
        if finished is None and (status is None or not status.is_terminal):
            raise TimeoutError(f"instance {instance_id!r} did not finish within {timeout:g} s "
                               f"(status {status.runtime_status if status else 'unknown'})")
        assert status is not None
        return status  # type: ignore[no-any-return]

    async def run(self, name: str, input: Any = None, *, timeout: float = 30.0) -> InstanceStatus:
        """Start ``name`` and wait for it to finish."""
        return await self.wait(await self.start(name, input), timeout)


def _flatten(prefix: str, value: Mapping[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, inner in value.items():
        path = f"{prefix}__{key}"
        if isinstance(inner, Mapping):
            out.update(_flatten(path, inner))
        else:
            out[path] = json.dumps(inner) if isinstance(inner, bool) else str(inner)
    return out
