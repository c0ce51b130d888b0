"""host.json: loading, the version check, ``AzureFunctionsJobHost__a__b`` overrides, lookups.

Keys are case-insensitive in the real host (.NET configuration); every lookup here is too.
Overrides from the environment are strings, as in .NET configuration; the typed getters of
:class:`host.config.settings.HostSettings` convert them.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from host.errors import ConfigError

ENV_PREFIX = "AzureFunctionsJobHost__"
_MISSING = object()


def load_host_json(path: Path) -> dict[str, Any]:
    """Read and validate host.json (a missing file means the default ``{"version": "2.0"}``)."""
    if not path.is_file():
        return {"version": "2.0", "isDefaultHostConfig": True}
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig") or "{}")
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"Unable to parse host configuration file '{path}': {e}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"Unable to parse host configuration file '{path}': not a JSON object")
    if not data:
        return {"version": "2.0", "isDefaultHostConfig": True}
    version = lookup(data, "version", _MISSING)
    if version is _MISSING:
        raise ConfigError(
            f'The host.json file is missing the required \'version\' property ({path}). Add "version": "2.0".'
        )
    if version != "2.0":
        raise ConfigError(
            f"'{version}' is an invalid value for host.json 'version' property ({path}). "
            "We recommend you set the 'version' property to '2.0'."
        )
    return data


def _find_key(node: Mapping[str, Any], key: str) -> str | None:
    if key in node:
        return key
    lowered = key.lower()
    return next((k for k in node if k.lower() == lowered), None)


def lookup(data: Any, path: str, default: Any = None) -> Any:
    """The value at dotted ``path`` (case-insensitive keys; list indexes as digits), else default."""
    node = data
    for part in path.split(".") if path else []:
        if isinstance(node, Mapping):
            key = _find_key(node, part)
            if key is None:
                return default
            node = node[key]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return default
    return node


def _set(data: dict[str, Any], parts: list[str], value: str) -> None:
    node: Any = data
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(node, list):
            if not part.isdigit():
                return  # cannot address a list with a name; .NET would ignore it too
            index = int(part)
            while len(node) <= index:
                node.append(None)
            if last:
                node[index] = value
            else:
                if not isinstance(node[index], dict | list):
                    node[index] = [] if parts[i + 1].isdigit() else {}
                node = node[index]
            continue
        key = _find_key(node, part) or part
        if last:
            node[key] = value
        else:
            child = node.get(key)
            if not isinstance(child, dict | list):
                child = [] if parts[i + 1].isdigit() else {}
                node[key] = child
            node = child


def apply_env_overrides(data: dict[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    """A deep copy of ``data`` with every ``AzureFunctionsJobHost__a__b`` variable applied."""
    result: dict[str, Any] = json.loads(json.dumps(data))
    prefix = ENV_PREFIX.lower()
    # Sorted so that list indexes are filled in order and the result is deterministic.
    for name in sorted(environ):
        if name.lower().startswith(prefix) and len(name) > len(prefix):
            parts = [p for p in re.split("__|:", name[len(prefix) :]) if p]
            if parts:
                _set(result, parts, environ[name])
    return result


_TIMESPAN = re.compile(r"^(?:(?P<days>\d+)\.)?(?P<h>\d+):(?P<m>\d+)(?::(?P<s>\d+(?:\.\d+)?))?$")


def parse_timespan(value: Any) -> float | None:
    """Seconds of a .NET TimeSpan string (``hh:mm:ss[.fff]``, ``d.hh:mm:ss``); ``-1`` → ``None``.

    A bare number is not a TimeSpan in .NET; it is read as milliseconds (the unit host.json v1
    documented), the least surprising choice.
    """
    if isinstance(value, bool):
        raise ConfigError(f"'{value}' is not a valid time span")
    if isinstance(value, int | float):
        return None if value == -1 else float(value) / 1000.0
    text = str(value).strip()
    if text == "-1":
        return None
    m = _TIMESPAN.match(text)
    if not m:
        try:
            return float(text) / 1000.0
        except ValueError:
            raise ConfigError(f"'{value}' is not a valid time span (use hh:mm:ss)") from None
    days = int(m.group("days") or 0)
    return days * 86400 + int(m.group("h")) * 3600 + int(m.group("m")) * 60 + float(m.group("s") or 0)


def _keys(names: str) -> frozenset[str]:
    return frozenset(names.split())


# The documented host.json keys at the levels where a typo is likely, for misspelled_keys only
# (the host, like Azure's, ignores keys it does not know).
_KNOWN_KEYS: dict[str, frozenset[str]] = {
    "": _keys(
        "version aggregator concurrency console customHandler extensionBundle extensions functions "
        "functionTimeout healthMonitor logging managedDependency retry singleton telemetryMode "
        "watchDirectories watchFiles fileWatchingEnabled isDefaultHostConfig"
    ),
    "extensions": _keys(
        "blobs cosmosDB durableTask eventGrid eventHubs http kafka queues rabbitMQ sendGrid serviceBus "
        "signalR sql tables dapr mcp"
    ),
    "extensions.durableTask": _keys(
        "hubName defaultVersion versionMatchStrategy versionFailureStrategy storageProvider tracing "
        "httpSettings notifications maxConcurrentActivityFunctions maxConcurrentOrchestratorFunctions "
        "maxConcurrentEntityFunctions extendedSessionsEnabled extendedSessionIdleTimeoutInSeconds "
        "maxQueuePollingInterval useAppLease appLeaseOptions useGracefulShutdown localRpcEndpointEnabled "
        "entityMessageReorderWindowInMinutes overridableExistingInstanceStates "
        "storeInputsInOrchestrationHistory maxEntityOperationBatchSize maxOrchestrationActions "
        "controlQueueBatchSize controlQueueVisibilityTimeout leaseInterval partitionCount "
        "maxDequeueCount"
    ),
    "extensions.http": _keys(
        "routePrefix maxOutstandingRequests maxConcurrentRequests dynamicThrottlesEnabled hsts customHeaders"
    ),
    "extensions.queues": _keys(
        "maxPollingInterval visibilityTimeout batchSize maxDequeueCount newBatchThreshold messageEncoding"
    ),
    "extensions.blobs": _keys("maxDegreeOfParallelism poisonBlobThreshold"),
}


def misspelled_keys(data: Mapping[str, Any]) -> list[str]:
    """A warning per host.json key that is not a setting but close to one (a likely typo)."""
    found: list[str] = []
    for section, known in _KNOWN_KEYS.items():
        node = lookup(data, section) if section else data
        if not isinstance(node, Mapping):
            continue
        by_lower = {k.lower(): k for k in known}
        for key in node:
            if key.lower() in by_lower:
                continue
            close = difflib.get_close_matches(key.lower(), list(by_lower), n=1, cutoff=0.8)
            if close:
                where = f"{section}." if section else ""
                found.append(
                    f"host.json: '{where}{key}' is not a setting: did you mean '{where}{by_lower[close[0]]}'?"
                )
    return found
