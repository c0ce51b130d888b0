"""``python -m host durable <command>``: manage orchestrations from the command line.

Works against a running host over its HTTP API (``--host-url``, default
http://127.0.0.1:7071) or straight against the task hub in storage (``--connection`` with a
connection string or the name of an app setting holding one, ``--hub``). A host run with
``--enable-auth`` needs its ``durabletask_extension`` system key (or the master key): ``--key``,
else ``$FUNCHOST_KEY``, else, for a host on loopback, the key saved in ``./.funchost/secrets``.
Both paths speak the same HTTP API (the direct one in-process), so answers and errors are identical. Output is
human-readable; ``--json`` prints the API's JSON instead.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from host.durable.api.admin import ADMIN_INSTANCES
from host.durable.api.payloads import WEBHOOK_PATH
from host.durable.cli import render as cli_render
from host.durable.cli.app_defaults import apply_app_defaults
from host.errors import HostError
from host.http.auth import DURABLE_SYSTEM_KEY, KEY_HEADER, read_keys
from host.http.guard import is_loopback_name
from host.storage.resolve import cli_account

DEFAULT_HOST_URL = "http://127.0.0.1:7071"
CONTINUATION = "x-ms-continuation-token"
KEY_ENV = "FUNCHOST_KEY"
PURGE_FROM_START = "1970-01-01T00:00:00Z"
"""``createdTimeFrom`` of a purge given only ``--to``/``--status`` (the HTTP API requires one)."""


def add_command(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``durable`` and its subcommands (called by :mod:`host.cli`)."""
    common = argparse.ArgumentParser(add_help=False)
    where = common.add_argument_group("where")
    where.add_argument("--host-url", default=None, help=f"a running host (default {DEFAULT_HOST_URL})")
    where.add_argument(
        "--connection",
        default=None,
        help="work straight against storage: a connection string or an app setting name",
    )
    where.add_argument("--hub", default=None, help="task hub name (default: the host's, TestHubName)")
    where.add_argument(
        "--key",
        default=None,
        help="the system or master key of a host run with --enable-auth (default: "
        "$FUNCHOST_KEY, else the key in ./.funchost/secrets for a host on loopback)",
    )
    common.add_argument("--json", action="store_true", help="print JSON instead of text")
    common.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for an answer")

    durable = subparsers.add_parser("durable", help="manage durable orchestrations and task hubs")
    cmds = durable.add_subparsers(dest="durable_command", metavar="COMMAND")
    cmds.required = True

    p = cmds.add_parser("start", parents=[common], help="start an orchestration")
    p.add_argument("name", help="orchestrator function name")
    p.add_argument("--id", dest="instance_id", help="instance id (default: a new GUID)")
    p.add_argument("--input", help="input as JSON: 42, '[1,2]', '\"Tokyo\"', '{\"a\":1}'")
    p.add_argument(
        "--version", dest="orchestration_version", help="the instance's version (default: defaultVersion)"
    )
    p.add_argument("--wait", type=float, metavar="SECONDS", help="wait up to SECONDS for the result")

    p = cmds.add_parser("show", parents=[common], help="status, input, output (and history) of an instance")
    p.add_argument("instance_id")
    p.add_argument("--history", action="store_true", help="also show the history as a table")
    p.add_argument(
        "--app",
        metavar="DIR",
        help="with --connection: the app folder whose code is replayed to show the line it waits at",
    )

    p = cmds.add_parser("list", parents=[common], help="list or query instances")
    p.add_argument("--status", action="append", default=[], help="runtime status (repeatable, or a,b)")
    p.add_argument("--from", dest="created_from", help="created at or after (ISO 8601)")
    p.add_argument("--to", dest="created_to", help="created at or before (ISO 8601)")
    p.add_argument("--prefix", help="instance id prefix")
    p.add_argument("--top", type=int, help="page size")
    p.add_argument("--all", action="store_true", help="follow continuation tokens to the end")

    p = cmds.add_parser("raise", parents=[common], help="raise an external event")
    p.add_argument("instance_id")
    p.add_argument("event")
    p.add_argument("--data", default="null", help="event data as JSON (default null)")

    p = cmds.add_parser("signal", parents=[common], help="signal an entity operation (one-way)")
    p.add_argument("entity", help="entity name")
    p.add_argument("key", help="entity key")
    p.add_argument("operation")
    p.add_argument("--input", help="operation input as JSON (default: none)")

    for op in ("terminate", "suspend", "resume", "rewind"):
        p = cmds.add_parser(op, parents=[common], help=f"{op} an instance")
        p.add_argument("instance_id")
        p.add_argument("--reason", default="", help="reason recorded in history")

    p = cmds.add_parser("purge", parents=[common], help="purge one instance or all matching a filter")
    p.add_argument("instance_id", nargs="?")
    p.add_argument("--from", dest="created_from", help="created at or after (ISO 8601)")
    p.add_argument("--to", dest="created_to", help="created at or before (ISO 8601)")
    p.add_argument("--status", action="append", default=[], help="runtime status (repeatable)")

    p = cmds.add_parser(
        "clean-entities",
        parents=[common],
        help="remove deleted, empty entities from the task hub (straight against storage)",
    )
    p.add_argument(
        "--min-idle",
        type=float,
        default=300.0,
        metavar="SECONDS",
        help="only entities idle at least this long (default 300)",
    )
    p = cmds.add_parser("delete-hub", parents=[common], help="delete every queue, table and blob of a hub")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    from host.testing.replay_cli import add_parsers  # export, replay-check

    add_parsers(cmds, common)

    durable.set_defaults(handler=run, default_version="")


