"""Bring up the ``AzureWebJobsStorage`` account: auto-start Azurite when needed, then ping it.

Azurite is started only when the connection string points at the development account on
loopback, none of its three ports answers, and ``--no-azurite`` was not given. Its data lives
in ``<app>/.azurite/``; it listens on loopback only and is stopped with the host.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from host.config.settings import HostSettings
from host.errors import StorageError, StorageUnreachableError
from host.logs import console
from host.storage.azurite import AzuriteProcess, is_listening
from host.storage.connection import StorageAccount, parse_connection_string
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


def plan_azurite(settings: HostSettings, connection: str) -> AzuritePlan | None:
    """The Azurite to start for ``connection``, or ``None`` (not ours to start, or already up)."""
    if not settings.azurite:
        return None
    account = parse_connection_string(connection)
    if not (account.is_azurite and account.is_loopback):
        return None
    endpoints = [_host_port(account.blob_endpoint), _host_port(account.queue_endpoint),
                 _host_port(account.table_endpoint)]
    if any(e is None for e in endpoints) or any(u and urlsplit(u).scheme != "http" for u in (
            account.blob_endpoint, account.queue_endpoint, account.table_endpoint)):
        return None
    hosts = {e[0] for e in endpoints if e}
    if len(hosts) != 1:
        return None
    host = hosts.pop()
    if any(is_listening(h, p, timeout=0.2) for h, p in (e for e in endpoints if e)):
        return None  # someone runs it (maybe partly: then the ping reports what is missing)
    blob, queue, table = (e[1] for e in endpoints if e)
    return AzuritePlan(host, blob, queue, table, settings.script_root / ".azurite")


def start_azurite(plan: AzuritePlan) -> AzuriteProcess:
    """Start Azurite per ``plan`` and wait until it listens (blocking; run it in a thread)."""
    proc = AzuriteProcess(plan.blob_port, plan.queue_port, plan.table_port, plan.location, host=plan.host)
    proc.start()
    console("Started Azurite (blob %d, queue %d, table %d; data in %s).",
            plan.blob_port, plan.queue_port, plan.table_port, plan.location)
    return proc


def _describe(account: StorageAccount) -> str:
    return account.queue_endpoint or account.blob_endpoint or account.table_endpoint or account.account_name


async def connect_storage(settings: HostSettings, connection: str, timeout: float, *,
                          started_azurite: bool) -> Storage:
    """Open the account and ping it; a clear :class:`StorageUnreachableError` within ``timeout``."""
    from host.storage import open_storage

    account = parse_connection_string(connection)
    hint = ""
    if account.is_loopback and not started_azurite:
        hint = (" Start Azurite, or drop --no-azurite to let the host start it."
                if not settings.azurite else " Check that Azurite is running on all three ports.")
        # Fast path: a refused loopback port needs no SDK round trip (and its retries).
        for url in (account.blob_endpoint, account.queue_endpoint, account.table_endpoint):
            where = _host_port(url)
            if where is not None and not is_listening(*where, timeout=0.5):
                raise StorageUnreachableError(
                    f"AzureWebJobsStorage is not reachable: nothing listens at {url}.{hint}")
    storage = open_storage(connection)
    try:
        await storage.ping(timeout=timeout)
    except StorageError as e:
        await storage.close()
        raise StorageUnreachableError(
            f"AzureWebJobsStorage is not reachable ({_describe(account)}): {e}.{hint}"
        ) from None
    except BaseException:
        await storage.close()
        raise
    return storage
