"""Session-wide fixtures: one Azurite on free loopback ports for the whole test session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

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
