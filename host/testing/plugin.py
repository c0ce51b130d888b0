"""The pytest plugin (entry point ``funchost``): fixtures for testing a Functions app in-process.

Fixtures: ``func_app`` (the running :class:`~host.testing.AppHost`, a fresh task hub per test),
``func_client`` (``httpx.AsyncClient`` bound to the app in-process), ``durable_client``
(:class:`~host.testing.DurableClient`). Options, most specific first:

* ``@pytest.mark.funchost(app_dir=..., storage=..., virtual_time=..., auto_advance=...,
  settings={...}, host_json={...}, start_time=...)`` on a test or module;
* ``--funchost-storage=memory|azurite`` and ``--funchost-app-dir=DIR`` on the command line;
* ``funchost_app_dir`` and ``funchost_storage`` in the ini file (``[tool.pytest.ini_options]``).

``app_dir`` defaults to the rootdir; relative paths are taken from the rootdir. With
``storage = azurite`` the account is ``AzureWebJobsStorage`` of the app's local.settings.json
(Azurite is started for the session when it is the local emulator and nothing listens);
override the ``funchost_connection_string`` fixture to choose another.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

try:  # the fixtures are async: pytest-asyncio runs them (README: pip install pytest-asyncio)
    from pytest_asyncio import fixture as async_fixture
except ImportError:  # installing funchost must never break a project's pytest start-up
    async_fixture = pytest.fixture  # type: ignore[assignment]

from host.testing.app_host import AZURITE, MEMORY, AppHost
from host.testing.durable_client import DurableClient

MARKER = "funchost"
_APP_KWARGS = ("virtual_time", "auto_advance", "settings", "host_json", "start_time", "hub_name")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("funchost", "testing Azure Functions apps in-process")
    group.addoption(
        "--funchost-storage",
        choices=[MEMORY, AZURITE],
        default=None,
        help="storage of the func_app fixture (default: ini funchost_storage, else memory)",
    )
    group.addoption("--funchost-app-dir", default=None, help="folder of the app under test")
    parser.addini("funchost_app_dir", "folder of the app under test (default: the rootdir)", default="")
    parser.addini("funchost_storage", "memory (default) or azurite", default=MEMORY)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(app_dir=None, storage=None, virtual_time=True, auto_advance=True, "
        "settings=None, host_json=None, start_time=None): options of the func_app fixture",
    )


def _marker_options(request: pytest.FixtureRequest) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for mark in reversed(list(request.node.iter_markers(MARKER))):  # closest marker wins
        options.update(mark.kwargs)
    return options


def _resolve_dir(config: pytest.Config, value: str | os.PathLike[str]) -> Path:
    path = Path(value)
    return path if path.is_absolute() else Path(config.rootpath) / path


@pytest.fixture
def funchost_app_dir(request: pytest.FixtureRequest) -> Path:
    """The folder of the app under test."""
    config = request.config
    chosen = (
        _marker_options(request).get("app_dir")
        or config.getoption("--funchost-app-dir")
        or config.getini("funchost_app_dir")
        or "."
    )
    return _resolve_dir(config, chosen)


@pytest.fixture
def funchost_storage(request: pytest.FixtureRequest) -> str:
    """``memory`` or ``azurite`` (parametrize it indirectly to run a test on both)."""
    param = getattr(request, "param", None)
    config = request.config
    chosen = (
        param
        or _marker_options(request).get("storage")
        or config.getoption("--funchost-storage")
        or config.getini("funchost_storage")
        or MEMORY
    )
    if chosen not in (MEMORY, AZURITE):
        raise pytest.UsageError(f"funchost storage must be 'memory' or 'azurite', not {chosen!r}")
    return str(chosen)


@pytest.fixture(scope="session")
def funchost_connection_string(request: pytest.FixtureRequest) -> Iterator[str]:
    """The storage account for ``storage = azurite`` (started for the session when needed)."""
    from host.config.settings import load_settings
    from host.runtime_storage import plan_azurite, share_azurite
    from host.storage.connection import parse_connection_string

    config = request.config
    app_dir = _resolve_dir(
        config, config.getoption("--funchost-app-dir") or config.getini("funchost_app_dir") or "."
    )
    settings = load_settings(app_dir, environ=dict(os.environ))
    connection = settings.storage_connection
    if not connection:
        raise pytest.UsageError(
            f"storage=azurite needs AzureWebJobsStorage in {app_dir / 'local.settings.json'}"
        )
    plan = plan_azurite(settings, parse_connection_string(connection))
    lease = share_azurite(plan) if plan is not None else None
    try:
        yield connection
    finally:
        if lease is not None:
            lease.release()


@async_fixture
async def func_app(
    request: pytest.FixtureRequest, funchost_app_dir: Path, funchost_storage: str
) -> AsyncIterator[AppHost]:
    """The app running in-process on a fresh task hub (virtual time unless the marker says otherwise)."""
    options = _marker_options(request)
    kwargs: dict[str, Any] = {k: options[k] for k in _APP_KWARGS if k in options}
    kwargs.setdefault("virtual_time", True)
    connection = (
        request.getfixturevalue("funchost_connection_string") if funchost_storage == AZURITE else None
    )
    async with AppHost(
        funchost_app_dir, storage=funchost_storage, connection_string=connection, **kwargs
    ) as app:
        yield app


@async_fixture
async def func_client(func_app: AppHost) -> httpx.AsyncClient:
    """An HTTP client bound to the app in-process (``await func_client.get("/api/hello")``)."""
    assert func_app.client is not None
    return func_app.client


@async_fixture
async def durable_client(func_app: AppHost) -> DurableClient:
    """The app's durable client (start, wait, raise events, history, entities)."""
    return func_app.durable_client
