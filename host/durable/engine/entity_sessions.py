"""Entity sessions: the dispatcher's side of durable entities (instance ids ``@name@key``).

One episode of an entity takes every message queued for it, accepts the requests into the
scheduler state (de-dup, per-sender order, scheduled signals), runs the runnable operations
through the SDK's entity handle in batches, and checkpoints once, as Durable Functions does
(its ContinueAsNew): History rewritten from row 0 with a new execution whose
``ExecutionStarted.Input`` is the scheduler state, under the sentinel eTag; then the Instances
row (``Input`` = scheduler state, ``CustomStatus`` = entity status). Outgoing responses and
signals are sent before the checkpoint and the consumed messages deleted after it, so a crash
repeats work (de-duplicated by request id) but never loses it.

The scheduler state stays cached in the session while this host owns the partition; the
sentinel eTag catches anyone else's write (then the state is reloaded and the batch retried).
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Coroutine
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from host.durable.engine.handover import Handover
from host.durable.entities.batch import EntityBatchResult, run_entity_batch
from host.durable.entities.ids import EntityId, EntityIdError
from host.durable.entities.inbox import receive_events
from host.durable.entities.requests import RequestMessage, request_event_name
from host.durable.entities.state import SchedulerState
from host.durable.entities.ticks import datetime_from_ticks
from host.durable.replay import history as h
from host.durable.replay.model import EntityRequest
from host.durable.taskhub.messages import TaskMessage
from host.durable.taskhub.rows import InstanceStatus
from host.errors import ConflictError, NotFoundError, PreconditionFailedError

if TYPE_CHECKING:
    from host.durable.engine.ports import EntityEngine
    from host.durable.engine.sessions import Session

log = logging.getLogger("host.durable.entities")

ENTITY_REASON = "EntityTrigger"
"""The ``Reason`` of an entity batch's ``Executing`` line."""
MAX_CHECKPOINT_RETRIES = 5
MAX_MESSAGE_DELAY = timedelta(days=6)
"""Longest visibility delay of a re-sent scheduled signal (queues allow 7 days)."""
_EVENT_RAISED = int(h.EventType.EventRaised)
_EXECUTION_STARTED = int(h.EventType.ExecutionStarted)


@dataclass
class EntityCache:
    """What a session remembers about its entity between episodes."""

    state: SchedulerState
    text: str | None
    """The scheduler state as last checkpointed (``None``: nothing stored yet)."""
    execution_id: str | None = None


def entity_request_event(out: EntityRequest, now: datetime) -> dict[str, Any]:
    """The ``EventRaised`` that carries an orchestration's request to the entity's control queue."""
    return h.event_raised(now, out.event_name, out.request.to_text())


def _message(result_text: str) -> str:
    """The error message in an operation's result (JSON text of a string, as the SDK writes it)."""
    try:
        return str(json.loads(result_text))
    except ValueError:
        return result_text


def _order(batch: list[TaskMessage]) -> list[TaskMessage]:
    return sorted(
        batch, key=lambda m: (m.inserted_on.timestamp() if m.inserted_on else 0.0, m.sequence_number)
    )


def _delay_until(when: datetime, now: datetime) -> timedelta | None:
    delay = when - now
    if delay <= timedelta(0):
        return None
    return min(delay, MAX_MESSAGE_DELAY)


