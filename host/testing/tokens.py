"""Unsigned storage tokens for testing identity-based connections against Azurite ``--oauth basic``.

Azurite's basic OAuth checks a bearer token's audience, issuer and lifetime but not its signature,
so :class:`UnsignedTokenCredential` (an ``AsyncTokenCredential``) can stand in for Microsoft Entra
ID. Point a host at it with ``FUNCHOST_TOKEN_CREDENTIAL=host.testing.tokens:UnsignedTokenCredential``
(Azurite must serve HTTPS: it refuses bearer tokens over HTTP). Never use it against Azure.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable
from types import TracebackType
from typing import Any

from azure.core.credentials import AccessToken

STORAGE_AUDIENCE = "https://storage.azure.com"
TEST_TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
ISSUER = f"https://sts.windows.net/{TEST_TENANT}/"
"""An issuer Azurite accepts (it checks the ``https://sts.windows.net/`` prefix)."""


def _b64(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unsigned_jwt(claims: dict[str, Any]) -> str:
    """A JWT with ``claims`` and no signature (``alg: none``)."""
    return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."


class UnsignedTokenCredential:
    """Issues unsigned JWTs for ``audience``, valid ``lifetime`` seconds (negative: already expired).

    ``issued`` counts the tokens handed out (a cache in front of it should keep this low).
    """

    def __init__(
        self,
        *,
        audience: str = STORAGE_AUDIENCE,
        issuer: str = ISSUER,
        lifetime: float = 3600.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.audience = audience
        self.issuer = issuer
        self.lifetime = lifetime
        self._clock = clock
        self.issued = 0

    async def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        """A fresh token (``scopes`` are not checked: the audience is fixed)."""
        now = int(self._clock())
        expires = int(now + self.lifetime)
        body = {
            "aud": self.audience,
            "iss": self.issuer,
            "iat": min(now, expires) - 60,
            "nbf": min(now, expires) - 60,
            "exp": expires,
            "tid": TEST_TENANT,
            "oid": str(uuid.uuid4()),
            "sub": "funchost-test",
            "scp": "user_impersonation",
            "ver": "1.0",
        }
        self.issued += 1
        return AccessToken(unsigned_jwt(body), expires)

    async def close(self) -> None:
        """Nothing to close."""

    async def __aenter__(self) -> UnsignedTokenCredential:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        return None
