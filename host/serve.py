"""Run a :class:`HostRuntime` behind uvicorn, print func's banner and listing, shut down cleanly.

Ctrl-C or SIGTERM: stop accepting connections, let in-flight requests finish (bounded by
:data:`GRACEFUL_TIMEOUT`), stop the services, close storage, stop Azurite if we started it.
A second Ctrl-C forces the exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import signal
import socket
import time
from collections.abc import Iterator

import uvicorn

from host.config.settings import HostSettings
from host.errors import ConfigError
from host.indexing.listing import format_listing
from host.logs import console
from host.reload.reloader import Reloader, ReloadOptions
from host.runtime import HostRuntime
from host.version import installed_version, python_version

GRACEFUL_TIMEOUT = 10
"""Seconds in-flight work gets to finish at shutdown (HTTP requests, then services)."""


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling (it would re-raise the signal after exit)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def banner() -> str:
    """The lines func prints before starting (two blank lines, versions, a blank line)."""
    return (
        "\n\nfunchost (pure-Python Azure Functions host)\n"
        f"funchost Version:         {installed_version('funchost')} (Python {python_version()})\n"
        f"Function SDK Versions:    azure-functions {installed_version('azure-functions')}, "
        f"azure-functions-durable {installed_version('azure-functions-durable')}\n"
    )


def bind_socket(settings: HostSettings) -> socket.socket:
    """The listening socket, bound before anything slow happens (ConfigError if taken)."""
    family = socket.AF_INET6 if ":" in settings.address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # asyncio sets TCP_NODELAY only on sockets created with proto=IPPROTO_TCP; without it, Nagle
    # plus delayed ACKs add ~40 ms to every keep-alive response (headers and body are two writes).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((settings.address, settings.port))
    except OSError as e:
        sock.close()
        if e.errno == errno.EADDRINUSE:
            raise ConfigError(
                f"Port {settings.port} is unavailable. Close the process using that port, "
                "or specify another port using --port [-p]."
            ) from None
        raise ConfigError(f"Cannot listen on {settings.address}:{settings.port}: {e.strerror}") from None
    sock.listen(2048)
    sock.setblocking(False)
    return sock


async def serve(
    settings: HostSettings, *, runtime: HostRuntime | None = None, reload: ReloadOptions | None = None
) -> None:
    """Start the host and serve until Ctrl-C/SIGTERM (reloading the app on saves with ``reload``);
    raises HostError on bad configuration."""
    t0 = time.perf_counter()
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()
    server: _Server | None = None
    reloader: Reloader | None = None
    stopping = False

    def on_signal(sig: signal.Signals) -> None:
        nonlocal stopping
        if server is not None and server.started:
            if stopping and sig == signal.SIGINT:
                server.force_exit = True
            server.should_exit = True
        elif main is not None and not stopping:
            main.cancel()  # still starting: abandon start-up, clean up below
        stopping = True

    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, on_signal, sig)

    print(banner(), flush=True)
    sock = bind_socket(settings)
    runtime = runtime or HostRuntime(settings)
    runtime.warm_modules.append("host.http.app")
    try:
        await runtime.start()
        from host.http.app import build_app
        from host.http.server import server_config

        if reload is not None and reload.enabled:
            reloader = Reloader(runtime, reload)
            await reloader.start()  # armed before the first request: no save goes unseen
        config = server_config(
            reloader.switch if reloader is not None else build_app(runtime),
            log_config=None,
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=GRACEFUL_TIMEOUT,
            server_header=False,
        )
        server = _Server(config)
        serving = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started and not serving.done():
            await asyncio.sleep(0.005)
        if serving.done():
            serving.result()
            return
        runtime.mark_running()
        print(
            format_listing(
                runtime.registry,
                f"http://localhost:{settings.port}",
                settings.route_prefix,
                verbose=settings.verbose,
            ),
            end="",
            flush=True,
        )
        if runtime.dashboard_path is not None:
            print(f"\nDashboard: http://localhost:{settings.port}{runtime.dashboard_path}\n", flush=True)
        console("Host started (%dms)", round((time.perf_counter() - t0) * 1000))
        await serving
    except asyncio.CancelledError:
        if not stopping:
            raise
    finally:
        sock.close()
        if stopping:
            console("Stopping host...")
        if reloader is not None:
            await reloader.stop()
        await runtime.stop(GRACEFUL_TIMEOUT)
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)


def run(settings: HostSettings, reload: ReloadOptions | None = None) -> None:
    """Blocking entry point used by the CLI."""
    asyncio.run(serve(settings, reload=reload))
