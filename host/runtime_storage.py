"""Bring up the ``AzureWebJobsStorage`` account: auto-start Azurite when needed, then ping it.

Azurite is started only when the connection string points at the development account on
loopback, none of its three ports answers, and ``--no-azurite`` was not given. It listens on
loopback only; its data lives in ``~/.funchost/azurite/<blob port>/`` (``FUNCHOST_AZURITE_HOME``
moves it). Hosts share it through :mod:`host.storage.azurite_share`: the last host to stop stops it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from host.config.settings import HostSettings
from host.errors import (
    AzuriteError,
    StorageAuthError,
    StorageError,
    StorageUnreachableError,
)
from host.logs import console
from host.storage.azure.lazy import LazyAzureStorage
from host.storage.azurite import AzuriteProcess, find_azurite, is_listening
from host.storage.azurite_share import AzuriteLease, acquire, azurite_folder
from host.storage.connection import StorageAccount
from host.storage.interface import Storage

log = logging.getLogger("host.storage")


@dataclass(frozen=True)
class AzuritePlan:
    """Where to start Azurite: loopback host, the three ports, the data folder."""

    host: str
    blob_port: int
    queue_port: int
    table_port: int
    location: Path


def _host_port(url: str | None) -> tuple[str, int] | None:
    if not url:
        return None
    parts = urlsplit(url)
    if not parts.hostname:
        return None
    port = parts.port or (443 if parts.scheme == "https" else 80)
    host = "127.0.0.1" if parts.hostname.lower() == "localhost" else parts.hostname
    return host, port


def plan_azurite(settings: HostSettings, account: StorageAccount) -> AzuritePlan | None:
    """The Azurite to start for ``account``, or ``None`` (not ours to start, or already up)."""
    if not settings.azurite:
        return None
    if not (account.is_azurite and account.is_loopback):
        return None
    endpoints = [
        _host_port(account.blob_endpoint),
        _host_port(account.queue_endpoint),
        _host_port(account.table_endpoint),
    ]
    if any(e is None for e in endpoints) or any(
        u and urlsplit(u).scheme != "http"
        for u in (account.blob_endpoint, account.queue_endpoint, account.table_endpoint)
    ):
        return None
    hosts = {e[0] for e in endpoints if e}
    if len(hosts) != 1:
        return None
    host = hosts.pop()
    blob, queue, table = (e[1] for e in endpoints if e)
    return AzuritePlan(host, blob, queue, table, azurite_folder(blob, settings.environ))


_LAUNCHER = """#!/usr/bin/env node
// Written by funchost: runs Azurite without loading its telemetry SDK (applicationinsights takes
// ~0.9 s of Azurite's ~1.7 s start and is never used with --disableTelemetry).
"use strict";
const Module = require("module");
const load = Module._load;
const stub = new Proxy({}, {
  get(_target, name) {
    if (typeof name === "symbol" || name === "then" || name === "__esModule") return undefined;
    throw new Error("applicationinsights is not loaded by funchost (telemetry is disabled)");
  },
});
Module._load = function (request, parent, isMain) {
  return request === "applicationinsights" ? stub : load.apply(this, arguments);
};
if (!process.argv.some((a) => a.toLowerCase() === "--disabletelemetry")) {
  process.argv.push("--disableTelemetry");
}
require(%s);
"""


def _launcher(location: Path) -> str | None:
    """A Node script that starts Azurite without its telemetry SDK (None: use Azurite as is)."""
    try:
        script = Path(find_azurite()).resolve()
        if script.suffix != ".js":
            return None
        launcher = location / "funchost-azurite.js"
        text = _LAUNCHER % json.dumps(str(script))
        if not launcher.is_file() or launcher.read_text() != text:
            location.mkdir(parents=True, exist_ok=True)
            launcher.write_text(text)
            launcher.chmod(0o755)
        return str(launcher)
    except (OSError, AzuriteError) as e:
        log.debug("starting Azurite without the launcher: %s", e)
        return None


def share_azurite(plan: AzuritePlan) -> AzuriteLease | None:
    """A lease on the shared Azurite of ``plan``, started if no host runs it (blocking).

    ``None`` when something else listens on those ports (an Azurite the user runs): not ours.
    """
    proc = AzuriteProcess(plan.blob_port, plan.queue_port, plan.table_port, plan.location, host=plan.host)
    lease = acquire(proc, _start)
    if lease is not None and not lease.started:
        log.info(
            "Using the Azurite another host started (blob %d, queue %d, table %d; data in %s).",
            plan.blob_port,
            plan.queue_port,
            plan.table_port,
            plan.location,
        )
    return lease


def start_azurite(plan: AzuritePlan) -> AzuriteProcess:
    """Start Azurite per ``plan`` and wait until it listens (blocking; run it in a thread)."""
    proc = AzuriteProcess(plan.blob_port, plan.queue_port, plan.table_port, plan.location, host=plan.host)
    _start(proc)
    return proc


def _start(proc: AzuriteProcess) -> None:
    """Start ``proc`` through the fast launcher (else as is) and say so on the console."""
    launcher = _launcher(proc.location)
    try:
        proc.start(executable=launcher)
    except AzuriteError as e:
        if launcher is None:
            raise
        # The launcher only saves start-up time: if this Azurite version dislikes it, run it as is.
        log.warning("Azurite did not start through the fast launcher (%s); starting it directly", e)
        proc.start()
    console(
        "Started Azurite (blob %d, queue %d, table %d; data in %s).",
        proc.blob_port,
        proc.queue_port,
        proc.table_port,
        proc.location,
    )


def _describe(account: StorageAccount) -> str:
    return account.queue_endpoint or account.blob_endpoint or account.table_endpoint or account.account_name


async def connect_storage(
    settings: HostSettings, account: StorageAccount, timeout: float, *, started_azurite: bool
) -> Storage:
    """Open the account and ping it; a clear :class:`StorageUnreachableError` within ``timeout``.

    The storage returned imports the Azure SDKs on first use. A plain-HTTP loopback account
    (Azurite) is pinged with one raw request per service, so an app that never touches storage
    never pays for the SDK imports; any other account is pinged through the SDKs (an
    identity-based one gets its first token then: StorageAuthError if it cannot).
    """
    storage = LazyAzureStorage(account)
    hint = ""
    if account.is_loopback and not started_azurite:
        hint = (
            " Start Azurite, or drop --no-azurite to let the host start it."
            if not settings.azurite
            else " Check that Azurite is running on all three ports."
        )
        # Fast path: a refused loopback port needs no SDK round trip (and its retries).
        for url in (account.blob_endpoint, account.queue_endpoint, account.table_endpoint):
            where = _host_port(url)
            if where is not None and not is_listening(*where, timeout=0.5):
                raise StorageUnreachableError(
                    f"AzureWebJobsStorage is not reachable: nothing listens at {url}.{hint}"
                )
    try:
        if _raw_pingable(account):
            await asyncio.wait_for(
                asyncio.gather(
                    *(http_ping(account.endpoint(service), service) for service in ("queue", "table", "blob"))
                ),
                timeout,
            )
        else:
            await storage.ping(timeout=timeout)
    except TimeoutError:
        await storage.close()
        raise StorageUnreachableError(
            f"AzureWebJobsStorage is not reachable ({_describe(account)}): "
            f"no answer within {timeout:g} s.{hint}"
        ) from None
    except StorageAuthError as e:
        await storage.close()
        if account.identity is not None:  # its errors name the connection and the credential
            raise
        raise StorageAuthError(
            f"AzureWebJobsStorage ({_describe(account)}) refused the account key or SAS: {e}"
        ) from None
    except StorageError as e:
        await storage.close()
        raise StorageUnreachableError(
            f"AzureWebJobsStorage is not reachable ({_describe(account)}): {e}.{hint}"
        ) from None
    except BaseException:
        await storage.close()
        raise
    return storage


def _raw_pingable(account: StorageAccount) -> bool:
    urls = (account.blob_endpoint, account.queue_endpoint, account.table_endpoint)
    return account.is_loopback and all(u and urlsplit(u).scheme == "http" for u in urls)


async def http_ping(url: str, service: str) -> None:
    """One unauthenticated ``Get Service Properties`` to a plain-HTTP storage endpoint.

    Any storage answer counts (Azurite says 403 without a signature): the response must carry
    ``x-ms-request-id``, and an Azurite ``Server`` header must name ``service``. StorageError
    otherwise (nothing listening, not a storage service, the wrong service on that port).
    """
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    path = (parts.path or "/") + "?restype=service&comp=properties"
    where = f"{service} service at {url}"
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError as e:
        raise StorageError(f"{where}: {e.strerror or e}") from None
    try:
        writer.write(
            f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Length: 0\r\n"
            "Connection: close\r\n\r\n".encode("latin-1")
        )
        head = await reader.readuntil(b"\r\n\r\n")
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as e:
        raise StorageError(f"{where}: no HTTP answer ({e})") from None
    finally:
        writer.close()
    lines = head.decode("latin-1").split("\r\n")
    fields = (line.partition(":") for line in lines[1:] if line)
    headers = {k.strip().lower(): v.strip() for k, _, v in fields}
    if not lines[0].startswith("HTTP/1.") or "x-ms-request-id" not in headers:
        raise StorageError(f"{where}: the answer is not from a storage service ({lines[0][:80]!r})")
    server = headers.get("server", "")
    if server.lower().startswith("azurite-") and not server.lower().startswith(f"azurite-{service}"):
        raise StorageError(f"{where}: {server} answers there, not the {service} service")
