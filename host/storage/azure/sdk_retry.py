"""The storage retry policy (:mod:`host.storage.retry`) plugged into the Azure SDK pipelines.

The SDKs keep deciding *what* to retry (connection errors, timeouts, 408 and 5xx; never a 412);
these classes replace *how long to wait* (bounded exponential back-off with jitter) and report
each request's final outcome to the account's :class:`~host.storage.health.StorageHealth`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from azure.core.exceptions import ServiceRequestError, ServiceResponseError
from azure.data.tables.aio import TableServiceClient
from azure.data.tables.aio._policies_async import AsyncTablesRetryPolicy
from azure.storage.blob.aio import ExponentialRetry as BlobExponentialRetry
from azure.storage.queue._shared.policies_async import ExponentialRetry as QueueExponentialRetry

from host.storage.health import StorageHealth
from host.storage.retry import RetryPolicy, is_retryable_status


async def _observed(health: StorageHealth, send: Callable[[Any], Awaitable[Any]], request: Any) -> Any:
    """``send(request)``, its final outcome reported to ``health``."""
    try:
        response = await send(request)
    except (ServiceRequestError, ServiceResponseError, OSError) as err:
        health.failed(
            "unreachable", str(err).strip().splitlines()[0][:200] if str(err).strip() else type(err).__name__
        )
        raise
    status = response.http_response.status_code
    if is_retryable_status(status):
        health.failed("busy", f"HTTP {status}")
    else:
        health.succeeded()
    return response


class _Observed:
    """Mixed in before an SDK retry policy: its ``send`` reports the final outcome to ``health``."""

    policy: RetryPolicy
    health: StorageHealth

    async def send(self, request: Any) -> Any:
        # super() is the SDK's async retry policy that follows this mixin in the MRO.
        return await _observed(self.health, super().send, request)  # type: ignore[misc]


class _StorageExponential(_Observed):
    """The blob and queue SDKs' ExponentialRetry (two copies of one class) with our back-off."""

    def __init__(self, policy: RetryPolicy, health: StorageHealth) -> None:
        super().__init__(retry_total=policy.retries, random_jitter_range=0)  # type: ignore[call-arg]
        self.policy = policy
        self.health = health

    def get_backoff_time(self, settings: dict[str, Any]) -> float:
        return self.policy.delay(int(settings["count"]))


class BlobRetry(_StorageExponential, BlobExponentialRetry):  # type: ignore[misc]  # async send
    """The blob SDK's retry with our back-off."""


class QueueRetry(_StorageExponential, QueueExponentialRetry):  # type: ignore[misc]  # async send
    """The queue SDK's retry with our back-off."""


class TablesRetry(_Observed, AsyncTablesRetryPolicy):
    """The tables SDK's (azure-core) retry with our back-off."""

    def __init__(self, policy: RetryPolicy, health: StorageHealth) -> None:
        super().__init__(  # type: ignore[no-untyped-call]  # azure-core's policy is unannotated
            retry_total=policy.retries, retry_backoff_factor=policy.initial, retry_backoff_max=policy.maximum
        )
        self.policy = policy
        self.health = health

    def get_backoff_time(self, settings: dict[str, Any]) -> float:
        return self.policy.delay(max(1, len(settings["history"])))


def table_service_client(
    endpoint: str, policy: RetryPolicy, health: StorageHealth, **kwargs: Any
) -> TableServiceClient:
    """A TableServiceClient whose pipelines (its own and its table clients') retry with
    :class:`TablesRetry`.

    The tables SDK builds its retry policy from keyword arguments only (no jitter), and its table
    clients build their pipelines from the service client's policy list: so that list is taken
    and the retry policy in it swapped for ours."""
    client = TableServiceClient(endpoint, **kwargs)
    policies = [
        TablesRetry(policy, health) if isinstance(p, AsyncTablesRetryPolicy) else p for p in client._policies
    ]
    client = TableServiceClient(endpoint, policies=policies, **kwargs)
    client._policies = policies  # what get_table_client() builds its pipelines from
    return client
