"""host.json ``extensions.durableTask`` → EngineOptions (pure)."""

from __future__ import annotations

import pytest

from host.durable.engine.options import EngineOptions
from host.errors import ConfigError


def test_lease_and_lock_timings_from_host_json() -> None:
    opts = EngineOptions.from_host_json(
        {
            "storageProvider": {
                "controlQueueVisibilityTimeout": "00:00:02",
                "leaseInterval": "00:00:03",
                "leaseRenewInterval": "00:00:01",
                "leaseAcquireInterval": "00:00:00.5",
            }
        }
    )
    assert (
        opts.lock_seconds,
        opts.partition_lease_seconds,
        opts.partition_renew_seconds,
        opts.partition_acquire_seconds,
    ) == (2, 3.0, 1.0, 0.5)


def test_a_dead_hosts_partitions_move_within_10_seconds_by_default() -> None:
    opts = EngineOptions.from_host_json({})
    assert opts.partition_lease_seconds + opts.partition_acquire_seconds <= 10
    assert opts.partition_renew_seconds <= opts.partition_lease_seconds / 3


def test_renew_and_acquire_intervals_follow_a_short_lease_by_default() -> None:
    short = EngineOptions.from_host_json({"storageProvider": {"leaseInterval": 3}})
    assert (short.partition_renew_seconds, short.partition_acquire_seconds) == (1.5, 1.5)


def test_renew_interval_longer_than_the_lease_is_refused() -> None:
    with pytest.raises(ConfigError, match="leaseRenewInterval"):
        EngineOptions.from_host_json({"storageProvider": {"leaseInterval": 3, "leaseRenewInterval": 5}})
