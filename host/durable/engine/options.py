"""Options of the durable engine, read from host.json ``extensions.durableTask``."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from host.durable.replay.versioning import Versioning
from host.durable.taskhub.names import sanitize_default_hub_name, validate_hub_name
from host.errors import ConfigError

DEFAULT_HUB = "TestHubName"


@dataclass(frozen=True)
class EngineOptions:
    """Knobs of the engine (defaults suit local development)."""

    hub_name: str = DEFAULT_HUB
    partition_count: int = 4
    max_concurrent_activities: int = 10 * (os.cpu_count() or 1)
    max_concurrent_orchestrations: int = 10 * (os.cpu_count() or 1)
    max_entity_batch: int = 5000
    max_poll_interval: float = 1.0
    """Cap of the idle back-off of queue polling, in seconds (``maxQueuePollingInterval``)."""
    min_poll_interval: float = 0.05
    lock_seconds: int = 60
    """How long a message this host works on stays invisible to others (its crash-recovery delay)."""
    control_batch_size: int = 32
    use_partition_table: bool = True
    partition_lease_seconds: float = 8.0
    """How long a partition stays a host's without renewal (DTFx ``LeaseInterval``, 30 s there): a
    host that died without releasing its partitions loses them after this."""
    partition_renew_seconds: float = 2.0
    """How often the owned partitions are renewed (DTFx ``LeaseRenewInterval``, 10 s there)."""
    partition_acquire_seconds: float = 2.0
    """How often free, expired or unevenly spread partitions are looked for (DTFx
    ``LeaseAcquireInterval``, 10 s there). Failover takes at most lease + acquire interval."""
    max_buffered_messages: int = 256
    max_dequeue_count: int = 20
    """A message received more often than this is quarantined in the poison queue (``maxDequeueCount``)."""
    versioning: Versioning = field(default_factory=Versioning)
    """``defaultVersion``, ``versionMatchStrategy``, ``versionFailureStrategy``."""

    @classmethod
    def from_host_json(cls, durable: dict[str, Any], *, hub_override: str | None = None) -> EngineOptions:
        """Options from the ``extensions.durableTask`` section (keys are case-insensitive)."""
        section = {k.lower(): v for k, v in (durable or {}).items()}
        provider = {k.lower(): v for k, v in (section.get("storageprovider") or {}).items()}
        explicit = hub_override or section.get("hubname")
        if explicit:
            hub = str(explicit)
            if hub.startswith("%") and hub.endswith("%") and len(hub) > 2:
                setting = hub[1:-1]
                hub = os.environ.get(setting, "")
                if not hub:
                    raise ConfigError(
                        f"extensions.durableTask.hubName refers to app setting {setting!r}, which is not set"
                    )
            validate_hub_name(hub)
        else:
            hub = sanitize_default_hub_name(os.environ.get("WEBSITE_SITE_NAME"))
        base = cls()

        def number(source: dict[str, Any], key: str, default: float, *, low: float, high: float) -> float:
            raw = source.get(key.lower())
            if raw is None:
                return default
            if isinstance(raw, str):
                raw = _timespan_seconds(raw) if ":" in raw else raw
            try:
                value = float(raw)
            except (TypeError, ValueError):
                raise ConfigError(
                    f"host.json extensions.durableTask: {key} must be a number, got {raw!r}"
                ) from None
            if not low <= value <= high:
                raise ConfigError(
                    f"host.json extensions.durableTask: {key} must be between "
                    f"{low:g} and {high:g}, got {value:g}"
                )
            return value

        lease = number(provider, "leaseInterval", base.partition_lease_seconds, low=1, high=3600)
        return cls(
            hub_name=hub,
            versioning=Versioning.from_host_json(section),
            partition_count=int(number(provider, "partitionCount", base.partition_count, low=1, high=16)),
            max_concurrent_activities=int(
                number(
                    section,
                    "maxConcurrentActivityFunctions",
                    base.max_concurrent_activities,
                    low=1,
                    high=10_000,
                )
            ),
            max_concurrent_orchestrations=int(
                number(
                    section,
                    "maxConcurrentOrchestratorFunctions",
                    base.max_concurrent_orchestrations,
                    low=1,
                    high=10_000,
                )
            ),
            max_entity_batch=int(
                number(section, "maxEntityOperationBatchSize", base.max_entity_batch, low=1, high=100_000)
            ),
            max_poll_interval=number(
                provider, "maxQueuePollingInterval", base.max_poll_interval, low=0.05, high=3600
            ),
            lock_seconds=int(
                number(provider, "controlQueueVisibilityTimeout", base.lock_seconds, low=1, high=3600)
            ),
            control_batch_size=int(
                number(provider, "controlQueueBatchSize", base.control_batch_size, low=1, high=32)
            ),
            max_buffered_messages=int(
                number(
                    provider, "controlQueueBufferThreshold", base.max_buffered_messages, low=1, high=10_000
                )
            ),
            max_dequeue_count=int(
                number(provider, "maxDequeueCount", base.max_dequeue_count, low=1, high=10_000)
            ),
            # DTFx's LeaseInterval / LeaseRenewInterval / LeaseAcquireInterval: how soon the
            # partitions of a host that died are taken over (short values suit tests).
            partition_lease_seconds=lease,
            partition_renew_seconds=number(
                provider,
                "leaseRenewInterval",
                min(base.partition_renew_seconds, lease / 2),
                low=0.1,
                high=lease,
            ),
            partition_acquire_seconds=number(
                provider,
                "leaseAcquireInterval",
                min(base.partition_acquire_seconds, lease / 2),
                low=0.1,
                high=3600,
            ),
        )


def _timespan_seconds(text: str) -> float:
    """``[d.]hh:mm:ss[.fff]`` as seconds."""
    days = 0
    body = text.strip()
    if "." in body.split(":")[0]:
        d, body = body.split(".", 1)
        days = int(d)
    parts = body.split(":")
    if len(parts) != 3:
        raise ConfigError(f"host.json: {text!r} is not a TimeSpan (hh:mm:ss)")
    try:
        h, m, s = int(parts[0]), int(parts[1]), float(parts[2])
    except ValueError:
        raise ConfigError(f"host.json: {text!r} is not a TimeSpan (hh:mm:ss)") from None
    return days * 86400 + h * 3600 + m * 60 + s