add_durable_subcommands = add_command


def run(args: argparse.Namespace) -> int:
    """Handler of ``durable``: runs the subcommand, prints, returns the exit code."""
    return asyncio.run(_run(args))


def _json_argument(flag: str, value: str | None) -> int | None:
    """Exit code 2 with a hint when ``value`` (of ``flag``) is not JSON; ``None`` when it is."""
    if value is None:
        return None
    try:
        json.loads(value)
    except ValueError:
        quoted = json.dumps(value).replace("'", "'\\''")
        print(
            f"error: {flag} is not JSON: {value}\n"
            f"  a string needs JSON quotes inside the shell's quotes: {flag} '{quoted}'\n"
            f'  (numbers, true/false, null, [arrays] and {{"objects": 1}} are written as in JSON)',
            file=sys.stderr,
        )
        return 2
    return None


_JSON_ARGUMENTS: dict[str, Callable[[argparse.Namespace], tuple[str, str | None]]] = {
    "start": lambda a: ("--input", a.input),
    "raise": lambda a: ("--data", a.data),
    "signal": lambda a: ("--input", a.input),
}


async def _run(args: argparse.Namespace) -> int:
    apply_app_defaults(args)
    argument = _JSON_ARGUMENTS.get(args.durable_command)
    refused = _json_argument(*argument(args)) if argument is not None else None
    if refused is not None:
        return refused
    if args.durable_command == "delete-hub":
        return await _delete_hub(args)
    if args.durable_command == "clean-entities":
        return await _clean_entities(args)
    if args.durable_command in ("export", "replay-check"):
        from host.testing import replay_cli

        runner = replay_cli.run_export if args.durable_command == "export" else replay_cli.run_replay_check
        return await runner(args)
    async with _client(args) as client:
        return await _COMMANDS[args.durable_command](client, args)


@asynccontextmanager
async def _client(args: argparse.Namespace) -> AsyncIterator[httpx.AsyncClient]:
    params = {"taskHub": args.hub} if args.hub else {}
    if args.connection:
        from host.durable.api.routes import direct_api

        create = args.durable_command == "start"  # as Core Tools' start-new, create the hub if new
        account = cli_account(args.connection)
        app_dir = args.app if args.durable_command == "show" else None
        handles = _app_handles(app_dir) if app_dir else None
        async with direct_api(
            account,
            args.hub,
            create=create,
            default_version=args.default_version,
            handles=handles,
            app_root=Path(app_dir).resolve() if app_dir else None,
        ) as app:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://direct", params=params, timeout=args.timeout
            ) as client:
                yield client
        return
    url = (args.host_url or DEFAULT_HOST_URL).rstrip("/")
    key = _host_key(args.key, url)
    headers = {KEY_HEADER: key} if key else {}
    async with httpx.AsyncClient(
        base_url=url, params=params, headers=headers, timeout=args.timeout
    ) as client:
        yield client


def _app_handles(app_dir: str) -> Callable[[str], Any]:
    """The orchestrator handles of the app in ``app_dir`` (indexed: its module is imported)."""
    from host.indexing.loader import index_folder

    registry = index_folder(app_dir)

    def handle(name: str) -> Any:
        fn = registry.orchestrator(name)
        return fn.func if fn is not None else None

    return handle


