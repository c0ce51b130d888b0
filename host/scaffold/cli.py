"""``python -m host init [DIR]`` and ``python -m host new --template NAME --name FN`` (``--list``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from host.errors import ConfigError
from host.scaffold.generate import add_function, init_app
from host.scaffold.templates import TEMPLATES, find_template


def add_command(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``init`` and ``new``."""
    p = subparsers.add_parser(
        "init", help="create a v2 Python Functions app (function_app.py, host.json, ...)"
    )
    p.add_argument("folder", nargs="?", default=".", metavar="DIR", help="where to create it (default: .)")
    p.set_defaults(handler=_init)
    p = subparsers.add_parser("new", help="add a function to the app from a template")
    p.add_argument("--template", "-t", metavar="NAME", help="the template (see --list)")
    p.add_argument("--name", "-n", metavar="FN", help="the function name (a Python identifier)")
    p.add_argument("--list", action="store_true", help="show the templates")
    p.add_argument("--script-root", default=".", metavar="DIR", help="the app folder (default: .)")
    p.set_defaults(handler=_new)


def _init(args: argparse.Namespace) -> int:
    folder = Path(args.folder)
    written = init_app(folder)
    print(f"Created a Functions app in {folder.resolve()}:")
    for path in written:
        print(f"  {path.relative_to(folder)}")
    print(
        f"Next: cd {folder} && python -m host start  (tests: python -m pytest; add functions: "
        "python -m host new --list)"
    )
    return 0


def _new(args: argparse.Namespace) -> int:
    if args.list:
        width = max(len(t.name) for t in TEMPLATES)
        for t in TEMPLATES:
            print(f"{t.name:<{width}}  {t.description}")
        return 0
    if not args.template or not args.name:
        raise ConfigError("new needs --template NAME and --name FN (templates: python -m host new --list)")
    folder = Path(args.script_root)
    added = add_function(folder, find_template(args.template), args.name)
    print(f"Added {', '.join(added.functions)} ({args.template} template).")
    for note in added.notes:
        print(f"  {note}")
    for path in added.files:
        print(f"  wrote {path}")
    return 0
