"""Which saved files reload the app, and the watcher over them (``watchfiles``, debounced)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from host.config.hostjson import lookup

IGNORED_DIRS = frozenset(
    {".venv", "__pycache__", ".azurite", ".git", "node_modules", ".funchost", ".pytest_cache", ".mypy_cache"}
)
"""Folders whose files never reload the app (environments, caches, Azurite data, host keys)."""
CONFIG_FILES = frozenset({"host.json", "local.settings.json"})
DEBOUNCE_MS = 800
"""At most this long a burst of saves is gathered into one reload."""
STEP_MS = 80
"""A burst ends when nothing changed for this long."""


def watch_options(host_json: Mapping[str, Any], root: Path) -> tuple[bool, tuple[Path, ...]]:
    """host.json ``fileWatchingEnabled`` (default true) and ``watchDirectories`` (relative to ``root``)."""
    enabled = lookup(dict(host_json), "fileWatchingEnabled", True)
    if isinstance(enabled, str):
        enabled = enabled.strip().lower() not in ("false", "0", "no")
    raw = lookup(dict(host_json), "watchDirectories", []) or []
    dirs = tuple((root / str(d)).resolve() for d in raw if str(d).strip())
    return bool(enabled), dirs


def is_relevant(path: Path, root: Path, watch_dirs: Sequence[Path]) -> bool:
    """Whether a change to ``path`` reloads the app: its Python files, host.json,
    local.settings.json, and any file under ``watchDirectories`` (never in :data:`IGNORED_DIRS`)."""
    for folder in watch_dirs:
        if path.is_relative_to(folder):
            return not IGNORED_DIRS.intersection(path.relative_to(folder).parts[:-1])
    if not path.is_relative_to(root):
        return False
    parts = path.relative_to(root).parts
    if IGNORED_DIRS.intersection(parts[:-1]) or _in_virtualenv(root, parts[:-1]):
        return False
    if len(parts) == 1 and parts[0] in CONFIG_FILES:
        return True
    return path.suffix == ".py"


def _in_virtualenv(root: Path, folders: Sequence[str]) -> bool:
    """Whether the folders under ``root`` pass through an environment: a ``site-packages``, or a
    virtualenv of any name (``python -m venv venv`` writes ``pyvenv.cfg`` at its top)."""
    if "site-packages" in folders:
        return True
    here = root
    for folder in folders:
        here = here / folder
        if (here / "pyvenv.cfg").is_file():
            return True
    return False


async def app_changes(
    root: Path, watch_dirs: Sequence[Path], stop: asyncio.Event
) -> AsyncIterator[list[Path]]:
    """Each burst of relevant saves (sorted paths) until ``stop`` is set."""
    from watchfiles import awatch

    paths = [root, *(d for d in watch_dirs if d.is_dir() and not d.is_relative_to(root))]
    async for changes in awatch(
        *paths,
        watch_filter=lambda _change, path: is_relevant(Path(path), root, watch_dirs),
        debounce=DEBOUNCE_MS,
        step=STEP_MS,
        stop_event=stop,
        recursive=True,
    ):
        yield sorted({Path(p) for _change, p in changes})