def _host_key(given: str | None, url: str, *, master: bool = False) -> str | None:
    """``--key``, else ``$FUNCHOST_KEY``, else, when ``url`` is on loopback, the key saved in the
    app folder: the durable system key (or the master key), or with ``master`` the master key."""
    if given or os.environ.get(KEY_ENV):
        return given or os.environ.get(KEY_ENV)
    if not is_loopback_name(urlsplit(url).hostname or ""):
        return None  # never send this app's key to another machine unasked
    keys = read_keys(Path.cwd())
    if keys is None:
        return None
    return keys.master_key if master else keys.system_key(DURABLE_SYSTEM_KEY) or keys.master_key


async def _call(client: httpx.AsyncClient, method: str, path: str, **kwargs: Any) -> httpx.Response:
    try:
        return await client.request(method, WEBHOOK_PATH + path, **kwargs)
    except httpx.ConnectError:
        raise HostError(
            f"no host answers at {client.base_url}: start one with 'python -m host start' "
            f"or pass --connection to work straight against storage"
        ) from None
    except httpx.TimeoutException:
        raise HostError(f"{method} {path}: no answer within the timeout") from None


def _fail(resp: httpx.Response) -> int:
    try:
        body = resp.json()
    except ValueError:
        body = resp.text
    if isinstance(body, dict):
        message = body.get("ExceptionMessage") or body.get("Message") or json.dumps(body)
    else:
        message = str(body) or resp.reason_phrase
    if resp.status_code == 401:
        message += (
            " (the host runs with --enable-auth: pass its durabletask_extension system key or "
            f"master key with --key or ${KEY_ENV}, or run this from the app folder)"
        )
    print(f"error: {resp.status_code} {message}", file=sys.stderr)
    return 1


def _emit(args: argparse.Namespace, value: Any, text: str) -> int:
    print(json.dumps(value, indent=2) if args.json else text)
    return 0


def _q(text: str) -> str:
    return quote(text, safe="")


async def _start(client: httpx.AsyncClient, args: argparse.Namespace) -> int:
    path = f"/orchestrators/{_q(args.name)}" + (f"/{_q(args.instance_id)}" if args.instance_id else "")
    params = {"timeout": str(args.wait), "pollingInterval": "0.2"} if args.wait else {}
    if args.orchestration_version is not None:
        params["version"] = args.orchestration_version
    content = args.input.encode() if args.input is not None else None
    resp = await _call(
        client, "POST", path, params=params, content=content, headers={"Content-Type": "application/json"}
    )
    if resp.status_code == 202:
        body = resp.json()
        return _emit(args, body, f"Started {args.name}: {body['id']}\nStatus: {body['statusQueryGetUri']}")
    if resp.status_code == 200:
        body = resp.json()
        return _emit(args, body, cli_render.cell(body, 10_000))
    return _fail(resp)


async def _show(client: httpx.AsyncClient, args: argparse.Namespace) -> int:
    params = {"showHistory": "true", "showHistoryOutput": "true"} if args.history else {}
    resp = await _call(client, "GET", f"/instances/{_q(args.instance_id)}", params=params)
    if resp.status_code not in (200, 202):
        return _fail(resp)
    body = resp.json()
    waiting = await _waiting(client, args)
    if waiting is not None:
        body["waiting"] = waiting
    text = cli_render.status_block(body)
    if args.history:
        text += "\n\n" + cli_render.history_table(body.get("historyEvents") or [])
    return _emit(args, body, text)


async def _waiting(client: httpx.AsyncClient, args: argparse.Namespace) -> dict[str, Any] | str | None:
    """Why the instance waits (the admin instance endpoint's ``waiting``), or a note why unknown."""
    headers = {}
    if not args.connection:
        master = _host_key(args.key, str(client.base_url), master=True)
        headers = {KEY_HEADER: master} if master else {}
    try:
        resp = await client.get(f"{ADMIN_INSTANCES}/{_q(args.instance_id)}", headers=headers)
    except httpx.HTTPError:
        return None
    if resp.status_code == 401:
        return "unknown: explaining it needs the host's master key (--key, or run this in the app folder)"
    if resp.status_code != 200:
        return None  # an older host without the endpoint, or the instance is gone
    waiting = resp.json().get("waiting")
    return waiting if isinstance(waiting, dict) else None


async def _list(client: httpx.AsyncClient, args: argparse.Namespace) -> int:
    params = {
        k: v
        for k, v in (
            ("createdTimeFrom", args.created_from),
            ("createdTimeTo", args.created_to),
            ("instanceIdPrefix", args.prefix),
            ("runtimeStatus", ",".join(args.status)),
            ("top", str(args.top) if args.top else None),
        )
        if v
    }
    found: list[Any] = []
    token = ""
    while True:
        headers = {CONTINUATION: token} if token else {}
        resp = await _call(client, "GET", "/instances/", params=params, headers=headers)
        if resp.status_code != 200:
            return _fail(resp)
        found.extend(resp.json())
        token = resp.headers.get(CONTINUATION, "")
        if not token or not args.all:
            break
    text = cli_render.instances_table(found) if found else "No instances."
    if token and not args.all:
        text += "\n(more: use --all)"
    return _emit(args, found, text)


