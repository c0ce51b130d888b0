"""Parse ``AzureWebJobsStorage``-style connection strings into a :class:`StorageAccount`.

Accepted forms (keys are case-insensitive, ``;``-separated ``Key=Value`` pairs):

* ``UseDevelopmentStorage=true`` (optionally ``DevelopmentStorageProxyUri=http://host``): the
  well-known Azurite account on ports 10000/10001/10002;
* ``AccountName=…;AccountKey=…`` with optional ``DefaultEndpointsProtocol`` (default https) and
  ``EndpointSuffix`` (default ``core.windows.net``);
* explicit ``BlobEndpoint``/``QueueEndpoint``/``TableEndpoint`` (with or without an account name;
  path-style loopback URLs name the account in their first path segment);
* ``SharedAccessSignature=…`` instead of a key.

Error messages never contain the account key or the signature.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from host.errors import ConfigError
from host.storage.azurite import DEV_ACCOUNT, DEV_KEY

if TYPE_CHECKING:
    from host.storage.identity import IdentityConnection

DEFAULT_SUFFIX = "core.windows.net"
_DEV_PORTS = {"blob": 10000, "queue": 10001, "table": 10002}
_KNOWN_KEYS = {
    "usedevelopmentstorage",
    "developmentstorageproxyuri",
    "defaultendpointsprotocol",
    "accountname",
    "accountkey",
    "endpointsuffix",
    "blobendpoint",
    "queueendpoint",
    "tableendpoint",
    "fileendpoint",
    "sharedaccesssignature",
    "blobsecondaryendpoint",
    "queuesecondaryendpoint",
    "tablesecondaryendpoint",
    "filesecondaryendpoint",
}


@dataclass(frozen=True)
class StorageAccount:
    """One storage account: name, credential and the three service endpoints (no trailing /).

    The credential is the account key, a SAS, or (``identity``) Microsoft Entra tokens of an
    identity-based connection. ``ca_file`` is a PEM bundle of extra CAs to trust over HTTPS
    (a private CA, e.g. an Azurite with a self-signed certificate); ``None`` means the system's.
    """

    account_name: str
    account_key: str | None = field(repr=False)
    blob_endpoint: str | None
    queue_endpoint: str | None
    table_endpoint: str | None
    sas_token: str | None = field(default=None, repr=False)
    is_azurite: bool = False
    is_loopback: bool = False
    identity: IdentityConnection | None = None
    ca_file: str | None = None

    @property
    def endpoints(self) -> dict[str, str | None]:
        """``blob``, ``queue`` and ``table`` → their endpoints (``None`` where absent)."""
        return {"blob": self.blob_endpoint, "queue": self.queue_endpoint, "table": self.table_endpoint}

    def endpoint(self, service: str) -> str:
        """The endpoint of ``service`` ("blob", "queue" or "table"); ConfigError when absent."""
        value = self.endpoints.get(service)
        if not value:
            if self.identity is not None:
                raise ConfigError(self.identity.missing_endpoint(service))
            raise ConfigError(
                f"the storage connection string has no {service.capitalize()}Endpoint "
                f"(and no AccountName to derive it from)"
            )
        return value

    def to_connection_string(self) -> str:
        """An explicit-endpoint connection string the Azure SDKs accept (contains the key).

        ConfigError for an identity-based account: it has no connection string."""
        if self.identity is not None:
            raise ConfigError(
                f"connection '{self.identity.connection}' is identity-based: it has no connection string"
            )
        parts = [f"AccountName={self.account_name}"]
        if self.account_key:
            parts.append(f"AccountKey={self.account_key}")
        if self.sas_token:
            parts.append(f"SharedAccessSignature={self.sas_token}")
        for service, value in self.endpoints.items():
            if value:
                parts.append(f"{service.capitalize()}Endpoint={value}")
        return ";".join(parts)


def account_at(
    name: str,
    ends: Mapping[str, str | None],
    *,
    account_key: str | None = None,
    sas_token: str | None = None,
    is_azurite: bool = False,
    identity: IdentityConnection | None = None,
) -> StorageAccount:
    """The account ``name`` at ``ends`` (its ``blob``/``queue``/``table`` endpoints, ``None`` where
    absent); loopback when every endpoint it has is."""
    hosts = [urlsplit(u).hostname or "" for u in ends.values() if u]
    return StorageAccount(
        account_name=name,
        account_key=account_key,
        blob_endpoint=ends["blob"],
        queue_endpoint=ends["queue"],
        table_endpoint=ends["table"],
        sas_token=sas_token,
        is_azurite=is_azurite,
        is_loopback=bool(hosts) and all(is_loopback_host(h) for h in hosts),
        identity=identity,
    )


def _split(text: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for raw in text.strip().split(";"):
        segment = raw.strip()
        if not segment:
            continue
        key, sep, value = segment.partition("=")
        key = key.strip()
        if not sep or not key:
            shown = key if key.lower() in _KNOWN_KEYS else "a segment"
            raise ConfigError(f"invalid storage connection string: {shown!s} is not of the form Key=Value")
        lowered = key.lower()
        if lowered not in _KNOWN_KEYS:
            # A pasted secret may land in the key position: name only word-like keys.
            shown = repr(key) if key.isalpha() and len(key) <= 32 else "(not shown)"
            raise ConfigError(
                f"invalid storage connection string: unknown key {shown}; segments must be Key=Value "
                "with keys like AccountName, AccountKey, BlobEndpoint"
            )
        pairs[lowered] = value.strip()
    return pairs


def is_loopback_host(host: str) -> bool:
    """Whether ``host`` is ``localhost`` or a loopback IP address."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _is_ip_or_local(host: str) -> bool:
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return True
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False


