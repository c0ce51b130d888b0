"""Calling user functions the way the Python worker does.

Arguments are passed by binding name: the trigger value, one value per input binding (from an
input provider registered for the binding type), one :class:`Out` per output binding, and a
``context`` (:class:`azure.functions.Context`) when the function declares that parameter without
a binding of that name. ``async def`` functions run on the event loop, the others in a bounded
thread pool (``PYTHON_THREADPOOL_THREAD_COUNT``). Outputs are encoded (encoders, e.g. the HTTP
response) and written (output handlers, e.g. queues) only after the function succeeded.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import os
import uuid
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from azure.functions.meta import get_binding_registry

from host.errors import ConfigError, InvocationError
from host.indexing.registry import (
    ACTIVITY_TRIGGER,
    DURABLE_CLIENT,
    ENTITY_TRIGGER,
    ORCHESTRATION_TRIGGER,
    Binding,
    FunctionInfo,
    Registry,
)
from host.invocation_context import InvocationContext, Out, RetryInfo, new_trace_context
from host.invocation_context import thread_local as _thread_local
from host.invocation_stats import InvocationStats
from host.logs import HTTP_REASON, InvocationScope, invocation_scope
from host.worker_pool import CallSpec, WorkerPool, runs_in_worker, worker_process_count

if TYPE_CHECKING:
    from host.config.settings import HostSettings

InputProvider = Callable[[Binding, FunctionInfo, "dict[str, Any] | None"], Awaitable[Any]]
"""``provider(binding, fn, trigger_metadata)`` gives the value of one input binding."""
OutputHandler = Callable[[Binding, Any, "dict[str, Any] | None"], Awaitable[None]]
"""``handler(binding, value, trigger_metadata)`` writes one output binding after success."""
OutputEncoder = Callable[[Any], Any]
"""``encoder(value)`` turns a returned/set value into what the host uses; raising fails the call."""
TriggerConverter = Callable[[FunctionInfo, str], Awaitable[tuple[Any, "dict[str, Any] | None"]]]
"""``converter(fn, input)`` builds (trigger value, metadata) for ``POST /admin/functions/{name}``."""

RETURN = "$return"
THREADPOOL_SETTING = "PYTHON_THREADPOOL_THREAD_COUNT"
_DURABLE_TRIGGERS = frozenset({ORCHESTRATION_TRIGGER, ACTIVITY_TRIGGER, ENTITY_TRIGGER})


@dataclass
class InvocationResult:
    """What an invocation produced: the return value and output values by binding name.

    ``outputs`` holds every non-None ``Out`` value and the ``$return`` value (when the function has
    a ``$return`` binding), after encoding by the encoder registered for the binding type.
    """

    return_value: Any
    outputs: dict[str, Any] = field(default_factory=dict)
    invocation_id: str = ""


@dataclass(frozen=True)
class _Plan:
    """Signature analysis of one function, computed once."""

    trigger_param: str | None
    inputs: tuple[Binding, ...]
    outputs: tuple[Binding, ...]  # bound to an Out parameter
    return_binding: Binding | None
    wants_context: bool
    is_async: bool
    may_return: bool


def _has_implicit_output(binding_type: str) -> bool:
    if binding_type == DURABLE_CLIENT:
        return False
    converter = get_binding_registry().get(binding_type)
    # Binding types without a converter use the worker's generic binding, which claims one.
    if converter is None:
        return True
    implicit = getattr(converter, "has_implicit_output", None)  # only InConverters define it
    return bool(implicit()) if implicit is not None else False


@dataclass(frozen=True, slots=True)
class _Call:
    """One call of a user function: what :meth:`Invoker.invoke` prepared for the place it runs in."""

    fn: FunctionInfo
    plan: _Plan
    kwargs: dict[str, Any]
    """The trigger and input values by parameter name (outputs and ``context`` are added in-process)."""
    outs: dict[str, Out]
    invocation_id: str
    retry: RetryInfo


def _plan(fn: FunctionInfo) -> _Plan:
    try:
        params = set(inspect.signature(fn.func).parameters)
    except (TypeError, ValueError):
        params = {b.name for b in fn.bindings}
    names = {b.name for b in fn.bindings}
    return_binding = next((b for b in fn.bindings if b.name == RETURN), None)
    inputs = tuple(b for b in fn.input_bindings() if b.name in params and b.direction == "in")
    outputs = tuple(b for b in fn.output_bindings() if b.name != RETURN and b.name in params)
    may_return = (
        return_binding is not None
        or fn.trigger_type in _DURABLE_TRIGGERS
        or any(_has_implicit_output(b.type) for b in fn.bindings if b is not fn.trigger)
    )
    return _Plan(
        trigger_param=fn.trigger.name if fn.trigger.name in params else None,
        inputs=inputs,
        outputs=outputs,
        return_binding=return_binding,
        wants_context="context" in params and "context" not in names,
        is_async=inspect.iscoroutinefunction(fn.func),
        may_return=may_return,
    )


def thread_count(settings: HostSettings | None = None) -> int:
    """Worker threads for sync functions: ``PYTHON_THREADPOOL_THREAD_COUNT`` or the worker default."""
    raw = settings.setting(THREADPOOL_SETTING) if settings is not None else os.environ.get(THREADPOOL_SETTING)
    if raw:
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError(f"{THREADPOOL_SETTING} must be an integer, got '{raw}'") from None
        if value < 1:
            raise ConfigError(f"{THREADPOOL_SETTING} must be at least 1, got {value}")
        return value
    return min(32, (os.cpu_count() or 1) + 4)  # ThreadPoolExecutor's default, as the worker uses


class Invoker:
    """Invokes indexed functions; components plug in input providers and output handlers."""

    def __init__(
        self,
        registry: Registry | None = None,
        *,
        settings: HostSettings | None = None,
        max_workers: int | None = None,
        function_directory: str | None = None,
        log: bool = True,
    ) -> None:
        self.registry = registry
        self.log = log
        self.max_workers = max_workers or thread_count(settings)
        self.function_directory = (
            function_directory
            if function_directory is not None
            else (str(settings.script_root) if settings is not None else os.getcwd())
        )
        self._pool: ThreadPoolExecutor | None = None
        count = worker_process_count(settings)
        self.workers: WorkerPool | None = (
            WorkerPool(settings, count) if settings is not None and count > 1 else None
        )
        """The language worker processes (``None``: every function runs in this process)."""
        self._plans: dict[int, tuple[Callable[..., Any], _Plan]] = {}
        self._providers: dict[str, InputProvider] = {}
        self._handlers: dict[str, OutputHandler] = {}
        self._encoders: dict[str, OutputEncoder] = {}
        self.trigger_converters: dict[str, TriggerConverter] = {}
        self.stats = InvocationStats()
        """Invocations, failures and the last error per function since the invoker was created."""
        if self.workers is not None and any(runs_in_worker(f, self.plan(f).is_async) for f in registry or ()):
            self.workers.warm()

    # -- extension points ---------------------------------------------------------------
    def add_input_provider(self, binding_type: str, provider: InputProvider) -> None:
        """Provide the values of input bindings of ``binding_type`` (e.g. ``durableClient``)."""
        self._providers[binding_type] = provider

    def add_output_handler(self, binding_type: str, handler: OutputHandler) -> None:
        """Write output bindings of ``binding_type`` (e.g. ``queue``) after a successful call."""
        self._handlers[binding_type] = handler

    def add_output_encoder(self, binding_type: str, encoder: OutputEncoder) -> None:
        """Encode values of ``binding_type`` inside the invocation (``$return`` even when None)."""
        self._encoders[binding_type] = encoder

    def add_trigger_converter(self, trigger_type: str, converter: TriggerConverter) -> None:
        """Build trigger values for admin invocations (``POST /admin/functions/{name}``)."""
        self.trigger_converters[trigger_type] = converter

    def plan(self, fn: FunctionInfo) -> _Plan:
        """The cached signature analysis of ``fn``."""
        cached = self._plans.get(id(fn.func))
        if cached is not None and cached[0] is fn.func:
            return cached[1]
        plan = _plan(fn)
        self._plans[id(fn.func)] = (fn.func, plan)
        return plan

    # -- invocation ---------------------------------------------------------------------
    @contextmanager
    def scope(self, fn: FunctionInfo, *, reason: str) -> Iterator[InvocationScope]:
        """An invocation of ``fn`` that a component runs itself (an entity batch through the
        SDK's handle): logged and attributed as :meth:`invoke` does."""
        with self._counted(fn.name, str(uuid.uuid4()), reason) as scope:
            yield scope

    @contextmanager
    def _counted(self, name: str, invocation_id: str, reason: str) -> Iterator[InvocationScope]:
        """:func:`invocation_scope`, counted in :attr:`stats` once it is over."""
        scope: InvocationScope | None = None
        try:
            with invocation_scope(name, invocation_id, reason=reason, log=self.log) as scope:
                yield scope
        finally:
            if scope is not None:
                self.stats.record_scope(scope)

    async def invoke(
        self,
        fn: FunctionInfo,
        trigger_value: Any,
        *,
        trigger_metadata: dict[str, Any] | None = None,
        invocation_id: str | None = None,
        reason: str = HTTP_REASON,
        retry: RetryInfo | None = None,
        encode_return: OutputEncoder | None = None,
    ) -> InvocationResult:
        """Call ``fn`` once. Raises what the function (or an input/output binding) raised.

        ``encode_return`` turns the return value into ``outputs["$return"]`` inside the
        invocation: if it raises, the invocation failed (e.g. an activity result that is not JSON).
        """
        inv_id = invocation_id or str(uuid.uuid4())
        with self._counted(fn.name, inv_id, reason):
            plan = self.plan(fn)
            kwargs: dict[str, Any] = {}
            if plan.trigger_param is not None:
                kwargs[plan.trigger_param] = trigger_value
            for binding in plan.inputs:
                kwargs[binding.name] = await self._input(binding, fn, trigger_metadata)
            outs = {b.name: Out() for b in plan.outputs}
            call = _Call(fn, plan, kwargs, outs, inv_id, retry or RetryInfo())
            if self.workers is not None and runs_in_worker(fn, plan.is_async):
                returned = await self._run_in_worker(self.workers, call)
            else:
                returned = await self._run_here(call)
            if returned is not None and not plan.may_return:
                raise RuntimeError(
                    f"function '{fn.name}' without a $return binding returned a non-None value"
                )
            outputs = self._encode(plan, outs, returned)
            if encode_return is not None:
                outputs[RETURN] = encode_return(returned)
            await self._write(plan, outputs, trigger_metadata)
            return InvocationResult(returned, outputs, inv_id)

    async def _run_here(self, call: _Call) -> Any:
        kwargs = {**call.kwargs, **call.outs}
        if call.plan.wants_context:
            kwargs["context"] = InvocationContext(
                call.invocation_id,
                call.fn.name,
                self.function_directory,
                new_trace_context(),
                call.retry,
                _thread_local,
            )
        if call.plan.is_async:
            _thread_local.invocation_id = call.invocation_id
            return await call.fn.func(**kwargs)
        returned = await self._run_sync(call.fn.func, kwargs, call.invocation_id)
        if inspect.isawaitable(returned):  # a sync wrapper around a coroutine function
            returned = await returned
        return returned

    async def _run_in_worker(self, workers: WorkerPool, call: _Call) -> Any:
        retry = call.retry
        context = (
            (self.function_directory, new_trace_context().trace_parent, retry.count, retry.max_count)
            if call.plan.wants_context
            else None
        )
        spec = CallSpec(call.fn.name, call.invocation_id, call.kwargs, tuple(call.outs), context)
        returned, values = await workers.call(spec)
        for name, value in values.items():
            call.outs[name].set(value)
        return returned

    async def _input(self, binding: Binding, fn: FunctionInfo, metadata: dict[str, Any] | None) -> Any:
        provider = self._providers.get(binding.type)
        if provider is None:
            raise InvocationError(
                f"function '{fn.name}': no provider for input binding '{binding.name}' "
                f"of type '{binding.type}'"
            )
        return await provider(binding, fn, metadata)

    async def _run_sync(self, target: Callable[..., Any], kwargs: dict[str, Any], inv_id: str) -> Any:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.max_workers, thread_name_prefix="function")
        ctx = contextvars.copy_context()  # carries the invocation log scope into the thread

        def call() -> Any:
            _thread_local.invocation_id = inv_id
            return target(**kwargs)

        return await asyncio.get_running_loop().run_in_executor(self._pool, ctx.run, call)

    def _encode(self, plan: _Plan, outs: dict[str, Out], returned: Any) -> dict[str, Any]:
        outputs: dict[str, Any] = {}
        for binding in plan.outputs:
            value = outs[binding.name].get()
            if value is not None:
                encoder = self._encoders.get(binding.type)
                outputs[binding.name] = encoder(value) if encoder is not None else value
        if plan.return_binding is not None:
            encoder = self._encoders.get(plan.return_binding.type)
            if encoder is not None:
                outputs[RETURN] = encoder(returned)
            elif returned is not None:
                outputs[RETURN] = returned
        return outputs

    async def _write(self, plan: _Plan, outputs: dict[str, Any], metadata: dict[str, Any] | None) -> None:
        bindings = [*plan.outputs, plan.return_binding] if plan.return_binding is not None else plan.outputs
        for binding in bindings:
            handler = self._handlers.get(binding.type)
            if handler is not None and outputs.get(binding.name) is not None:
                await handler(binding, outputs[binding.name], metadata)

    async def aclose(self) -> None:
        """Wait for running sync functions and release the thread pool and the worker processes."""
        pool, self._pool = self._pool, None
        loop = asyncio.get_running_loop()
        if pool is not None:
            await loop.run_in_executor(None, pool.shutdown, True)
        if self.workers is not None:
            await loop.run_in_executor(None, self.workers.close)
