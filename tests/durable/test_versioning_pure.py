"""Orchestration versioning, pure: version comparison, host.json settings, which versions a host runs."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import azure.durable_functions as df
import pytest

from host.durable.cli import render
from host.durable.replay import history as h
from host.durable.replay.episode import run_episode
from host.durable.replay.model import ReplayOptions
from host.durable.replay.simulator import Simulator
from host.durable.replay.versioning import FailureStrategy, MatchStrategy, Versioning, compare_versions
from host.durable.replay.waiting import WaitFacts, WaitState, explain_waiting
from host.errors import ConfigError


@pytest.mark.parametrize(
    ("source", "other", "sign"),
    [
        ("1.0.0", "1.0.0", 0),
        ("1.1.0", "1.0.0", 1),
        ("1.0.0", "1.1.0", -1),
        ("1", "1", 0),
        ("2", "1", 1),
        ("1", "2", -1),
        ("", "1", -1),
        ("1", "", 1),
        ("", "", 0),
        (None, "", 0),
        ("  ", None, 0),
        (None, "0.1", -1),
        ("1.10", "1.9", 1),  # numbers, not text
        ("2.0", "10.0", -1),
        ("1.0", "1.0.0", -1),  # System.Version: an unset build is older than build 0
        ("1.0.0", "1.0.0.0", -1),
        ("10", "9", -1),  # one part is not a System.Version: compared as text
        ("V1", "v1", 0),  # text ignores case
        ("2025-01-01", "2025-02-01", -1),
        ("v1.0-release", "v1.0-beta", 1),
        ("1.0", "1.0-beta", -1),  # one parses, the other not: text ("1.0" is a prefix)
        ("1.-1", "1.0", -1),  # a negative part is not a System.Version
        ("1.2147483648", "1.3", -1),  # beyond Int32 is not either: text
    ],
)
def test_compare_versions_as_the_framework_does(source: str | None, other: str | None, sign: int) -> None:
    result = compare_versions(source, other)
    assert (result > 0) - (result < 0) == sign
    back = compare_versions(other, source)
    assert (back > 0) - (back < 0) == -sign


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ({}, Versioning("", MatchStrategy.CURRENT_OR_OLDER, FailureStrategy.REJECT)),
        ({"defaultversion": None}, Versioning()),
        ({"defaultversion": "1.0"}, Versioning("1.0")),
        ({"defaultversion": 2}, Versioning("2")),
        (
            {"defaultversion": "2.0", "versionmatchstrategy": "strict", "versionfailurestrategy": "FAIL"},
            Versioning("2.0", MatchStrategy.STRICT, FailureStrategy.FAIL),
        ),
        ({"versionmatchstrategy": "None"}, Versioning(match=MatchStrategy.NONE)),
        (
            {"versionmatchstrategy": "2", "versionfailurestrategy": "1"},
            Versioning(failure=FailureStrategy.FAIL),
        ),
    ],
)
def test_settings_from_host_json(section: dict[str, Any], expected: Versioning) -> None:
    assert Versioning.from_host_json(section) == expected


@pytest.mark.parametrize(
    ("section", "named"),
    [
        (
            {"versionmatchstrategy": "Newest"},
            "versionMatchStrategy must be one of None, Strict, CurrentOrOlder",
        ),
        ({"versionfailurestrategy": "Retry"}, "versionFailureStrategy must be one of Reject, Fail"),
        ({"versionfailurestrategy": True}, "versionFailureStrategy"),
        ({"defaultversion": ["1"]}, "defaultVersion must be a string"),
        ({"defaultversion": False}, "defaultVersion must be a string"),
    ],
)
def test_bad_settings_name_the_setting(section: dict[str, Any], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        Versioning.from_host_json(section)


CURRENT = MatchStrategy.CURRENT_OR_OLDER


@pytest.mark.parametrize(
    ("host", "match", "instance", "runs"),
    [
        ("1.0", MatchStrategy.NONE, "9.0", True),
        ("1.0", MatchStrategy.STRICT, "1.0", True),
        ("1.0", MatchStrategy.STRICT, "0.9", False),
        ("1.0", MatchStrategy.STRICT, "", False),
        ("1.0", MatchStrategy.STRICT, "1.0.0", False),  # Strict is the same text
        ("1.0", CURRENT, "1.0", True),
        ("1.0", CURRENT, "0.9", True),
        ("1.0", CURRENT, "", True),  # unversioned instances are older than any version
        ("1.0", CURRENT, "1.1", False),
        ("1.0", CURRENT, "2.0", False),
        ("", CURRENT, "2.0", True),  # no defaultVersion: no checks
        ("", MatchStrategy.STRICT, "2.0", True),
    ],
)
def test_which_versions_a_host_runs(host: str, match: MatchStrategy, instance: str, runs: bool) -> None:
    settings = Versioning(host, match, FailureStrategy.FAIL)
    why = settings.mismatch(instance)
    assert (why is None) is runs
    if not runs:
        assert why is not None and f"'{instance}'" in why and f"'{host}'" in why
    assert not settings.rejects(instance)
    assert Versioning(host, match, FailureStrategy.REJECT).rejects(instance) is not runs


def test_cli_shows_versions_only_for_versioned_instances() -> None:
    plain = {"instanceId": "a", "name": "pack", "runtimeStatus": "Completed"}
    pinned = {"instanceId": "b", "name": "pack", "runtimeStatus": "Running", "version": "2.0"}
    assert "Version" not in render.status_block(plain)
    assert ["Version:", "2.0"] in [line.split() for line in render.status_block(pinned).splitlines()]
    assert render.instances_table([plain]).splitlines()[0].split() == [
        "Instance",
        "Name",
        "Status",
        "Created",
        "Updated",
    ]
    both = render.instances_table([plain, pinned]).splitlines()
    assert both[0].split() == ["Instance", "Name", "Version", "Status", "Created", "Updated"]
    assert both[2].split()[:3] == ["a", "pack", "-"] and both[3].split()[:3] == ["b", "pack", "2.0"]


def test_why_an_instance_waits_names_the_version_refusal() -> None:
    refusal = Versioning("1.0").mismatch("2.0")
    assert refusal is not None
    created = datetime(2026, 1, 1, tzinfo=UTC)
    waiting = explain_waiting(
        WaitFacts(history=[], status="Pending", created_at=created, version_refusal=refusal)
    )
    assert waiting.state is WaitState.PENDING
    assert waiting.sentence == f"waiting for a host that runs its version: {refusal}"
    plain = explain_waiting(WaitFacts(history=[], status="Pending", created_at=created))
    assert "start message is queued" in plain.sentence


# --------------------------------------------------------------------------- replay core (real SDK handles)


def _orch(fn: Any) -> Any:
    return df.Orchestrator.create(fn)


def _versions_across_generations(ctx: df.DurableOrchestrationContext) -> Any:
    seen = ctx.get_input() or []
    seen = [*seen, ctx.version]
    if len(seen) < 3:
        ctx.continue_as_new(seen)
        return None
    child = yield ctx.call_sub_orchestrator_with_retry("child", df.RetryOptions(1000, 2))
    return [seen, child]


def _flaky_child(ctx: df.DurableOrchestrationContext) -> Any:
    if ctx.instance_id.endswith(":0"):  # the first attempt (task id 0) fails
        raise ValueError("first attempt fails")
    return ctx.version
    yield  # a generator, as orchestrators are


def test_continue_as_new_and_sub_orchestration_retries_keep_versions() -> None:
    options = ReplayOptions(versioning=Versioning("2.0"))
    sim = Simulator(
        {"main": _orch(_versions_across_generations), "child": _orch(_flaky_child)}, {}, options=options
    )

    def boom(_: Any) -> str:
        raise ValueError("first attempt fails")

    sim.activities["boom"] = boom
    iid = sim.start("main", version="1.5")
    sim.run()
    assert sim.output(iid) == [["1.5", "1.5", "1.5"], "2.0"]
    started = h.find_execution_started(sim.instances[iid].state.history)
    assert started is not None and started["Version"] == "1.5"
    children = [s for i, s in sim.instances.items() if i != iid]
    assert len(children) == 2  # the failed attempt and its retry, both of the default version
    assert all((h.find_execution_started(c.state.history) or {}).get("Version") == "2.0" for c in children)
    assert all(
        (h.find_execution_started(c.state.history) or {}).get("ParentInstance", {}).get("Version") == "1.5"
        for c in children
    )


def test_fail_strategy_fails_a_running_instance_before_its_code_runs() -> None:
    def waits(ctx: df.DurableOrchestrationContext) -> Any:
        value = yield ctx.wait_for_external_event("go")
        return value

    old = Simulator({"waits": _orch(waits)}, {}, options=ReplayOptions(versioning=Versioning("3.0")))
    iid = old.start("waits")
    old.run()
    state = old.instances[iid].state
    strict = ReplayOptions(versioning=Versioning("2.0", MatchStrategy.STRICT, FailureStrategy.FAIL))
    go = h.event_raised(old.now, "go", json.dumps("x"))
    result = run_episode(_orch(waits), state, [go], old.now, strict)
    assert result.status == h.OrchestrationStatus.Failed and not result.ran_code
    assert result.failure_details is not None and result.failure_details["ErrorType"] == "VersionMismatch"
    assert "'3.0'" in (result.output_text or "") and "'2.0'" in (result.output_text or "")
    rejecting = ReplayOptions(versioning=Versioning("2.0", MatchStrategy.STRICT))
    left = run_episode(_orch(waits), state, [go], old.now, rejecting)
    assert left.rejected is not None and left.appended == [] and left.deferred == [go] and not left.ran_code