class EntityRunner:
    """Runs entity episodes for the engine."""

    def __init__(self, engine: EntityEngine) -> None:
        self.engine = engine
        self.hub = engine.hub

    # ------------------------------------------------------------------ loading
    async def load(self, session: Session) -> None:
        """Read the entity's scheduler state: from History (authoritative), else its Instances row."""
        loaded = await session.read_history(self.hub)
        started = next((e for e in loaded.events if e.get("EventType") == _EXECUTION_STARTED), None)
        if started is not None:
            text = started.get("Input")
        else:
            row = await self.hub.get_instance(session.instance_id)
            text = row.input if row is not None else None
        session.entity = EntityCache(
            SchedulerState.from_text(text), text if started is not None else None, loaded.execution_id
        )

    # ------------------------------------------------------------------ episodes
    async def run_batch(self, session: Session, batch: list[TaskMessage]) -> None:
        """Apply ``batch`` (messages to one entity) in one checkpointed episode."""
        try:
            entity_id = EntityId.parse(session.instance_id)
        except EntityIdError as err:
            log.warning("dropping %d message(s): %s", len(batch), err)
            await self.engine.settle(batch, [])
            return
        batch = _order(batch)
        for attempt in range(MAX_CHECKPOINT_RETRIES):
            if not session.loaded or session.entity is None:
                await self.load(session)
            try:
                await self._episode(session, entity_id, batch)
                return
            except (PreconditionFailedError, ConflictError, NotFoundError) as err:
                log.info("entity %s: %s; reloading its state (attempt %d)", entity_id, err, attempt + 1)
                session.forget()
        raise PreconditionFailedError(
            f"entity {entity_id}: its state kept changing under this host; messages abandoned"
        )

    async def _episode(self, session: Session, entity_id: EntityId, batch: list[TaskMessage]) -> None:
        engine = self.engine
        cache = session.entity
        assert cache is not None  # run_batch loads it first
        state = cache.state
        now = engine.now()
        events: list[tuple[str, str | None]] = []
        for m in batch:
            if m.event_type == _EVENT_RAISED:
                events.append((str(m.event.get("Name") or ""), m.event.get("Input")))
            else:
                log.warning("entity %s: ignoring a message of event type %d", entity_id, m.event_type)
        inbox = receive_events(state, events, now)
        results = await self._run_operations(entity_id, state, now)
        handover = Handover()
        sends: list[Coroutine[Any, Any, Any]] = [
            self._resend(entity_id, r, now, handover) for r in inbox.deferred
        ]
        for result in results:
            sends.extend(self._outgoing(entity_id, result, now, handover))
        if sends:
            await asyncio.gather(*sends)
        text = state.to_text()
        changed = text != cache.text
        if changed:
            await self._checkpoint(session, entity_id, cache, text, now)
        # the checkpoint is the commit point: work for this host can start now
        engine.hand_over(handover)
        if changed:
            await self._write_row(session, entity_id, cache, text, now)
        await engine.settle(batch, [])

    async def _run_operations(
        self, entity_id: EntityId, state: SchedulerState, now: datetime
    ) -> list[EntityBatchResult]:
        """Run every operation that may run now, ``max_entity_batch`` per call of the handle.

        Each call is an invocation of the entity function (``Executing``/``Executed`` lines, user
        logs attributed to it); a failed operation is logged as the extension logs it.
        """
        fn = self.engine.registry.entity(entity_id.name)
        handle = fn.func if fn is not None else None
        results: list[EntityBatchResult] = []
        while True:
            ops = state.take_batch(self.engine.options.max_entity_batch)
            if not ops:
                return results
            scope: AbstractContextManager[object] = (
                self.engine.invoker.scope(fn, reason=ENTITY_REASON) if fn is not None else nullcontext()
            )
            with scope:
                # user code may block: run the handle off the event loop
                result = await asyncio.to_thread(run_entity_batch, handle, entity_id, state, ops, now)
                if fn is not None:
                    self._log_failures(entity_id, result)
            results.append(result)

    def _log_failures(self, entity_id: EntityId, result: EntityBatchResult) -> None:
        for outcome in result.outcomes:
            if not outcome.is_error:
                continue
            request = outcome.request
            error = outcome.error or _message(outcome.result)
            log.error(
                "%s: Function '%s (Entity)' failed '%s' operation %s after %dms with exception %s. "
                "Input: (Redacted %d characters). IsReplay: False. HubName: %s.",
                entity_id.instance_id,
                entity_id.name,
                request.operation,
                request.id,
                outcome.duration_ms,
                error,
                len(request.input or ""),
                self.hub.names.hub,
            )

    # ------------------------------------------------------------------ sending
    def _resend(
        self, entity_id: EntityId, request: RequestMessage, now: datetime, handover: Handover
    ) -> Coroutine[Any, Any, TaskMessage]:
        """A scheduled signal that arrived early goes back to the entity, visible at its due time."""
        assert request.scheduled_time is not None
        event = h.event_raised(now, request_event_name(request), request.to_text())
        return self.engine.send_event(
            entity_id.instance_id,
            event,
            handover,
            delay=_delay_until(datetime_from_ticks(request.scheduled_time), now),
            sender_instance_id=entity_id.instance_id,
        )

    def _outgoing(
        self, entity_id: EntityId, result: EntityBatchResult, now: datetime, handover: Handover
    ) -> list[Coroutine[Any, Any, TaskMessage]]:
        me = entity_id.instance_id
        jobs: list[Coroutine[Any, Any, TaskMessage]] = []
        for resp in result.responses:
            jobs.append(
                self.engine.send_event(
                    resp.instance_id,
                    h.event_raised(now, resp.event_name, resp.input),
                    handover,
                    execution_id=resp.execution_id,
                    sender_instance_id=me,
                )
            )
        for sig in result.signals:
            due = sig.request.scheduled_time
            delay = _delay_until(datetime_from_ticks(due), now) if due is not None else None
            jobs.append(
                self.engine.send_event(
                    sig.target.instance_id,
                    h.event_raised(now, sig.event_name, sig.request.to_text()),
                    handover,
                    delay=delay,
                    sender_instance_id=me,
                )
            )
        return jobs

    # ------------------------------------------------------------------ checkpoint
    async def _checkpoint(
        self, session: Session, entity_id: EntityId, cache: EntityCache, text: str, now: datetime
    ) -> None:
        """History from row 0 with a new execution holding ``text``, guarded by the sentinel eTag."""
        execution_id = uuid.uuid4().hex
        history = [
            h.orchestrator_started(now),
            h.execution_started(
                now,
                instance_id=entity_id.instance_id,
                execution_id=execution_id,
                name=entity_id.name,
                input_text=text,
            ),
            h.orchestrator_completed(now),
        ]
        session.etag = await self.hub.rewrite_history(
            entity_id.instance_id, execution_id, history, session.etag, old_blob_names=session.blob_names
        )
        session.blob_names = []
        cache.execution_id = execution_id
        if len(text) > self.hub.options.max_inline_chars:
            # the state went to a blob whose name only a reload tells: reload before the next
            # checkpoint so that it deletes this blob
            session.loaded = False

    async def _write_row(
        self, session: Session, entity_id: EntityId, cache: EntityCache, text: str, now: datetime
    ) -> None:
        state = cache.state
        first = cache.text is None
        row = InstanceStatus(
            instance_id=entity_id.instance_id,
            name=entity_id.name,
            version="",
            execution_id=cache.execution_id,
            runtime_status="Completed" if state.is_empty else "Running",
            created_time=now if first else None,
            last_updated_time=now,
            input=text,
            custom_status=state.status().to_text(),
            completed_time=now if state.is_empty else None,
        )
        await self.hub.write_instance(row)
        cache.text = text
        session.status = row
