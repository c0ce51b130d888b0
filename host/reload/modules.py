"""The app's own modules in ``sys.modules``: forgotten before a reload so the new code is imported
fresh, put back when the new code fails to import (the old app keeps running on them)."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import ModuleType

from host.reload.watch import IGNORED_DIRS

_HOST_PACKAGE = Path(__file__).resolve().parents[1]


def app_module_names(
    modules: Mapping[str, ModuleType], root: Path, *, keep: Sequence[Path] = (_HOST_PACKAGE,)
) -> list[str]:
    """Names of the modules loaded from files under ``root`` (not from an environment or cache
    folder there, and never this host's own package, which may live in the app folder)."""
    found = []
    for name, module in list(modules.items()):
        file = getattr(module, "__file__", None)  # namespace and built-in modules have none
        if not file:
            continue
        path = Path(file)
        if not path.is_relative_to(root) or any(path.is_relative_to(k) for k in keep):
            continue
        rel = path.relative_to(root).parts
        if IGNORED_DIRS.intersection(rel) or "site-packages" in rel:
            continue
        found.append(name)
    return found


def forget_app_modules(root: Path) -> dict[str, ModuleType]:
    """Remove the app's modules from ``sys.modules``; returns them (for :func:`restore_modules`)."""
    return {name: sys.modules.pop(name) for name in app_module_names(sys.modules, root)}


def restore_modules(root: Path, previous: Mapping[str, ModuleType]) -> None:
    """Drop whatever the failed import left of the app and put the old modules back."""
    for name in app_module_names(sys.modules, root):
        sys.modules.pop(name, None)
    sys.modules.update(previous)
