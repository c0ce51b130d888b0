"""The storage account a connection name stands for, read from the host's settings.

As the Functions host does: ``connection`` (empty = ``AzureWebJobsStorage``) is first a connection
string (``AzureWebJobs<name>``, then ``<name>``), else identity-based settings under the same two
prefixes (:mod:`host.storage.identity`). Setting names are case-insensitive, like the host's
configuration. ``<prefix>__caFile`` (a funchost option) adds a PEM bundle of CAs to trust.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from host.config.settings import HostSettings
from host.errors import ConfigError
from host.storage.connection import StorageAccount, parse_connection_string
from host.storage.identity import Lookup, identity_account

DEFAULT_CONNECTION = "AzureWebJobsStorage"


def prefixes(connection: str | None) -> tuple[str, ...]:
    """The settings prefixes a connection name is looked up under, in order."""
    if not connection or connection.strip().lower() in ("azurewebjobsstorage", "storage"):
        return (DEFAULT_CONNECTION,)
    return (f"AzureWebJobs{connection}", connection)


def environ_lookup(environ: Mapping[str, str]) -> Lookup:
    """A case-insensitive lookup of ``environ`` (an exact name wins)."""
    folded = {k.lower(): v for k, v in environ.items()}

    def get(name: str) -> str | None:
        value = environ.get(name)
        if value is None:
            value = folded.get(name.lower())
        return value or None

    return get


def storage_account(settings: HostSettings, connection: str | None = None) -> StorageAccount | None:
    """The account of ``connection`` (``None`` if no setting names one); ConfigError if malformed."""
    names = prefixes(connection)
    text = settings.connection(None if names == (DEFAULT_CONNECTION,) else connection)
    return _account(environ_lookup(settings.environ), names, text)


def cli_account(
    value: str, *, option: str = "--connection", environ: Mapping[str, str] = os.environ
) -> StorageAccount:
    """A ``--connection`` value: a connection string, the name of an app setting holding one (as
    ``value`` or ``AzureWebJobs<value>``), or the prefix of identity-based settings."""
    if "=" in value:
        return parse_connection_string(value)
    get = environ_lookup(environ)
    account = _account(get, prefixes(value), get(value) or get(f"AzureWebJobs{value}"))
    if account is None:
        raise ConfigError(
            f"{option} {value!r} is neither a connection string nor a set app setting "
            f"(nor identity-based settings such as {value}__accountName): run it in the app folder "
            f"(its local.settings.json Values count as settings) or pass a connection string, "
            f"e.g. {option} UseDevelopmentStorage=true"
        )
    return account


def _account(get: Lookup, names: tuple[str, ...], text: str | None) -> StorageAccount | None:
    account = parse_connection_string(text) if text else None
    for prefix in names:
        if account is not None:
            break
        account = identity_account(prefix, get)
    if account is None:
        return None
    ca_setting = next((f"{p}__caFile" for p in names if get(f"{p}__caFile")), None)
    if ca_setting is None:
        return account
    ca_file = get(ca_setting) or ""
    if not Path(ca_file).is_file():
        raise ConfigError(f"{ca_setting}: no such file {ca_file!r} (a PEM bundle of CA certificates)")
    return replace(account, ca_file=ca_file)
