"""``python -m host durable export`` and ``replay-check``: histories out of a hub, replayed against code.

``export ID -o history.json --connection C --hub H`` writes one instance's raw history;
``replay-check [FILE ...] [--instance ID ...] [--running] --app DIR`` replays exported files
and/or instances of a task hub against the app's current code and exits 1 when any diverges.
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from host.errors import ConfigError, HostError
from host.storage.resolve import cli_account
from host.testing.replay import (
    RecordedHistory,
    ReplayReport,
    check_recorded,
    index_folder,
    load_file,
    write_file,
)

DEFAULT_HUB = "TestHubName"


def add_parsers(cmds: Any, common: argparse.ArgumentParser) -> None:
    """Add ``export`` and ``replay-check`` to the ``durable`` subcommands."""
    p = cmds.add_parser("export", parents=[common], help="write an instance's history as a JSON file")
    p.add_argument("instance_id")
    p.add_argument("-o", "--output", help="file to write (default: standard output)")

    p = cmds.add_parser(
        "replay-check",
        parents=[common],
        help="replay recorded histories against the app's current orchestrator code",
    )
    p.add_argument("files", nargs="*", help="histories written by 'durable export'")
    p.add_argument("--instance", action="append", default=[], help="an instance of the task hub (repeatable)")
    p.add_argument("--running", action="store_true", help="every Running/Pending instance of the task hub")
    p.add_argument("--app", default=".", help="the app folder (default: the current folder)")


async def run_export(args: argparse.Namespace) -> int:
    async with _hub(args) as hub:
        recorded = await _recorded(hub, args.instance_id)
    if args.output:
        write_file(recorded, args.output)
        print(f"Wrote {len(recorded.events)} history events of {args.instance_id} to {args.output}")
    else:
        print(json.dumps(recorded.to_json(), indent=1))
    return 0


async def run_replay_check(args: argparse.Namespace) -> int:
    if not (args.files or args.instance or args.running):
        raise ConfigError("replay-check needs history files, --instance ID or --running")
    registry = index_folder(args.app)
    histories = [load_file(f) for f in args.files]
    if args.instance or args.running:
        async with _hub(args) as hub:
            ids = list(args.instance)
            if args.running:
                ids += await _running(hub)
            histories += [await _recorded(hub, iid) for iid in ids]
    reports = [check_recorded(registry, r) for r in histories]
    if args.json:
        print(json.dumps([_report_json(r) for r in reports], indent=2))
    else:
        for report in reports:
            print(("ok    " if report.ok else "DIVERGES ") + report.message)
        bad = sum(not r.ok for r in reports)
        print(f"{len(reports)} histories checked, {bad} diverge" if reports else "no histories to check")
    return 1 if any(not r.ok for r in reports) else 0


class _hub:
    """The task hub of ``--connection``/``--hub`` (storage opened and closed)."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.connection = cli_account(args.connection or "AzureWebJobsStorage")
        self.name = args.hub or os.environ.get("FUNCHOST_HUB") or DEFAULT_HUB

    async def __aenter__(self) -> Any:
        from host.durable.taskhub.hub import TaskHub, TaskHubNames
        from host.storage import open_storage

        self.storage = open_storage(self.connection)
        return TaskHub(self.storage, TaskHubNames(self.name))

    async def __aexit__(self, *exc: object) -> None:
        await self.storage.close()


async def _recorded(hub: Any, instance_id: str) -> RecordedHistory:
    status = await hub.get_instance(instance_id, fetch_large=False)
    loaded = await hub.load_history(instance_id)
    if status is None and not loaded.events:
        raise HostError(f"no orchestration instance with id {instance_id!r} in task hub {hub.names.hub}")
    return RecordedHistory(
        instance_id, status.name if status is not None else "", loaded.events, loaded.execution_id
    )


async def _running(hub: Any) -> list[str]:
    ids: list[str] = []
    token: str | None = None
    while True:
        page, token = await hub.query_instances(
            ["Running", "Pending"], None, None, None, continuation=token, include_input_output=False
        )
        ids += [s.instance_id for s in page]
        if not token:
            return ids


def _report_json(report: ReplayReport) -> dict[str, Any]:
    d = report.divergence
    return {
        "instanceId": report.instance_id,
        "name": report.name,
        "ok": report.ok,
        "divergence": None
        if d is None
        else {
            "position": d.position,
            "taskId": d.task_id,
            "historyIndex": d.history_index,
            "recorded": d.expected,
            "now": d.actual,
        },
    }
