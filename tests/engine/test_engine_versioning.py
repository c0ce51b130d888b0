"""Orchestration versioning on Azurite: defaultVersion stamping, explicit versions, sub-orchestrations,
``context.version`` on replay, the match and failure strategies, the version in status queries."""

from __future__ import annotations

import functools
import json
import logging
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from crash_support import HUB_PARTITIONS, REPO, HostProcess, HubView
from waiting import eventually

from host.durable.replay import history as h
from host.testing.app_host import AppHost

HOST_APP = Path(__file__).parent / "apps" / "versioning"
API = "/runtime/webhooks/durabletask"


def durable(default: str, **settings: Any) -> dict[str, Any]:
    """host.json overrides: ``extensions.durableTask`` with ``defaultVersion`` and ``settings``."""
    return {"extensions": {"durableTask": {"defaultVersion": default, **settings}}}


async def begin(app: AppHost, name: str, version: str | None = None, payload: Any = None) -> str:
    """Start through the app's HTTP trigger (the SDK client's ``start_new``)."""
    assert app.client is not None
    resp = await app.client.post(
        f"/api/begin/{name}",
        params={} if version is None else {"version": version},
        content=b"" if payload is None else json.dumps(payload).encode(),
    )
    assert resp.status_code == 202, resp.text
    return str(resp.json()["id"])


async def status_json(app: AppHost, instance_id: str) -> dict[str, Any]:
    assert app.client is not None
    resp = await app.client.get(f"{API}/instances/{instance_id}")
    assert resp.status_code in (200, 202), resp.text
    return dict(resp.json())


async def sdk_status(app: AppHost, instance_id: str) -> dict[str, Any]:
    """What the SDK client's ``get_status`` gives the app."""
    assert app.client is not None
    resp = await app.client.get(f"/api/peek/{instance_id}")
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


async def children_versions(app: AppHost, parent: str) -> list[str]:
    """Versions of the parent's sub-orchestrations, in the order they were started."""
    history = await app.management.get_history(parent)
    created = [e for e in history if e["EventType"] == int(h.EventType.SubOrchestrationInstanceCreated)]
    versions = []
    for event in created:
        row = await app.management.get_status(str(event["InstanceId"]))
        assert row is not None
        started = h.find_execution_started(await app.management.get_history(row.instance_id))
        assert started is not None
        assert started["Version"] == row.version == event["Version"], (started, row, event)
        versions.append(row.version or "")
    return versions


def rejections(caplog: pytest.LogCaptureFixture, instance_id: str) -> int:
    return sum(1 for r in caplog.records if instance_id in r.getMessage() and "left for" in r.getMessage())


# --------------------------------------------------------------------------- stamping

STAMPING = [
    # host defaultVersion, version passed to start_new, instance version, packing, child default
    ("1.0", None, "1.0", "parcel packed by hand", "1.0"),
    ("1.0", "0.9", "0.9", "parcel packed by robot", "1.0"),
    ("2.0", None, "2.0", "parcel packed by robot", "2.0"),
    ("2.0", "1.0", "1.0", "parcel packed by hand", "2.0"),
    ("", None, "", "parcel packed by robot", ""),
    ("", "3.0", "3.0", "parcel packed by robot", ""),
]


@pytest.mark.parametrize("default", sorted({c[0] for c in STAMPING}, reverse=True))
async def test_instances_are_stamped_and_keep_their_version(
    default: str, azurite_connection_string: str
) -> None:
    cases = [c for c in STAMPING if c[0] == default]
    async with AppHost(
        HOST_APP, connection_string=azurite_connection_string, virtual_time=False, host_json=durable(default)
    ) as app:
        ids = [await begin(app, "pack", version) for _, version, *_ in cases]
        for iid, (_, _, version, packed, child_default) in zip(ids, cases, strict=True):
            row = await app.wait(iid)
            assert row.runtime_status == "Completed", row.output
            assert app.output(row) == {
                "version": version,
                "seen": [version, version],
                "packed": packed,
                "child_default": child_default,
                "child_pinned": "0.5",
            }
            assert row.version == version
            started = h.find_execution_started(await app.management.get_history(iid))
            assert started is not None and started["Version"] == version
            assert await children_versions(app, iid) == [child_default, "0.5"]
            shown = await status_json(app, iid)
            assert shown.get("version", "") == version
            assert (await sdk_status(app, iid)) == {"runtimeStatus": "Completed", "version": version or None}


