"""The in-process app for synchronous tests: ``with function_app("...") as app:``.

The app runs on an event loop in a background thread; every method waits for its result.
``app.client`` is an ``httpx.Client`` whose requests go to the ASGI app in-process.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from host.durable.replay.ledger import Divergence
from host.durable.taskhub.rows import InstanceStatus
from host.testing.events import HistoryEvent
from host.testing.stubs import ActivityCall, Stub

if TYPE_CHECKING:
    from host.testing.app_host import AppHost

T = TypeVar("T")
_UNSET: Any = object()


class _PortalTransport(httpx.BaseTransport):
    """Sends a sync request through the app's async in-process client."""

    def __init__(self, app: SyncApp) -> None:
        self.app = app

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()

        async def send() -> httpx.Response:
            client = self.app.host.client
            assert client is not None
            resp = await client.request(request.method, request.url, headers=request.headers, content=body)
            await resp.aread()
            return resp

        resp = self.app.call(send())
        return httpx.Response(resp.status_code, headers=resp.headers, content=resp.content, request=request)


class SyncApp:
    """A running :class:`AppHost` driven from synchronous code."""

    def __init__(self, host: AppHost) -> None:
        self.host = host
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="funchost-app", daemon=True)
        self.client: httpx.Client | None = None

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the app's loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def open(self) -> SyncApp:
        self._thread.start()
        try:
            self.call(self.host.start_app())
        except BaseException:
            self.close()
            raise
        self.client = httpx.Client(transport=_PortalTransport(self), base_url=self.host._runtime.base_url)
        return self

    def close(self) -> None:
        try:
            if self.client is not None:
                self.client.close()
            if self._thread.is_alive():
                self.call(self.host.stop_app())
        finally:
            if self._thread.is_alive():
                self._loop.call_soon_threadsafe(self._loop.stop)
                self._thread.join(10)
            if not self._loop.is_running():
                self._loop.close()

    # -- the AppHost API, synchronously -------------------------------------------------
    def start(self, name: str, input: Any = None, *, instance_id: str | None = None) -> str:
        return self.call(self.host.start(name, input, instance_id=instance_id))

    def wait(self, instance_id: str, timeout: float = 30.0) -> InstanceStatus:
        return self.call(self.host.wait(instance_id, timeout))

    def run(
        self, name: str, input: Any = None, *, timeout: float = 30.0, expect: str | None = None
    ) -> InstanceStatus:
        return self.call(self.host.run(name, input, timeout=timeout, expect=expect))

    def raise_event(self, instance_id: str, name: str, data: Any = None) -> None:
        self.call(self.host.raise_event(instance_id, name, data))

    def history(self, instance_id: str) -> list[HistoryEvent]:
        return self.call(self.host.history(instance_id))

    def output(self, status: InstanceStatus) -> Any:
        return self.host.output(status)

    def replay_check(self, instance_id: str) -> Divergence | None:
        return self.call(self.host.durable_client.replay_check(instance_id))

    def signal_entity(self, name: str, key: str, operation: str, input: Any = None) -> None:
        self.call(self.host.durable_client.signal_entity(name, key, operation, input))

    def read_entity_state(self, name: str, key: str) -> tuple[bool, Any]:
        return self.call(self.host.durable_client.read_entity_state(name, key))

    def stub(self, name: str, func: Callable[[Any], Any] | None = None, *, result: Any = _UNSET) -> Stub:
        return self.host.stub(name, func) if result is _UNSET else self.host.stub(name, func, result=result)

    def calls(self, name: str | None = None) -> list[ActivityCall]:
        return self.host.calls(name)

    def now(self) -> datetime:
        return self.host.now()

    def settle(self, timeout: float = 30.0) -> None:
        self.call(self.host.settle(timeout))

    def advance(
        self,
        delta: timedelta | None = None,
        *,
        days: float = 0,
        hours: float = 0,
        minutes: float = 0,
        seconds: float = 0,
    ) -> None:
        self.call(self.host.advance(delta, days=days, hours=hours, minutes=minutes, seconds=seconds))
