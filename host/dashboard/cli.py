"""``python -m host dashboard``: the dashboard straight from a task hub, without the app.

Reads the hub over ``--connection`` (a connection string or an app setting naming one;
default ``AzureWebJobsStorage``) and serves the dashboard on loopback at ``/dashboard``.
Without the app there are no function statistics and no source lines; everything else (lists,
timelines, actions through the same management operations) is the same. Run in an app folder it
takes the task hub and the connection's value from the app, as ``durable`` does.
"""

from __future__ import annotations

import argparse
import asyncio

from host.durable.cli.app_defaults import apply_app_defaults
from host.storage.connection import StorageAccount
from host.storage.resolve import cli_account

DEFAULT_PORT = 7072
PATH = "/dashboard"


def add_command(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``dashboard`` (called by :mod:`host.cli`)."""
    p = subparsers.add_parser("dashboard", help="serve the dashboard straight from a task hub (no app)")
    p.add_argument(
        "--connection",
        default="AzureWebJobsStorage",
        help="a connection string or an app setting holding one (default AzureWebJobsStorage)",
    )
    p.add_argument("--hub", default=None, help="task hub name (default: the app's, else TestHubName)")
    p.add_argument("-p", "--port", type=int, default=DEFAULT_PORT, help=f"HTTP port (default {DEFAULT_PORT})")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C."""
    args.host_url = None
    apply_app_defaults(args)
    return asyncio.run(_serve(cli_account(args.connection), args.hub, args.port))


async def _serve(connection: StorageAccount, hub: str | None, port: int) -> int:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.middleware import Middleware

    from host.dashboard.app import dashboard_routes
    from host.dashboard.source import DashboardSource
    from host.durable.api.resolver import direct_management
    from host.durable.inspect.inspector import HubInspector
    from host.http.guard import LocalGuard
    from host.http.server import server_config

    async with direct_management(connection, hub) as management:
        source = DashboardSource(management, HubInspector(management.hub), standalone=True)
        app = Starlette(
            routes=dashboard_routes(source, PATH),
            middleware=[Middleware(LocalGuard, address="127.0.0.1")],
        )
        config = server_config(app, host="127.0.0.1", port=port, log_config=None, access_log=False)
        print(f"Dashboard of task hub {management.task_hub}: http://localhost:{port}{PATH}", flush=True)
        await uvicorn.Server(config).serve()
    return 0
