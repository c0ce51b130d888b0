"""Language worker processes (``FUNCTIONS_WORKER_PROCESS_COUNT``): more than one core per host.

With a count above 1, sync activity, queue, timer and blob functions run in a pool of worker
processes (``spawn``), each of which imports and indexes the app once; the host sends the
function name and the already-converted arguments and gets the return value and the ``Out``
values back. HTTP functions, orchestrators, entities, ``async def`` functions and functions with
a ``durableClient`` binding stay in the host process (the default, count 1, keeps everything
there: no pickling on the latency path).

Exceptions come back with their traceback (``tblib``), so failures print the same concise
user-frame stack as in the host; records user code
logs in a worker reach the host's console attributed to the invocation. A worker that dies fails
the invocations it had (and those queued behind them) with a clear error and the pool is
rebuilt; stopping the host stops the workers (terminated if they do not finish in time).
"""

from __future__ import annotations

import asyncio
import logging
import logging.handlers
import multiprocessing
import os
import pickle
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from tblib import pickling_support

from host.errors import ConfigError, InvocationError
from host.indexing.registry import (
    ACTIVITY_TRIGGER,
    DURABLE_CLIENT,
    FunctionInfo,
)
from host.invocation_context import InvocationContext, Out, RetryInfo, TraceInfo, thread_local
from host.logs import InvocationScope, current_invocation

if TYPE_CHECKING:
    from multiprocessing.queues import Queue

    from host.config.settings import HostSettings

WORKER_PROCESS_SETTING = "FUNCTIONS_WORKER_PROCESS_COUNT"
MAX_WORKER_PROCESSES = 10  # the Functions host's limit
POOLED_TRIGGERS = frozenset({ACTIVITY_TRIGGER, "queueTrigger", "timerTrigger", "blobTrigger"})
"""Trigger types whose sync functions run in the worker processes (when there is more than one)."""
STOP_GRACE_SECONDS = 5.0
_QUIET = ("azure", "asyncio", "httpx", "httpcore", "urllib3")

log = logging.getLogger("host.workers")


class WorkerProcessError(InvocationError):
    """A function could not be run in (or its result not brought back from) a worker process."""


def worker_process_count(settings: HostSettings | None) -> int:
    """``FUNCTIONS_WORKER_PROCESS_COUNT`` (1 to 10; default 1: everything runs in the host)."""
    raw = settings.setting(WORKER_PROCESS_SETTING) if settings is not None else None
    if not raw:
        return 1
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{WORKER_PROCESS_SETTING} must be an integer, got '{raw}'") from None
    if not 1 <= value <= MAX_WORKER_PROCESSES:
        raise ConfigError(
            f"{WORKER_PROCESS_SETTING} must be between 1 and {MAX_WORKER_PROCESSES}, got {value}"
        )
    return value


def runs_in_worker(fn: FunctionInfo, is_async: bool) -> bool:
    """Whether ``fn`` goes to the worker processes (sync, a pooled trigger, no durable client)."""
    return (
        not is_async
        and fn.trigger_type in POOLED_TRIGGERS
        and all(b.type != DURABLE_CLIENT for b in fn.bindings)
    )


@dataclass(frozen=True)
class CallSpec:
    """One invocation as sent to a worker: everything picklable."""

    function_name: str
    invocation_id: str
    kwargs: dict[str, Any]
    out_names: tuple[str, ...]
    context: tuple[str, str, int, int] | None
    """``(function_directory, trace_parent, retry_count, max_retry_count)`` when it wants ``context``."""


@dataclass(frozen=True)
class CallOutcome:
    """What came back: the return value and ``Out`` values, or the exception (with its traceback)."""

    returned: Any = None
    outs: dict[str, Any] | None = None
    error: BaseException | None = None


# --------------------------------------------------------------------------- in the worker

_functions: dict[str, Any] = {}
_current: tuple[str, str] | None = None  # (function name, invocation id) of the running call


