"""Function keys when the host runs with ``--enable-auth`` (otherwise every request is allowed).

Levels (spec §4.5): ``anonymous`` needs no key, ``function`` accepts the function's keys, a host
key or the master key, ``admin`` only the master key. Keys arrive in the ``x-functions-key``
header or the ``code`` query parameter; a missing or wrong key gives 401.

Keys are kept in files in the format of the host's file secrets repository, under
``<app>/.funchost/secrets/``: ``host.json`` (``masterKey``, ``functionKeys``, ``systemKeys``) and
``<function>.json`` (``keys``). Missing files are generated with random keys on first use and
reused afterwards, so URLs with ``?code=`` keep working across restarts.
"""

from __future__ import annotations

import base64
import hmac
import json
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from host.errors import ConfigError

SECRETS_DIR = Path(".funchost") / "secrets"
KEY_HEADER = "x-functions-key"
KEY_QUERY = "code"
ANONYMOUS, FUNCTION, ADMIN = "anonymous", "function", "admin"


def new_key() -> str:
    """A random key shaped like the host's (base64 of 40 random bytes)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(40)).decode()


def _entry(name: str, value: str) -> dict[str, Any]:
    return {"name": name, "value": value, "encrypted": False}


def _read(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ConfigError(f"{path}: cannot read keys: {e}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a JSON object of keys")
    return data


def _write(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")


def _values(entries: Any) -> list[str]:
    return [str(e["value"]) for e in entries or [] if isinstance(e, dict) and e.get("value")]


class KeyStore:
    """Master, host and function keys of one app, loaded (or generated) from its secrets folder."""

    def __init__(self, master_key: str, host_keys: dict[str, str], function_keys: dict[str, dict[str, str]]):
        self.master_key = master_key
        self.host_keys = host_keys
        self.function_keys = function_keys

    @classmethod
    def load(cls, script_root: Path, function_names: Iterable[str]) -> KeyStore:
        """Read the keys under ``script_root``, generating and saving any that are missing."""
        folder = script_root / SECRETS_DIR
        host_path = folder / "host.json"
        host = _read(host_path)
        if host is None or not (host.get("masterKey") or {}).get("value"):
            host = {"masterKey": _entry("master", new_key()),
                    "functionKeys": [_entry("default", new_key())], "systemKeys": []}
            _write(host_path, host)
        host_keys = {str(e.get("name", "default")): str(e["value"]) for e in host.get("functionKeys") or []
                     if isinstance(e, dict) and e.get("value")}
        functions: dict[str, dict[str, str]] = {}
        for name in function_names:
            path = folder / f"{name.lower()}.json"
            data = _read(path)
            if data is None or not _values(data.get("keys")):
                data = {"keys": [_entry("default", new_key())]}
                _write(path, data)
            functions[name.lower()] = {str(e.get("name", "default")): str(e["value"]) for e in data["keys"]
                                       if isinstance(e, dict) and e.get("value")}
        return cls(str(host["masterKey"]["value"]), host_keys, functions)

    def default_function_key(self, function_name: str) -> str | None:
        """The key to put in ``?code=`` for a function (its ``default`` key)."""
        keys = self.function_keys.get(function_name.lower()) or {}
        return keys.get("default") or next(iter(keys.values()), None)

    def is_master(self, key: str | None) -> bool:
        return bool(key) and hmac.compare_digest(str(key), self.master_key)

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
        return any(hmac.compare_digest(key, c) for c in candidates)


def provided_key(headers: dict[str, str], params: dict[str, str]) -> str | None:
    """The key of a request: the ``x-functions-key`` header, else the ``code`` query parameter."""
    return headers.get(KEY_HEADER) or params.get(KEY_QUERY)
