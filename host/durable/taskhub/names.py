"""Task hub resource names, the instance → partition hash and table key escaping (pure).

Follows DurableTask.AzureStorage: queues and containers use the lower-cased hub name, tables
keep its case; instance ids map to control queues by FNV-1a over their UTF-8 bytes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from host.errors import ConfigError

if TYPE_CHECKING:
    from host.config.settings import HostSettings

DEFAULT_HUB_NAME = "TestHubName"
DEFAULT_PARTITION_COUNT = 4
MAX_PARTITION_COUNT = 16

_FNV_OFFSET = 2166136261
_FNV_PRIME = 16777619
_HUB_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9]{2,49}$")


def validate_hub_name(name: str, *, setting: str = "extensions.durableTask.hubName") -> str:
    """Return ``name`` if it is a valid explicit task hub name, else raise :class:`ConfigError`.

    A hub name must work as a table, queue and container name: 3–50 letters or digits,
    starting with a letter.
    """
    if not isinstance(name, str) or not _HUB_NAME_RE.match(name):
        raise ConfigError(
            f"{setting} {name!r} is not a valid task hub name: use 3 to 50 letters or digits, "
            f"starting with a letter (it names Azure tables, queues and blob containers)"
        )
    return name


def sanitize_default_hub_name(raw: str | None) -> str:
    """The hub name Durable Functions derives from a default (e.g. ``WEBSITE_SITE_NAME``)."""
    if not raw:
        return DEFAULT_HUB_NAME
    kept = "".join(c for c in raw if c.isascii() and c.isalnum())
    if not kept:
        return "DefaultTaskHub"
    if kept[0].isdigit():
        kept = "t" + kept
    kept = kept[:45]
    if len(kept) < 3:
        kept += "Hub"
    return kept


def default_hub_name(settings: HostSettings) -> str:
    """``extensions.durableTask.hubName`` (``%setting%`` resolved), else the derived default."""
    explicit = settings.get_str("extensions.durableTask.hubName")
    if explicit:
        return explicit
    return sanitize_default_hub_name(settings.setting("WEBSITE_SITE_NAME"))


def validate_partition_count(
    count: int, *, setting: str = "extensions.durableTask.storageProvider.partitionCount"
) -> int:
    """Return ``count`` if it is 1..16, else raise :class:`ConfigError`."""
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_PARTITION_COUNT:
        raise ConfigError(f"{setting} must be an integer from 1 to {MAX_PARTITION_COUNT}, got {count!r}")
    return count


def fnv1a_32(data: bytes) -> int:
    """FNV-1a 32-bit hash (DTFx ``Fnv1aHashHelper``)."""
    h = _FNV_OFFSET
    for b in data:
        h ^= b
        h = (h * _FNV_PRIME) & 0xFFFFFFFF
    return h


def partition_index(instance_id: str, count: int) -> int:
    """The control-queue index of ``instance_id`` (hash of the unescaped id's UTF-8 bytes)."""
    return fnv1a_32(instance_id.encode("utf-8")) % count


@dataclass(frozen=True)
class TaskHubNames:
    """Every storage resource name of one task hub."""

    hub: str
    partition_count: int = DEFAULT_PARTITION_COUNT
    control_queues: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        validate_hub_name(self.hub)
        validate_partition_count(self.partition_count)
        low = self.hub.lower()
        object.__setattr__(
            self, "control_queues", tuple(f"{low}-control-{i:02d}" for i in range(self.partition_count))
        )

    @property
    def lower(self) -> str:
        return self.hub.lower()

    @property
    def workitem_queue(self) -> str:
        return f"{self.lower}-workitems"

    @property
    def poison_queue(self) -> str:
        """Where messages that can never be processed are quarantined (created on first use)."""
        return f"{self.lower}-poison"

    @property
    def history_table(self) -> str:
        return f"{self.hub}History"

    @property
    def instances_table(self) -> str:
        return f"{self.hub}Instances"

    @property
    def partitions_table(self) -> str:
        return f"{self.hub}Partitions"

    @property
    def large_messages_container(self) -> str:
        return f"{self.lower}-largemessages"

    @property
    def all_queues(self) -> tuple[str, ...]:
        return (*self.control_queues, self.workitem_queue)

    @property
    def all_tables(self) -> tuple[str, ...]:
        return (self.instances_table, self.history_table, self.partitions_table)

    def control_queue(self, partition: int) -> str:
        return self.control_queues[partition]

    def partition_of(self, instance_id: str) -> int:
        return partition_index(instance_id, self.partition_count)

    def control_queue_for(self, instance_id: str) -> str:
        """The control queue that carries messages for ``instance_id``."""
        return self.control_queues[self.partition_of(instance_id)]

    def partition_of_queue(self, queue: str) -> int | None:
        """The index of a control queue name (``None`` for other queues)."""
        try:
            return self.control_queues.index(queue)
        except ValueError:
            return None


# --------------------------------------------------------------------------- key escaping

_ESCAPES = {"^": "^^", "/": "^0", "\\": "^1", "#": "^2", "?": "^3"}
_UNESCAPES = {"^": "^", "0": "/", "1": "\\", "2": "#", "3": "?"}
_CONTROL_SHIFT = 0xC0


def _is_control(code: int) -> bool:
    return code <= 0x1F or 0x7F <= code <= 0x9F


def escape_key(key: str) -> str:
    """Escape an instance id for use as a PartitionKey (DTFx ``KeySanitation.EscapePartitionKey``)."""
    if not any(c in _ESCAPES or _is_control(ord(c)) for c in key):
        return key
    out: list[str] = []
    for c in key:
        esc = _ESCAPES.get(c)
        if esc is not None:
            out.append(esc)
        elif _is_control(ord(c)):
            out.append("^" + chr(ord(c) + _CONTROL_SHIFT))
        else:
            out.append(c)
    return "".join(out)


def unescape_key(key: str) -> str:
    """Inverse of :func:`escape_key`."""
    if "^" not in key:
        return key
    out: list[str] = []
    i = 0
    n = len(key)
    while i < n:
        c = key[i]
        if c == "^" and i + 1 < n:
            nxt = key[i + 1]
            plain = _UNESCAPES.get(nxt)
            if plain is None:
                code = ord(nxt) - _CONTROL_SHIFT
                plain = chr(code) if code >= 0 and _is_control(code) else nxt
            out.append(plain)
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)
