"""Management operations at engine level: start, events, terminate, suspend/resume, rewind, restart.

Every operation is a few storage requests in a crash-safe order (docs/taskhub.md, "A client
start"): read the Instances row, send the message to the instance's control queue, then write
the row. Messages go
through :meth:`TaskHub.send`, so an in-process dispatcher hears of them at once (``on_sent``).
Reads, queries and purges are passthroughs to :class:`~host.durable.taskhub.hub.TaskHub`.

This is the one client path: the HTTP API, the CLI, the client binding and the testing toolkit
all call :class:`Management`. When the hub's engine runs in this process it is passed as
``engine`` (a :class:`LocalEngine`), and a start for a partition it owns skips the queue round
trip: the ExecutionStarted message is put *locked* (the crash-recovery copy), the Instances row
is inserted, and the message is handed to the engine in memory — 2 storage requests instead of
a read, a put, an insert, a receive and a history query.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any, NoReturn, Protocol

from host.durable.entities.ids import EntityId
from host.durable.entities.query import (
    EntityPage,
    EntityQuery,
    entity_key_range,
    query_entities,
    read_entity_state,
)
from host.durable.entities.requests import RequestMessage, input_from_value, request_event_name
from host.durable.entities.ticks import ticks_from_datetime
from host.durable.replay import history as h
from host.durable.replay.rewind import rewind_history
from host.durable.taskhub.hub import TaskHub
from host.durable.taskhub.messages import TaskMessage, new_message
from host.durable.taskhub.rows import TERMINAL_STATUSES, InstanceStatus
from host.errors import (
    ConflictError,
    InstanceAlreadyExistsError,
    InstanceNotFoundError,
    InvalidInstanceStateError,
    NotFoundError,
    PreconditionFailedError,
)

log = logging.getLogger("host.durable.management")


def new_instance_id() -> str:
    """A fresh orchestration instance id (the only place one is minted)."""
    return uuid.uuid4().hex


def _new_execution(
    now: datetime,
    instance_id: str,
    name: str,
    input_text: str | None,
    version: str,
    generation: int,
    tags: dict[str, str] | None,
    scheduled_start: datetime | None,
) -> tuple[str, h.Event, InstanceStatus]:
    """A new execution's fresh id, its ExecutionStarted event and its ``Pending`` Instances row."""
    execution_id = uuid.uuid4().hex
    event = h.execution_started(
        now,
        instance_id=instance_id,
        execution_id=execution_id,
        name=name,
        input_text=input_text,
        version=version,
        generation=generation,
        scheduled_start=scheduled_start,
        tags=tags,
    )
    status = InstanceStatus(
        instance_id,
        name=name,
        version=version,
        execution_id=execution_id,
        runtime_status="Pending",
        created_time=now,
        last_updated_time=now,
        input=input_text,
        generation=generation,
        tags=tags,
        scheduled_start_time=scheduled_start,
    )
    return execution_id, event, status


class LockOptions(Protocol):
    """The engine setting a start handed over in memory needs."""

    @property
    def lock_seconds(self) -> int:
        """How long a message this host handles itself stays invisible to pollers."""
        ...


class LocalEngine(Protocol):
    """The engine running a hub in this process, as :class:`Management` hands work to it."""

    @property
    def options(self) -> LockOptions: ...

    @property
    def running(self) -> bool: ...

    def owns(self, instance_id: str) -> bool:
        """Whether this host holds the partition of ``instance_id``."""
        ...

    async def put_locked(self, msg: TaskMessage, delay: timedelta, queue: str | None = None) -> None:
        """Put a message this host handles itself, invisible to pollers for ``delay``."""
        ...

    def deliver(self, msg: TaskMessage, *, new_instance: bool = False) -> None:
        """Hand ``msg`` to its instance's session in memory."""
        ...

    async def wait_terminal(self, instance_id: str, timeout: float) -> object:
        """Return once this host sees ``instance_id`` finish, or after ``timeout`` seconds."""
        ...


