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


def watched_folders(root: Path) -> list[Path]:
    """The app folder's subfolders that get a recursive watch: not ignored, not an environment
    (a ``.venv`` holds thousands of folders; watching them would delay the start)."""
    try:
        entries = sorted(root.iterdir())
    except OSError:
        return []
    return [
        e
        for e in entries
        if e.is_dir() and e.name not in IGNORED_DIRS and not _in_virtualenv(root, (e.name,))
    ]


async def app_changes(
    root: Path, watch_dirs: Sequence[Path], stop: asyncio.Event, armed: asyncio.Event
) -> AsyncIterator[list[Path]]:
    """Each burst of relevant saves (sorted paths) until ``stop`` is set; ``armed`` is set once
    the watches are in place. The app folder itself is watched without recursion, its
    :func:`watched_folders` (and ``watchDirectories`` elsewhere) recursively, so environments
    cost nothing; a folder created meanwhile is watched from the next burst on."""
    from watchfiles import awatch

    bursts: asyncio.Queue[set[tuple[Any, str]] | BaseException] = asyncio.Queue()

    async def pump(paths: list[Path], recursive: bool, until: asyncio.Event) -> None:
        try:
            async for changes in awatch(
                *paths,
                watch_filter=lambda _change, path: is_relevant(Path(path), root, watch_dirs),
                debounce=DEBOUNCE_MS,
                step=STEP_MS,
                stop_event=until,
                recursive=recursive,
            ):
                await bursts.put(changes)
        except Exception as err:  # the consumer raises it
            await bursts.put(err)

    outside = [d for d in watch_dirs if d.is_dir() and not d.is_relative_to(root)]
    pumps: list[tuple[asyncio.Task[None], asyncio.Event]] = []

    def start(paths: list[Path], recursive: bool) -> None:
        until = asyncio.Event()
        pumps.append((asyncio.create_task(pump(paths, recursive, until), name="reload-watch"), until))

    async def stop_pumps(which: list[tuple[asyncio.Task[None], asyncio.Event]]) -> None:
        for _task, until in which:
            until.set()
        await asyncio.gather(*(task for task, _until in which), return_exceptions=True)

    start([root], False)
    deep = watched_folders(root)
    if deep or outside:
        start([*deep, *outside], True)
    await asyncio.sleep(0)  # each pump's first step sets its watches up, synchronously
    armed.set()
    try:
        while not stop.is_set():
            getter = asyncio.ensure_future(bursts.get())
            stopped = asyncio.ensure_future(stop.wait())
            await asyncio.wait([getter, stopped], return_when=asyncio.FIRST_COMPLETED)
            stopped.cancel()
            if not getter.done():
                getter.cancel()
                break
            item = getter.result()
            if isinstance(item, BaseException):
                raise item
            now = watched_folders(root)
            if now != deep:  # a folder came or went: watch the new set
                await stop_pumps(pumps[1:])
                del pumps[1:]
                deep = now
                if deep or outside:
                    start([*deep, *outside], True)
                await asyncio.sleep(0)
            yield sorted({Path(p) for _change, p in item})
    finally:
        await stop_pumps(pumps)
