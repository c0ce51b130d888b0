"""The entity scheduler state (Instances ``Input``) and entity status (``CustomStatus``) (pure).

Serialized like the extension's ``SchedulerState`` (Newtonsoft, defaults omitted)::

    {"exists":true,"state":"12","queue":[…requests…],"lockedBy":"…","suspended":true,
     "sorter":{…},"recentIds":["<guid>",…]}

``recentIds`` is this host's addition (readers of the real format ignore unknown members):
the ids of the most recently executed requests, so a redelivered request is recognised even
when it comes from a client (clients do not take part in the sorter's de-dup).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from host.durable.entities.requests import EntityMessageError, RequestMessage
from host.durable.entities.sorter import MessageSorter

RECENT_IDS_CAPACITY = 256
"""How many executed request ids are remembered at least (the whole last batch is always kept)."""
_KNOWN_KEYS = frozenset({"exists", "state", "queue", "lockedBy", "suspended", "sorter", "recentIds"})


@dataclass
class SchedulerState:
    """Everything an entity carries from one batch to the next."""

    exists: bool = False
    state: str | None = None
    """The entity state as JSON text (``None`` when the entity does not exist)."""
    queue: list[RequestMessage] = field(default_factory=list)
    locked_by: str | None = None
    suspended: bool = False
    sorter: MessageSorter = field(default_factory=MessageSorter)
    recent_ids: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_empty(self) -> bool:
        """No state, nothing queued, no lock: the entity's storage may be removed."""
        return not self.exists and not self.queue and self.locked_by is None

    def knows_request(self, request_id: str) -> bool:
        """Whether a request with this id was executed recently, is queued or is buffered."""
        return (
            request_id in self.recent_ids
            or any(r.id == request_id for r in self.queue)
            or any(r.id == request_id for r in self.sorter.buffered_requests())
        )

    def remember_executed(self, request_ids: list[str], capacity: int = RECENT_IDS_CAPACITY) -> None:
        """Record executed request ids, keeping at least the last ``capacity`` and this batch."""
        ids = self.recent_ids + request_ids
        self.recent_ids = ids[-max(capacity, len(request_ids)) :]

    def may_dequeue(self) -> bool:
        """Whether the head of the queue may run (no lock, or the lock holder sent it)."""
        return bool(self.queue) and (
            self.locked_by is None or self.locked_by == self.queue[0].parent_instance_id
        )

    def take_batch(self, max_size: int) -> list[RequestMessage]:
        """Dequeue up to ``max_size`` operations that may run now, in queue order."""
        taken: list[RequestMessage] = []
        while len(taken) < max_size and self.may_dequeue():
            taken.append(self.queue.pop(0))
        return taken

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {}
        if self.exists:
            d["exists"] = True
        if self.state is not None:
            d["state"] = self.state
        if self.queue:
            d["queue"] = [r.to_json() for r in self.queue]
        if self.locked_by is not None:
            d["lockedBy"] = self.locked_by
        if self.suspended:
            d["suspended"] = True
        d["sorter"] = self.sorter.to_json()
        if self.recent_ids:
            d["recentIds"] = list(self.recent_ids)
        d.update(self.extra)
        return d

    def to_text(self) -> str:
        """The Instances ``Input`` column text."""
        return json.dumps(self.to_json(), separators=(",", ":"))

    @classmethod
    def from_json(cls, d: dict[str, Any] | None) -> SchedulerState:
        if not d:
            return cls()
        if not isinstance(d, dict):
            raise EntityMessageError(f"entity scheduler state is not a JSON object: {d!r}")
        state = d.get("state")
        exists = bool(d["exists"]) if "exists" in d else state is not None  # DTFx-core form has no "exists"
        return cls(
            exists=exists,
            state=state if exists else None,
            queue=[RequestMessage.from_json(r) for r in d.get("queue") or []],
            locked_by=d.get("lockedBy"),
            suspended=bool(d.get("suspended", False)),
            sorter=MessageSorter.from_json(d.get("sorter")),
            recent_ids=[str(i) for i in d.get("recentIds") or []],
            extra={k: v for k, v in d.items() if k not in _KNOWN_KEYS},
        )

    @classmethod
    def from_text(cls, text: str | None) -> SchedulerState:
        """Parse the Instances ``Input`` column (``None``/empty/``"null"`` → a new entity)."""
        if not text:
            return cls()
        try:
            d = json.loads(text)
        except ValueError as exc:
            raise EntityMessageError(f"entity scheduler state is not JSON: {text[:200]!r}") from exc
        return cls.from_json(d)

    def status(self) -> EntityStatus:
        """The entity status for the ``CustomStatus`` column."""
        return EntityStatus(self.exists, len(self.queue), self.locked_by)


@dataclass(frozen=True)
class EntityStatus:
    """``CustomStatus`` of an entity row: ``{"entityExists":…,"queueSize":…,"lockedBy":…}``."""

    entity_exists: bool = False
    queue_size: int = 0
    locked_by: str | None = None

    def to_text(self) -> str:
        d: dict[str, Any] = {}
        if self.entity_exists:
            d["entityExists"] = True
        if self.queue_size:
            d["queueSize"] = self.queue_size
        if self.locked_by is not None:
            d["lockedBy"] = self.locked_by
        return json.dumps(d, separators=(",", ":"))

    @classmethod
    def from_text(cls, text: str | None) -> EntityStatus | None:
        """Parse a ``CustomStatus`` text; ``None`` when it is not an entity status object."""
        try:
            d = json.loads(text or "null")
        except ValueError:
            return None
        if not isinstance(d, dict):
            return None
        return cls(bool(d.get("entityExists", False)), int(d.get("queueSize", 0) or 0), d.get("lockedBy"))
