"""``python -m host doctor``: the checks, each a :class:`Check` with the fix for a failure.

Pure checks (versions) take their inputs as arguments so they can be tested without changing
the environment; :func:`run_checks` gathers the real inputs and runs every check in order.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

from host.config.hostjson import load_host_json, misspelled_keys
from host.config.settings import HostSettings, load_settings
from host.errors import ConfigError, HostError, StorageAuthError
from host.indexing.registry import ORCHESTRATION_TRIGGER, Registry

if TYPE_CHECKING:
    from host.storage.connection import StorageAccount
    from host.storage.interface import Storage

OK, FAIL, WARN, SKIP = "ok", "fail", "warn", "skip"

MIN_PYTHON = (3, 11)
SUPPORTED_SDKS: dict[str, str] = {
    "azure-functions": ">=1.26,<2",
    "azure-functions-durable": ">=1.7,<2",
}
"""The SDK ranges funchost supports (the same as its package dependencies)."""
STORAGE_TIMEOUT = 5.0


@dataclass(frozen=True)
class Check:
    """One line of the checklist."""

    name: str
    status: str
    detail: str
    fix: str = ""

    @property
    def failed(self) -> bool:
        return self.status == FAIL

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


# -- pure checks ------------------------------------------------------------------------------


def check_python(version: tuple[int, ...]) -> Check:
    shown = ".".join(map(str, version[:3]))
    if tuple(version[:2]) >= MIN_PYTHON:
        return Check("Python", OK, f"Python {shown}")
    need = ".".join(map(str, MIN_PYTHON))
    return Check("Python", FAIL, f"Python {shown} is too old", f"use Python {need} or newer")


def check_sdk_versions(installed: dict[str, str | None], supported: dict[str, str] | None = None) -> Check:
    """``installed`` maps each SDK to its version (``None`` when it is not installed)."""
    ranges = SUPPORTED_SDKS if supported is None else supported
    found: list[str] = []
    problems: list[str] = []
    for name, spec in ranges.items():
        version = installed.get(name)
        if version is None:
            problems.append(f"{name} is not installed")
            continue
        try:
            good = Version(version) in SpecifierSet(spec)
        except InvalidVersion:
            good = False
        found.append(f"{name} {version}")
        if not good:
            problems.append(f"{name} {version} is outside the supported range {spec}")
    if not problems:
        return Check("SDK versions", OK, ", ".join(found))
    wanted = " ".join(f"'{name}{spec}'" for name, spec in ranges.items())
    return Check("SDK versions", FAIL, "; ".join(problems), f"python -m pip install {wanted}")


# -- environment checks -----------------------------------------------------------------------


def installed_sdks() -> dict[str, str | None]:
    from importlib.metadata import PackageNotFoundError, version

    found: dict[str, str | None] = {}
    for name in SUPPORTED_SDKS:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = None
    return found


def check_azurite(app_dir: Path) -> Check:
    """Node on PATH and the Azurite that ``start`` would run, against the pinned version."""
    from host.storage.azurite import find_azurite

    node = shutil.which("node")
    if node is None:
        return Check(
            "Node and Azurite",
            FAIL,
            "node is not on PATH (Azurite runs on Node.js)",
            "install Node.js 18 or newer, or run your own storage and use --no-azurite",
        )
    node_version = subprocess.run(
        [node, "--version"], capture_output=True, text=True, timeout=10
    ).stdout.strip()
    try:
        azurite = Path(find_azurite(app_dir))
    except HostError as e:
        return Check(
            "Node and Azurite", FAIL, f"node {node_version}; {e}", "npm install azurite@" + _pinned()
        )
    package = azurite.parent.parent / "azurite" / "package.json"  # node_modules/.bin/azurite
    version = ""
    if package.is_file():
        version = str(json.loads(package.read_text(encoding="utf-8")).get("version", ""))
    pinned = _pinned()
    detail = f"node {node_version}, azurite {version or '(version unknown)'} ({azurite})"
    if pinned and version and version != pinned:
        return Check(
            "Node and Azurite",
            WARN,
            f"{detail}; funchost is tested with azurite {pinned}",
            f"npm install azurite@{pinned}",
        )
    return Check("Node and Azurite", OK, detail)


def _pinned() -> str:
    """The Azurite version pinned by funchost's package.json ('' when not available)."""
    package = Path(__file__).resolve().parents[1] / "package.json"
    try:
        return str(json.loads(package.read_text(encoding="utf-8"))["dependencies"]["azurite"])
    except (OSError, ValueError, KeyError, TypeError):
        return ""