async def _raise(client: httpx.AsyncClient, args: argparse.Namespace) -> int:
    path = f"/instances/{_q(args.instance_id)}/raiseEvent/{_q(args.event)}"
    resp = await _call(
        client, "POST", path, content=args.data.encode(), headers={"Content-Type": "application/json"}
    )
    if resp.status_code != 202:
        return _fail(resp)
    return _emit(
        args,
        {"instanceId": args.instance_id, "event": args.event},
        f"Raised {args.event} to {args.instance_id}",
    )


async def _signal(client: httpx.AsyncClient, args: argparse.Namespace) -> int:
    path = f"/entities/{_q(args.entity)}/{_q(args.key)}"
    content = args.input.encode() if args.input is not None else None
    resp = await _call(
        client,
        "POST",
        path,
        params={"op": args.operation},
        content=content,
        headers={"Content-Type": "application/json"},
    )
    if resp.status_code != 202:
        return _fail(resp)
    return _emit(
        args,
        {"entity": args.entity, "key": args.key, "operation": args.operation},
        f"Signalled {args.entity}/{args.key}: {args.operation}",
    )


async def _operation(client: httpx.AsyncClient, args: argparse.Namespace) -> int:
    op = args.durable_command
    path = f"/instances/{_q(args.instance_id)}/{op}"
    resp = await _call(client, "POST", path, params={"reason": args.reason})
    if resp.status_code not in (200, 202):
        return _fail(resp)
    past = {"terminate": "Terminated", "suspend": "Suspended", "resume": "Resumed", "rewind": "Rewound"}[op]
    return _emit(args, {"instanceId": args.instance_id, "operation": op}, f"{past} {args.instance_id}")


async def _purge(client: httpx.AsyncClient, args: argparse.Namespace) -> int:
    if args.instance_id:
        resp = await _call(client, "DELETE", f"/instances/{_q(args.instance_id)}")
    else:
        if not (args.created_from or args.created_to or args.status):
            print("error: purge needs an instance id, or --from, --to and/or --status", file=sys.stderr)
            return 2
        params = {
            k: v
            for k, v in (
                ("createdTimeFrom", args.created_from or PURGE_FROM_START),
                ("createdTimeTo", args.created_to),
                ("runtimeStatus", ",".join(args.status)),
            )
            if v
        }
        resp = await _call(client, "DELETE", "/instances/", params=params)
    if resp.status_code == 404 and not args.instance_id:
        return _emit(args, {"instancesDeleted": 0}, "Purged 0 instances.")
    if resp.status_code != 200:
        return _fail(resp)
    body = resp.json()
    n = body.get("instancesDeleted", 0)
    return _emit(args, body, f"Purged {n} instance{'s' if n != 1 else ''}.")


async def _clean_entities(args: argparse.Namespace) -> int:
    from host.durable.api.resolver import direct_management
    from host.durable.cli.clean_entities import clean_entity_storage

    conn = args.connection or "AzureWebJobsStorage"
    async with direct_management(cli_account(conn), args.hub) as management:
        removed = await clean_entity_storage(management.hub, min_idle=timedelta(seconds=args.min_idle))
    noun = "entity" if len(removed) == 1 else "entities"
    return _emit(
        args,
        {"taskHub": management.task_hub, "removed": removed},
        f"Removed {len(removed)} empty {noun}" + (": " + ", ".join(removed) if removed else "."),
    )


async def _delete_hub(args: argparse.Namespace) -> int:
    from host.durable.api.resolver import direct_management

    conn = args.connection or "AzureWebJobsStorage"
    async with direct_management(cli_account(conn), args.hub) as management:
        hub = management.task_hub
        if not args.yes:
            answer = input(f"Delete task hub '{hub}' (queues, tables, blobs)? [y/N] ")
            if answer.strip().lower() not in ("y", "yes"):
                print("Not deleted.")
                return 1
        await management.delete_hub()
    return _emit(args, {"taskHub": hub, "deleted": True}, f"Deleted task hub {hub}")


_COMMANDS = {
    "start": _start,
    "show": _show,
    "list": _list,
    "raise": _raise,
    "signal": _signal,
    "terminate": _operation,
    "suspend": _operation,
    "resume": _operation,
    "rewind": _operation,
    "purge": _purge,
}
