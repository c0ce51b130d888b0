"""Storage outages do not flood the console: one line per failure kind per interval.

Every component logs its own storage failures (a poll that failed, an episode whose checkpoint
failed, …); during an outage that is dozens of lines (and tracebacks) a second. The filter on the
console handler lets through one record per kind of storage failure (unreachable, busy) per
``interval`` seconds, without its traceback and with the count of the ones it held back.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from host.errors import StorageBusyError, StorageUnreachableError

TRANSIENT = (StorageUnreachableError, StorageBusyError)
DEFAULT_INTERVAL = 30.0


def transient_storage_failure(record: logging.LogRecord) -> BaseException | None:
    """The transient storage error a record is about (its exception, cause chain or an argument)."""
    candidates: list[BaseException] = []
    if record.exc_info and record.exc_info[1] is not None:
        candidates.append(record.exc_info[1])
    args = record.args if isinstance(record.args, tuple) else ()
    candidates += [a for a in args if isinstance(a, BaseException)]
    for err in candidates:
        seen = 0
        current: BaseException | None = err
        while current is not None and seen < 10:
            if isinstance(current, TRANSIENT):
                return current
            current = current.__cause__ or current.__context__
            seen += 1
    return None


class StorageOutageFilter(logging.Filter):
    """One line per kind of transient storage failure per ``interval`` seconds, no tracebacks."""

    def __init__(
        self, interval: float = DEFAULT_INTERVAL, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self.interval = interval
        self._clock = clock
        self._last: dict[str, float] = {}
        self._held: dict[str, int] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        err = transient_storage_failure(record)
        if err is None:
            return True
        kind = type(err).__name__
        now = self._clock()
        last = self._last.get(kind)
        if last is not None and now - last < self.interval:
            self._held[kind] = self._held.get(kind, 0) + 1
            return False
        self._last[kind] = now
        held = self._held.pop(kind, 0)
        text = record.getMessage()
        if record.exc_info and str(err) not in text:
            text = f"{text}: {err}"
        if held:
            text += f" ({held} more storage failures like this in the last {self.interval:g} s not shown)"
        record.msg, record.args = text, ()
        record.exc_info, record.exc_text = None, None
        return True
