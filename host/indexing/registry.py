"""The registry of indexed functions: what every other part of the host looks functions up in."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

HTTP_TRIGGER = "httpTrigger"
ORCHESTRATION_TRIGGER = "orchestrationTrigger"
ACTIVITY_TRIGGER = "activityTrigger"
ENTITY_TRIGGER = "entityTrigger"
DURABLE_CLIENT = "durableClient"
QUEUE_TRIGGER = "queueTrigger"
TIMER_TRIGGER = "timerTrigger"
BLOB_TRIGGER = "blobTrigger"


@dataclass(frozen=True)
class Binding:
    """One binding of a function, as ``get_dict_repr()`` describes it."""

    name: str
    type: str
    direction: str  # "in", "out" or "inout"
    settings: dict[str, Any] = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        return self.settings.get(key, default)


@dataclass
class FunctionInfo:
    """An indexed function: its name, trigger, bindings and the user callable."""

    name: str
    trigger: Binding
    bindings: list[Binding]
    func: Callable[..., Any]
    source_file: str = ""
    line: int = 0
    sdk_function: Any = field(default=None, repr=False, compare=False)
    """The SDK's ``Function`` object (retry settings, ``http_type``, raw bindings), if indexed."""

    @property
    def trigger_type(self) -> str:
        return self.trigger.type

    @property
    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.func)

    @property
    def durable_name(self) -> str:
        """The name orchestrations/activities/entities are called by (trigger property or name)."""
        key = {
            ORCHESTRATION_TRIGGER: "orchestration",
            ACTIVITY_TRIGGER: "activity",
            ENTITY_TRIGGER: "entityName",
        }.get(self.trigger_type)
        value = self.trigger.get(key) if key else None
        return str(value) if value else self.name

    def input_bindings(self) -> list[Binding]:
        return [b for b in self.bindings if b is not self.trigger and b.direction in ("in", "inout")]

    def output_bindings(self) -> list[Binding]:
        return [b for b in self.bindings if b.direction in ("out", "inout")]


class Registry:
    """All functions of the app, by name, with case-insensitive durable-name lookups."""

    def __init__(self, functions: list[FunctionInfo]) -> None:
        self._by_name: dict[str, FunctionInfo] = {f.name: f for f in functions}
        self._durable: dict[tuple[str, str], FunctionInfo] = {
            (f.trigger_type, f.durable_name.lower()): f
            for f in functions
            if f.trigger_type in (ORCHESTRATION_TRIGGER, ACTIVITY_TRIGGER, ENTITY_TRIGGER)
        }
        self.disabled: list[str] = []
        """Names of functions disabled by ``AzureWebJobs.<name>.Disabled`` (not in the registry)."""
        self.unknown: list[str] = []
        """Names the ``--functions`` allow-list gives that the app does not define."""
        self.warnings: list[str] = []
        """Likely mistakes in the app's code that still index (printed after the listing)."""

    def __iter__(self) -> Iterator[FunctionInfo]:
        return iter(self._by_name.values())

    def __len__(self) -> int:
        return len(self._by_name)

    def get(self, name: str) -> FunctionInfo | None:
        """A function by its exact name, else case-insensitively."""
        found = self._by_name.get(name)
        if found is None:
            lowered = name.lower()
            found = next((f for n, f in self._by_name.items() if n.lower() == lowered), None)
        return found

    def by_trigger(self, trigger_type: str) -> list[FunctionInfo]:
        return [f for f in self._by_name.values() if f.trigger_type == trigger_type]

    def orchestrator(self, name: str) -> FunctionInfo | None:
        return self._durable.get((ORCHESTRATION_TRIGGER, name.lower()))

    def activity(self, name: str) -> FunctionInfo | None:
        return self._durable.get((ACTIVITY_TRIGGER, name.lower()))

    def entity(self, name: str) -> FunctionInfo | None:
        return self._durable.get((ENTITY_TRIGGER, name.lower()))

    def select(self, names: list[str]) -> Registry:
        """Only the named functions (the CLI's ``--functions``)."""
        wanted = {n.lower() for n in names}
        selected = Registry([f for f in self if f.name.lower() in wanted])
        defined = {f.name.lower() for f in self} | {n.lower() for n in self.disabled}
        selected.unknown = [n for n in names if n.lower() not in defined]
        return selected
