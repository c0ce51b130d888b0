"""Session-wide fixtures: one Azurite on free loopback ports for the whole test session.

``--unit`` (``./dev.sh unit``) runs only the pure tests: those that need neither the session's
Azurite (nor any fixture built on it) nor a process of their own. Tests that start processes
are marked ``subprocess``; under ``--unit`` starting one fails the test, so a missing mark shows.
"""

from __future__ import annotations

import os
import platform
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from host.storage.azurite import AzuriteProcess, start_azurite_on_free_ports


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AzuriteProcess]:
    """A real Azurite started for this test session (in-memory, free ports), stopped at the end."""
    location = Path(tmp_path_factory.mktemp("azurite"))
    proc = start_azurite_on_free_ports(location, in_memory=True)
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture(scope="session")
def azurite_connection_string(azurite: AzuriteProcess) -> str:
    """``AzureWebJobsStorage`` value pointing at the session's Azurite."""
    return azurite.connection_string


@pytest.fixture(scope="session", autouse=True)
def _azurite_home(tmp_path_factory: pytest.TempPathFactory) -> None:
    # Azurites the hosts under test auto-start keep their data here, not in ~/.funchost.
    os.environ["FUNCHOST_AZURITE_HOME"] = str(tmp_path_factory.mktemp("azurite-home"))


@pytest.fixture(autouse=True)
def _no_default_storage_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # A developer's shell may point AzureWebJobsStorage at their own Azurite; tests never use it.
    monkeypatch.delenv("AzureWebJobsStorage", raising=False)
    os.environ.setdefault("FUNCHOST_TESTING", "1")


AZURITE_PARAMS = frozenset({"azure", "azure_sdk", "azurite"})
"""Values of the storage-kind fixture parameters (conftest files) that get the session's Azurite."""


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--unit", action="store_true", help="only the pure tests: no Azurite, no subprocesses (./dev.sh unit)"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.getoption("--unit"):
        return
    pure: list[pytest.Item] = []
    impure: list[pytest.Item] = []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        needs_azurite = "azurite" in getattr(item, "fixturenames", ()) or any(
            isinstance(v, str) and v in AZURITE_PARAMS for v in params.values()
        )
        spawns = item.get_closest_marker("subprocess") or item.get_closest_marker("slow")
        (impure if needs_azurite or spawns else pure).append(item)
    config.hook.pytest_deselected(items=impure)
    items[:] = pure


class _NoProcesses(subprocess.Popen):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise AssertionError("a --unit test started a process: mark it pytest.mark.subprocess")


@pytest.fixture(autouse=True)
def _unit_tests_start_no_process(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if request.config.getoption("--unit"):
        platform.processor()  # runs `uname -p` once and caches it (the Azure SDKs' user agent asks)
        monkeypatch.setattr(subprocess, "Popen", _NoProcesses)
