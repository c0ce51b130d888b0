"""The lean REST path's HTTP client: one aiohttp session, signed requests, the storage retry policy.

Used by :class:`host.storage.azure.storage.AzureStorage` for the hot queue and table operations (the
Azure SDKs' pipelines cost several ms of CPU per request; this costs a fraction of one).
"""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp
from multidict import CIMultiDictProxy
from yarl import URL

from host.errors import StorageUnreachableError
from host.storage.azure.rest_auth import HttpDate, queue_string_to_sign, sign, table_string_to_sign
from host.storage.connection import StorageAccount
from host.storage.health import StorageHealth
from host.storage.retry import DEFAULT_POLICY, RetryPolicy, is_retryable_status

QUEUE_API_VERSION = "2021-12-02"
TABLE_API_VERSION = "2019-02-02"
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
    """Signed requests to the queue and table endpoints of one account."""

    def __init__(
        self,
        account: StorageAccount,
        retry: RetryPolicy = DEFAULT_POLICY,
        health: StorageHealth | None = None,
    ) -> None:
        self.account = account
        self.retry = retry
        self.health = health if health is not None else StorageHealth(account.account_name)
        self._key = base64.b64decode(account.account_key) if account.account_key else None
        self._sas = (account.sas_token or "").lstrip("?")
        self._bases = {s: account.endpoint(s).rstrip("/") for s in ("queue", "table")}
        self._paths = {s: urlsplit(b).path for s, b in self._bases.items()}
        self._date = HttpDate()
        self._session: aiohttp.ClientSession | None = None

    def base(self, service: str) -> str:
        """The service endpoint (no trailing slash), e.g. for absolute URLs in a batch."""
        return self._bases[service]

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(sock_connect=CONNECT_TIMEOUT, sock_read=READ_TIMEOUT),
                connector=aiohttp.TCPConnector(keepalive_timeout=KEEPALIVE),
                trust_env=not self.account.is_loopback,
                auto_decompress=False,
                skip_auto_headers=("User-Agent", "Accept-Encoding"),
            )
        return self._session

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
    ) -> str:
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
        if self._key is not None:
            text = (queue_string_to_sign if service == "queue" else table_string_to_sign)(
                self.account.account_name, method, path, query, headers
            )
            headers["authorization"] = f"SharedKey {self.account.account_name}:{sign(self._key, text)}"
        elif self._sas:
            qs = f"{qs}&{self._sas}" if qs else self._sas
        url = f"{self._bases[service]}/{tail}"
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
            url = self._prepare(service, method, tail, q, h, body)
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
                if not is_retryable_status(response.status):
                    self.health.succeeded()
                    return response
                if attempt >= self.retry.retries:
                    self.health.failed("busy", f"{what}: {response.status}")
                    return response
            attempt += 1
            await asyncio.sleep(self.retry.delay(attempt))


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
