"""The ``durableClient`` input binding: the JSON string the SDK's client middleware expects.

The SDK builds its own ``DurableOrchestrationClient`` from it and then calls back into this
host at ``rpcBaseUrl`` (served by :mod:`host.durable.api.routes`). A binding's ``task_hub`` and
``connection_name`` are honoured: the payload names them and its ``rpcBaseUrl`` routes to
that hub and account. With ``--enable-auth`` the payload's URLs carry the ``durabletask_extension``
system key (``code=`` in the management URLs, a path segment in ``rpcBaseUrl``), so the SDK's
calls and the check-status URLs it hands out work.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from host.durable.api.payloads import binding_payload, rpc_base_url
from host.durable.taskhub.names import default_hub_name
from host.http.auth import DURABLE_SYSTEM_KEY
from host.indexing.registry import DURABLE_CLIENT, Binding, FunctionInfo

if TYPE_CHECKING:
    from host.durable.api.backend import BackendResolver
    from host.runtime import HostRuntime


class DurableClientProvider:
    """``provider(binding, fn, trigger_metadata) -> str`` for ``Invoker.add_input_provider``."""

    def __init__(
        self, base_url: str, default_hub: str, *, code: str | None = None, resolve: Any = None
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._default_hub = default_hub
        self._code = code
        self._resolve = resolve  # HostSettings.resolve for %setting% values, if given
        self._cache: dict[tuple[str | None, str | None], str] = {}

    def payload(self, task_hub: str | None = None, connection: str | None = None) -> str:
        """The binding JSON for a hub/connection (``None`` = the host's defaults); cached."""
        key = (task_hub, connection)
        found = self._cache.get(key)
        if found is None:
            hub = task_hub or self._default_hub
            explicit_hub = task_hub if task_hub and task_hub != self._default_hub else None
            rpc = rpc_base_url(self._base_url, explicit_hub, connection, code=self._code)
            found = json.dumps(
                binding_payload(
                    self._base_url, task_hub=hub, connection=connection, code=self._code, rpc_base=rpc
                )
            )
            self._cache[key] = found
        return found

    async def __call__(self, binding: Binding, fn: FunctionInfo, metadata: dict[str, Any] | None) -> str:
        hub, connection = binding.get("taskHub"), binding.get("connectionName")
        return self.payload(self._setting(hub), self._setting(connection))

    def _setting(self, value: Any) -> str | None:
        if not value:
            return None
        text = str(value)
        return self._resolve(text) if self._resolve is not None and "%" in text else text


def install(runtime: HostRuntime, resolver: BackendResolver | None = None) -> None:
    """Register the ``durableClient`` provider on the invoker and add the HTTP API routes.

    Call once from the durable component's ``create_services(runtime)`` (the invoker exists then).
    """
    from host.durable.api.routes import create_routes

    keys = runtime.keys
    code = keys.system_key(DURABLE_SYSTEM_KEY) if keys is not None else None
    provider = DurableClientProvider(
        runtime.base_url, default_hub_name(runtime.settings), code=code, resolve=runtime.settings.resolve
    )
    runtime.invoker.add_input_provider(DURABLE_CLIENT, provider)
    runtime.routes.extend(create_routes(runtime, resolver))


async def close_sdk_client_session() -> None:
    """Close the SDK client's shared aiohttp session (its calls back into this host use it).

    The SDK never closes it (the real worker just exits); without this, stopping the host prints
    "Unclosed client session" as the interpreter shuts down.
    """
    import sys

    if "azure.durable_functions.models.utils.http_utils" not in sys.modules:
        return  # no client call was ever made
    from azure.durable_functions.models.utils import http_utils

    await http_utils._close_session()
