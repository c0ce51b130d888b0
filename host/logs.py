"""Console logging in ``func start``'s style, and attribution of user logs to invocations.

Every line is ``[yyyy-MM-ddTHH:mm:ss.fffZ] message`` (UTC). As in Core Tools, host ("system")
messages need Warning+ unless ``--verbose``; function messages (``Executing``/``Executed`` and
everything user code logs while an invocation runs) show at Information+ (or the level of
``logging.logLevel.default`` in host.json).

The invoker wraps each call in :func:`invocation_scope`; records logged inside it (from any
logger, in the same task or in a thread started with ``contextvars.copy_context()``/
``asyncio.to_thread``) carry ``function_name`` and ``invocation_id`` attributes.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TextIO

from host.errors import HostError
from host.failures import exception_line, first_line, format_failure
from host.log_limits import StorageOutageFilter

HTTP_REASON = "This function was programmatically called via the host APIs."
"""The ``Reason`` of HTTP- and admin-triggered invocations."""

FUNCTION_LOGGER_PREFIX = "Function."
host_logger = logging.getLogger("host")

_LEVELS = {
    "trace": logging.DEBUG,
    "debug": logging.DEBUG,
    "information": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
    "none": logging.CRITICAL + 10,
}
# Third-party loggers that are chatty at INFO (one line per storage request, server start).
_QUIET = ("azure", "uvicorn", "uvicorn.error", "uvicorn.access", "asyncio", "httpx", "httpcore")


@dataclass
class InvocationScope:
    """The invocation that log records are attributed to while it runs."""

    function_name: str
    invocation_id: str
    reason: str = HTTP_REASON
    started: float = field(default_factory=time.perf_counter)
    succeeded: bool | None = None
    error: BaseException | None = None
    stack: str | None = None
    """The failure's stack as printed (default: formatted from ``error``)."""

    @property
    def duration_ms(self) -> int:
        return round((time.perf_counter() - self.started) * 1000)

    def fail(self, error: BaseException | None = None, *, stack: str | None = None) -> None:
        """Mark the invocation failed without raising through the scope."""
        self.succeeded = False
        self.error = error
        self.stack = stack


current_invocation: ContextVar[InvocationScope | None] = ContextVar("current_invocation", default=None)


def _function_logger(name: str) -> logging.Logger:
    return logging.getLogger(f"{FUNCTION_LOGGER_PREFIX}{name}")


@contextmanager
def invocation_scope(
    function_name: str, invocation_id: str, *, reason: str = HTTP_REASON, log: bool = True
) -> Iterator[InvocationScope]:
    """Attribute logs to this invocation; log ``Executing``/``Executed`` (with duration) around it.

    An exception escaping the block marks the invocation ``Failed`` (and is re-raised); so does
    :meth:`InvocationScope.fail`.
    """
    scope = InvocationScope(function_name, invocation_id, reason)
    token = current_invocation.set(scope)
    logger = _function_logger(function_name)
    if log:
        logger.info("Executing 'Functions.%s' (Reason='%s', Id=%s)", function_name, reason, invocation_id)
    try:
        yield scope
    except BaseException as e:
        scope.fail(e)
        raise
    finally:
        current_invocation.reset(token)
        if scope.succeeded is None:
            scope.succeeded = True
        if log:
            log_executed(scope)


def log_executed(scope: InvocationScope) -> None:
    """The ``Executed`` line, plus the failure block func prints for a failed invocation."""
    logger = _function_logger(scope.function_name)
    outcome = "Succeeded" if scope.succeeded else "Failed"
    level = logging.INFO if scope.succeeded else logging.ERROR
    logger.log(
        level,
        "Executed 'Functions.%s' (%s, Id=%s, Duration=%dms)",
        scope.function_name,
        outcome,
        scope.invocation_id,
        scope.duration_ms,
    )
    if not scope.succeeded and scope.error is not None:
        err = scope.error
        stack = scope.stack or format_failure(err, verbose=_verbose_tracebacks)
        text = first_line(str(err)) if isinstance(err, HostError) else exception_line(err)
        # Without frames (none of the user's code ran) the stack would only repeat the message.
        frames = f"\nStack: {stack}" if "\n" in stack else ""
        logger.error(
            "Exception while executing function: Functions.%s. Result: Failure\nException: %s%s",
            scope.function_name,
            text,
            frames,
        )


_verbose_tracebacks = False


def verbose_tracebacks() -> bool:
    """Whether failures are printed with host and library frames (``--verbose``)."""
    return _verbose_tracebacks


def level_from_name(name: str | None, default: int = logging.INFO) -> int:
    """A Python level for a .NET level name (``Information``, ``Warning``, ``None``...)."""
    return _LEVELS.get((name or "").strip().lower(), default)


class FuncFormatter(logging.Formatter):
    """``[2024-05-01T10:00:00.123Z] message`` (UTC, milliseconds)."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        stamp = datetime.fromtimestamp(record.created, UTC)
        return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"

    def __init__(self) -> None:
        super().__init__("[%(asctime)s] %(message)s")


class ConsoleFilter(logging.Filter):
    """Which records reach the console, and their invocation attribution."""

    def __init__(self, *, verbose: bool, function_level: int) -> None:
        super().__init__()
        self.verbose = verbose
        self.function_level = function_level

    def filter(self, record: logging.LogRecord) -> bool:
        scope = current_invocation.get()
        if scope is not None and not hasattr(record, "invocation_id"):
            record.invocation_id = scope.invocation_id
            record.function_name = scope.function_name
        if record.name.startswith(FUNCTION_LOGGER_PREFIX) or scope is not None:
            return record.levelno >= self.function_level
        if getattr(record, "console", False):
            return True  # whitelisted system messages (func shows them without --verbose)
        return record.levelno >= (logging.INFO if self.verbose else logging.WARNING)


_installed: logging.Handler | None = None


def setup_logging(
    *, verbose: bool = False, level: str | None = None, stream: TextIO | None = None
) -> logging.Handler:
    """Install the console handler on the root logger (replacing a previous one of ours)."""
    global _installed, _verbose_tracebacks
    _verbose_tracebacks = verbose
    root = logging.getLogger()
    if _installed is not None:
        root.removeHandler(_installed)
    function_level = level_from_name(level)
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(FuncFormatter())
    handler.addFilter(ConsoleFilter(verbose=verbose, function_level=function_level))
    handler.addFilter(StorageOutageFilter())  # after the level filter: only shown lines count
    root.addHandler(handler)
    root.setLevel(min(function_level, logging.DEBUG if verbose else logging.INFO))
    for name in _QUIET:
        logging.getLogger(name).setLevel(
            logging.INFO if verbose and name == "uvicorn.error" else logging.WARNING
        )
    _installed = handler
    return handler


def lean_log_records() -> None:
    """Skip what no line of ours shows: caller lookup (a stack walk), thread/process names.

    Process-wide, so only the CLI calls it (tests keep file:line in pytest's log capture).
    """
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False


def console(message: str, *args: object) -> None:
    """A host message shown without ``--verbose`` (like func's few whitelisted system lines)."""
    host_logger.info(message, *args, extra={"console": True})
