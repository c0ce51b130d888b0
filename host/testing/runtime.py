"""The host runtime as the testing toolkit runs it: stubbing invoker, virtual clock, engine knobs.

Components read two optional runtime attributes: ``clock`` (a :class:`host.durable.engine.clock.Clock`;
the durable engine, its task hub and the timer trigger run on it) and ``durable_overrides``
(``EngineOptions`` fields to replace).
"""

from __future__ import annotations

from typing import Any

from host.config.settings import HostSettings
from host.indexing.registry import Registry
from host.runtime import HostRuntime
from host.storage.interface import Storage
from host.testing.stubs import ActivityStubs, TestingInvoker


class TestingRuntime(HostRuntime):
    """A :class:`HostRuntime` whose invoker records activity calls and applies stubs."""

    __test__ = False

    def __init__(self, settings: HostSettings, *, storage: Storage, registry: Registry,
                 clock: Any = None, durable_overrides: dict[str, Any] | None = None) -> None:
        super().__init__(settings, storage=storage, registry=registry)
        self.clock = clock
        self.durable_overrides = dict(durable_overrides or {})
        self.stubs = ActivityStubs(registry)

    def _create_invoker(self) -> TestingInvoker:
        return TestingInvoker(self.registry, settings=self.settings, stubs=self.stubs)
