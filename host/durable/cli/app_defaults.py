"""Defaults the durable CLI takes from the app folder it runs in, as ``func`` does.

In a folder with host.json or local.settings.json: local.settings.json ``Values`` go into the
environment (so ``--connection AzureWebJobsStorage`` finds the app's account), the host URL
follows ``Host.LocalHttpPort``, and the task hub is the app's (``extensions.durableTask.hubName``)
unless ``--host-url`` names another host. Started straight over storage (``--connection``), an
orchestration without ``--version`` gets the app's ``defaultVersion``, as the app's host would stamp it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from host.errors import ConfigError


def apply_app_defaults(args: argparse.Namespace, root: Path | None = None) -> None:
    """Fill ``args.host_url`` and ``args.hub`` from the app in ``root`` (default: the working folder)."""
    folder = root or Path.cwd()
    if not ((folder / "host.json").is_file() or (folder / "local.settings.json").is_file()):
        return
    from host.config.settings import load_settings
    from host.durable.taskhub.names import default_hub_name

    try:
        settings = load_settings(folder)
    except ConfigError:
        return  # not an app we can read: the plain defaults apply
    # The app's hub only where this app is the target: its host (no --host-url) or its storage.
    if args.hub is None and (args.host_url is None or args.connection):
        args.hub = default_hub_name(settings)
    default_version = settings.get_path("extensions.durableTask.defaultVersion")
    if (
        args.connection
        and isinstance(default_version, str | int | float)
        and not isinstance(default_version, bool)
    ):
        args.default_version = str(default_version)
    if args.host_url is None:
        args.host_url = f"http://127.0.0.1:{settings.port}"
