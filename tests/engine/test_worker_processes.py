"""FUNCTIONS_WORKER_PROCESS_COUNT on Azurite: activities in worker processes, failures, logs, stop."""

from __future__ import annotations

import io
import logging
import os
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from waiting import eventually

from host.config.settings import HostSettings
from host.errors import ConfigError
from host.logs import setup_logging
from host.testing.app_host import AppHost
from host.worker_pool import CallSpec, WorkerPool, WorkerProcessError, worker_process_count

APP = Path(__file__).parent / "apps" / "workers"
pytestmark = pytest.mark.subprocess  # the worker processes


@pytest.fixture
async def two(azurite_connection_string: str) -> AsyncIterator[AppHost]:
    async with AppHost(
        APP,
        connection_string=azurite_connection_string,
        virtual_time=False,
        settings={"FUNCTIONS_WORKER_PROCESS_COUNT": "2"},
    ) as h:
        yield h


def _workers(host: AppHost) -> WorkerPool:
    pool = host._runtime.invoker.workers
    assert isinstance(pool, WorkerPool)
    return pool


async def test_activities_run_in_two_worker_processes(two: AppHost, tmp_path: Path) -> None:
    # Each activity waits until the other one started: only two processes can finish both.
    status = await two.run("meet", str(tmp_path), timeout=120)
    assert status.runtime_status == "Completed", status
    pids = set(two.output(status))
    assert len(pids) == 2 and os.getpid() not in pids
    assert pids == {int(p.name) for p in tmp_path.iterdir()}


async def test_default_count_keeps_activities_in_the_host(azurite_connection_string: str) -> None:
    async with AppHost(APP, connection_string=azurite_connection_string, virtual_time=False) as host:
        assert host._runtime.invoker.workers is None
        status = await host.run("call_one", ["whoami", None])
        assert host.output(status) == os.getpid()


async def test_a_killed_worker_fails_its_activity_and_the_pool_comes_back(two: AppHost) -> None:
    status = await two.run("die_then_live", timeout=120)
    assert status.runtime_status == "Completed", status
    first, pid = two.output(status)
    assert "die" in first and "worker process exited unexpectedly" in first
    assert pid != os.getpid()


async def test_worker_logs_reach_the_host_with_the_invocation_id(
    two: AppHost, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    status = await two.run("call_one", ["log_it", "hello from a worker"], timeout=120)
    invocation_id = two.output(status)

    def logged() -> list[logging.LogRecord]:
        return [r for r in caplog.records if r.getMessage() == "user says hello from a worker"]

    records = await eventually(logged, what="the worker's log record in the host")
    assert records[0].name == "userlog" and records[0].invocation_id == invocation_id
    assert records[0].process != os.getpid()


async def test_worker_logs_reach_the_console(two: AppHost) -> None:
    root = logging.getLogger()
    level = root.level
    console = io.StringIO()
    handler = setup_logging(stream=console)  # the console handler `python -m host start` installs
    try:
        await two.run("call_one", ["log_it", "to the console"], timeout=120)
        await eventually(lambda: "user says to the console" in console.getvalue(), what="the console line")
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    line = next(x for x in console.getvalue().splitlines() if "user says to the console" in x)
    assert line.startswith("[") and line.endswith("] user says to the console")


async def test_a_failure_in_a_worker_keeps_the_user_frames(two: AppHost) -> None:
    status = await two.run("call_one", ["boom", "x"], timeout=120)
    assert "ValueError: boom x" in str(two.output(status))
    history = await two.management.get_history(status.instance_id)
    failed = next(e for e in history if e["EventType"] == 6)  # TaskFailed
    assert 'function_app.py", line' in failed["Details"] and "in boom" in failed["Details"]


async def test_invocations_in_workers_are_counted_with_their_last_error(two: AppHost) -> None:
    await two.run("call_one", ["whoami", None], timeout=120, expect="Completed")
    await two.run("call_one", ["boom", "y"], timeout=120, expect="Completed")
    assert two.runtime is not None
    stats = two.runtime.function_stats
    assert (stats.get("whoami").invocations, stats.get("whoami").failures) == (1, 0)
    boom = stats.get("boom")
    assert (boom.invocations, boom.failures, boom.last_error) == (1, 1, "ValueError: boom y")


async def test_an_unpicklable_result_names_the_function_and_type(two: AppHost) -> None:
    status = await two.run("call_one", ["lock", None], timeout=120)
    output = str(two.output(status))
    assert "function 'lock'" in output and "'lock'" in output and "not picklable" in output


async def test_stopping_the_host_stops_its_workers(azurite_connection_string: str) -> None:
    async with AppHost(
        APP,
        connection_string=azurite_connection_string,
        virtual_time=False,
        settings={"FUNCTIONS_WORKER_PROCESS_COUNT": "2"},
    ) as host:
        await host.run("call_one", ["whoami", None], timeout=120)
        pids = _workers(host).pids
        assert pids
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


async def test_an_unpicklable_argument_names_the_function_argument_and_type() -> None:
    pool = WorkerPool(HostSettings(Path(".").resolve(), {}, environ={}), 2)
    spec = CallSpec("handler", "id-1", {"item": threading.Lock()}, (), None)
    with pytest.raises(WorkerProcessError, match=r"function 'handler': argument 'item' \(type 'lock'\)"):
        await pool.call(spec)
    assert pool.pids == []  # refused before any process was started


def test_the_count_is_checked() -> None:
    def count(value: str) -> int:
        settings = HostSettings(Path("."), {}, environ={"FUNCTIONS_WORKER_PROCESS_COUNT": value})
        return worker_process_count(settings)

    assert count("") == 1 and count("3") == 3
    for bad in ("0", "11", "two"):
        with pytest.raises(ConfigError, match="FUNCTIONS_WORKER_PROCESS_COUNT"):
            count(bad)