def check_host_json(app_dir: Path) -> Check:
    path = app_dir / "host.json"
    if not path.is_file():
        return Check(
            "host.json",
            FAIL,
            f"{path} not found",
            "run doctor in the app folder (or --script-root DIR), or create one: python -m host init",
        )
    try:
        typos = misspelled_keys(load_host_json(path))
    except ConfigError as e:
        return Check("host.json", FAIL, str(e), 'make it a JSON object with "version": "2.0"')
    if typos:
        return Check(
            "host.json", WARN, "; ".join(typos), "correct the key: the host ignores keys it does not know"
        )
    return Check("host.json", OK, str(path))


def check_local_settings(app_dir: Path) -> Check:
    from host.config.local_settings import read_local_settings

    path = app_dir / "local.settings.json"
    if not path.is_file():
        return Check(
            "local.settings.json",
            WARN,
            f"{path} not found (no AzureWebJobsStorage)",
            'create it with "Values": {"AzureWebJobsStorage": "UseDevelopmentStorage=true", '
            '"FUNCTIONS_WORKER_RUNTIME": "python"}',
        )
    try:
        local = read_local_settings(path)
    except ConfigError as e:
        return Check("local.settings.json", FAIL, str(e), 'set "IsEncrypted": false with plain values')
    if local.warnings:
        return Check(
            "local.settings.json",
            FAIL,
            " ".join(local.warnings),
            'make it a JSON object with a "Values" object of strings',
        )
    return Check("local.settings.json", OK, f"{path} ({len(local.values)} values)")


def check_index(settings: HostSettings) -> tuple[Check, Registry | None]:
    from host.indexing.loader import index_app

    started = time.perf_counter()
    try:
        registry = index_app(settings)
    except HostError as e:
        return Check("app indexes", FAIL, str(e), f"fix the error in {settings.script_file}"), None
    except Exception as e:  # the app's own import-time code
        return Check(
            "app indexes", FAIL, f"{type(e).__name__}: {e}", f"fix the error in {settings.script_file}"
        ), None
    ms = (time.perf_counter() - started) * 1000
    return Check("app indexes", OK, f"{len(registry)} functions in {ms:.0f} ms"), registry


def check_port(address: str, port: int) -> Check:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((address if address not in ("", "0.0.0.0") else "127.0.0.1", port))
        except OSError:
            return Check(
                "port",
                FAIL,
                f"port {port} is in use",
                f"stop what listens on {port}, or start on another port: python -m host start -p PORT",
            )
    return Check("port", OK, f"{port} is free")


