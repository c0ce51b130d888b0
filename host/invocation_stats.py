"""Invocation counters per function since the host started: count, failures, the last error.

The invoker records every invocation it runs (in this process or a worker process) and every
scope a component runs through it; the durable engine records orchestrator episodes.
Recording is a dictionary update under a lock (invocations finish on the event loop and in
pool threads). :func:`function_overview` joins the counters with the app's functions.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime

from host.errors import HostError
from host.failures import exception_line, first_line
from host.indexing.registry import Registry
from host.logs import InvocationScope


@dataclass(frozen=True)
class FunctionCounters:
    """What one function did since the host started."""

    invocations: int = 0
    failures: int = 0
    total_ms: int = 0
    last_invoked: datetime | None = None
    last_error: str | None = None
    """The last failure in one line (exception type and message)."""
    last_error_time: datetime | None = None

    @property
    def average_ms(self) -> float | None:
        """Mean duration of an invocation in milliseconds (``None`` before the first)."""
        return self.total_ms / self.invocations if self.invocations else None


@dataclass(frozen=True)
class FunctionStats:
    """One function of the app with its counters."""

    name: str
    trigger: str
    """The trigger binding type (``httpTrigger``, ``activityTrigger``, …)."""
    counters: FunctionCounters


@dataclass(frozen=True)
class FunctionOverview:
    """The app's functions by trigger, counted since ``since``."""

    since: datetime
    functions: list[FunctionStats]
    """Sorted by trigger, then name."""

    def by_trigger(self) -> dict[str, list[FunctionStats]]:
        """The functions grouped by trigger binding type (in the list's order)."""
        grouped: dict[str, list[FunctionStats]] = {}
        for fn in self.functions:
            grouped.setdefault(fn.trigger, []).append(fn)
        return grouped


def error_line(error: BaseException) -> str:
    """A failure as one line (the host's own errors without their type)."""
    return first_line(str(error)) if isinstance(error, HostError) else exception_line(error)


class InvocationStats:
    """Thread-safe counters per function name."""

    def __init__(self) -> None:
        self.since = datetime.now(UTC)
        self._lock = threading.Lock()
        self._counters: dict[str, FunctionCounters] = {}

    def record(self, function_name: str, succeeded: bool, duration_ms: int, error: str | None = None) -> None:
        """Count one finished invocation (``error``: the failure's line, when it failed)."""
        now = datetime.now(UTC)
        with self._lock:
            old = self._counters.get(function_name) or FunctionCounters()
            self._counters[function_name] = FunctionCounters(
                invocations=old.invocations + 1,
                failures=old.failures + (0 if succeeded else 1),
                total_ms=old.total_ms + max(duration_ms, 0),
                last_invoked=now,
                last_error=old.last_error if succeeded else (error or "failed"),
                last_error_time=old.last_error_time if succeeded else now,
            )

    def record_scope(self, scope: InvocationScope, name: str | None = None) -> None:
        """Count a finished invocation scope (:func:`host.logs.invocation_scope`) under its
        function's name (or ``name``)."""
        failed = scope.succeeded is False
        error = error_line(scope.error) if failed and scope.error is not None else None
        self.record(name or scope.function_name, not failed, scope.duration_ms, error)

    def get(self, function_name: str) -> FunctionCounters:
        """The counters of one function so far (an immutable value; zeros if it never ran)."""
        with self._lock:
            return self._counters.get(function_name) or FunctionCounters()

    def snapshot(self) -> dict[str, FunctionCounters]:
        """The counters of every function invoked so far."""
        with self._lock:
            return dict(self._counters)


def function_overview(registry: Registry, stats: InvocationStats) -> FunctionOverview:
    """Every function of the app (also those never invoked) with its counters."""
    counters = stats.snapshot()
    functions = [
        FunctionStats(fn.name, fn.trigger_type, counters.get(fn.name) or FunctionCounters())
        for fn in registry
    ]
    functions.sort(key=lambda f: (f.trigger, f.name.lower()))
    return FunctionOverview(stats.since, functions)
