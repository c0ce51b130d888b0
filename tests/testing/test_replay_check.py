"""Replay checks: a renamed activity and a swapped order are caught, an unchanged app passes.

Histories are recorded by running the v1 app (on memory and on Azurite), then replayed against
variants of its code, through the Python API and through the CLI (export + replay-check).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from host.testing import AppHost, RecordedHistory, assert_replay_safe, check_file, check_recorded, load_file
from host.testing.replay import index_folder

APPS = Path(__file__).parent / "apps"
V1, RENAMED, SWAPPED = APPS / "replay_v1", APPS / "replay_renamed", APPS / "replay_swapped"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def recorded(funchost_storage: str, azurite_connection_string: str) -> RecordedHistory:
    conn = azurite_connection_string if funchost_storage == "azurite" else None
    async with AppHost(V1, storage=funchost_storage, connection_string=conn, virtual_time=True) as app:
        status = await app.run("pipeline", "data", expect="Completed")
        assert app.output(status) == "stored FETCHED DATA"
        events = await app.durable_client.raw_history(status.instance_id)
        return RecordedHistory(status.instance_id, "pipeline", events)


def test_unchanged_code_replays_cleanly(recorded: RecordedHistory) -> None:
    report = check_recorded(index_folder(V1), recorded)
    assert report.ok, report.message
    assert "without divergence" in report.message


def test_renamed_activity_is_reported_with_both_actions_and_the_position(recorded: RecordedHistory) -> None:
    report = check_recorded(index_folder(RENAMED), recorded)
    assert not report.ok and report.divergence is not None
    assert report.divergence.position == 1
    assert "transform" in report.divergence.expected and "convert" in report.divergence.actual
    assert recorded.events[report.divergence.history_index]["Name"] == "transform"
    assert "action #1" in report.message


def test_swapped_activity_order_diverges_at_the_first_action(recorded: RecordedHistory) -> None:
    report = check_recorded(index_folder(SWAPPED), recorded)
    assert report.divergence is not None and report.divergence.position == 0
    assert "fetch" in report.divergence.expected and "transform" in report.divergence.actual
    with pytest.raises(AssertionError, match="diverges"):
        assert_replay_safe(SWAPPED, recorded)


def test_exported_file_round_trips_and_is_checked(recorded: RecordedHistory, tmp_path: Path) -> None:
    from host.testing.replay import write_file

    path = tmp_path / "h.json"
    write_file(recorded, path)
    assert json.loads(path.read_text())["format"] == "funchost.history/1"
    assert load_file(path).events[0]["EventType"] == recorded.events[0]["EventType"]
    assert check_file(V1, path).ok
    assert not check_file(RENAMED, path).ok
    assert_replay_safe(V1, [path])


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "host", "durable", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


@pytest.mark.parametrize("funchost_storage", ["azurite"])
async def test_cli_exports_from_a_hub_and_replay_checks(
    azurite_connection_string: str, tmp_path: Path, funchost_storage: str
) -> None:
    async with AppHost(V1, connection_string=azurite_connection_string, virtual_time=False) as app:
        status = await app.run("pipeline", "cli", expect="Completed")
        hub = app.hub_name
    out = tmp_path / "pipeline.json"
    conn = ["--connection", azurite_connection_string, "--hub", hub]
    done = _cli("export", status.instance_id, "-o", str(out), *conn)
    assert done.returncode == 0, done.stderr
    assert load_file(out).instance_id == status.instance_id
    ok = _cli("replay-check", str(out), "--app", str(V1))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "1 histories checked, 0 diverge" in ok.stdout
    bad = _cli("replay-check", "--instance", status.instance_id, "--app", str(RENAMED), *conn)
    assert bad.returncode == 1
    assert "recorded:" in bad.stdout and "convert" in bad.stdout