def _check_endpoint(name: str, url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"invalid storage connection string: {name} must be an http(s) URL, got {url!r}")
    return url.rstrip("/")


def account_from_endpoint(url: str) -> str:
    """The account an endpoint URL names: first path segment (path-style loopback/IP), else the
    first label of the host name ('' if neither)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if _is_ip_or_local(host):
        segment = parts.path.strip("/").split("/")[0]
        return segment
    return host.split(".")[0]


def _development(pairs: dict[str, str]) -> StorageAccount:
    proxy = pairs.get("developmentstorageproxyuri")
    scheme, host = "http", "127.0.0.1"
    if proxy:
        parsed = urlsplit(proxy)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ConfigError(
                "invalid storage connection string: DevelopmentStorageProxyUri must be an "
                f"http(s) URL, got {proxy!r}"
            )
        scheme, host = parsed.scheme, parsed.hostname
    ends: dict[str, str | None] = {s: f"{scheme}://{host}:{p}/{DEV_ACCOUNT}" for s, p in _DEV_PORTS.items()}
    return account_at(DEV_ACCOUNT, ends, account_key=DEV_KEY, is_azurite=True)


def parse_connection_string(text: str) -> StorageAccount:
    """Parse a storage connection string; :class:`ConfigError` (one line, no secrets) if invalid."""
    if not text or not text.strip():
        raise ConfigError("the storage connection string is empty (set AzureWebJobsStorage)")
    pairs = _split(text)
    dev = pairs.get("usedevelopmentstorage")
    if dev is not None:
        if dev.lower() != "true":
            raise ConfigError(
                f"invalid storage connection string: UseDevelopmentStorage must be 'true', got {dev!r}"
            )
        return _development(pairs)

    protocol = pairs.get("defaultendpointsprotocol", "https").lower()
    if protocol not in ("http", "https"):
        raise ConfigError(
            "invalid storage connection string: DefaultEndpointsProtocol must be http or https, "
            f"got {protocol!r}"
        )
    suffix = pairs.get("endpointsuffix", DEFAULT_SUFFIX).strip(".")
    name = pairs.get("accountname")
    key = pairs.get("accountkey") or None
    sas = (pairs.get("sharedaccesssignature") or "").lstrip("?") or None
    explicit = {
        s: _check_endpoint(f"{s.capitalize()}Endpoint", pairs[f"{s}endpoint"])
        for s in ("blob", "queue", "table")
        if pairs.get(f"{s}endpoint")
    }
    if not name:
        if not explicit:
            raise ConfigError(
                "invalid storage connection string: it needs AccountName (with AccountKey) "
                "or UseDevelopmentStorage=true or explicit service endpoints"
            )
        name = account_from_endpoint(next(iter(explicit.values())))
        if not name:
            raise ConfigError(
                "invalid storage connection string: cannot tell the account name from the "
                "endpoints; add AccountName"
            )
    if key is None and sas is None:
        raise ConfigError(
            f"invalid storage connection string for account {name!r}: "
            "it has neither AccountKey nor SharedAccessSignature"
        )
    if key is not None:
        _check_key(name, key)
    ends: dict[str, str | None] = {}
    for service in ("blob", "queue", "table"):
        if service in explicit:
            ends[service] = explicit[service]
        elif pairs.get("accountname"):
            ends[service] = f"{protocol}://{name}.{service}.{suffix}"
        else:
            ends[service] = None
    return account_at(name, ends, account_key=key, sas_token=sas, is_azurite=name == DEV_ACCOUNT)


def _check_key(name: str, key: str) -> None:
    import base64
    import binascii

    try:
        base64.b64decode(key, validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError(
            f"invalid storage connection string for account {name!r}: AccountKey is not valid Base64"
        ) from None
