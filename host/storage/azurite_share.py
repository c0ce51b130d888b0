"""One auto-started Azurite shared by every host that uses it; the last one out stops it.

Each Azurite the hosts start has a folder ``<home>/<blob port>/`` (``home`` is
``FUNCHOST_AZURITE_HOME``, default ``~/.funchost/azurite``) holding its data, its log, a state
file (``azurite.json``: pid and ports) and one lease file per host using it (``hosts/<pid>-<n>``).
Every change happens under a file lock. A host that finds the Azurite of the state file alive
takes a lease instead of starting another; releasing the last lease stops Azurite. Leases of
processes that died (killed, crashed) are dropped whenever the folder is looked at.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from filelock import FileLock

from host.storage.azurite import AzuriteProcess, is_listening

HOME_SETTING = "FUNCHOST_AZURITE_HOME"
STATE_FILE = "azurite.json"
_LOCK_TIMEOUT = 60.0  # longer than an Azurite start-up, which happens under the lock
_counter = itertools.count(1)


def azurite_folder(blob_port: int, environ: Mapping[str, str] | None = None) -> Path:
    """The folder of the auto-started Azurite whose blob service listens on ``blob_port``."""
    return azurite_home(environ) / str(blob_port)


def azurite_home(environ: Mapping[str, str] | None = None) -> Path:
    """Where auto-started Azurites keep their folders (``FUNCHOST_AZURITE_HOME`` or ~/.funchost/azurite)."""
    env = os.environ if environ is None else environ
    configured = env.get(HOME_SETTING)
    return Path(configured).expanduser() if configured else Path.home() / ".funchost" / "azurite"


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists (and, where /proc tells, is not a zombie)."""
    if pid <= 0:
        return False
    if sys.platform == "win32":  # os.kill(pid, 0) would send CTRL_C_EVENT there
        return _windows_pid_alive(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    with contextlib.suppress(OSError, IndexError):
        if stat.read_text().rsplit(")", 1)[1].split()[0] == "Z":
            return False
    return True


def _windows_pid_alive(pid: int) -> bool:
    if sys.platform != "win32":
        return False
    import ctypes

    kernel32 = ctypes.windll.kernel32
    handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return False
    code = ctypes.c_ulong()
    try:
        kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
    finally:
        kernel32.CloseHandle(handle)
    return code.value == 259  # STILL_ACTIVE


def _is_azurite(pid: int) -> bool:
    """Alive, and (where /proc tells) really a node/Azurite process: pids get reused."""
    if not pid_alive(pid):
        return False
    cmdline = Path(f"/proc/{pid}/cmdline")
    try:
        text = cmdline.read_bytes().replace(b"\0", b" ").lower()
    except OSError:
        return True  # no /proc here: trust the pid
    return b"azurite" in text


@dataclass(frozen=True)
class AzuriteState:
    """What ``azurite.json`` says about one shared Azurite, and who uses it now."""

    folder: Path
    pid: int
    host: str
    blob_port: int
    queue_port: int
    table_port: int
    users: tuple[int, ...]
    """Process ids of the hosts holding a lease."""

    @property
    def running(self) -> bool:
        return _is_azurite(self.pid)


class SharedAzurite:
    """The folder of the Azurite on one set of loopback ports."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._lock = FileLock(str(folder.parent / f"{folder.name}.lock"), timeout=_LOCK_TIMEOUT)
        self._hosts = self.folder / "hosts"
        self._state = self.folder / STATE_FILE

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the folder's lock (across processes)."""
        self.folder.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            yield

    # -- under the lock -----------------------------------------------------------------
    def read(self) -> AzuriteState | None:
        """The recorded Azurite (running or not) with its live users; stale leases are removed."""
        try:
            data = json.loads(self._state.read_text())
            state = AzuriteState(
                self.folder,
                int(data["pid"]),
                str(data["host"]),
                int(data["blob_port"]),
                int(data["queue_port"]),
                int(data["table_port"]),
                (),
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return replace(state, users=self._live_users())

    def _live_users(self) -> tuple[int, ...]:
        users: list[int] = []
        for lease in sorted(self._hosts.glob("*")) if self._hosts.is_dir() else []:
            pid = int(lease.name.split("-", 1)[0]) if lease.name.split("-", 1)[0].isdigit() else -1
            if pid_alive(pid):
                users.append(pid)
            else:
                lease.unlink(missing_ok=True)
        return tuple(users)

    def record(self, proc: AzuriteProcess) -> None:
        assert proc.pid is not None
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self._state.with_suffix(".tmp")
        tmp.write_text(
            json.dumps(
                {
                    "pid": proc.pid,
                    "host": proc.host,
                    "blob_port": proc.blob_port,
                    "queue_port": proc.queue_port,
                    "table_port": proc.table_port,
                }
            )
        )
        tmp.replace(self._state)

    def forget(self) -> None:
        self._state.unlink(missing_ok=True)

    def add_lease(self) -> Path:
        self._hosts.mkdir(parents=True, exist_ok=True)
        lease = self._hosts / f"{os.getpid()}-{next(_counter)}"
        lease.touch()
        return lease


def stop_pid(pid: int, timeout: float = 10.0) -> None:
    """SIGTERM a process that is not our child, wait until it is gone (SIGKILL after ``timeout``)."""
    for sig, wait in ((signal.SIGTERM, timeout), (getattr(signal, "SIGKILL", signal.SIGTERM), timeout)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)
        deadline = time.monotonic() + wait
        while pid_alive(pid):
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        else:
            return


@dataclass
class AzuriteLease:
    """This host's share of an Azurite; :meth:`release` stops Azurite when no other host holds one."""

    shared: SharedAzurite
    lease: Path
    started: bool
    """Whether this host started Azurite (for messages; any last user stops it)."""
    process: AzuriteProcess | None = None

    def release(self) -> bool:
        """Give the lease back; True when this was the last one and Azurite was stopped."""
        with self.shared.locked():
            self.lease.unlink(missing_ok=True)
            state = self.shared.read()
            if state is not None and state.users:
                return False
            if self.process is not None and self.process.process is not None:
                self.process.stop()
            elif state is not None and state.running:
                stop_pid(state.pid)
            self.shared.forget()
            return True


def acquire(proc: AzuriteProcess, start: Callable[[AzuriteProcess], None]) -> AzuriteLease | None:
    """A lease on the shared Azurite of ``proc.location``, starting it (``start(proc)``) if needed.

    ``None`` when something else (an Azurite the user started) already listens on those ports.
    """
    shared = SharedAzurite(proc.location)
    with shared.locked():
        state = shared.read()
        if state is not None and state.running:
            return AzuriteLease(shared, shared.add_lease(), started=False)
        shared.forget()
        ports = (proc.blob_port, proc.queue_port, proc.table_port)
        if any(is_listening(proc.host, p) for p in ports):
            return None
        start(proc)
        shared.record(proc)
        return AzuriteLease(shared, shared.add_lease(), started=True, process=proc)


def all_states(home: Path) -> list[AzuriteState]:
    """Every Azurite recorded under ``home`` that still runs (stale records are removed)."""
    found: list[AzuriteState] = []
    for folder in sorted(home.iterdir()) if home.is_dir() else []:
        if not (folder.is_dir() and folder.name.isdigit() and (folder / STATE_FILE).is_file()):
            continue
        shared = SharedAzurite(folder)
        with shared.locked():
            state = shared.read()
            if state is not None and state.running:
                found.append(state)
            else:
                shared.forget()
    return found


def stop_shared(state: AzuriteState) -> None:
    """End a shared Azurite now, whoever uses it."""
    shared = SharedAzurite(state.folder)
    with shared.locked():
        stop_pid(state.pid)
        shared.forget()