async def test_the_webhook_start_api_takes_a_version(azurite_connection_string: str) -> None:
    async with AppHost(
        HOST_APP, connection_string=azurite_connection_string, virtual_time=False, host_json=durable("1.0")
    ) as app:
        assert app.client is not None
        pinned = await app.client.post(f"{API}/orchestrators/stamp", params={"version": "0.7"})
        plain = await app.client.post(f"{API}/orchestrators/stamp")
        assert pinned.status_code == plain.status_code == 202
        for resp, version in ((pinned, "0.7"), (plain, "1.0")):
            row = await app.wait(resp.json()["id"])
            assert app.output(row) == {"version": version, "packed": f"{version} packed by robot"}
            assert row.version == version


# --------------------------------------------------------------------------- strategies

# For a host at defaultVersion 1.0: may it run an instance of 2.0, of 0.9?
MATCHING = {"None": (True, True), "Strict": (False, False), "CurrentOrOlder": (False, True)}


@pytest.mark.parametrize("failure", ["Reject", "Fail"])
@pytest.mark.parametrize("match", list(MATCHING))
async def test_match_and_failure_strategies(
    match: str, failure: str, azurite_connection_string: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="host")
    caplog.set_level(logging.INFO, logger="Function.stamp")
    settings = durable("1.0", versionMatchStrategy=match, versionFailureStrategy=failure)
    async with AppHost(
        HOST_APP, connection_string=azurite_connection_string, virtual_time=False, host_json=settings
    ) as app:
        assert app.client is not None
        started = {}
        for version in ("2.0", "0.9"):
            resp = await app.client.post(f"{API}/orchestrators/stamp", params={"version": version})
            assert resp.status_code == 202
            started[version] = str(resp.json()["id"])
        for (version, iid), runs in zip(started.items(), MATCHING[match], strict=True):
            if runs:
                row = await app.wait(iid)
                assert row.runtime_status == "Completed", row.output
                assert app.output(row)["version"] == version
            elif failure == "Fail":
                row = await app.wait(iid)
                assert row.runtime_status == "Failed"
                assert f"'{version}'" in (row.output or "") and "'1.0'" in (row.output or ""), row.output
                end = (await app.management.get_history(iid))[-2]
                assert end["EventType"] == int(h.EventType.ExecutionCompleted)
                assert end["FailureDetails"]["ErrorType"] == "VersionMismatch"
                assert (await status_json(app, iid))["runtimeStatus"] == "Failed"
                said = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
                assert any(f"instance {iid} failed: " in m and f"'{version}'" in m for m in said), said
            else:
                await eventually(functools.partial(rejections, caplog, iid), 30, f"{iid} rejected")
                pending = await app.management.get_status(iid)
                assert pending is not None and pending.runtime_status == "Pending"
                assert pending.version == version
                assert await app.management.get_history(iid) == []
                report = (await app.client.get(f"/admin/durable/instances/{iid}")).json()
                assert report["waiting"]["sentence"].startswith("waiting for a host that runs its version")
                assert f"'{version}'" in report["waiting"]["sentence"]
        # Orchestrator episodes are logged as invocations only when code ran.
        executing = [r for r in caplog.records if "Executing 'Functions.stamp'" in r.getMessage()]
        assert bool(executing) is any(MATCHING[match])


