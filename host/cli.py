"""``python -m host start [...]`` (also installed as ``funchost``).

More commands plug in through :data:`COMMAND_MODULES`: a module there with
``add_command(subparsers)`` registers its subparser and sets ``handler`` (``args -> int``).
"""

from __future__ import annotations

import argparse
import functools
import importlib
import importlib.util
import sys
from collections.abc import Sequence
from pathlib import Path

from host.errors import ConfigError, HostError

COMMAND_MODULES: tuple[str, ...] = (
    "host.durable.cli.commands",
    "host.azurite_cli",
    "host.scaffold.cli",
    "host.doctor_cli",
    "host.dashboard.cli",
)
"""Modules that add subcommands (e.g. ``durable``); skipped while they do not exist."""


def _add_start(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser("start", help="index the app and run the host")
    p.add_argument("--script-root", default=".", metavar="DIR", help="the app folder (default: .)")
    p.add_argument(
        "-p",
        "--port",
        type=int,
        default=None,
        help="HTTP port (default: Host.LocalHttpPort of local.settings.json, else 7071)",
    )
    p.add_argument("--functions", nargs="+", metavar="NAME", help="load only these functions")
    p.add_argument("--cors", metavar="ORIGINS", help="comma-separated CORS origins (* allowed)")
    p.add_argument(
        "--cors-credentials",
        action="store_true",
        default=None,
        help="allow cross-origin authenticated requests",
    )
    p.add_argument("--verbose", action="store_true", help="show host information logs")
    p.add_argument(
        "--no-azurite", action="store_true", help="never start Azurite (expect storage to be running)"
    )
    p.add_argument(
        "--enable-auth",
        "--enableAuth",
        dest="enable_auth",
        action="store_true",
        help="require function/admin keys as Azure does",
    )
    p.add_argument("--no-dashboard", action="store_true", help="do not serve the dashboard at /dashboard")
    p.add_argument(
        "--debug",
        nargs="?",
        type=int,
        const=5678,
        default=None,
        metavar="PORT",
        help="listen for a debugger (debugpy) on 127.0.0.1:PORT (default 5678)",
    )
    p.add_argument("--debug-wait", action="store_true", help="with --debug: wait for the debugger to attach")
    p.add_argument("--no-reload", action="store_true", help="do not reload the app when its files change")
    p.add_argument(
        "--reload-strict",
        action="store_true",
        help="refuse to reload code that breaks in-flight orchestrations (replay check)",
    )
    p.set_defaults(handler=_start)


def _start(args: argparse.Namespace) -> int:
    from host.config.settings import load_settings
    from host.logs import lean_log_records, setup_logging
    from host.reload.reloader import ReloadOptions
    from host.serve import run

    if not Path(args.script_root).is_dir():
        raise ConfigError(f"--script-root {args.script_root}: no such folder")
    if not (Path(args.script_root) / "host.json").is_file():
        # Core Tools' words: the app folder is the one with host.json.
        raise ConfigError("Unable to find project root. Expecting to find one of host.json in project root.")

    load = functools.partial(
        load_settings,
        Path(args.script_root),
        port=args.port,
        cors=args.cors,
        cors_credentials=args.cors_credentials,
        functions=args.functions,
        verbose=args.verbose,
        azurite=not args.no_azurite,
        enable_auth=args.enable_auth,
        dashboard=not args.no_dashboard,
    )
    settings = load()
    if args.debug is not None or args.debug_wait:
        from host.debug import DEFAULT_DEBUG_PORT, listen

        listen(DEFAULT_DEBUG_PORT if args.debug is None else args.debug, wait=args.debug_wait)
    setup_logging(verbose=settings.verbose, level=settings.log_level)
    lean_log_records()
    for message in settings.messages:
        print(message, flush=True)
    run(settings, ReloadOptions(load, enabled=not args.no_reload, strict=args.reload_strict))
    return 0


class _Version(argparse.Action):
    """``--version``: computed only when asked (it scans sys.path)."""

    def __init__(
        self,
        option_strings: Sequence[str],
        dest: str = argparse.SUPPRESS,
        default: str = argparse.SUPPRESS,
        help: str | None = None,
    ) -> None:
        super().__init__(option_strings, dest, nargs=0, default=default, help=help)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        from host.version import version_line

        print(version_line())
        parser.exit()


def build_parser(*, plugins: bool = True) -> argparse.ArgumentParser:
    """The argument parser with every available command (only ``start`` when not ``plugins``)."""
    parser = argparse.ArgumentParser(
        prog="funchost",
        description="Local host for Azure Functions Python apps (v2 model) with Durable Functions.",
    )
    parser.add_argument("--version", action=_Version, help="show the versions of funchost and the SDKs")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    _add_start(subparsers)
    for name in COMMAND_MODULES if plugins else ():
        try:
            found = importlib.util.find_spec(name) is not None
        except ModuleNotFoundError:
            found = False
        if found:
            importlib.import_module(name).add_command(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; a :class:`HostError` becomes one line on stderr and exit code 1."""
    argv = list(sys.argv[1:] if argv is None else argv)
    # `start` needs no plugin commands: importing them (httpx, ...) would delay start-up.
    args = build_parser(plugins=not argv or argv[0] != "start").parse_args(argv)
    try:
        return int(args.handler(args))
    except HostError as e:
        print(f"error: {e}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