class _Attribution(logging.Filter):
    """Stamps records with the invocation running in this worker."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _current is not None and not hasattr(record, "invocation_id"):
            record.function_name, record.invocation_id = _current
        return True


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)  # the host is gone (e.g. SIGKILL): never linger as an orphan


def _init_worker(settings: HostSettings, logs: Queue[Any], level: int) -> None:
    from host.indexing.loader import index_app

    os.environ.update({k: v for k, v in settings.environ.items() if isinstance(v, str)})
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.handlers.QueueHandler(logs)
    handler.addFilter(_Attribution())
    root.addHandler(handler)
    root.setLevel(level)
    for name in _QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()
    registry = index_app(settings)
    _functions.update({fn.name: fn.func for fn in registry})


def _run_in_worker(spec: CallSpec) -> bytes:
    """Run one call; the pickled :class:`CallOutcome` (pickled here, so a value that does not pickle
    becomes a clear error instead of a broken pool)."""
    global _current

    kwargs = dict(spec.kwargs)
    outs = {name: Out() for name in spec.out_names}
    kwargs.update(outs)
    if spec.context is not None:
        directory, trace_parent, count, max_count = spec.context
        kwargs["context"] = InvocationContext(
            spec.invocation_id,
            spec.function_name,
            directory,
            TraceInfo(trace_parent),
            RetryInfo(count, max_count),
            thread_local,
        )
    thread_local.invocation_id = spec.invocation_id
    _current = (spec.function_name, spec.invocation_id)
    try:
        returned = _functions[spec.function_name](**kwargs)
        outcome = CallOutcome(returned, {k: v.get() for k, v in outs.items()})
    except Exception as e:
        pickling_support.install(e)
        outcome = CallOutcome(error=e)
    finally:
        _current = None
    try:
        return pickle.dumps(outcome)
    except Exception as e:
        return pickle.dumps(_unpicklable_outcome(spec.function_name, outcome, e))


def _unpicklable_outcome(name: str, outcome: CallOutcome, problem: Exception) -> CallOutcome:
    if outcome.error is not None:  # the exception itself does not pickle: keep its text
        error: BaseException = WorkerProcessError(
            f"function '{name}' raised {type(outcome.error).__name__}: {outcome.error}"
        )
        return CallOutcome(error=error)
    values = {
        "the return value": outcome.returned,
        **{f"output '{k}'": v for k, v in (outcome.outs or {}).items()},
    }
    what, value = next(((k, v) for k, v in values.items() if not _picklable(v)), ("its result", None))
    error = WorkerProcessError(
        f"function '{name}': {what} (type '{type(value).__name__}') cannot be sent "
        f"back from its worker process (it is not picklable: {problem})"
    )
    return CallOutcome(error=error)


def _picklable(value: Any) -> bool:
    try:
        pickle.dumps(value)
    except Exception:
        return False
    return True


# --------------------------------------------------------------------------- in the host


class _Forward(logging.Handler):
    """Hands records from the workers to the host's loggers, inside their invocation's scope."""

    def emit(self, record: logging.LogRecord) -> None:
        name = record.__dict__.get("function_name")
        inv = record.__dict__.get("invocation_id")
        token = current_invocation.set(InvocationScope(str(name), str(inv)) if name and inv else None)
        try:
            logger = logging.getLogger(record.name)
            if logger.isEnabledFor(record.levelno):
                logger.handle(record)
        finally:
            current_invocation.reset(token)


class WorkerPool:
    """The host's worker processes (started with the host when the app has functions for them)."""

    def __init__(self, settings: HostSettings, count: int) -> None:
        self.settings = replace(settings, environ=dict(settings.environ))
        self.count = count
        self._context = multiprocessing.get_context("spawn")
        self._pool: ProcessPoolExecutor | None = None
        self._logs: Queue[Any] | None = None
        self._listener: logging.handlers.QueueListener | None = None

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            if self._logs is None:
                self._logs = self._context.Queue()
                self._listener = logging.handlers.QueueListener(self._logs, _Forward())
                self._listener.start()
            level = logging.getLogger().getEffectiveLevel()
            self._pool = ProcessPoolExecutor(
                self.count,
                mp_context=self._context,
                initializer=_init_worker,
                initargs=(self.settings, self._logs, level),
            )
        return self._pool

    def warm(self) -> None:
        """Start the worker processes now (they import the app meanwhile), as the Functions host
        starts its workers with the host: the first invocations do not wait for them."""
        pool = self._executor()
        for _ in range(self.count):
            pool.submit(os.getpid)

    @property
    def pids(self) -> list[int]:
        """The worker processes alive now."""
        pool = self._pool
        return [p.pid for p in (pool._processes or {}).values() if p.pid is not None] if pool else []

    async def call(self, spec: CallSpec) -> tuple[Any, dict[str, Any]]:
        """Run one invocation in a worker: ``(returned, out values)``; raises what the function raised."""
        try:
            pickle.dumps(spec.kwargs)
        except Exception as e:
            bad, value = next(((k, v) for k, v in spec.kwargs.items() if not _picklable(v)), ("?", None))
            raise WorkerProcessError(
                f"function '{spec.function_name}': argument '{bad}' (type '{type(value).__name__}') "
                f"cannot be sent to a worker process (it is not picklable: {e})"
            ) from None
        pool = self._executor()
        try:
            data: bytes = await asyncio.wrap_future(pool.submit(_run_in_worker, spec))
        except BrokenProcessPool:
            self._discard(pool)
            raise WorkerProcessError(
                f"function '{spec.function_name}': its worker process exited unexpectedly (killed, out of "
                "memory or os._exit) before it finished; the worker pool was restarted"
            ) from None
        outcome: CallOutcome = pickle.loads(data)
        if outcome.error is not None:
            raise outcome.error
        return outcome.returned, outcome.outs or {}

    def _discard(self, pool: ProcessPoolExecutor) -> None:
        if self._pool is pool:
            self._pool = None
            log.warning("a language worker process exited unexpectedly; starting new ones")
            pool.shutdown(wait=False, cancel_futures=True)

    def close(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """Stop the workers (blocking): running calls get ``grace`` seconds, then they are terminated."""
        pool, self._pool = self._pool, None
        if pool is not None:
            processes = list((pool._processes or {}).values())
            pool.shutdown(wait=False, cancel_futures=True)
            deadline = time.monotonic() + grace
            for p in processes:
                p.join(max(0.0, deadline - time.monotonic()))
            for p in processes:
                if p.is_alive():
                    p.terminate()
                    p.join(1.0)
                if p.is_alive():
                    p.kill()
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.stop()
        if self._logs is not None:
            self._logs.close()
            self._logs = None