class Management:
    """The operations of one task hub (what the API, the CLI, bindings and the toolkit call).

    ``engine``: the engine running ``hub`` in this process, if any (starts are handed to it).
    ``default_version``: the version of orchestrations started without one (host.json
    ``defaultVersion`` of the host this client belongs to).
    """

    def __init__(self, hub: TaskHub, engine: LocalEngine | None = None, *, default_version: str = "") -> None:
        self.hub = hub
        self.engine = engine
        self.default_version = default_version

    @property
    def task_hub(self) -> str:
        """The task hub's name."""
        return self.hub.names.hub

    # reads ----------------------------------------------------------------
    async def get_status(self, instance_id: str, *, show_input: bool = True) -> InstanceStatus | None:
        """The Instances row of ``instance_id`` (``None`` when unknown)."""
        return await self.hub.get_instance(instance_id, fetch_large=show_input)

    async def get_history(self, instance_id: str) -> list[dict[str, Any]]:
        """The latest execution's history events."""
        return (await self.hub.load_history(instance_id)).events

    async def _existing(self, instance_id: str) -> InstanceStatus:
        status = await self.hub.get_instance(instance_id, fetch_large=False)
        if status is None:
            raise InstanceNotFoundError(f"no orchestration instance with id {instance_id!r} exists")
        return status

    # start ----------------------------------------------------------------
    async def start_orchestration(
        self,
        name: str,
        instance_id: str | None = None,
        input_text: str | None = None,
        *,
        version: str | None = None,
        scheduled_start: datetime | None = None,
        tags: dict[str, str] | None = None,
        overridable: Collection[str] = TERMINAL_STATUSES,
    ) -> str:
        """Start ``name`` as ``instance_id`` (new id when ``None``); returns the instance id.

        An instance whose status is not in ``overridable`` (default: only finished instances may
        be replaced) is refused with :class:`InstanceAlreadyExistsError`. ``input_text`` is the
        JSON text of the input. ``version`` ``None`` stamps the ``default_version``.
        """
        instance_id = instance_id or new_instance_id()
        version = self.default_version if version is None else version
        engine = self.engine
        if (
            engine is not None
            and scheduled_start is None
            and engine.running
            and engine.owns(instance_id)
            and await self._start_here(engine, name, instance_id, input_text, version=version, tags=tags)
        ):
            return instance_id
        existing = await self.hub.get_instance(instance_id, fetch_large=False)
        if (
            existing is not None
            and existing.runtime_status is not None
            and existing.runtime_status not in overridable
        ):
            raise InstanceAlreadyExistsError(
                f"an orchestration with instance id {instance_id!r} already exists and is "
                f"{existing.runtime_status}; only finished instances can be replaced"
            )
        now = self.hub.now()
        generation = (existing.generation or 0) + 1 if existing is not None else 0
        execution_id, event, status = _new_execution(
            now, instance_id, name, input_text, version, generation, tags, scheduled_start
        )
        delay = scheduled_start - now if scheduled_start is not None and scheduled_start > now else None
        await self.hub.send(None, event, instance_id=instance_id, execution_id=execution_id, delay=delay)
        try:
            etag = existing.etag if existing is not None else None
            await self.hub.create_instance(status, replace_etag=etag)
        except (ConflictError, PreconditionFailedError, NotFoundError) as err:
            raise InstanceAlreadyExistsError(
                f"an orchestration with instance id {instance_id!r} was started concurrently"
            ) from err
        return instance_id

    async def _start_here(
        self,
        engine: LocalEngine,
        name: str,
        instance_id: str,
        input_text: str | None,
        *,
        version: str,
        tags: dict[str, str] | None,
    ) -> bool:
        """The in-process start of a new instance; ``False`` when the id is taken (the caller
        then reads the row and decides: refuse or replace)."""
        now = self.hub.now()
        execution_id, event, status = _new_execution(
            now, instance_id, name, input_text, version, 0, tags, None
        )
        msg = new_message(event, instance_id=instance_id, execution_id=execution_id)
        await engine.put_locked(msg, timedelta(seconds=engine.options.lock_seconds))
        try:
            await self.hub.create_instance(status)
        except ConflictError:
            await self.hub.delete_message(msg)  # the id is taken: drop our message
            return False
        engine.deliver(msg, new_instance=True)
        return True

    async def wait_terminal(self, instance_id: str, timeout: float) -> None:
        """Return once this host sees ``instance_id`` finish, or after ``timeout`` seconds.

        Callers re-read the status afterwards: this is a wake-up, not an answer.
        """
        if self.engine is not None:
            await self.engine.wait_terminal(instance_id, timeout)
        else:
            await asyncio.sleep(timeout)

    async def restart(self, instance_id: str, *, new_instance_id: bool = True) -> str:
        """Start the instance's orchestration again with its stored input; returns the id used."""
        status = await self.hub.get_instance(instance_id, fetch_large=True)
        if status is None or not status.name:
            raise InstanceNotFoundError(f"no orchestration instance with id {instance_id!r} exists")
        return await self.start_orchestration(
            status.name,
            None if new_instance_id else instance_id,
            status.input,
            version=status.version,
            tags=status.tags,
        )

    # messages to a running instance ----------------------------------------
    async def raise_event(
        self, instance_id: str, name: str, data_json: str | None, *, check: bool = True
    ) -> None:
        """Send an external event (``data_json`` = JSON text); refused for finished instances."""
        if check:
            status = await self._existing(instance_id)
            if status.is_terminal:
                state = status.runtime_status
                self._refuse(
                    status,
                    f"Cannot raise event for instance in {state} state",
                    f"Cannot raise event {name} for orchestration instance {instance_id} because "
                    f"instance is in {state} state",
                )
        await self.hub.send(None, h.event_raised(self.hub.now(), name, data_json), instance_id=instance_id)

    async def terminate(self, instance_id: str, reason: str | None = None) -> None:
        """Terminate a running instance; one that never started is marked Terminated at once."""
        status = await self._existing(instance_id)
        if status.is_terminal:
            self._refuse_operation(status, "terminate")
        now = self.hub.now()
        await self.hub.send(None, h.execution_terminated(now, reason), instance_id=instance_id)
        if status.runtime_status == "Pending":
            marked = InstanceStatus(
                instance_id,
                runtime_status="Terminated",
                output=reason,
                completed_time=now,
                last_updated_time=now,
            )
            try:
                await self.hub.update_instance(marked, etag=status.etag)
            except (PreconditionFailedError, NotFoundError):
                pass  # it started meanwhile: the terminate message does the job

    async def suspend(self, instance_id: str, reason: str | None = None) -> None:
        """Suspend a running or pending instance."""
        status = await self._existing(instance_id)
        if status.is_terminal or status.runtime_status == "Suspended":
            self._refuse_operation(status, "suspend")
        await self.hub.send(None, h.execution_suspended(self.hub.now(), reason), instance_id=instance_id)

    async def resume(self, instance_id: str, reason: str | None = None) -> None:
        """Resume a suspended instance."""
        status = await self._existing(instance_id)
        if status.runtime_status != "Suspended":
            self._refuse_operation(status, "resume")
        await self.hub.send(None, h.execution_resumed(self.hub.now(), reason), instance_id=instance_id)

    async def signal_entity(
        self,
        entity: EntityId,
        operation: str,
        input_json: str | None,
        *,
        scheduled_time: datetime | None = None,
    ) -> None:
        """Send a one-way operation to an entity (``input_json`` = JSON text of the value)."""
        now = self.hub.now()
        request = RequestMessage(
            operation,
            is_signal=True,
            input=None if input_json is None else input_from_value(json.loads(input_json)),
            timestamp=ticks_from_datetime(now),
            scheduled_time=None if scheduled_time is None else ticks_from_datetime(scheduled_time),
        )
        event = h.event_raised(now, request_event_name(request), request.to_text())
        delay = scheduled_time - now if scheduled_time is not None and scheduled_time > now else None
        await self.hub.send(None, event, instance_id=entity.instance_id, delay=delay)

    def _refuse_operation(self, status: InstanceStatus, verb: str) -> NoReturn:
        state = status.runtime_status
        self._refuse(
            status,
            f"Cannot {verb} orchestration instance in the {state} state",
            f"Cannot {verb} the orchestration instance {status.instance_id} because instance is "
            f"in the {state} state.",
        )

    def _refuse(self, status: InstanceStatus, warning: str, error: str) -> NoReturn:
        """Log ``warning`` as the extension does (its wording, then instance, function and hub) and
        raise :class:`InvalidInstanceStateError` with ``error`` (its exception's message)."""
        log.warning(
            "%s. InstanceId: %s. Function: %s. HubName: %s.",
            warning,
            status.instance_id,
            status.name,
            self.hub.names.hub,
        )
        raise InvalidInstanceStateError(error)

    # rewind ---------------------------------------------------------------
    async def rewind(self, instance_id: str, reason: str | None = None) -> None:
        """Rewind a Failed instance (and its failed sub-orchestrations) so it retries the failures."""
        status = await self._existing(instance_id)
        if status.runtime_status != "Failed":
            raise InvalidInstanceStateError(
                f"instance {instance_id!r} is {status.runtime_status}: only Failed instances can be rewound"
            )
        await self._rewind(instance_id, reason, depth=0)

    async def _rewind(self, instance_id: str, reason: str | None, *, depth: int) -> None:
        """Persist :func:`host.durable.replay.rewind.rewind_history`, then re-issue the failed work.

        Order: history (under the sentinel eTag) → row Pending → messages, so a completion of a
        re-issued task can never meet the old failure in history.
        """
        loaded = await self.hub.load_history(instance_id)
        if loaded.execution_id is None or loaded.etag is None:
            return
        now = self.hub.now()
        rewound, reissue = rewind_history(loaded.events, now, reason)
        changed = {
            seq: event
            for seq, event in enumerate(rewound)
            if seq >= len(loaded.events) or event != loaded.events[seq]
        }
        await self.hub.replace_events(instance_id, loaded.execution_id, changed, loaded.etag)
        pending = InstanceStatus(instance_id, runtime_status="Pending", last_updated_time=now)
        await self.hub.write_instance(pending)
        woken = False
        for event in reissue:
            if h.etype(event) == h.EventType.TaskScheduled:
                await self.hub.send(
                    self.hub.names.workitem_queue,
                    event,
                    instance_id=instance_id,
                    execution_id=loaded.execution_id,
                )
                woken = True
            elif h.etype(event) == h.EventType.SubOrchestrationInstanceCreated and depth < 32:
                child = str(event.get("InstanceId") or "")
                child_status = await self.hub.get_instance(child, fetch_large=False) if child else None
                if child_status is not None and child_status.runtime_status == "Failed":
                    await self._rewind(child, reason, depth=depth + 1)  # its completion wakes us
                    woken = True
        if not woken:  # nothing re-issued (e.g. the orchestrator itself threw): run an episode
            await self.hub.send(
                None,
                h.generic_event(now, reason or ""),
                instance_id=instance_id,
                execution_id=loaded.execution_id,
            )

    # purge and queries ----------------------------------------------------
    async def purge_instance(self, instance_id: str) -> int:
        """Delete one instance's history, blobs and row; the number of instances deleted."""
        return await self.hub.purge_instance(instance_id)

    async def purge_instances(
        self,
        created_from: datetime | None,
        created_to: datetime | None = None,
        runtime_status: Collection[str] | None = None,
    ) -> int:
        """Purge finished instances created in the range; the number deleted."""
        return await self.hub.purge_instances(created_from, created_to, runtime_status)

    async def query_instances(
        self,
        runtime_status: Collection[str] | None = None,
        created_from: datetime | None = None,
        created_to: datetime | None = None,
        instance_id_prefix: str | None = None,
        *,
        top: int | None = None,
        continuation: str | None = None,
        include_input_output: bool = True,
    ) -> tuple[list[InstanceStatus], str | None]:
        """One page of orchestration instances (entities excluded) and its continuation."""
        return await self.hub.query_instances(
            runtime_status,
            created_from,
            created_to,
            instance_id_prefix,
            top=top,
            continuation=continuation,
            include_input_output=include_input_output,
        )

    # entities -------------------------------------------------------------
    async def read_entity(self, entity: EntityId) -> tuple[bool, Any]:
        """Whether the entity exists and its state (a JSON value)."""
        row = await self.hub.get_instance(entity.instance_id)
        return read_entity_state(row.input) if row is not None else (False, None)

    async def query_entities(self, query: EntityQuery) -> EntityPage:
        """One page of entities (``ContinuationTokenError`` for a token this host never gave)."""
        low, _ = entity_key_range(query.name)
        rows, _ = await self.hub.query_instances(
            instance_id_prefix=low, include_input_output=True, exclude_entities=False
        )
        return query_entities(rows, query)

    async def delete_hub(self) -> None:
        """Delete every queue, table and container of the task hub."""
        await self.hub.delete()
