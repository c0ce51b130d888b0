"""What the local default (no ``--enable-auth``) refuses: requests a browser could be tricked into.

Without keys, any web page the developer visits could otherwise drive the host:

* **DNS rebinding** — a page on ``evil.example`` whose name later resolves to 127.0.0.1 reaches the
  host with ``Host: evil.example``. Only loopback names (``localhost``, ``*.localhost``,
  ``127.0.0.0/8``, ``[::1]``, and the address the host listens on) are served; others get 403.
* **Cross-site requests** — a form or ``fetch`` from another site may POST/PUT/PATCH/DELETE here
  (no preflight for simple requests). A state-changing request whose ``Origin`` is neither the
  host's own nor an allowed CORS origin gets 403. Requests without ``Origin`` (curl, SDKs) pass.

With ``--enable-auth`` the keys protect every endpoint, as in Azure, and this guard is not used.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_WILDCARD_ADDRESSES = frozenset({"", "0.0.0.0", "::"})


def split_host(value: str) -> tuple[str, int | None]:
    """``(host, port)`` of a ``Host`` value (``[::1]:7071`` → ``("::1", 7071)``); port None if absent/bad."""
    text = value.strip().lower()
    if text.startswith("["):
        end = text.find("]")
        host, rest = (text[1:end], text[end + 1 :]) if end > 0 else (text, "")
    else:
        host, _, port_text = text.partition(":")
        rest = f":{port_text}" if port_text else ""
    port = None
    if rest.startswith(":") and rest[1:].isdigit():
        port = int(rest[1:])
    return host.rstrip("."), port


def is_loopback_name(host: str) -> bool:
    """Whether ``host`` (no port, no brackets) names this machine's loopback interface."""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class LocalGuard:
    """ASGI middleware refusing rebinding ``Host`` names and cross-site state-changing requests."""

    def __init__(self, app: ASGIApp, *, address: str = "127.0.0.1", cors_origins: Iterable[str] = ()) -> None:
        self.app = app
        own = address.strip("[]").lower()
        self.extra_hosts = frozenset() if own in _WILDCARD_ADDRESSES else frozenset({own})
        origins = [o.rstrip("/").lower() for o in cors_origins]
        self.any_origin = "*" in origins
        self.cors_origins = frozenset(origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        host_header = headers.get(b"host", b"").decode("latin-1")
        problem = self.host_problem(host_header)
        if problem is None and scope["type"] == "http" and scope.get("method", "GET") not in SAFE_METHODS:
            origin = headers.get(b"origin")
            if origin is not None:
                problem = self.origin_problem(origin.decode("latin-1"), host_header)
        if problem is not None:
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
                return
            await PlainTextResponse(problem, status_code=403)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def host_problem(self, host_header: str) -> str | None:
        """Why a ``Host`` value is refused (``None``: served). No ``Host`` at all is not a browser."""
        if not host_header:
            return None
        host, _ = split_host(host_header)
        if is_loopback_name(host) or host in self.extra_hosts:
            return None
        return (
            f"Host '{host_header[:100]}' is not served: this local host answers only to localhost, "
            f"127.0.0.1 and [::1] (protection against DNS rebinding; run with --enable-auth to "
            f"serve other names behind keys)."
        )

    def origin_problem(self, origin: str, host_header: str) -> str | None:
        """Why a state-changing request from ``origin`` is refused (``None``: allowed)."""
        value = origin.strip().rstrip("/").lower()
        if self.any_origin or value in self.cors_origins:
            return None
        parts = urlsplit(value)
        if value != "null" and parts.scheme in ("http", "https") and parts.hostname:
            own_host, own_port = split_host(host_header) if host_header else ("", None)
            host, port = parts.hostname, parts.port
            default = 443 if parts.scheme == "https" else 80
            same_port = (port or default) == (own_port or default)
            if same_port and (host == own_host or (is_loopback_name(host) and is_loopback_name(own_host))):
                return None
        return (
            f"Cross-site {origin[:100]!r} request refused: only the host's own pages and the CORS "
            f"origins of local.settings.json (Host.CORS) or --cors may change state here."
        )
