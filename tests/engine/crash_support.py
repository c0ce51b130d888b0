"""Subprocess hosts for the crash-safety tests: start ``python -m host start``, SIGKILL it, read the hub."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections import Counter
from pathlib import Path
from typing import Any

from host_process_support import start_host, stop_host
from waiting import eventually

from host.durable.management import Management
from host.durable.taskhub.hub import TaskHub, TaskHubNames
from host.durable.taskhub.names import escape_key
from host.durable.taskhub.rows import SENTINEL_ROW_KEY, RecoveryRecord
from host.storage import open_storage
from host.storage.azurite import free_port
from host.storage.interface import Storage

REPO = Path(__file__).resolve().parents[2]


class HostProcess:
    """One ``python -m host start`` child process serving ``app`` on a task hub."""

    def __init__(
        self,
        app: Path,
        hub: str,
        connection_string: str,
        log_dir: Path,
        name: str,
        extra_env: dict[str, str] | None = None,
        port: int | None = None,
    ) -> None:
        self.port = port or free_port()
        self.name = name
        self.output = log_dir / f"{name}-{self.port}.out"
        env = dict(os.environ)
        env.update(
            {
                "AzureWebJobsStorage": connection_string,
                "AzureFunctionsJobHost__extensions__durableTask__hubName": hub,
                "CRASH_LOG_DIR": str(log_dir),
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(extra_env or {})  # e.g. AzureFunctionsJobHost__... host.json overrides
        with self.output.open("wb") as out:
            self.proc = start_host(app, self.port, env, out)

    async def ready(self, timeout: float = 30.0) -> None:
        """Wait until the host says ``Host started`` (its services, the durable engine included, run)."""

        def started() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"host {self.name} exited with {self.proc.returncode}:\n{self.tail()}")
            return b"Host started" in self.output.read_bytes()

        try:
            await eventually(started, timeout, f"host {self.name} to start", interval=0.1)
        except AssertionError as err:
            raise AssertionError(f"{err}:\n{self.tail()}") from None

    def kill(self) -> None:
        """SIGKILL: no graceful shutdown, no partition release."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        """SIGTERM: a graceful stop (partitions released), SIGKILL after 15 s."""
        stop_host(self.proc, 15)

    def tail(self, lines: int = 40) -> str:
        text = self.output.read_text(errors="replace") if self.output.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


HUB_PARTITIONS = 4
"""Partitions of the crash, failover and lock tests' hubs (the apps' default)."""


class HubView:
    """Reads and drives a task hub directly from storage (no engine in this process)."""

    def __init__(self, connection_string: str, hub: str, partitions: int) -> None:
        self.storage: Storage = open_storage(connection_string)
        self.hub = TaskHub(self.storage, TaskHubNames(hub, partitions))
        self.management = Management(self.hub)

    async def close(self) -> None:
        await self.storage.close()

    async def start(self, name: str, instance_id: str, value: Any) -> None:
        await self.management.start_orchestration(name, instance_id, json.dumps(json.dumps(value)))

    async def start_many(self, name: str, inputs: dict[str, Any], parallel: int = 16) -> None:
        """Start one instance per ``instance id -> input`` (a few at a time)."""
        slots = asyncio.Semaphore(parallel)

        async def one(instance_id: str, value: Any) -> None:
            async with slots:
                await self.start(name, instance_id, value)

        await asyncio.gather(*(one(i, v) for i, v in inputs.items()))

    async def completed(self) -> dict[str, Any]:
        """Output of every Completed instance, by instance id."""
        rows, _ = await self.management.query_instances(["Completed"], include_input_output=True)
        return {r.instance_id: json.loads(r.output or "null") for r in rows}

    async def owners(self) -> set[str]:
        rows = [r async for r in self.storage.iter_rows(self.hub.names.partitions_table)]
        return {str(r.get("CurrentOwner")) for r in rows if r.get("CurrentOwner")}

    async def completions_per_task(self, instance_id: str) -> tuple[int, Counter[int]]:
        """(TaskScheduled count, TaskCompleted count per TaskScheduledId) of the history."""
        history = await self.management.get_history(instance_id)
        scheduled = sum(1 for e in history if e["EventType"] == 4)
        return scheduled, Counter(int(e["TaskScheduledId"]) for e in history if e["EventType"] == 5)

    async def recovery_record(self, instance_id: str) -> RecoveryRecord | None:
        """The sentinel's record of the activities a host runs from memory (None: none)."""
        table = self.hub.names.history_table
        row = await self.storage.get_row(table, escape_key(instance_id), SENTINEL_ROW_KEY)
        return RecoveryRecord.from_columns(row) if row is not None else None


async def partition_rows(view: HubView) -> list[dict[str, Any]]:
    """The rows of the hub's partitions table."""
    return [dict(r) async for r in view.storage.iter_rows(view.hub.names.partitions_table)]


def owned_by(rows: list[dict[str, Any]], host: HostProcess) -> int:
    """How many partitions ``host``'s worker owns (its worker id ends with its port)."""
    return sum(1 for r in rows if str(r.get("CurrentOwner", "")).endswith(f"-{host.port}"))


def executions_by_pid(log_dir: Path) -> dict[int, int]:
    """How many activity executions each host process logged."""
    return {int(p.stem): len(p.read_text().splitlines()) for p in log_dir.glob("*.log")}