async def test_a_rejected_instance_waits_for_a_host_that_can_run_it(
    azurite_connection_string: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Host 1.0 leaves a 2.0 instance on the queue (past maxDequeueCount, never poisoned);
    host 2.0 then takes the partition over and runs it."""
    caplog.set_level(logging.INFO, logger="host")
    hub = f"reject{uuid.uuid4().hex[:10]}"
    old = durable("1.0", storageProvider={"maxDequeueCount": 1})
    async with AppHost(
        HOST_APP,
        connection_string=azurite_connection_string,
        host_json=old,
        port=17071,
        hub_name=hub,
        partition_table=True,
        virtual_time=False,
    ) as first:
        iid = await begin(first, "stamp", "2.0")
        # Received in memory, then from the queue, then past maxDequeueCount: each time left there.
        await eventually(lambda: rejections(caplog, iid) >= 3, 60, f"{iid} rejected three times")
        row = await first.management.get_status(iid)
        assert row is not None and row.runtime_status == "Pending"
        assert await first.durable.hub.poison_count() == 0
    async with AppHost(
        HOST_APP,
        connection_string=azurite_connection_string,
        host_json=durable("2.0"),
        port=17072,
        hub_name=hub,
        partition_table=True,
        virtual_time=False,
    ) as second:
        row = await second.wait(iid, timeout=60)
        assert row.runtime_status == "Completed", row.output
        assert second.output(row) == {"version": "2.0", "packed": "2.0 packed by robot"}
        assert await second.durable.hub.poison_count() == 0


async def test_a_sub_orchestration_of_a_refused_version_fails_its_parent(
    azurite_connection_string: str,
) -> None:
    """Strict + Fail: the pinned 0.5 child fails, and the parent hears of it."""
    settings = durable("1.0", versionMatchStrategy="Strict", versionFailureStrategy="Fail")
    async with AppHost(
        HOST_APP, connection_string=azurite_connection_string, virtual_time=False, host_json=settings
    ) as app:
        iid = await begin(app, "pack")
        row = await app.wait(iid)
        assert row.runtime_status == "Failed"
        assert "'0.5'" in (row.output or "") and "'1.0'" in (row.output or ""), row.output


# --------------------------------------------------------------------------- restart


def _cli(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "host", "durable", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.subprocess
async def test_an_instance_keeps_its_version_across_a_restart_with_a_new_default(
    azurite_connection_string: str, hub_name: str, hosts: list[HostProcess], tmp_path: Path
) -> None:
    def spawn(default: str) -> HostProcess:
        env = {"AzureFunctionsJobHost__extensions__durableTask__defaultVersion": default}
        host = HostProcess(HOST_APP, hub_name, azurite_connection_string, tmp_path, f"v{default}", env)
        hosts.append(host)
        return host

    first = spawn("1.0")
    await first.ready()
    base = f"http://127.0.0.1:{first.port}"
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        resp = await client.post("/api/begin/pack", content=json.dumps({"hold": True}))
        assert resp.status_code == 202, resp.text
        iid = resp.json()["id"]

        async def held() -> bool:
            status = (await client.get(f"{API}/instances/{iid}")).json()
            return status.get("customStatus") == {"held": True, "version": "1.0"}

        await eventually(held, 60, f"{iid} to wait for its event")
    first.stop()

    second = spawn("2.0")
    await second.ready()
    base = f"http://127.0.0.1:{second.port}"
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        resp = await client.post(f"{API}/instances/{iid}/raiseEvent/release", json="go")
        assert resp.status_code == 202, resp.text
        fresh = (await client.post("/api/begin/pack")).json()["id"]

        async def done(instance_id: str) -> dict[str, Any] | None:
            status = (await client.get(f"{API}/instances/{instance_id}")).json()
            return status if status["runtimeStatus"] in ("Completed", "Failed") else None

        old_status = await eventually(lambda: done(iid), 60, f"{iid} to finish")
        new_status = await eventually(lambda: done(fresh), 60, f"{fresh} to finish")
        assert old_status["output"] == {
            "version": "1.0",
            "seen": ["1.0", "1.0", "1.0"],
            "packed": "parcel packed by hand",
            "child_default": "2.0",
            "child_pinned": "0.5",
        }
        assert old_status["version"] == "1.0"
        assert new_status["output"] == {
            "version": "2.0",
            "seen": ["2.0", "2.0"],
            "packed": "parcel packed by robot",
            "child_default": "2.0",
            "child_pinned": "0.5",
        }
        assert new_status["version"] == "2.0"
    shown = _cli("show", iid, "--host-url", base)
    assert any(line.split() == ["Version:", "1.0"] for line in shown.splitlines()), shown
    listed = _cli("list", "--host-url", base)
    rows = {line.split()[0]: line.split() for line in listed.splitlines()[2:] if line.strip()}
    assert "1.0" in rows[iid] and "2.0" in rows[fresh], listed


@pytest.mark.subprocess
async def test_the_cli_straight_over_storage_stamps_the_apps_default_version(
    azurite_connection_string: str, hub_name: str
) -> None:
    """Run in the app folder with ``--connection``, ``durable start`` is the app's client."""

    def start(*extra: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "host", "durable", "start", "stamp", "--json", "--hub", hub_name, *extra],
            cwd=HOST_APP,
            env={**os.environ, "PYTHONPATH": str(REPO), "FUNCHOST_TEST_STORAGE": azurite_connection_string},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return str(json.loads(done.stdout)["id"])

    plain = start("--connection", "FUNCHOST_TEST_STORAGE")
    pinned = start("--connection", "FUNCHOST_TEST_STORAGE", "--version", "0.3")
    view = HubView(azurite_connection_string, hub_name, HUB_PARTITIONS)
    try:
        for iid, version in ((plain, "1.0"), (pinned, "0.3")):
            row = await view.management.get_status(iid)
            assert row is not None and row.version == version
    finally:
        await view.close()
