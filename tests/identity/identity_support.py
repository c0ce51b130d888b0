"""Credential factories for ``FUNCHOST_TOKEN_CREDENTIAL`` (``identity_support:wrong_audience``, ...)
and the types of the identity tests' fixtures."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from host.testing.tokens import UnsignedTokenCredential

SECRET = "s3cr3t-Value~not.to.be.shown"

IdentitySettings = Callable[..., dict[str, str]]
"""The ``identity_settings`` fixture: ``(prefix=..., credential=...)`` → app settings."""


@dataclass(frozen=True)
class TlsFiles:
    """PEM files: the test CA, and the server certificate and key it signed."""

    ca: Path
    cert: Path
    key: Path


def wrong_audience() -> UnsignedTokenCredential:
    """Tokens for Key Vault, not storage."""
    return UnsignedTokenCredential(audience="https://vault.azure.net")


def expired() -> UnsignedTokenCredential:
    """Tokens that expired ten minutes ago."""
    return UnsignedTokenCredential(lifetime=-600)


def short_lived() -> UnsignedTokenCredential:
    """Tokens valid for 4 seconds (the cache must renew them while requests go on)."""
    return UnsignedTokenCredential(lifetime=4)


def wrong_issuer() -> UnsignedTokenCredential:
    """Tokens from an issuer Azurite (like Azure) does not trust: refused by the service."""
    return UnsignedTokenCredential(issuer="https://login.example.com/tenant/")


class FailingCredential:
    """A credential that fails with the client secret in its message (it must never be shown)."""

    async def get_token(self, *scopes: str, **kwargs: object) -> object:
        raise RuntimeError(f"AADSTS7000215: Invalid client secret provided: '{SECRET}'\nTrace ID: 1")

    async def close(self) -> None:
        return None


def failing() -> FailingCredential:
    return FailingCredential()
