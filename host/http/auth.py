"""Function keys when the host runs with ``--enable-auth`` (otherwise every request is allowed).

Levels: ``anonymous`` needs no key, ``function`` accepts the function's keys, a host key or the
master key, ``admin`` only the master key; an extension's webhooks (the durable HTTP API) accept
that extension's system key (``durabletask_extension``) or the master key. Keys arrive in the
``x-functions-key`` header or the ``code`` query parameter; a missing or wrong key gives 401.
Keys are compared as UTF-8 bytes in constant time, so any text (also non-ASCII) is just wrong.

Keys are kept in files in the format of the host's file secrets repository, under
``<app>/.funchost/secrets/`` (folder 0700, files 0600): ``host.json`` (``masterKey``,
``functionKeys``, ``systemKeys``) and ``<function>.json`` (``keys``). Missing keys are generated
on first use and reused afterwards, so URLs with ``?code=`` keep working across restarts.
"""

from __future__ import annotations

import base64
import hmac
import json
import os
import secrets
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from host.config.settings import HostSettings
from host.errors import ConfigError
from host.indexing.registry import HTTP_TRIGGER, Registry

SECRETS_DIR = Path(".funchost") / "secrets"
KEY_HEADER = "x-functions-key"
KEY_QUERY = "code"
ANONYMOUS, FUNCTION, ADMIN = "anonymous", "function", "admin"
DURABLE_SYSTEM_KEY = "durabletask_extension"
"""The system key of the Durable Functions extension's webhooks (as the Functions host names it)."""
EVENTGRID_SYSTEM_KEY = "eventgrid_extension"
"""The system key of the Event Grid webhook (``/runtime/webhooks/EventGrid``)."""
SYSTEM_KEYS: tuple[str, ...] = (DURABLE_SYSTEM_KEY, EVENTGRID_SYSTEM_KEY)


def new_key() -> str:
    """A random key shaped like the host's (base64 of 40 random bytes)."""
    while True:  # a key starting with '-' would read as an option on a command line (--key -abc)
        key = base64.urlsafe_b64encode(secrets.token_bytes(40)).decode()
        if not key.startswith("-"):
            return key


def same_key(given: str, expected: str) -> bool:
    """Constant-time comparison of two keys as UTF-8 bytes (never raises on odd text)."""
    return hmac.compare_digest(
        given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass")
    )


def _entry(name: str, value: str) -> dict[str, Any]:
    return {"name": name, "value": value, "encrypted": False}


def _read(path: Path, *, tighten: bool = False) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    if tighten and path.stat().st_mode & 0o077:  # a key file from an older host, or copied in
        os.chmod(path, 0o600)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ConfigError(f"{path}: cannot read keys: {e}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a JSON object of keys")
    return data


