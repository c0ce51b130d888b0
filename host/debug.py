"""``start --debug[=PORT]``: a debugpy listener (optional extra ``funchost[debug]``)."""

from __future__ import annotations

from host.errors import ConfigError

DEFAULT_DEBUG_PORT = 5678


def listen(port: int, *, wait: bool = False, host: str = "127.0.0.1") -> None:
    """Listen for a debugger on ``host:port`` (loopback); with ``wait``, block until one attaches."""
    try:
        import debugpy
    except ImportError:
        raise ConfigError(
            "--debug needs debugpy: python -m pip install 'funchost[debug]' "
            "(or: python -m pip install 'debugpy>=1.8,<2')"
        ) from None
    try:
        debugpy.listen((host, port))
    except (OSError, RuntimeError) as e:
        raise ConfigError(f"--debug: cannot listen on {host}:{port}: {e}") from None
    print(
        f"Debugger listening on {host}:{port} (attach with VS Code: Python Debugger: Remote Attach)",
        flush=True,
    )
    if wait:
        print("Waiting for the debugger to attach (--debug-wait)...", flush=True)
        debugpy.wait_for_client()
