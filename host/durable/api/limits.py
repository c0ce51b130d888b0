"""What the durable HTTP API accepts, so nothing it takes can fail later in Azure Storage.

An instance id is a table key (``PartitionKey`` of the Instances and History tables): Azure
Storage takes at most 1 KiB of UTF-16 there, after the provider's key escaping. Orchestration ids
are limited further to 256 characters, as the extension does. Event and operation names travel
in queue messages and history rows; 1,024 characters keeps every message well inside Azure
Storage's 64 KiB. A request past a limit gets a 400 naming it, instead of a 202 followed by a
message that can never be stored.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from host.durable.api.parsing import BadRequest
from host.durable.taskhub.names import escape_key
from host.errors import DurableError

MAX_INSTANCE_ID_LENGTH = 256
MAX_KEY_BYTES = 1024
MAX_NAME_LENGTH = 1024

Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]


class BodyTooLargeError(DurableError):
    """A request body is larger than the API takes (answered with 413)."""


class BodyStalledError(DurableError):
    """The client stopped sending a request body midway (answered with 408)."""


def key_bytes(instance_id: str) -> int:
    """The size of ``instance_id`` as Azure Storage counts a table key (escaped, UTF-16)."""
    return len(escape_key(instance_id).encode("utf-16-le", "surrogatepass"))


def check_instance_id_length(instance_id: str) -> None:
    """BadRequest for an orchestration instance id longer than :data:`MAX_INSTANCE_ID_LENGTH`."""
    if len(instance_id) > MAX_INSTANCE_ID_LENGTH:
        raise BadRequest(
            f"Instance ID '{instance_id[:60]}…' is {len(instance_id)} characters long: it must "
            f"not be longer than {MAX_INSTANCE_ID_LENGTH} characters."
        )


def check_entity_instance_id(instance_id: str) -> None:
    """BadRequest for an entity whose ``@name@key`` id does not fit an Azure Storage table key."""
    size = key_bytes(instance_id)
    if size > MAX_KEY_BYTES:
        raise BadRequest(
            f"The entity id '{instance_id[:60]}…' takes {size} bytes as an Azure Storage table "
            f"key; at most {MAX_KEY_BYTES} bytes (512 UTF-16 code units) fit: use a shorter "
            f"entity name or key."
        )


def check_name(what: str, name: str) -> None:
    """BadRequest for an event or operation name longer than :data:`MAX_NAME_LENGTH`."""
    if len(name) > MAX_NAME_LENGTH:
        raise BadRequest(
            f"The {what} '{name[:60]}…' is {len(name)} characters long: it must not be longer "
            f"than {MAX_NAME_LENGTH} characters."
        )


def too_large_message(limit: int) -> str:
    return f"The request body is larger than {limit} bytes, the most this API accepts."


def bounded_receive(receive: Receive, limit: int, idle_timeout: float) -> Receive:
    """``receive`` that raises :class:`BodyTooLargeError` once the body passes ``limit`` bytes and
    :class:`BodyStalledError` when no chunk arrives for ``idle_timeout`` seconds."""
    seen = 0

    async def wrapped() -> MutableMapping[str, Any]:
        nonlocal seen
        try:
            async with asyncio.timeout(idle_timeout):
                message = await receive()
        except TimeoutError:
            raise BodyStalledError(
                f"The request body stalled: nothing arrived for {idle_timeout:g} s."
            ) from None
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLargeError(too_large_message(limit))
        return message

    return wrapped