def _write(path: Path, data: dict[str, Any]) -> None:
    """Write a key file readable by its owner only (0600, in a 0700 folder), atomically."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)  # whatever the umask
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out, indent=2)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _named(entries: Any) -> dict[str, str]:
    return {
        str(e.get("name", "default")): str(e["value"])
        for e in entries or []
        if isinstance(e, dict) and e.get("value")
    }


class KeyStore:
    """Master, host, system and function keys of one app, loaded (or generated) from its secrets folder."""

    def __init__(
        self,
        master_key: str,
        host_keys: Mapping[str, str],
        function_keys: Mapping[str, Mapping[str, str]],
        system_keys: Mapping[str, str] | None = None,
    ) -> None:
        self.master_key = master_key
        self.host_keys = dict(host_keys)
        self.function_keys = {k: dict(v) for k, v in function_keys.items()}
        self.system_keys = dict(system_keys or {})

    @classmethod
    def load(cls, script_root: Path, function_names: Iterable[str]) -> KeyStore:
        """Read the keys under ``script_root``, generating and saving any that are missing."""
        folder = script_root / SECRETS_DIR
        if folder.is_dir() and folder.stat().st_mode & 0o077:
            os.chmod(folder, 0o700)
        host_path = folder / "host.json"
        host = _read(host_path, tighten=True)
        changed = False
        if host is None or not (host.get("masterKey") or {}).get("value"):
            host = {
                "masterKey": _entry("master", new_key()),
                "functionKeys": [_entry("default", new_key())],
                "systemKeys": [],
            }
            changed = True
        system = _named(host.get("systemKeys"))
        for name in SYSTEM_KEYS:
            if name not in system:
                host["systemKeys"] = [*(host.get("systemKeys") or []), _entry(name, new_key())]
                system = _named(host["systemKeys"])
                changed = True
        if changed:
            _write(host_path, host)
        functions: dict[str, dict[str, str]] = {}
        for name in function_names:
            path = folder / f"{name.lower()}.json"
            data = _read(path, tighten=True)
            if data is None or not _named(data.get("keys")):
                data = {"keys": [_entry("default", new_key())]}
                _write(path, data)
            functions[name.lower()] = _named(data["keys"])
        return cls(str(host["masterKey"]["value"]), _named(host.get("functionKeys")), functions, system)

    def default_function_key(self, function_name: str) -> str | None:
        """The key to put in ``?code=`` for a function (its ``default`` key)."""
        keys = self.function_keys.get(function_name.lower()) or {}
        return keys.get("default") or next(iter(keys.values()), None)

    def system_key(self, name: str) -> str | None:
        """The system key ``name`` (e.g. :data:`DURABLE_SYSTEM_KEY`)."""
        return self.system_keys.get(name)

    def is_master(self, key: str | None) -> bool:
        """Whether ``key`` is the master key."""
        return bool(key) and same_key(str(key), self.master_key)

    def is_system(self, key: str | None, name: str) -> bool:
        """Whether ``key`` opens the webhooks of system key ``name`` (that key or the master key)."""
        if not key or self.is_master(key):
            return bool(key)
        expected = self.system_keys.get(name)
        return expected is not None and same_key(key, expected)

    def authorize(self, auth_level: str | None, function_name: str, key: str | None) -> bool:
        """Whether ``key`` grants access to a function with ``auth_level``."""
        level = (auth_level or FUNCTION).lower()
        if level == ANONYMOUS:
            return True
        if not key:
            return False
        if self.is_master(key):
            return True
        if level == ADMIN:
            return False
        own = self.function_keys.get(function_name.lower()) or {}
        candidates = [*self.host_keys.values(), *own.values()]
        return any(same_key(key, c) for c in candidates)


def read_keys(script_root: Path) -> KeyStore | None:
    """The master and system keys saved under ``script_root`` (``None`` if none); generates nothing."""
    host = _read(script_root / SECRETS_DIR / "host.json")
    master = (host or {}).get("masterKey") or {}
    if host is None or not isinstance(master, dict) or not master.get("value"):
        return None
    return KeyStore(
        str(master["value"]), _named(host.get("functionKeys")), {}, _named(host.get("systemKeys"))
    )


def provided_key(headers: Mapping[str, str], params: Mapping[str, str]) -> str | None:
    """The key of a request: the ``x-functions-key`` header, else the ``code`` query parameter."""
    return headers.get(KEY_HEADER) or params.get(KEY_QUERY)


def lacks_master_key(keys: KeyStore | None, headers: Mapping[str, str], params: Mapping[str, str]) -> bool:
    """Whether a request to an admin endpoint is refused: ``keys`` are checked (``--enable-auth``)
    and the request's key (:func:`provided_key`) is not the master key."""
    return keys is not None and not keys.is_master(provided_key(headers, params))


def load_keys(settings: HostSettings, registry: Registry) -> KeyStore | None:
    """The app's keys with ``--enable-auth`` (loaded or generated), else ``None`` (no keys checked)."""
    if not settings.enable_auth:
        return None
    return KeyStore.load(settings.script_root, [f.name for f in registry if f.trigger_type == HTTP_TRIGGER])
