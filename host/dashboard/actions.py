"""The dashboard's actions on an instance or entity, through :class:`Management` (the one client path).

Each returns the sentence to show. A missing or malformed field raises
:class:`~host.dashboard.queries.BadParameter` (a 400), an unknown instance
:class:`InstanceNotFoundError` (a 404), and what the instance's state does not allow
:class:`ActionRefused` carrying the API's own message (a 409).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from host.dashboard.queries import BadParameter
from host.durable.api.limits import check_entity_instance_id, check_name
from host.durable.api.parsing import BadRequest
from host.durable.api.payloads import client_input_text
from host.durable.entities.ids import EntityId, EntityIdError
from host.durable.management import Management
from host.errors import DurableError, HostError, InstanceNotFoundError
from host.http.limits import JsonTooDeepError, loads_bounded

INSTANCE_ACTIONS: tuple[str, ...] = ("raise", "terminate", "suspend", "resume", "rewind", "restart", "purge")
MAX_EVENT_NAME = 256


class ActionRefused(HostError):
    """An action the instance's state does not allow; the message says why."""


@dataclass(frozen=True)
class ActionResult:
    """What an action did: a sentence, and the instance to show next (restart makes a new one)."""

    message: str
    instance_id: str | None = None


def json_text(text: str, what: str) -> str:
    """``text`` when it is JSON (an empty field means ``null``), else :class:`BadParameter`."""
    value = text.strip() or "null"
    try:
        loads_bounded(value)
    except json.JSONDecodeError as err:
        raise BadParameter(
            f'{what} is not JSON ({err.msg} at character {err.pos + 1}); a text needs quotes: "text"'
        ) from None
    except JsonTooDeepError as err:
        raise BadParameter(f"{what}: {err}") from None
    return value


async def instance_action(
    management: Management,
    action: str,
    instance_id: str,
    *,
    reason: str = "",
    event_name: str = "",
    event_data: str = "",
) -> ActionResult:
    """Run ``action`` (one of :data:`INSTANCE_ACTIONS`) on ``instance_id``."""
    if action not in INSTANCE_ACTIONS:
        raise BadParameter(f"unknown action '{action[:40]}' (one of {', '.join(INSTANCE_ACTIONS)})")
    reason = reason.strip() or "from the dashboard"
    try:
        if action == "raise":
            name = event_name.strip()
            if not name or len(name) > MAX_EVENT_NAME:
                raise BadParameter(f"an event needs a name of 1 to {MAX_EVENT_NAME} characters")
            data = json_text(event_data, "the event data")
            await management.raise_event(instance_id, name, data)
            return ActionResult(f"Raised event '{name}'.", instance_id)
        with_reason = {
            "terminate": (management.terminate, "Terminate requested."),
            "suspend": (management.suspend, "Suspend requested."),
            "resume": (management.resume, "Resume requested."),
            "rewind": (management.rewind, "Rewound: the failed work runs again."),
        }
        if action in with_reason:
            operation, done = with_reason[action]
            await operation(instance_id, reason)
            return ActionResult(done, instance_id)
        if action == "restart":
            new_id = await management.restart(instance_id, new_instance_id=True)
            return ActionResult(f"Restarted as {new_id}.", new_id)
        deleted = await management.purge_instance(instance_id)
        if not deleted:
            raise InstanceNotFoundError(f"no orchestration instance with id {instance_id!r} exists")
        return ActionResult(f"Purged {instance_id}.", None)
    except (BadParameter, InstanceNotFoundError):
        raise
    except DurableError as err:
        raise ActionRefused(str(err)) from None


async def signal_entity(management: Management, name: str, key: str, operation: str, input_text: str) -> str:
    """Signal ``operation`` to entity ``name``/``key`` with the JSON ``input_text`` (empty: no input)."""
    op = operation.strip()
    if not op:
        raise BadParameter("a signal needs an operation name")
    try:
        entity = EntityId(name, key)
        check_entity_instance_id(entity.instance_id)
        check_name("operation name", op)
    except (EntityIdError, BadRequest) as err:
        raise BadParameter(str(err)) from None
    # as the HTTP API takes a JSON body: the SDK's entities decode the input once more
    data = client_input_text(json_text(input_text, "the operation input")) if input_text.strip() else None
    await management.signal_entity(entity, op, data)
    return f"Signalled '{op}' to {entity.name}/{entity.key}."
