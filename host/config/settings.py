"""Everything the host is configured by: host.json, local.settings.json, environment, CLI.

Precedence, as in ``func start``: the process environment wins over local.settings.json
``Values`` (which are copied into the environment only where a variable is not set yet);
``AzureFunctionsJobHost__a__b`` variables override host.json; CLI options win over the
``Host`` section of local.settings.json.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from host.config.hostjson import (
    apply_env_overrides,
    load_host_json,
    lookup,
    misspelled_keys,
    parse_timespan,
)
from host.config.local_settings import apply_values, read_local_settings
from host.errors import ConfigError

DEFAULT_PORT = 7071
DEFAULT_ADDRESS = "127.0.0.1"
DEFAULT_SCRIPT_FILE = "function_app.py"
_SCRIPT_FILE_RE = re.compile(r"^[a-zA-Z0-9_][a-zA-Z0-9_\-]*\.py$")
_APP_SETTING_REF = re.compile(r"%([^%\s]+)%")
_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}


@dataclass(frozen=True)
class HostSettings:
    """The resolved configuration of one host (read-only once loaded)."""

    script_root: Path
    host_json: dict[str, Any]
    values: dict[str, str | None] = field(default_factory=dict)
    port: int = DEFAULT_PORT
    address: str = DEFAULT_ADDRESS
    cors_origins: tuple[str, ...] = ()
    cors_credentials: bool = False
    route_prefix: str = "api"
    functions: tuple[str, ...] = ()
    verbose: bool = False
    azurite: bool = True
    enable_auth: bool = False
    dashboard: bool = True
    """Serve the dashboard at ``/dashboard`` (``--no-dashboard``: off)."""
    script_file: str = DEFAULT_SCRIPT_FILE
    connection_strings: dict[str, str] = field(default_factory=dict)
    messages: tuple[str, ...] = ()
    """Lines worth logging at start (skipped local settings, warnings)."""
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ, repr=False, compare=False)

    # -- app settings -------------------------------------------------------------------
    def setting(self, name: str) -> str | None:
        """An app setting (environment variable, after local.settings.json was applied)."""
        return self.environ.get(name)

    @property
    def storage_connection(self) -> str | None:
        """The ``AzureWebJobsStorage`` connection string (``None`` if unset or empty)."""
        return self.setting("AzureWebJobsStorage") or None

    def connection(self, name: str | None) -> str | None:
        """A binding's ``connection`` resolved like the webjobs SDK (empty → AzureWebJobsStorage)."""
        if not name:
            return self.storage_connection
        for candidate in (f"AzureWebJobs{name}", name):
            found = self.connection_strings.get(candidate) or self.setting(f"ConnectionStrings:{candidate}")
            found = found or self.setting(candidate)
            if found:
                return found
        return None

    def resolve(self, value: str) -> str:
        """Replace every ``%Name%`` in ``value`` by the app setting ``Name`` (ConfigError if unset)."""

        def sub(m: re.Match[str]) -> str:
            found = self.setting(m.group(1))
            if found is None:
                raise ConfigError(
                    f"'%{m.group(1)}%' does not resolve to a value: app setting '{m.group(1)}' is not set"
                )
            return found

        return _APP_SETTING_REF.sub(sub, value)

    # -- host.json ----------------------------------------------------------------------
    def get_path(self, path: str, default: Any = None) -> Any:
        """The host.json value at dotted ``path`` (case-insensitive), after env overrides."""
        return lookup(self.host_json, path, default)

    def get_str(self, path: str, default: str | None = None, *, resolve: bool = True) -> str | None:
        value = self.get_path(path)
        if value is None:
            return default
        text = str(value)
        return self.resolve(text) if resolve else text

    def get_int(self, path: str, default: int) -> int:
        value = self.get_path(path)
        if value is None:
            return default
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"host.json '{path}': '{value}' is not an integer") from None

    def get_bool(self, path: str, default: bool) -> bool:
        value = self.get_path(path)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE or text in _FALSE:
            return text in _TRUE
        raise ConfigError(f"host.json '{path}': '{value}' is not a boolean")

    def get_timespan(self, path: str, default: float | None) -> float | None:
        """Seconds of a TimeSpan value (``None`` = unbounded, ``-1``)."""
        value = self.get_path(path)
        if value is None:
            return default
        try:
            return parse_timespan(value)
        except ConfigError as e:
            raise ConfigError(f"host.json '{path}': {e}") from None

    @property
    def log_level(self) -> str:
        """``logging.logLevel.default`` (Core Tools' console level), default Information."""
        return str(self.get_path("logging.logLevel.default", "Information"))

    @property
    def script_path(self) -> Path:
        return self.script_root / self.script_file


