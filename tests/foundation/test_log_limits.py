"""Storage outages keep the console short: the log filter and the health tracker (pure)."""

from __future__ import annotations

import logging
import sys

import pytest

from host.errors import StorageBusyError, StorageError, StorageUnreachableError
from host.log_limits import StorageOutageFilter
from host.storage.health import StorageHealth


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _record(msg: str, *args: object, exc: BaseException | None = None) -> logging.LogRecord:
    exc_info = (type(exc), exc, None) if exc is not None else None
    return logging.LogRecord("host.durable", logging.WARNING, __file__, 1, msg, args, exc_info)


def test_one_line_per_failure_kind_per_interval() -> None:
    clock = Clock()
    limit = StorageOutageFilter(interval=30, clock=clock)
    down = StorageUnreachableError("receive from queue q: storage did not answer")
    busy = StorageBusyError("put message on queue q: 503 ServerBusy")
    first = _record("control queue %d: %s", 0, down)
    assert limit.filter(first) and first.getMessage() == f"control queue 0: {down}"
    assert not any(limit.filter(_record("control queue %d: %s", 1, down)) for _ in range(5))
    assert limit.filter(_record("poll: %s", busy))  # another kind has its own budget
    try:
        raise RuntimeError("episode wrapper") from down
    except RuntimeError as chained:
        assert not limit.filter(_record("instance x: episode failed", exc=chained))
    clock.now += 31
    later = _record("instance y: episode failed", exc=down)
    assert limit.filter(later)
    assert later.exc_info is None  # no traceback
    text = later.getMessage()
    assert text.startswith("instance y: episode failed: ") and str(down) in text
    assert "6 more storage failures like this in the last 30 s not shown" in text


def test_other_records_are_untouched() -> None:
    limit = StorageOutageFilter(interval=30, clock=Clock())
    for _ in range(3):
        record = _record("bad thing: %s", StorageError("400 InvalidInput"))
        assert limit.filter(record) and record.args
    try:
        raise ValueError("user bug")
    except ValueError:
        record = logging.LogRecord("host", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    assert limit.filter(record) and record.exc_info is not None


def test_health_says_what_is_wrong_and_logs_each_change_once(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    health = StorageHealth("acct", clock=clock)
    assert health.healthy and health.problem is None
    with caplog.at_level(logging.INFO, logger="host.storage"):
        for _ in range(12):
            health.failed("unreachable", "Connection refused")
        health.failed("busy", "HTTP 503")
        assert not health.healthy
        problem = health.problem
        assert problem is not None and "acct is busy since" in problem and "(13 failed requests)" in problem
        clock.now += 4.5
        health.succeeded()
        health.succeeded()
    assert health.healthy and health.problem is None
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2, lines
    assert "acct is unreachable (Connection refused)" in lines[0]
    assert "answers again after 4.5 s (13 failed requests)" in lines[1]
