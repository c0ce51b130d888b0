"""The host runtime as the testing toolkit runs it: stubbing invoker, virtual clock, engine knobs.

The virtual clock and the ``EngineOptions`` overrides go into the runtime's typed places
(``HostRuntime.clock``, ``HostRuntime.durable_overrides``), where the components read them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from host.clock import Clock
from host.config.settings import HostSettings
from host.errors import HostError
from host.indexing.registry import Registry
from host.runtime import HostRuntime
from host.storage.interface import Storage
from host.testing.stubs import ActivityStubs, TestingInvoker


class TestingRuntime(HostRuntime):
    """A :class:`HostRuntime` whose invoker records activity calls and applies stubs."""

    __test__ = False

    def __init__(
        self,
        settings: HostSettings,
        *,
        storage: Storage,
        registry: Registry,
        clock: Clock | None = None,
        durable_overrides: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(
            settings, storage=storage, registry=registry, clock=clock, durable_overrides=durable_overrides
        )
        self.stubs = ActivityStubs(registry)
        self._testing_invoker: TestingInvoker | None = None

    def _create_invoker(self) -> TestingInvoker:
        self._testing_invoker = TestingInvoker(self.registry, settings=self.settings, stubs=self.stubs)
        return self._testing_invoker

    @property
    def testing_invoker(self) -> TestingInvoker:
        """The invoker, as the stubbing, recording kind it is here."""
        if self._testing_invoker is None:
            raise HostError("the host has not been started yet")
        return self._testing_invoker
