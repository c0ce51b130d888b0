"""Who may see the dashboard and which requests may change state.

Without keys (the local default) the host's guard already limits requests to loopback names and
same-site origins. Under ``--enable-auth`` a page needs a session: the login form takes the master
key and sets an HttpOnly, SameSite=Strict cookie holding an HMAC of the key under a secret of
this process (never the key itself; a restart ends sessions, a hot reload does not). Every
action carries a CSRF token (form field ``csrf`` or header ``X-CSRF-Token``): an HMAC of the
session under the same secret, checked in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response

from host.http.auth import KeyStore, provided_key

PROCESS_SECRET = secrets.token_bytes(32)
"""Signs sessions and CSRF tokens: one per process, so a hot reload keeps both valid."""
SESSION_COOKIE = "funchost_dashboard"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"


class Security:
    """Sessions and CSRF tokens of one dashboard; ``keys()`` gives the app's keys or ``None``."""

    def __init__(
        self,
        keys: Callable[[], KeyStore | None],
        cookie_path: str = "/dashboard",
        secret: bytes = PROCESS_SECRET,
    ) -> None:
        self._keys = keys
        self._secret = secret
        self.cookie_path = cookie_path

    def _mac(self, *parts: bytes) -> str:
        return hmac.new(self._secret, b"\0".join(parts), hashlib.sha256).hexdigest()

    @property
    def required(self) -> bool:
        """Whether pages need a login (the host runs with ``--enable-auth``)."""
        return self._keys() is not None

    def _session_for(self, keys: KeyStore) -> str:
        return self._mac(b"session", keys.master_key.encode("utf-8", "surrogatepass"))

    def authenticated(self, request: Request) -> bool:
        """Whether ``request`` may see the dashboard (a session cookie, or the master key itself)."""
        keys = self._keys()
        if keys is None:
            return True
        cookie = request.cookies.get(SESSION_COOKIE, "")
        if cookie and hmac.compare_digest(cookie, self._session_for(keys)):
            return True
        return keys.is_master(provided_key(request.headers, request.query_params))

    def login(self, key: str, response: Response) -> bool:
        """Set the session cookie on ``response`` when ``key`` is the master key."""
        keys = self._keys()
        if keys is None or not keys.is_master(key):
            return False
        response.set_cookie(
            SESSION_COOKIE,
            self._session_for(keys),
            path=self.cookie_path,
            httponly=True,
            samesite="strict",
        )
        return True

    def logout(self, response: Response) -> None:
        """Clear the session cookie."""
        response.delete_cookie(SESSION_COOKIE, path=self.cookie_path, httponly=True, samesite="strict")

    def csrf_token(self, request: Request) -> str:
        """The token a page embeds for its actions (bound to the session when there is one)."""
        return self._mac(b"csrf", request.cookies.get(SESSION_COOKIE, "").encode())

    def csrf_ok(self, request: Request, form_value: str | None) -> bool:
        """Whether an action carries this session's token (header or form field)."""
        given = request.headers.get(CSRF_HEADER) or form_value or ""
        return bool(given) and hmac.compare_digest(given, self.csrf_token(request))
