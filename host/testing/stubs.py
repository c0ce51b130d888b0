"""Activity stubs and the record of what ran.

``app.stub("send_email", result=None)`` or ``app.stub("charge", lambda order: {...})``
replaces an activity for the app's lifetime; every activity call (stubbed or not) is recorded as
an :class:`ActivityCall` (name, input, result or error) in call order.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from host.errors import HostError
from host.indexing.registry import ACTIVITY_TRIGGER, FunctionInfo, Registry
from host.invocation import RETURN, InvocationResult, Invoker
from host.logs import InvocationScope
from host.testing.tracking import InFlight

_UNSET: Any = object()


@dataclass
class ActivityCall:
    """One activity invocation: its input as the function received it, and what it gave back."""

    name: str
    input: Any
    result: Any = None
    error: BaseException | None = None
    stubbed: bool = False

    @property
    def succeeded(self) -> bool:
        return self.error is None


@dataclass
class Stub:
    """A replacement for one activity; ``calls`` lists the inputs it received, in order."""

    name: str
    func: Callable[[Any], Any] | None = None
    result: Any = None
    calls: list[Any] = field(default_factory=list)

    @property
    def call_count(self) -> int:
        return len(self.calls)

    async def __call__(self, value: Any) -> Any:
        self.calls.append(value)
        if self.func is None:
            return self.result
        out = self.func(value)
        return await out if inspect.isawaitable(out) else out


class ActivityStubs:
    """The stubs of one app and the log of every activity call."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.stubs: dict[str, Stub] = {}
        self.calls: list[ActivityCall] = []

    def stub(self, name: str, func: Callable[[Any], Any] | None = None, *, result: Any = _UNSET) -> Stub:
        """Replace activity ``name`` with ``func(input)`` (sync or async; may raise) or a fixed ``result``."""
        if (func is None) == (result is _UNSET):
            raise HostError("stub() takes either a function or result=..., not both or neither")
        if self.registry.activity(name) is None:
            known = sorted(f.durable_name for f in self.registry.by_trigger(ACTIVITY_TRIGGER))
            raise HostError(
                f"the app has no activity named {name!r} (activities: {', '.join(known) or 'none'})"
            )
        found = Stub(name, func, None if result is _UNSET else result)
        self.stubs[name.lower()] = found
        return found

    def unstub(self, name: str) -> None:
        self.stubs.pop(name.lower(), None)

    def calls_of(self, name: str | None = None) -> list[ActivityCall]:
        """Every recorded call (of activity ``name``, when given), in call order."""
        if name is None:
            return list(self.calls)
        return [c for c in self.calls if c.name.lower() == name.lower()]


class TestingInvoker(Invoker):
    """The host's invoker, plus activity stubs, a call log and an in-flight counter."""

    __test__ = False  # not a pytest test class

    def __init__(self, *args: Any, stubs: ActivityStubs | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stubs = stubs
        self.in_flight = InFlight()
        self.invoked: list[str] = []
        """Names of every function invoked (any trigger), in order."""

    async def invoke(self, fn: FunctionInfo, trigger_value: Any, **kwargs: Any) -> InvocationResult:
        self.invoked.append(fn.name)
        self.in_flight.enter()
        try:
            if self.stubs is None or fn.trigger_type != ACTIVITY_TRIGGER:
                return await super().invoke(fn, trigger_value, **kwargs)
            return await self._activity(self.stubs, fn, trigger_value, **kwargs)
        finally:
            self.in_flight.exit()

    @contextmanager
    def scope(self, fn: FunctionInfo, *, reason: str) -> Iterator[InvocationScope]:
        self.invoked.append(fn.name)
        with super().scope(fn, reason=reason) as scope:
            yield scope

    async def _activity(
        self, stubs: ActivityStubs, fn: FunctionInfo, value: Any, **kwargs: Any
    ) -> InvocationResult:
        stub = stubs.stubs.get(fn.durable_name.lower())
        call = ActivityCall(fn.durable_name, value, stubbed=stub is not None)
        stubs.calls.append(call)
        try:
            if stub is not None:
                call.result = await stub(value)
                encode = kwargs.get("encode_return")
                return InvocationResult(call.result, {RETURN: encode(call.result)} if encode else {})
            result = await super().invoke(fn, value, **kwargs)
            call.result = result.return_value
            return result
        except BaseException as e:
            call.error = e
            raise