async def check_storage(settings: HostSettings, registry: Registry | None) -> list[Check]:
    """Storage reachable; then the task hub's foreign orchestrator instances (durable apps)."""
    from host.runtime_storage import connect_storage, plan_azurite
    from host.storage.azurite import is_listening
    from host.storage.resolve import storage_account

    try:
        connection = storage_account(settings)
    except HostError as e:
        return [
            Check("storage", FAIL, str(e), "fix AzureWebJobsStorage in local.settings.json"),
            Check("foreign orchestrators", SKIP, "storage is not configured"),
        ]
    if connection is None:
        return [Check("storage", SKIP, "no AzureWebJobsStorage (only HTTP functions can run)")]
    plan = plan_azurite(settings, connection)
    if plan is not None and not is_listening(plan.host, plan.blob_port):
        return [
            Check("storage", OK, "Azurite is not running: start will start it"),
            Check("foreign orchestrators", SKIP, "storage is not running"),
        ]
    try:
        storage = await connect_storage(settings, connection, STORAGE_TIMEOUT, started_azurite=False)
    except HostError as e:
        return [
            Check(
                "storage",
                FAIL,
                str(e),
                _credential_fix(connection)
                if isinstance(e, StorageAuthError)
                else "check AzureWebJobsStorage in local.settings.json and that the account answers",
            ),
            Check("foreign orchestrators", SKIP, "storage is unreachable"),
        ]
    try:
        try:
            await asyncio.wait_for(storage.list_queues(prefix="funchost-doctor"), STORAGE_TIMEOUT)
        except Exception as e:  # the SDK's auth and HTTP errors: this check reports them all
            return [
                Check(
                    "storage",
                    FAIL,
                    f"account {storage.account_name} answers but refuses an "
                    f"authenticated request: {type(e).__name__}: {str(e).splitlines()[0][:200]}",
                    _credential_fix(connection),
                ),
                Check("foreign orchestrators", SKIP, "storage refuses the credentials"),
            ]
        checks = [Check("storage", OK, f"account {storage.account_name} answers with these credentials")]
        checks.append(await _check_foreign(settings, storage, registry))
        return checks
    finally:
        await storage.close()


def _credential_fix(account: StorageAccount) -> str:
    if account.identity is not None:
        return (
            f"check {account.identity.describe()}: signed in, and its roles on the account (Storage "
            "Blob Data Owner, Storage Queue Data Contributor, Storage Table Data Contributor)"
        )
    return "check the AccountKey / SAS of AzureWebJobsStorage in local.settings.json"


async def _check_foreign(settings: HostSettings, storage: Storage, registry: Registry | None) -> Check:
    from host.durable.engine.foreign import HUB_NAME_HINT, MAX_SCANNED, find_foreign_instances
    from host.durable.engine.options import EngineOptions
    from host.durable.taskhub.hub import TaskHub, TaskHubNames

    name = "foreign orchestrators"
    if registry is None:
        return Check(name, SKIP, "the app does not index")
    if not registry.by_trigger(ORCHESTRATION_TRIGGER):
        return Check(name, SKIP, "the app defines no orchestrators")
    section = settings.get_path("extensions.durableTask") or {}
    options = EngineOptions.from_host_json(section if isinstance(section, dict) else {})
    hub = TaskHub(storage, TaskHubNames(options.hub_name, options.partition_count))
    try:
        foreign, more = await find_foreign_instances(hub, registry)
    except HostError as e:
        return Check(name, SKIP, f"task hub {options.hub_name} not readable: {e}")
    if not foreign:
        return Check(name, OK, f"task hub {options.hub_name} has none")
    listed = ", ".join(f"{n} ({c})" for n, c in sorted(foreign.items()))
    more_text = f" (only the first {MAX_SCANNED} instances were read)" if more else ""
    return Check(
        name,
        FAIL,
        f"task hub {options.hub_name} holds unfinished instances of orchestrators this "
        f"app does not define: {listed}{more_text}",
        HUB_NAME_HINT,
    )


def run_checks(app_dir: Path, *, port: int | None = None, azurite: bool = True) -> list[Check]:
    """Every check, in checklist order."""
    app_dir = app_dir.resolve()
    checks = [check_python(sys.version_info[:3]), check_sdk_versions(installed_sdks())]
    if azurite:
        checks.append(check_azurite(app_dir))
    host_json = check_host_json(app_dir)
    checks += [host_json, check_local_settings(app_dir)]
    if host_json.failed:
        return checks
    try:
        settings = load_settings(app_dir, port=port, azurite=azurite)
    except ConfigError as e:
        return [*checks, Check("settings", FAIL, str(e), "fix the setting named above")]
    index, registry = check_index(settings)
    checks.append(index)
    checks += asyncio.run(check_storage(settings, registry))
    checks.append(check_port(settings.address, settings.port))
    return checks
