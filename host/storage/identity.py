"""Identity-based storage connections: ``<connection>__accountName`` or ``__*ServiceUri`` settings.

As the Functions host reads them (prefix = the connection name, e.g. ``AzureWebJobsStorage`` or a
binding's ``connection``):

* ``__accountName``: the account in public Azure (``https://<name>.<service>.core.windows.net``);
  or ``__blobServiceUri`` / ``__queueServiceUri`` / ``__tableServiceUri`` (``__serviceUri`` stands
  for the blob or queue URI a binding uses);
* the credential: ``__credential=managedidentity`` (with ``__clientId`` for a user-assigned
  identity), or a service principal (``__tenantId``, ``__clientId``, ``__clientSecret``), else the
  developer's own sign-in (``DefaultAzureCredential``: Azure CLI, azd, environment, ...).

``FUNCHOST_TOKEN_CREDENTIAL=module:factory`` (a funchost test hook, not an Azure setting) replaces
the credential of every identity-based connection by ``factory()``, an ``AsyncTokenCredential``.
Nothing here imports the Azure SDKs; errors name the settings and never show a secret.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Literal
from urllib.parse import urlsplit

from host.errors import ConfigError
from host.storage.connection import (
    DEFAULT_SUFFIX,
    StorageAccount,
    account_at,
    account_from_endpoint,
)

TOKEN_CREDENTIAL_SETTING = "FUNCHOST_TOKEN_CREDENTIAL"
_SERVICES = ("blob", "queue", "table")

Lookup = Callable[[str], str | None]
"""A setting name → its value (``None`` if unset)."""

CredentialKind = Literal["default", "managedidentity", "clientsecret", "factory"]


@dataclass(frozen=True)
class IdentityConnection:
    """How an identity-based connection gets its tokens (no secret in ``repr``)."""

    connection: str
    """The settings prefix, e.g. ``AzureWebJobsStorage`` or ``MyConn``."""
    source: str
    """The setting that made the connection identity-based, e.g. ``AzureWebJobsStorage__accountName``."""
    kind: CredentialKind = "default"
    client_id: str | None = None
    tenant_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    token_factory: str | None = None
    """``module:attribute`` of the test hook's credential factory."""

    def describe(self) -> str:
        """The credential in words (never a secret)."""
        if self.kind == "factory":
            return f"the credential of {TOKEN_CREDENTIAL_SETTING}={self.token_factory}"
        if self.kind == "managedidentity":
            which = f" (client id {self.client_id})" if self.client_id else " (system-assigned)"
            return "ManagedIdentityCredential" + which
        if self.kind == "clientsecret":
            return f"ClientSecretCredential (tenant {self.tenant_id}, client id {self.client_id})"
        return "DefaultAzureCredential (the developer's sign-in: Azure CLI, azd, environment, ...)"

    def missing_endpoint(self, service: str) -> str:
        """The ConfigError text of a service this connection has no endpoint for."""
        return (
            f"connection '{self.connection}' is identity-based ({self.source}) but has no {service} "
            f"endpoint: set {self.connection}__{service}ServiceUri or {self.connection}__accountName"
        )


def _credential(prefix: str, source: str, get: Lookup) -> IdentityConnection:
    factory = get(TOKEN_CREDENTIAL_SETTING)
    client_id, tenant, secret = (
        get(f"{prefix}__clientId"),
        get(f"{prefix}__tenantId"),
        get(f"{prefix}__clientSecret"),
    )
    base = IdentityConnection(prefix, source, client_id=client_id, tenant_id=tenant, client_secret=secret)
    if factory:
        if ":" not in factory:
            raise ConfigError(f"{TOKEN_CREDENTIAL_SETTING} must be 'module:factory', got {factory!r}")
        return replace(base, kind="factory", token_factory=factory)
    kind = get(f"{prefix}__credential")
    if kind is not None:
        if kind.strip().lower() != "managedidentity":
            shown = repr(kind) if kind.isalpha() and len(kind) <= 32 else "(not shown)"
            raise ConfigError(
                f"{prefix}__credential must be 'managedidentity' (or unset for the developer's sign-in "
                f"or a service principal), got {shown}"
            )
        return replace(base, kind="managedidentity")
    if tenant or secret:
        missing = [
            f"{prefix}__{name}"
            for name, value in (("tenantId", tenant), ("clientId", client_id), ("clientSecret", secret))
            if not value
        ]
        if missing:
            raise ConfigError(
                f"{source} is set with a service principal, but {' and '.join(missing)} "
                f"{'is' if len(missing) == 1 else 'are'} missing"
            )
        return replace(base, kind="clientsecret")
    return base


def _https(setting: str, url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise ConfigError(f"{setting} must be an https URL (tokens are only sent over HTTPS), got {url!r}")
    return url.rstrip("/")


def identity_account(prefix: str, get: Lookup) -> StorageAccount | None:
    """The account of the identity-based settings under ``prefix`` (``None`` if there are none).

    ConfigError naming the setting when a URI is not https, the account name cannot be told,
    ``__credential`` is unknown or a service principal lacks a part.
    """
    name = get(f"{prefix}__accountName")
    uris = {s: get(f"{prefix}__{s}ServiceUri") for s in _SERVICES}
    alias = get(f"{prefix}__serviceUri")
    if not name and not alias and not any(uris.values()):
        return None
    if alias:
        for s in ("blob", "queue"):
            uris[s] = uris[s] or alias
    source = next(
        n
        for n in (
            f"{prefix}__accountName",
            *(f"{prefix}__{s}ServiceUri" for s in _SERVICES),
            f"{prefix}__serviceUri",
        )
        if get(n)
    )
    ends: dict[str, str | None] = {}
    for s in _SERVICES:
        given = uris[s]
        setting = f"{prefix}__{s}ServiceUri" if get(f"{prefix}__{s}ServiceUri") else f"{prefix}__serviceUri"
        if given:
            ends[s] = _https(setting, given)
        elif name:
            ends[s] = f"https://{name}.{s}.{DEFAULT_SUFFIX}"
        else:
            ends[s] = None
    account = name or next((account_from_endpoint(u) for u in ends.values() if u), "")
    if not account:
        raise ConfigError(
            f"{source} is set but the account name cannot be told from it: set {prefix}__accountName"
        )
    return account_at(account, ends, identity=_credential(prefix, source, get))
