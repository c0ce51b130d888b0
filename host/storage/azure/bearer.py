"""Microsoft Entra tokens of an identity-based connection: one credential, one cached token.

The token is fetched on first use and again ahead of its expiry (``REFRESH_AHEAD`` seconds, at
most half its lifetime), never per request. If a refresh
fails while the cached token is still valid, the cached one goes on being used. The Azure SDK
clients get :class:`BearerTokens` itself as their credential, so they share the cache with the
lean REST path.

A token whose audience is not Azure Storage, or that has already expired, is refused here with
an error naming the connection's setting (the service would only say 401/403).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import importlib
import json
import logging
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from azure.core.credentials import AccessToken
from azure.core.credentials_async import AsyncTokenCredential

from host.errors import StorageAuthError, StorageCredentialError
from host.storage.azure.convert import redact_tokens
from host.storage.identity import IdentityConnection

log = logging.getLogger("host.storage")

STORAGE_AUDIENCE = "https://storage.azure.com"
STORAGE_SCOPE = f"{STORAGE_AUDIENCE}/.default"
REFRESH_AHEAD = 300.0
_STORAGE_AUDIENCES = re.compile(
    r"https://storage\.azure\.com/?|e406a681-f3d4-42a8-90b6-c2b029497af1|"
    r"https://[^/]+\.(blob|queue|table)\.core\.[^/]+/?"
)


def open_credential(identity: IdentityConnection) -> AsyncTokenCredential:
    """The azure-identity (``.aio``) credential the settings of ``identity`` describe."""
    if identity.kind == "factory":
        module, _, attr = (identity.token_factory or "").partition(":")
        factory = getattr(importlib.import_module(module), attr)
        credential = factory()
        if not callable(getattr(credential, "get_token", None)):
            raise TypeError(f"{identity.token_factory}() did not return a token credential")
        return credential  # type: ignore[no-any-return]
    from azure.identity.aio import ClientSecretCredential, DefaultAzureCredential, ManagedIdentityCredential

    if identity.kind == "managedidentity":
        return ManagedIdentityCredential(client_id=identity.client_id)
    if identity.kind == "clientsecret":
        return ClientSecretCredential(
            identity.tenant_id or "", identity.client_id or "", identity.client_secret or ""
        )
    if identity.client_id:
        return DefaultAzureCredential(managed_identity_client_id=identity.client_id)
    return DefaultAzureCredential()


def token_claims(token: str) -> dict[str, Any]:
    """The claims of a JWT, read without checking its signature ({} if it is not a JWT)."""
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (binascii.Error, ValueError):
        return {}
    return claims if isinstance(claims, dict) else {}


class BearerTokens:
    """The storage tokens of one identity-based connection (an ``AsyncTokenCredential`` too)."""

    def __init__(
        self,
        identity: IdentityConnection,
        *,
        credential: AsyncTokenCredential | None = None,
        clock: Callable[[], float] = time.time,
        refresh_ahead: float = REFRESH_AHEAD,
    ) -> None:
        self.identity = identity
        self._credential = credential
        self._clock = clock
        self._refresh_ahead = refresh_ahead
        self._token: AccessToken | None = None
        self._refresh_at = 0.0
        self._lock = asyncio.Lock()
        self.fetches = 0
        """Tokens obtained from the credential so far."""

    async def token(self) -> str:
        """A valid storage access token (cached; StorageCredentialError naming the setting if none)."""
        return (await self.get_token(STORAGE_SCOPE)).token

    async def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        """The cached token for the storage scope; other scopes (or claims) go to the credential."""
        if scopes != (STORAGE_SCOPE,) or claims or tenant_id:
            return await self._fetch(scopes, claims=claims, tenant_id=tenant_id, **kwargs)
        async with self._lock:
            now = self._clock()
            current = self._token
            if current is not None and now < self._refresh_at:
                return current
            try:
                fresh = await self._fetch(scopes)
            except StorageCredentialError as e:
                if current is not None and now < current.expires_on:
                    log.warning("%s; using the cached token until it expires", e)
                    self._refresh_at = now + min(30.0, current.expires_on - now)
                    return current
                raise
            self._token = fresh
            lifetime = fresh.expires_on - now
            self._refresh_at = now + lifetime - min(self._refresh_ahead, lifetime / 2)
            return fresh

    def invalidate(self) -> None:
        """Forget the cached token (the service refused it): the next request fetches a new one."""
        self._token = None
        self._refresh_at = 0.0

    async def _fetch(self, scopes: tuple[str, ...], **kwargs: Any) -> AccessToken:
        identity = self.identity
        try:
            if self._credential is None:
                self._credential = open_credential(identity)
            access = await self._credential.get_token(*scopes, **kwargs)
        except Exception as e:  # any failure of any credential: one line, no secret
            hint = (
                f"; sign in with 'az login' or 'azd auth login', or set {identity.connection}__credential "
                "or a service principal"
                if identity.kind == "default"
                else ""
            )
            raise StorageCredentialError(
                f"{identity.source} is set but no credential could be obtained from "
                f"{identity.describe()}: {self.scrub(_one_line(e))}{hint}"
            ) from None
        self.fetches += 1
        self._check(access)
        return access

    def _check(self, access: AccessToken) -> None:
        where = f"{self.identity.source}: the token from {self.identity.describe()}"
        audience = token_claims(access.token).get("aud")
        if isinstance(audience, str) and not _STORAGE_AUDIENCES.fullmatch(audience):
            raise StorageCredentialError(
                f"{where} is for audience {audience!r}, not Azure Storage ({STORAGE_AUDIENCE})"
            )
        if access.expires_on <= self._clock():
            when = datetime.fromtimestamp(access.expires_on, UTC).isoformat(timespec="seconds")
            raise StorageCredentialError(f"{where} expired at {when} (is this machine's clock right?)")

    def refused(self, what: str, status: int, code: str, detail: str) -> StorageAuthError:
        """The error of a request whose token the service refused (401/403), naming the connection;
        the cached token is dropped (the next request fetches a new one)."""
        self.invalidate()
        identity = self.identity
        text = (
            f"{what}: the storage account refused the token of connection '{identity.connection}' "
            f"({identity.source}, {identity.describe()}): {status} {code}".rstrip()
        )
        return StorageAuthError(self.scrub(f"{text}: {detail}" if detail else text))

    def scrub(self, text: str) -> str:
        """``text`` without this connection's client secret or anything that looks like a token."""
        secret = self.identity.client_secret
        if secret:
            text = text.replace(secret, "***")
        return redact_tokens(text)

    async def close(self) -> None:
        """Close the credential (a later request opens a new one)."""
        credential, self._credential = self._credential, None
        self.invalidate()
        if credential is not None:
            await credential.close()

    async def __aenter__(self) -> BearerTokens:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        await self.close()


def _one_line(err: BaseException) -> str:
    """A credential's (often multi-line) error on one line: per credential its first sentence."""
    parts = []
    for raw in str(err).splitlines():
        line = raw.strip()
        if not line or line.startswith(("Visit ", "To mitigate", "Attempted credentials")):
            continue
        name, sep, rest = line.partition(": ")
        if sep and name.endswith("Credential"):
            line = f"{name}: {rest.split('. ')[0].rstrip('.')}"
        parts.append(line.rstrip("."))
    text = "; ".join(parts) or type(err).__name__
    return text[:700] + ("…" if len(text) > 700 else "")
