"""Installed versions of funchost and the SDKs, for the banner and ``--version``."""

from __future__ import annotations

import os
import re
import sys


def installed_version(dist: str) -> str:
    """``dist``'s installed version, from its ``*.dist-info`` folder name on ``sys.path``.

    Cheaper than :mod:`importlib.metadata` (≈50 ms to import, which the host needs nowhere else).
    """
    prefix = re.sub(r"[-_.]+", "_", dist).lower() + "-"
    for entry in sys.path:
        try:
            with os.scandir(entry or ".") as it:
                for d in it:
                    name = d.name.lower()
                    if name.startswith(prefix) and name.endswith(".dist-info"):
                        return d.name[len(prefix) : -len(".dist-info")]
        except OSError:
            continue
    return "unknown"


def python_version() -> str:
    return ".".join(str(v) for v in sys.version_info[:3])


def version_line() -> str:
    """``funchost X (Python Y, azure-functions Z, azure-functions-durable W)``."""
    return (
        f"funchost {installed_version('funchost')} (Python {python_version()}, "
        f"azure-functions {installed_version('azure-functions')}, "
        f"azure-functions-durable {installed_version('azure-functions-durable')})"
    )
