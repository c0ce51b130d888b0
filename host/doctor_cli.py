"""``python -m host doctor [--json]``: the checks of :mod:`host.doctor` as a checklist."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from host.doctor import FAIL, OK, SKIP, WARN, Check, run_checks

_MARKS = {OK: "[ok]  ", FAIL: "[FAIL]", WARN: "[warn]", SKIP: "[skip]"}


def add_command(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``doctor``."""
    p = subparsers.add_parser(
        "doctor", help="check Python, SDKs, Azurite, settings, storage, the app, the port"
    )
    p.add_argument("--script-root", default=".", metavar="DIR", help="the app folder (default: .)")
    p.add_argument(
        "-p", "--port", type=int, default=None, help="the port start would use (default: as start)"
    )
    p.add_argument(
        "--no-azurite",
        action="store_true",
        help="as start --no-azurite: storage must already be running; Node is not checked",
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(handler=_run)


def render(checks: list[Check]) -> str:
    """The checklist: one line per check, the fix indented under each failure or warning."""
    lines = []
    for check in checks:
        lines.append(f"{_MARKS[check.status]} {check.name}: {check.detail}")
        if check.fix and check.status in (FAIL, WARN):
            lines.append(f"       fix: {check.fix}")
    failed = sum(c.failed for c in checks)
    lines.append(f"{failed} problem{'s' if failed != 1 else ''} found." if failed else "All checks passed.")
    return "\n".join(lines)


def _run(args: argparse.Namespace) -> int:
    checks = run_checks(Path(args.script_root), port=args.port, azurite=not args.no_azurite)
    ok = not any(c.failed for c in checks)
    if args.json:
        print(json.dumps({"ok": ok, "checks": [c.as_dict() for c in checks]}, indent=2))
    else:
        print(render(checks))
    return 0 if ok else 1
