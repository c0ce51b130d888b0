"""Durable entities: ids and the names the entity protocol uses (pure).

An entity is stored as an orchestration instance with id ``@{name lower-case}@{key}``. The
rest of the entity core lives in sibling modules:

* ``requests.py`` – request/response messages and the ``op``/``op@time`` events,
* ``state.py`` – the scheduler state (Instances ``Input``) and entity status
  (``CustomStatus``), with the message sorter (``sorter.py``),
* ``inbox.py`` – accepting incoming requests (order, de-dup, scheduled signals),
* ``batch.py`` – running one batch through the SDK's entity handle,
* ``query.py`` – listing/paging entities and choosing rows for "clean storage".

Entity episodes run in the engine (``host.durable.engine.entity_sessions``); this package
imports neither the engine nor storage.
"""

from __future__ import annotations

from dataclasses import dataclass

from host.errors import DurableError

ENTITY_ID_PREFIX = "@"
REQUEST_EVENT = "op"
SCHEDULED_REQUEST_PREFIX = "op@"
RELEASE_EVENT = "release"
CONTINUE_EVENT = "continue"
EMPTY_KEY_IN_URL = "$"
_FORBIDDEN_KEY_CHARS = "/\\#?"


class EntityIdError(DurableError):
    """A text is not a valid entity id / instance id."""


@dataclass(frozen=True, order=True)
class EntityId:
    """An entity's name (stored lower-case, like the extension) and key (case-sensitive)."""

    name: str
    key: str

    def __post_init__(self) -> None:
        if not self.name:
            raise EntityIdError("an entity name must not be empty")
        if "@" in self.name:
            raise EntityIdError(f"entity name {self.name!r} must not contain '@'")
        object.__setattr__(self, "name", self.name.lower())

    @property
    def instance_id(self) -> str:
        """The scheduler instance id ``@name@key``."""
        return f"@{self.name}@{self.key}"

    def __str__(self) -> str:
        return self.instance_id

    @classmethod
    def parse(cls, instance_id: str) -> EntityId:
        """The entity id of an ``@name@key`` instance id (raises :class:`EntityIdError`)."""
        if not is_entity_instance_id(instance_id):
            raise EntityIdError(f"{instance_id!r} is not an entity instance id ('@name@key')")
        name, sep, key = instance_id[1:].partition("@")
        if not sep or not name:
            raise EntityIdError(f"{instance_id!r} is not an entity instance id ('@name@key')")
        return cls(name, key)

    @classmethod
    def from_url(cls, name: str, key: str) -> EntityId:
        """The id named by the HTTP routes ``entities/{name}/{key}`` (``$`` = empty key)."""
        if any(c in key for c in _FORBIDDEN_KEY_CHARS):
            raise EntityIdError(f"entity key {key!r} must not contain any of / \\ # ?")
        return cls(name, "" if key == EMPTY_KEY_IN_URL else key)

    def to_json(self) -> dict[str, str]:
        """``{"name": …, "key": …}`` as in batch requests and entity listings."""
        return {"name": self.name, "key": self.key}


def is_entity_instance_id(instance_id: str) -> bool:
    """Whether an instance id names an entity (starts with ``@``)."""
    return instance_id.startswith(ENTITY_ID_PREFIX)


def entity_id_of(target: object) -> EntityId:
    """An :class:`EntityId` from ours, the SDK's ``df.EntityId``, a dict or an ``@name@key`` text."""
    if isinstance(target, EntityId):
        return target
    if isinstance(target, str):
        return EntityId.parse(target)
    if isinstance(target, dict):
        return EntityId(str(target.get("name", "")), str(target.get("key", "")))
    name, key = getattr(target, "name", None), getattr(target, "key", None)
    if name is None or key is None:
        raise EntityIdError(f"cannot use {target!r} as an entity id")
    return EntityId(str(name), str(key))
