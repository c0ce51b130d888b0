"""Testing Durable Functions apps with pytest: the app in-process, on memory or Azurite, on virtual time.

::

    from host.testing import function_app

    async def test_chain():
        async with function_app("path/to/app") as app:        # storage="memory" by default
            status = await app.run("hello_sequence", ["A", "B"], expect="Completed")
            assert app.output(status) == ["Hello A!", "Hello B!"]

* :func:`function_app` — the app running in this process (``async with`` or ``with``):
  ``app.client`` (HTTP, in-process), ``app.durable_client``, ``app.start/wait/run``,
  ``app.raise_event``, ``app.history`` (typed events), ``app.stub`` and ``app.calls``,
  ``app.advance(hours=72)`` on virtual time (auto-advance while waiting for an instance).
* The pytest plugin (``funchost``) gives the fixtures ``func_app``, ``func_client`` and
  ``durable_client``; options ``funchost_app_dir`` and ``funchost_storage`` (ini, command line
  ``--funchost-storage``, or ``@pytest.mark.funchost(...)``).
* :func:`check_file` / :func:`assert_replay_safe` — replay recorded histories against the code.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from host.storage.interface import Storage
from host.testing.app_host import AppHost
from host.testing.clock import VirtualClock
from host.testing.durable_client import DurableClient, OrchestrationFailed
from host.testing.events import HistoryEvent, activity_names
from host.testing.replay import (
    RecordedHistory,
    ReplayReport,
    assert_replay_safe,
    check_file,
    check_recorded,
    load_file,
)
from host.testing.stubs import ActivityCall, Stub
from host.testing.sync import SyncApp

__all__ = [
    "ActivityCall",
    "AppHost",
    "DurableClient",
    "HistoryEvent",
    "OrchestrationFailed",
    "RecordedHistory",
    "ReplayReport",
    "Stub",
    "SyncApp",
    "VirtualClock",
    "activity_names",
    "assert_replay_safe",
    "check_file",
    "check_recorded",
    "function_app",
    "load_file",
]


def function_app(
    app_dir: str | Path = ".",
    *,
    storage: str | Storage = "memory",
    connection_string: str | None = None,
    virtual_time: bool = True,
    auto_advance: bool = True,
    start_time: datetime | None = None,
    settings: dict[str, str] | None = None,
    host_json: dict[str, Any] | None = None,
    hub_name: str | None = None,
) -> AppHost:
    """The app in ``app_dir``, ready to start with ``async with`` (or ``with`` for sync tests).

    ``storage="memory"``: an in-memory storage account with Azure's semantics (no sockets);
    ``"azurite"``: the account of ``connection_string`` (default: ``AzureWebJobsStorage`` of the
    app's local.settings.json). Each app gets its own fresh task hub. ``virtual_time``: timers,
    retry back-offs and timer triggers run on a virtual clock (``app.advance(...)``); with
    ``auto_advance``, waiting for an instance skips time when nothing but timers is pending.
    """
    return AppHost(
        app_dir,
        storage=storage,
        connection_string=connection_string,
        virtual_time=virtual_time,
        auto_advance=auto_advance,
        start_time=start_time,
        settings=settings,
        host_json=host_json,
        hub_name=hub_name,
    )
