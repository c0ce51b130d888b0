"""Orchestration sessions: one in-memory session per instance, one episode at a time.

A session holds the instance's cached history (valid while this host owns the instance's
partition: the sentinel eTag catches anyone else's write) and an inbox of messages not yet
applied. Messages that arrive while an episode runs are batched into the next episode.

One episode follows the crash-safe order of docs/taskhub.md ("One orchestration episode"):
send the outbound messages, write history under the sentinel eTag, update the Instances row,
then delete the consumed messages. Work this host will do itself (activities, messages to
partitions it owns) is handed over in memory after the checkpoint; the queue copies stay
invisible (locked) and are deleted once that work is done, so a crash loses nothing.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from host.durable.engine.anchor_plan import keep_anchor, lost_activities, plan_anchor, plan_recovery
from host.durable.engine.foreign import unknown_orchestrator_message
from host.durable.engine.handover import Handover
from host.durable.engine.refusal import fail_unstorable
from host.durable.engine.start_check import StartVerdict, judge_start
from host.durable.replay.episode import run_episode
from host.durable.replay.history import (
    EventType,
    OrchestrationStatus,
    completion_id,
    execution_id_of,
    parent_instance_id,
    parse_timestamp,
)
from host.durable.replay.ledger import scan
from host.durable.replay.model import EpisodeResult, OrchestrationState
from host.durable.replay.source import CodePosition
from host.durable.taskhub.messages import TaskMessage
from host.durable.taskhub.rows import InstanceStatus, RecoveryRecord
from host.errors import ConflictError, DurableError, InvalidRequestError, PreconditionFailedError
from host.failures import format_failure
from host.logs import invocation_scope, verbose_tracebacks

if TYPE_CHECKING:
    from host.durable.engine.entity_sessions import EntityCache
    from host.durable.engine.ports import OrchestrationEngine
    from host.durable.taskhub.history import LoadedHistory
    from host.durable.taskhub.hub import TaskHub

log = logging.getLogger("host.durable")

MAX_CHECKPOINT_RETRIES = 5
MAX_EARLY_DEFERRALS = 10
"""How often a completion for an instance without history is retried before it is dropped."""
ORCHESTRATION_REASON = "OrchestrationTrigger"
EXECUTION_STARTED = int(EventType.ExecutionStarted)


def failure_stack(result: EpisodeResult) -> str | None:
    """What the console shows as the stack of a failed episode (the user's frames unless verbose)."""
    if result.failure is not None:
        return format_failure(result.failure, verbose=verbose_tracebacks())
    stack = (result.failure_details or {}).get("StackTrace")
    return str(stack) if stack else None


def next_position(old: CodePosition | None, result: EpisodeResult, length_before: int) -> CodePosition | None:
    """The code position after an episode: its own when code ran, else the old one if it was current."""
    length = len(result.history)
    if result.ran_code:
        return CodePosition(result.source, dict(result.open_events), length)
    if old is not None and old.history_length == length_before and not result.rewritten:
        return CodePosition(old.source, old.open_events, length)
    return None


@dataclass
class Session:
    """The in-memory view of one orchestration instance on this host."""

    instance_id: str
    state: OrchestrationState | None = None
    etag: str | None = None
    loaded: bool = False
    inbox: dict[str, TaskMessage] = field(default_factory=dict)
    """Pending messages by message id (a redelivery replaces the older copy)."""
    task: asyncio.Task[None] | None = None
    status: InstanceStatus | None = None
    """What this host last wrote to the Instances row (skips writes that change nothing)."""
    blob_names: list[str] = field(default_factory=list)
    entity: EntityCache | None = None
    """Entities only: the entity runner's cached scheduler state."""
    position: CodePosition | None = None
    """Where the orchestrator's code stopped after the last episode this host ran."""
    recovery: RecoveryRecord | None = None
    """The sentinel's recovery record as of the last checkpoint (engine/anchors.py)."""
    unsure: set[int] = field(default_factory=set)
    """Activities a failed checkpoint would have run from memory (it may have been written)."""

    def add(self, msg: TaskMessage) -> None:
        key = msg.message_id or f"local-{id(msg)}"
        self.inbox[key] = msg

    def take(self) -> list[TaskMessage]:
        batch = list(self.inbox.values())
        self.inbox.clear()
        return batch

    async def read_history(self, hub: TaskHub) -> LoadedHistory:
        """Load the instance's history and take its eTag and blob names as this session's."""
        loaded = await hub.load_history(self.instance_id)
        self.etag = loaded.etag
        self.blob_names = list(loaded.blob_names)
        self.recovery = loaded.recovery
        self.loaded = True
        return loaded

    def forget(self) -> None:
        """Drop the cached history (reloaded by the next episode)."""
        self.state, self.etag, self.loaded, self.status = None, None, False, None
        self.entity = None


def _order(batch: list[TaskMessage]) -> list[TaskMessage]:
    # ExecutionStarted first; then by sender sequence (same-second queue order is not reliable).
    return sorted(
        batch,
        key=lambda m: (
            m.event_type != EXECUTION_STARTED,
            m.inserted_on.timestamp() if m.inserted_on else 0.0,
            m.sequence_number,
        ),
    )


class OrchestrationRunner:
    """Runs episodes of orchestration sessions for the engine."""

    def __init__(self, engine: OrchestrationEngine) -> None:
        self.engine = engine
        self.hub = engine.hub

    async def load(self, session: Session) -> None:
        loaded = await session.read_history(self.hub)
        if loaded.events:
            session.state = _state_from_history(session.instance_id, loaded.execution_id, loaded.events)
        else:
            session.state = None

    async def run_batch(self, session: Session, batch: list[TaskMessage]) -> None:
        """Apply ``batch`` to the instance: as many episodes as it takes, checkpointed."""
        batch = await self._check_starts(session, _order(batch))
        if not batch:
            return
        if session.loaded and _ended(session.state) and any(m.event_type != EXECUTION_STARTED for m in batch):
            # A finished instance's history may have been changed by a management operation
            # (rewind rewrites it in place): never drop messages against a stale cached copy.
            session.forget()
        for attempt in range(MAX_CHECKPOINT_RETRIES):
            try:
                # A cached "no history" is never trusted to drop messages: another host may have
                # written the instance's first checkpoint since (see _discard_without_instance).
                reloaded = not session.loaded or (
                    session.state is None and all(m.event_type != EXECUTION_STARTED for m in batch)
                )
                if reloaded:
                    await self.load(session)
                await self._recover(session, batch, reloaded=reloaded)
                await self._episode(session, batch)
                return
            except InvalidRequestError as err:  # retrying the same write cannot succeed
                await fail_unstorable(self, session, batch, err)
                if (held := self.engine.anchors.pop(session.instance_id)) is not None:
                    await self.engine.settle([held.message], [])  # the execution ended
                return
            except (PreconditionFailedError, ConflictError) as err:
                log.info(
                    "instance %s: %s; reloading history (attempt %d)", session.instance_id, err, attempt + 1
                )
                session.forget()
        raise PreconditionFailedError(
            f"instance {session.instance_id!r}: history kept changing under this host; messages abandoned"
        )

    async def _recover(self, session: Session, batch: list[TaskMessage], *, reloaded: bool) -> None:
        """Send again the activities run from memory that nothing runs any more, before the batch's
        messages are settled: those the sentinel's record names when its anchor came back (the host
        that held it died, or gave it up), and, after a reload, those a failed checkpoint may have
        written without handing them over. Both only when the history has not completed them."""
        state = session.state
        if state is None:
            return
        held = self.engine.anchors.get(session.instance_id)
        plan = plan_recovery(session.recovery, held, batch, reloaded=reloaded, unsure=session.unsure)
        if not plan.wanted and not (reloaded and held is not None):
            return
        ledger = scan(state.history)
        if held is not None:
            held.tasks -= ledger.completed
        lost = lost_activities(ledger, plan.wanted)
        if lost:
            log.info(
                "instance %s: %d activit%s run from memory and not running any more; sending again",
                session.instance_id,
                len(lost),
                "y" if len(lost) == 1 else "ies",
            )
            await self.engine.resend_activities(session.instance_id, state.execution_id, lost)
        if plan.came_back:  # sent (retried from the sentinel again if the episode fails and reloads)
            session.recovery = None
        if reloaded:
            session.unsure = set()

    async def _check_starts(self, session: Session, batch: list[TaskMessage]) -> list[TaskMessage]:
        """Drop or defer queued start messages the Instances row does not vouch for."""
        queued = [m for m in batch if m.event_type == EXECUTION_STARTED and m.dequeue_count > 0]
        if not queued:
            return batch
        row = await self.hub.get_instance(session.instance_id, fetch_large=False)
        drop, defer = [], []
        for msg in queued:
            verdict = judge_start(msg, row)
            if verdict is StartVerdict.DROP:
                drop.append(msg)
            elif verdict is StartVerdict.DEFER:
                defer.append(msg)
        if drop or defer:
            log.info(
                "instance %s: %d start message(s) dropped, %d deferred (Instances row %s)",
                session.instance_id,
                len(drop),
                len(defer),
                "missing" if row is None else "differs",
            )
            await self.engine.settle(drop, defer)
        skipped = {id(m) for m in drop + defer}
        return [m for m in batch if id(m) not in skipped]

    async def _episode(self, session: Session, batch: list[TaskMessage]) -> None:
        engine = self.engine
        events = [m.event for m in batch]
        state, fresh = self._state_for(session, batch)
        if state is None:
            # Nothing to run: no ExecutionStarted for an instance without history.
            await self._discard_without_instance(session, batch)
            return
        handle = engine.orchestrator_handle(state.name)
        now = engine.now()
        length_before = len(state.history)
        # Logged like any invocation (func prints orchestrator episodes too); user logging in
        # the orchestrator is attributed to the episode.
        # An instance of a version this host does not run runs no code: no invocation to log.
        refused = engine.replay_options.versioning.mismatch(_version(state.history, batch)) is not None
        with invocation_scope(
            state.name, str(uuid.uuid4()), reason=ORCHESTRATION_REASON, log=handle is not None and not refused
        ) as scope:
            result = run_episode(handle, state, events, now, engine.replay_options)
            if result.status == OrchestrationStatus.Failed and result.ran_code:
                scope.fail(
                    DurableError(result.output_text or "the orchestration failed"),
                    stack=failure_stack(result),
                )
        if handle is not None and not refused:  # counted as the orchestrator's invocation
            fn = engine.registry.orchestrator(state.name)
            engine.invoker.stats.record_scope(scope, fn.name if fn is not None else None)
        if handle is None and result.status == OrchestrationStatus.Failed:
            log.warning(
                "%s",
                unknown_orchestrator_message(
                    state.name, session.instance_id, self.hub.names.hub, engine.registry
                ),
            )
        elif refused and result.status == OrchestrationStatus.Failed and result.appended:
            log.warning("instance %s failed: %s", state.instance_id, result.output_text)
        if result.rejected is not None:
            log.warning(
                "instance %s: %s Its messages are left for another host.", state.instance_id, result.rejected
            )
            await engine.abandon(batch)
            return
        consumed = [m for m in batch if not any(e is m.event for e in result.deferred)]
        deferred = [m for m in batch if any(e is m.event for e in result.deferred)]
        held = engine.anchors.get(session.instance_id)
        if held is not None and (
            copy := next((m for m in batch if m.message_id == held.message.message_id), None)
        ):
            # This host's own anchor came back (its lock lapsed): keep the newest copy locked.
            held.message = copy
            consumed = [m for m in consumed if m is not copy]
            deferred = [m for m in deferred if m is not copy]
        if not result.appended and not result.rewritten and not fresh:
            if _ended(state):
                await self._repair_terminal_row(session, state)
                if held is not None:  # its ending checkpoint failed after it was written
                    engine.anchors.pop(session.instance_id)
                    consumed.append(held.message)
            await engine.settle(consumed, deferred)
            return
        plan = plan_anchor(
            held,
            session.recovery,
            result,
            fresh=fresh,
            consumed=consumed,
            control_queues=engine.control_queues,
        )
        if plan.let_go and held is not None:
            # Another host checkpointed since this one named its anchor (plan_anchor): its
            # activities get work items, and it goes back to its queue (a stale receipt changes
            # nothing there).
            if plan.stale:
                log.warning(
                    "instance %s: %d anchored activities re-sent", session.instance_id, len(plan.stale)
                )
                events = [held.events[t] for t in plan.stale if t in held.events]
                await engine.resend_activities(session.instance_id, result.execution_id, events)
            engine.anchor_in_doubt(session.instance_id)
            held = None
        sent = await engine.send_outbound(state, result, anchor_room=plan.room)
        memory = {int(i.message.event.get("EventId", -1)) for i in sent.activities if i.anchored}
        keep = keep_anchor(plan, held, session.recovery, result, memory)
        anchor, record = keep.anchor, keep.record
        old_blobs = session.blob_names
        # A checkpoint that failed may still have been written (its answer lost): the activities it
        # would have run from memory are checked against the reloaded history (see _recover).
        session.unsure |= memory
        try:
            if result.rewritten or fresh:
                session.etag = await self.hub.rewrite_history(
                    result.instance_id,
                    result.execution_id,
                    result.history,
                    session.etag,
                    old_blob_names=old_blobs,
                    recovery=record,
                )
                session.blob_names = []
            else:
                session.etag = await self.hub.append_history(
                    result.instance_id,
                    result.execution_id,
                    result.history,
                    len(result.appended),
                    session.etag,
                    recovery=record,
                )
        except BaseException as err:
            engine.drop_handover(sent)
            if plan.same and memory and not isinstance(err, InvalidRequestError):
                # It may have been written (its answer lost, or a retry of it refused as a conflict)
                # naming activities the anchor in memory does not stand for: settled from memory
                # later (deleted, or handed back by a stop) it would leave them with nothing to run
                # them. It goes back to its queue; whoever receives it sends them (see _recover).
                engine.anchor_in_doubt(session.instance_id)
            raise
        session.recovery = record
        session.unsure -= memory
        orphaned: list[dict[str, Any]] = []
        if held is not None and engine.anchors.get(session.instance_id) is not held:
            # Let go while this checkpoint was written (an activity it stood for could not be
            # completed, or the partition left): whoever receives it again re-sends what the record
            # names; the activities this episode would have run on it get work items of their own.
            orphans = Handover()
            orphans.activities = [i for i in sent.activities if i.anchored]
            orphaned = [i.message.event for i in orphans.activities]
            sent.activities = [i for i in sent.activities if not i.anchored]
            engine.drop_handover(orphans)
            anchor = None
        elif held is not None and held is not anchor:
            # It stands for nothing any more (all completed, the execution ended or was replaced).
            engine.anchors.pop(session.instance_id)
            consumed.append(held.message)
        if anchor is not None:
            anchor.stand_for(keep.tasks, (i.message.event for i in sent.activities if i.anchored))
            engine.anchors.keep(session.instance_id, anchor)
            consumed = [m for m in consumed if m is not anchor.message]
        state.history = result.history
        session.position = next_position(session.position, result, length_before)
        state.execution_id = result.execution_id
        if result.input_text is not None or result.rewritten:
            state.input_text = result.input_text
        session.state = state
        # The history is durable: hand the follow-up work over at once; the Instances row (a
        # projection) and the deletes of consumed messages go out while that work runs.
        engine.hand_over(sent)
        if orphaned:
            await engine.resend_activities(session.instance_id, result.execution_id, orphaned)
        if not result.is_terminal:
            # Work items whose completions this checkpoint holds are deleted later, in the background
            # (engine/later_deletes.py): neither the next episode of a fan-in nor the client waits
            # for them.
            workitems = self.hub.names.workitem_queue
            engine.later_deletes.add(session.instance_id, (m for m in consumed if m.queue == workitems))
            consumed = [m for m in consumed if m.queue != workitems]
            await asyncio.gather(
                self._write_instance(session, state, result, first=fresh), engine.settle(consumed, deferred)
            )
            return
        # The consumed messages are what brings a finished instance back if its row write is lost
        # (see _repair_terminal_row): delete them only once the row says it ended. The ending
        # episode's work items are among them, not left to the later deletes (whose timer may fire
        # while the row write hangs); so is the retired anchor (no longer in the batch the caller
        # abandons).
        try:
            await self._write_instance(session, state, result, first=fresh)
        except Exception:
            await engine.abandon(m for m in consumed if all(m is not b for b in batch))
            raise
        await engine.settle(consumed, deferred)
        engine.notify_terminal(session.instance_id, result.status)
        engine.later_deletes.flush_soon(session.instance_id)

    def _state_for(
        self, session: Session, batch: list[TaskMessage]
    ) -> tuple[OrchestrationState | None, bool]:
        """The state to run the batch on, and whether it starts a new execution."""
        started = next((m for m in batch if m.event_type == EXECUTION_STARTED), None)
        current = session.state
        if started is not None:
            exec_id = started.execution_id or execution_id_of(started.event)
            if current is None or current.execution_id != exec_id:
                ev = started.event
                state = OrchestrationState(
                    instance_id=session.instance_id,
                    execution_id=str(exec_id),
                    name=str(ev.get("Name", "")),
                    input_text=ev.get("Input"),
                    parent_instance_id=parent_instance_id(ev),
                    history=[],
                )
                return state, True
        return current, False

    async def _repair_terminal_row(self, session: Session, state: OrchestrationState) -> None:
        """Make the Instances row say how the execution ended when only its history does.

        A host that stopped (or lost its storage) between the history append with
        ExecutionCompleted and the row write leaves the row Running; the undeleted messages of that
        episode come back here.
        """
        if session.status is not None and session.status.is_terminal:
            return
        end = next(
            (e for e in reversed(state.history) if e.get("EventType") == int(EventType.ExecutionCompleted)),
            None,
        )
        if end is None:
            return  # ended by continue-as-new: the next execution's episodes write the row
        row = await self.hub.get_instance(session.instance_id, fetch_large=False)
        if row is not None and (row.is_terminal or row.execution_id not in (None, "", state.execution_id)):
            session.status = row if row.is_terminal else None
            return
        status = OrchestrationStatus(int(end.get("OrchestrationStatus") or 0))
        ended_at = parse_timestamp(str(end["Timestamp"]))
        repaired = InstanceStatus(
            instance_id=session.instance_id,
            execution_id=state.execution_id,
            runtime_status=status.name,
            last_updated_time=ended_at,
            completed_time=ended_at,
            output=end.get("Result") if end.get("Result") is not None else "null",
        )
        if row is None:
            repaired.name, repaired.version, repaired.input = (
                state.name,
                _version(state.history),
                state.input_text,
            )
        log.warning(
            "instance %s: its history ended %s but the Instances row said %s; row repaired",
            session.instance_id,
            status.name,
            row.runtime_status if row else "nothing",
        )
        await self.hub.write_instance(repaired)
        session.status = repaired
        self.engine.notify_terminal(session.instance_id, status)

    async def _discard_without_instance(self, session: Session, batch: list[TaskMessage]) -> None:
        terminate = any(m.event_type == int(EventType.ExecutionTerminated) for m in batch)
        if terminate:
            row = await self.hub.get_instance(session.instance_id, fetch_large=False)
            if row is not None and not row.is_terminal:
                now = self.engine.now()
                reason = next(
                    m.event.get("Input") for m in batch if m.event_type == int(EventType.ExecutionTerminated)
                )
                await self.hub.write_instance(
                    InstanceStatus(
                        instance_id=session.instance_id,
                        runtime_status="Terminated",
                        output=reason,
                        last_updated_time=now,
                        completed_time=now,
                    )
                )
        # A completion can arrive before the checkpoint that scheduled its task (an episode puts its
        # messages before it writes the history, and another host may run the activity at once):
        # it is retried for a while before it counts as one for an instance that does not exist.
        early = [
            m
            for m in batch
            if not terminate
            and m.message_id
            and completion_id(m.event) is not None
            and m.dequeue_count < MAX_EARLY_DEFERRALS
        ]
        dropped = [m for m in batch if all(m is not e for e in early)]
        if early:
            log.info(
                "instance %s: %d completion(s) before its history; retried later",
                session.instance_id,
                len(early),
            )
        if dropped:
            log.warning(
                "instance %s: dropping %d message(s): no such instance", session.instance_id, len(dropped)
            )
        await self.engine.settle(dropped, early)

    async def _write_instance(
        self, session: Session, state: OrchestrationState, result: EpisodeResult, *, first: bool
    ) -> None:
        now = self.engine.now()
        status_name = result.status.name
        custom = result.custom_status_text if result.custom_status_text is not None else "null"
        previous = session.status
        changed = (
            first
            or result.rewritten
            or previous is None
            or previous.runtime_status != status_name
            or previous.custom_status != custom
            or previous.execution_id != result.execution_id
            or result.is_terminal
        )
        if not changed:
            return
        row = InstanceStatus(
            instance_id=session.instance_id,
            execution_id=result.execution_id,
            runtime_status=status_name,
            last_updated_time=now,
            custom_status=custom,
        )
        if first or result.rewritten or previous is None:
            started = next((e for e in result.history if e.get("EventType") == EXECUTION_STARTED), None)
            row.name = state.name
            row.version = _version(result.history)
            row.input = state.input_text if state.input_text is not None else None
            if started is not None:
                row.created_time = parse_timestamp(started["Timestamp"])
                row.generation = int(started.get("Generation") or 0)
        if result.is_terminal:
            row.output = result.output_text if result.output_text is not None else "null"
            row.completed_time = now
        await self.hub.write_instance(row)
        session.status = row


_ENDINGS = frozenset({int(EventType.ExecutionCompleted), int(EventType.ContinueAsNew)})


def _ended(state: OrchestrationState | None) -> bool:
    """Whether the cached execution has finished (its terminal event is among the last few)."""
    return state is not None and any(e.get("EventType") in _ENDINGS for e in state.history[-3:])


def _version(history: list[dict[str, Any]], batch: list[TaskMessage] | None = None) -> str:
    """The execution's version: its ExecutionStarted's ``Version`` (in ``history``, else in ``batch``)."""
    started = next((e for e in history if e.get("EventType") == EXECUTION_STARTED), None)
    if started is None and batch:
        started = next((m.event for m in batch if m.event_type == EXECUTION_STARTED), None)
    return str(started.get("Version") or "") if started is not None else ""


def _state_from_history(
    instance_id: str, execution_id: str | None, history: list[dict[str, Any]]
) -> OrchestrationState | None:
    started = next((e for e in history if e.get("EventType") == EXECUTION_STARTED), None)
    if started is None:
        return None
    exec_id = execution_id or execution_id_of(started) or ""
    return OrchestrationState(
        instance_id=instance_id,
        execution_id=str(exec_id),
        name=str(started.get("Name", "")),
        input_text=started.get("Input"),
        parent_instance_id=parent_instance_id(started),
        history=list(history),
    )


TERMINAL = {
    OrchestrationStatus.Completed,
    OrchestrationStatus.Failed,
    OrchestrationStatus.Terminated,
    OrchestrationStatus.Canceled,
}