def _parse_port(value: Any, origin: str) -> int:
    try:
        port = int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{origin}: '{value}' is not a valid port number") from None
    if not 0 < port < 65536:
        raise ConfigError(f"{origin}: {port} is not a valid port number (1-65535)")
    return port


def _parse_bool(value: Any, origin: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text not in _TRUE | _FALSE:
        raise ConfigError(f"{origin}: '{value}' is not true or false")
    return text in _TRUE


def _split_origins(value: str | None) -> tuple[str, ...]:
    return tuple(o.strip() for o in (value or "").split(",") if o.strip())


def load_settings(
    script_root: Path | str = ".",
    *,
    port: int | None = None,
    address: str | None = None,
    cors: str | None = None,
    cors_credentials: bool | None = None,
    functions: Sequence[str] | None = None,
    verbose: bool = False,
    azurite: bool = True,
    enable_auth: bool = False,
    dashboard: bool = True,
    environ: MutableMapping[str, str] | None = None,
) -> HostSettings:
    """Read host.json and local.settings.json of ``script_root``, apply the environment and CLI.

    ``environ`` defaults to ``os.environ``, which receives local.settings.json ``Values``
    (unless already set) and the variables Core Tools sets. Raises :class:`ConfigError`.
    """
    env: MutableMapping[str, str] = os.environ if environ is None else environ
    root = Path(script_root).resolve()
    if not root.is_dir():
        raise ConfigError(f"Script root '{root}' is not a folder")

    local = read_local_settings(root / "local.settings.json")
    messages = [*local.warnings, *apply_values(local.values, env)]

    worker_runtime = env.get("FUNCTIONS_WORKER_RUNTIME")
    if worker_runtime and worker_runtime.strip().lower() != "python":
        raise ConfigError(f"FUNCTIONS_WORKER_RUNTIME is '{worker_runtime}': this host runs Python apps only")

    host_json = apply_env_overrides(load_host_json(root / "host.json"), env)
    messages += misspelled_keys(host_json)

    lh = local.host
    if port is None:
        port = _parse_port(
            lookup(lh, "LocalHttpPort", DEFAULT_PORT), "local.settings.json Host.LocalHttpPort"
        )
    else:
        port = _parse_port(port, "--port")
    address = address or str(lookup(lh, "LocalHttpAddress", DEFAULT_ADDRESS))
    cors_value = cors if cors is not None else lookup(lh, "CORS")
    creds = cors_credentials
    if creds is None:
        creds = _parse_bool(lookup(lh, "CORSCredentials", False), "local.settings.json Host.CORSCredentials")

    script_file = env.get("PYTHON_SCRIPT_FILE_NAME") or DEFAULT_SCRIPT_FILE
    if not _SCRIPT_FILE_RE.match(script_file):
        raise ConfigError(f"PYTHON_SCRIPT_FILE_NAME '{script_file}' is not a valid Python file name")

    prefix = lookup(host_json, "extensions.http.routePrefix", "api")
    route_prefix = "" if prefix is None else str(prefix).strip("/")

    if functions:
        selected = tuple(functions)
    else:
        from_json = lookup(host_json, "functions")
        selected = tuple(str(f) for f in from_json if f) if isinstance(from_json, list) else ()

    # What Core Tools sets for every run.
    env["WEBSITE_HOSTNAME"] = f"localhost:{port}"
    env["AzureWebJobsScriptRoot"] = str(root)
    env["AZURE_FUNCTIONS_ENVIRONMENT"] = "Development"

    return HostSettings(
        script_root=root,
        host_json=host_json,
        values=dict(local.values),
        port=port,
        address=address,
        cors_origins=_split_origins(None if cors_value is None else str(cors_value)),
        cors_credentials=creds,
        route_prefix=route_prefix,
        functions=selected,
        verbose=verbose,
        azurite=azurite,
        enable_auth=enable_auth,
        dashboard=dashboard,
        script_file=script_file,
        connection_strings=dict(local.connection_strings),
        messages=tuple(messages),
        environ=env,
    )
