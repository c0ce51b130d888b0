"""The ``context`` object user functions may declare (``azure.functions.Context``), as the worker has it."""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass
from typing import Any

import azure.functions as func
from azure.functions._abc import RetryContext, TraceContext


class Out(func.Out[Any]):
    """An output binding value holder (same as the worker's ``bindings.out.Out``)."""

    __slots__ = ("_value",)

    def __init__(self) -> None:
        self._value: Any = None

    def set(self, val: Any) -> None:
        self._value = val

    def get(self) -> Any:
        return self._value


thread_local = threading.local()
"""The worker's thread-local storage: ``invocation_id`` of the invocation running on the thread."""


class TraceInfo(TraceContext):
    """W3C trace context of one invocation (``trace_parent``, ``trace_state``, ``attributes``)."""

    def __init__(
        self, trace_parent: str, trace_state: str = "", attributes: dict[str, str] | None = None
    ) -> None:
        self._parent, self._state, self._attributes = trace_parent, trace_state, attributes or {}

    @property
    def trace_parent(self) -> str:
        return self._parent

    @property
    def trace_state(self) -> str:
        return self._state

    @property
    def attributes(self) -> dict[str, str]:
        return self._attributes


def new_trace_context() -> TraceInfo:
    """A fresh ``00-<trace id>-<span id>-00`` trace parent, like the host's per-invocation Activity."""
    return TraceInfo(f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-00")


@dataclass(frozen=True)
class RetryInfo(RetryContext):
    """Retry state of an invocation (``retry_count`` starts at 0)."""

    count: int = 0
    max_count: int = 0
    error: Any = None

    @property
    def retry_count(self) -> int:
        return self.count

    @property
    def max_retry_count(self) -> int:
        return self.max_count

    @property
    def exception(self) -> Any:
        return self.error


class InvocationContext(func.Context):
    """``func.Context`` with the worker's attributes; ``thread_local_storage.invocation_id`` is set."""

    def __init__(
        self,
        invocation_id: str,
        function_name: str,
        function_directory: str,
        trace_context: TraceContext,
        retry_context: RetryContext,
        thread_local: threading.local,
    ) -> None:
        self._invocation_id = invocation_id
        self._function_name = function_name
        self._function_directory = function_directory
        self._trace_context = trace_context
        self._retry_context = retry_context
        self._thread_local = thread_local

    @property
    def invocation_id(self) -> str:
        return self._invocation_id

    @property
    def thread_local_storage(self) -> Any:
        return self._thread_local

    @property
    def function_name(self) -> str:
        return self._function_name

    @property
    def function_directory(self) -> str:
        return self._function_directory

    @property
    def trace_context(self) -> TraceContext:
        return self._trace_context

    @property
    def retry_context(self) -> RetryContext:
        return self._retry_context
