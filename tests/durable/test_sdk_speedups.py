"""The SDK's timestamp parsing is swapped for a faster one that gives the same instants."""

from __future__ import annotations

from dateutil.parser import parse

from host.durable.replay import orchestrator_call  # noqa: F401 - installs the speed-up
from host.durable.replay.sdk_speedups import parse_timestamp


def test_same_instants_as_dateutil_for_every_shape_the_host_writes() -> None:
    for text in (
        "2026-11-29T00:02:07.3580840Z",
        "2026-11-29T00:02:07Z",
        "2024-01-01T00:00:01.25Z",
        "2026-11-29T00:02:07.358084+00:00",
    ):
        assert parse_timestamp(text) == parse(text)


def test_odd_formats_still_parse_through_dateutil() -> None:
    assert parse_timestamp("Sun, 29 Nov 2026 00:02:07 GMT") == parse("Sun, 29 Nov 2026 00:02:07 GMT")


def test_the_sdk_history_events_use_it() -> None:
    import sys

    module = sys.modules["azure.durable_functions.models.history.HistoryEvent"]
    assert module.dt_parse is parse_timestamp
