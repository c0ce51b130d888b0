"""Fixtures of the trigger tests: an in-process host (real Azurite storage, real invoker)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from triggers_support import StartHost

from host.config.settings import load_settings
from host.runtime import HostRuntime
from host.storage.azure.storage import AzureStorage
from host.storage.azurite import AzuriteProcess
from host.storage.connection import parse_connection_string
from host.storage.interface import Storage

TRIGGER_COMPONENTS = ("host.triggers.service",)


@pytest.fixture
def unique() -> Callable[[str], str]:
    """Unique lower-case names valid for queues, tables and containers."""
    return lambda prefix: f"{prefix}{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def storage(azurite: AzuriteProcess) -> AsyncIterator[Storage]:
    s = AzureStorage(parse_connection_string(azurite.connection_string))
    try:
        yield s
    finally:
        await s.close()


@pytest.fixture
async def start_host(
    tmp_path: Path, storage: Storage, azurite: AzuriteProcess, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[StartHost]:
    """``await start_host(code, host={...})``: an app folder indexed and started in-process."""
    monkeypatch.chdir(tmp_path)
    runtimes: list[HostRuntime] = []

    async def start(
        code: str,
        *,
        host: dict[str, Any] | None = None,
        folder: str = "app",
        env: dict[str, str] | None = None,
    ) -> HostRuntime:
        root = tmp_path / folder
        root.mkdir(exist_ok=True)
        (root / "host.json").write_text(json.dumps({"version": "2.0", **(host or {})}))
        (root / "function_app.py").write_text(code)
        environ = {
            "FUNCTIONS_WORKER_RUNTIME": "python",
            "TZ": "UTC",
            "AzureWebJobsStorage": azurite.connection_string,
            **(env or {}),
        }
        settings = load_settings(root, environ=environ)
        runtime = HostRuntime(settings, storage=storage, components=TRIGGER_COMPONENTS)
        await runtime.start()
        runtime.mark_running()
        runtimes.append(runtime)
        return runtime

    yield start
    for runtime in reversed(runtimes):
        await runtime.stop()
