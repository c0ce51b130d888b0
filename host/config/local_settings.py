"""local.settings.json as Core Tools reads it (``Values``, ``Host``, ``ConnectionStrings``)."""

from __future__ import annotations

import json
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from host.errors import ConfigError


@dataclass
class LocalSettings:
    """The parsed file; ``warnings`` are lines to print (the file is still usable)."""

    values: dict[str, str | None] = field(default_factory=dict)
    host: dict[str, Any] = field(default_factory=dict)
    connection_strings: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def _as_setting(value: Any) -> str | None:
    """Newtonsoft's string conversion of a JSON scalar (``true`` → ``"True"``)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, int | float):
        return json.dumps(value)
    raise TypeError(type(value).__name__)


def read_local_settings(path: Path) -> LocalSettings:
    """Parse ``path``; a missing file gives empty settings, a malformed one a warning."""
    result = LocalSettings()
    if not path.is_file():
        return result
    failed = (
        f"Failed to read app settings file at '{path}'. Ensure it is a valid JSON file. "
        "Continuing without its values."
    )
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig") or "{}")
    except (json.JSONDecodeError, UnicodeDecodeError):
        result.warnings.append(failed)
        return result
    if not isinstance(data, dict):
        result.warnings.append(failed)
        return result
    if data.get("IsEncrypted") is True:
        raise ConfigError(
            f"Failed to decrypt settings in '{path}'. Encrypted settings are not supported: "
            'set "IsEncrypted": false and store plain values.'
        )
    raw_values = data.get("Values") or {}
    try:
        if not isinstance(raw_values, dict):
            raise TypeError("Values")
        result.values = {str(k): _as_setting(v) for k, v in raw_values.items()}
    except TypeError:
        result.warnings.append(failed)
        result.values = {}
    host = data.get("Host")
    result.host = host if isinstance(host, dict) else {}
    for name, entry in (data.get("ConnectionStrings") or {}).items():
        if isinstance(entry, str):
            result.connection_strings[name] = entry
        elif isinstance(entry, dict) and isinstance(entry.get("ConnectionString"), str):
            result.connection_strings[name] = entry["ConnectionString"]
    return result


def apply_values(values: dict[str, str | None], environ: MutableMapping[str, str]) -> list[str]:
    """Put ``values`` into ``environ`` unless already set there; returns the lines to log."""
    messages: list[str] = []
    for key, value in values.items():
        if value is None:
            messages.append(f"Skipping '{key}' from local settings: its value is null.")
        elif key in environ:
            messages.append(
                f"Skipping '{key}' from local settings as it's already defined in current "
                "environment variables."
            )
        else:
            environ[key] = value
    return messages
