"""Start, wait for and stop the Azurite emulator pinned in package.json."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from host.errors import AzuriteError

DEV_ACCOUNT = "devstoreaccount1"
# The well-known, public Azurite development key (not a secret).
DEV_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def is_listening(host: str, port: int, timeout: float = 0.2) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def find_azurite(start: Path | None = None) -> str:
    """The azurite executable: node_modules/.bin next to the app or this package, else PATH."""
    candidates: list[Path] = []
    for base in (start, Path.cwd(), Path(__file__).resolve().parents[2]):
        if base is None:
            continue
        for folder in (base, *base.parents):
            candidates.append(folder / "node_modules" / ".bin" / "azurite")
    for c in candidates:
        if c.is_file() and os.access(c, os.X_OK):
            return str(c)
    found = shutil.which("azurite")
    if found:
        return found
    raise AzuriteError(
        "Azurite is not installed: `npm install -g azurite` puts it on PATH (or `npm ci` in the "
        "funchost repository, whose package.json pins it); or start your own Azurite and pass --no-azurite"
    )


@dataclass
class AzuriteProcess:
    """A running Azurite child process on loopback ports."""

    blob_port: int
    queue_port: int
    table_port: int
    location: Path
    host: str = "127.0.0.1"
    tls: tuple[Path, Path] | None = None
    """(certificate, private key) PEM files: serve HTTPS instead of HTTP."""
    oauth: bool = False
    """Accept bearer tokens (``--oauth basic``: audience, issuer and lifetime checked; needs ``tls``)."""
    process: subprocess.Popen[bytes] | None = None

    @property
    def scheme(self) -> str:
        return "https" if self.tls else "http"

    def service_uri(self, service: str) -> str:
        """The endpoint of ``service`` ("blob", "queue" or "table"), path-style, no trailing /."""
        port = {"blob": self.blob_port, "queue": self.queue_port, "table": self.table_port}[service]
        return f"{self.scheme}://{self.host}:{port}/{DEV_ACCOUNT}"

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol={self.scheme};"
            f"AccountName={DEV_ACCOUNT};AccountKey={DEV_KEY};"
            f"BlobEndpoint={self.service_uri('blob')};"
            f"QueueEndpoint={self.service_uri('queue')};"
            f"TableEndpoint={self.service_uri('table')};"
        )

    def start(
        self, *, executable: str | None = None, timeout: float = 30.0, in_memory: bool = False
    ) -> AzuriteProcess:
        exe = executable or find_azurite()
        self.location.mkdir(parents=True, exist_ok=True)
        # Strict (no --loose, no --skipApiVersionCheck): closer to a real account, which refuses
        # what loose mode ignores (docs/storage-fidelity.md).
        args = [
            exe,
            "--silent",
            "--disableTelemetry",
            "--blobHost",
            self.host,
            "--blobPort",
            str(self.blob_port),
            "--queueHost",
            self.host,
            "--queuePort",
            str(self.queue_port),
            "--tableHost",
            self.host,
            "--tablePort",
            str(self.table_port),
        ]
        if self.tls:
            args += ["--cert", str(self.tls[0]), "--key", str(self.tls[1])]
        if self.oauth:
            args += ["--oauth", "basic"]
        # Azurite refuses --location together with --inMemoryPersistence.
        args += ["--inMemoryPersistence"] if in_memory else ["--location", str(self.location)]
        log = open(self.location / "azurite.log", "ab")  # noqa: SIM115 - owned by the child
        self.process = subprocess.Popen(
            args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        ports = (self.blob_port, self.queue_port, self.table_port)
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AzuriteError(
                    f"Azurite exited with code {self.process.returncode} at start; "
                    f"see {self.location / 'azurite.log'}"
                )
            if all(is_listening(self.host, p) for p in ports):
                return self
            time.sleep(0.05)
        self.stop()
        raise AzuriteError(f"Azurite did not listen on {self.host} ports {ports} within {timeout:.0f} s")

    def stop(self, timeout: float = 10.0) -> None:
        proc, self.process = self.process, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None


def start_azurite_on_free_ports(
    location: Path, *, in_memory: bool = False, tls: tuple[Path, Path] | None = None, oauth: bool = False
) -> AzuriteProcess:
    """Start Azurite on three free loopback ports (never the default 10000-10002); ``tls`` and
    ``oauth`` as in :class:`AzuriteProcess`."""
    ports: set[int] = set()
    while len(ports) < 3:
        p = free_port()
        if p not in (10000, 10001, 10002):
            ports.add(p)
    blob, queue, table = sorted(ports)
    return AzuriteProcess(blob, queue, table, location, tls=tls, oauth=oauth).start(in_memory=in_memory)
