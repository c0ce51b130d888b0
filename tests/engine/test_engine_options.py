"""host.json ``extensions.durableTask`` → EngineOptions (pure)."""

from __future__ import annotations

import pytest

from host.durable.engine.options import EngineOptions
from host.errors import ConfigError


def test_lease_and_lock_timings_from_host_json() -> None:
    opts = EngineOptions.from_host_json({"storageProvider": {
        "controlQueueVisibilityTimeout": "00:00:05", "leaseInterval": "00:00:03",
        "leaseRenewInterval": "00:00:01"}})
    assert (opts.lock_seconds, opts.partition_lease_seconds, opts.partition_renew_seconds) == (5, 3.0, 1.0)


def test_renew_interval_follows_a_short_lease_by_default() -> None:
    assert EngineOptions.from_host_json({}).partition_renew_seconds == 10.0
    short = EngineOptions.from_host_json({"storageProvider": {"leaseInterval": 4}})
    assert short.partition_renew_seconds == 2.0


def test_renew_interval_longer_than_the_lease_is_refused() -> None:
    with pytest.raises(ConfigError, match="leaseRenewInterval"):
        EngineOptions.from_host_json({"storageProvider": {"leaseInterval": 3, "leaseRenewInterval": 5}})
