"""The lean REST path's HTTP client: one aiohttp session, signed requests, the storage retry policy.

Used by :class:`host.storage.azure.storage.AzureStorage` for the hot queue and table operations (the
Azure SDKs' pipelines cost several ms of CPU per request; this costs a fraction of one).
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import ssl
from dataclasses import dataclass
from typing import Any, NoReturn
from urllib.parse import quote, urlsplit

import aiohttp
from multidict import CIMultiDictProxy
from yarl import URL

from host.errors import StorageUnreachableError
from host.storage.azure.bearer import BearerTokens
from host.storage.azure.rest_auth import HttpDate, queue_string_to_sign, sign, table_string_to_sign
from host.storage.connection import StorageAccount
from host.storage.health import StorageHealth
from host.storage.retry import DEFAULT_POLICY, RetryPolicy, is_retryable_status

QUEUE_API_VERSION = "2021-12-02"
TABLE_API_VERSION = "2019-02-02"
OAUTH_MIN_API_VERSION = "2017-11-09"
"""Bearer tokens need this x-ms-version or later (both versions above are)."""
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 60.0
KEEPALIVE = 4.0
"""Idle connections are dropped after this long: below Node's (Azurite's) 5 s keep-alive, so a
request is never sent on a connection the server is closing at that moment."""
_UNREACHABLE_HINT = "is the storage account (Azurite) running and reachable?"


@dataclass(frozen=True)
class RestResponse:
    """Status, headers and the whole body of one response."""

    status: int
    headers: CIMultiDictProxy[str]
    body: bytes


class RestClient:
    """Signed requests to the queue and table endpoints of one account.

    Shared Key, a SAS, or (``tokens``, an identity-based account) ``Authorization: Bearer``.
    """

    def __init__(
        self,
        account: StorageAccount,
        retry: RetryPolicy = DEFAULT_POLICY,
        health: StorageHealth | None = None,
        tokens: BearerTokens | None = None,
    ) -> None:
        self.account = account
        self.tokens = tokens
        if account.identity is not None and tokens is None:
            self.tokens = BearerTokens(account.identity)
        self.retry = retry
        self.health = health if health is not None else StorageHealth(account.account_name)
        self._key = base64.b64decode(account.account_key) if account.account_key else None
        self._sas = (account.sas_token or "").lstrip("?")
        # A connection may lack a service (a binding's identity settings often name one or two):
        # that is an error only when a request goes there.
        given = {"queue": account.queue_endpoint, "table": account.table_endpoint}
        self._bases = {s: url.rstrip("/") for s, url in given.items() if url}
        self._paths = {s: urlsplit(b).path for s, b in self._bases.items()}
        self._date = HttpDate()
        self._session: aiohttp.ClientSession | None = None

    def base(self, service: str) -> str:
        """The service endpoint (no trailing slash), e.g. for absolute URLs in a batch;
        ConfigError naming the setting if the account has none."""
        found = self._bases.get(service)
        return found if found is not None else self.account.endpoint(service)

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(sock_connect=CONNECT_TIMEOUT, sock_read=READ_TIMEOUT),
                connector=aiohttp.TCPConnector(keepalive_timeout=KEEPALIVE, ssl=self._ssl()),
                trust_env=not self.account.is_loopback,
                auto_decompress=False,
                skip_auto_headers=("User-Agent", "Accept-Encoding"),
            )
        return self._session

    def _ssl(self) -> ssl.SSLContext | bool:
        if self.account.ca_file:
            return ssl.create_default_context(cafile=self.account.ca_file)
        return True

    async def close(self) -> None:
        """Close the session (a later request opens a new one)."""
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    def _prepare(
        self,
        service: str,
        method: str,
        tail: str,
        query: list[tuple[str, str]],
        headers: dict[str, str],
        body: bytes | None,
        token: str | None = None,
    ) -> str:
        base = self.base(service)
        path = f"{self._paths[service]}/{tail}"
        headers["x-ms-date"] = self._date.now()
        if service == "queue":
            headers["x-ms-version"] = QUEUE_API_VERSION
        else:
            headers["x-ms-version"] = TABLE_API_VERSION
            headers.setdefault("dataserviceversion", "3.0")
        if body is not None:
            headers["content-length"] = str(len(body))
        qs = "&".join(f"{n}={quote(v, safe='')}" for n, v in query)
        if token is not None:
            headers["authorization"] = f"Bearer {token}"
        elif self._key is not None:
            text = (queue_string_to_sign if service == "queue" else table_string_to_sign)(
                self.account.account_name, method, path, query, headers
            )
            headers["authorization"] = f"SharedKey {self.account.account_name}:{sign(self._key, text)}"
        elif self._sas:
            qs = f"{qs}&{self._sas}" if qs else self._sas
        url = f"{base}/{tail}"
        return f"{url}?{qs}" if qs else url

    async def send(
        self,
        service: str,
        method: str,
        tail: str,
        what: str,
        *,
        query: list[tuple[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
    ) -> RestResponse:
        """One request (``tail`` percent-encoded, after the account path); connection errors,
        timeouts and retryable statuses are retried per ``self.retry``. StorageUnreachableError
        naming ``what`` if it never gets an answer; any other HTTP status (or the last retryable
        one) is returned for the caller to map."""
        q = query or []
        attempt = 0
        while True:
            h = dict(headers) if headers else {}
            token = await self.tokens.token() if self.tokens is not None else None
            url = self._prepare(service, method, tail, q, h, body, token)
            try:
                async with self._open().request(method, URL(url, encoded=True), headers=h, data=body) as r:
                    data = await r.read()
                    response = RestResponse(r.status, r.headers, data)
            except (aiohttp.ClientError, OSError, TimeoutError) as err:
                if attempt >= self.retry.retries:
                    self.health.failed("unreachable", _short(err))
                    raise StorageUnreachableError(
                        f"{what}: storage did not answer ({_short(err)}); {_UNREACHABLE_HINT}"
                    ) from err
            else:
                if token is not None and response.status in (401, 403):
                    self._refused(response, what)
                if not is_retryable_status(response.status):
                    self.health.succeeded()
                    return response
                if attempt >= self.retry.retries:
                    self.health.failed("busy", f"{what}: {response.status}")
                    return response
            attempt += 1
            await asyncio.sleep(self.retry.delay(attempt))

    def _refused(self, response: RestResponse, what: str) -> NoReturn:
        """A 401/403 answer to a bearer token: StorageAuthError naming the connection's setting."""
        assert self.tokens is not None
        self.health.succeeded()  # it answered
        code = response.headers.get("x-ms-error-code", "")
        raise self.tokens.refused(what, response.status, code, _refusal(response.body))


def _refusal(body: bytes) -> str:
    """The service's one-line reason (XML ``<AuthenticationErrorDetail>`` or ``<Message>``, or JSON
    ``message``), '' if none."""
    text = body.decode("utf-8", "replace")
    m = re.search(r"<AuthenticationErrorDetail>([^<]*)</AuthenticationErrorDetail>", text) or re.search(
        r"<Message>([^<]*)</Message>", text
    )
    if m:
        message = m.group(1)
    else:
        try:
            err = json.loads(text).get("odata.error") or {}
            message = str((err.get("message") or {}).get("value", ""))
        except (ValueError, AttributeError):
            message = ""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    return lines[0][:200] if lines else ""


def _short(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0][:200] if text else type(err).__name__


def json_headers(**extra: Any) -> dict[str, str]:
    """Headers of a table request with a JSON body (minimal metadata in responses)."""
    return {
        "accept": "application/json;odata=minimalmetadata",
        "content-type": "application/json",
        **{k.replace("_", "-"): str(v) for k, v in extra.items()},
    }
