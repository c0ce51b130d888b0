"""The durable engine: dispatches control-queue and work-item messages of one task hub.

* Partitions: this host processes the control queues it owns (``{Hub}Partitions`` table, so
  several hosts share a hub and take over a dead host's partitions).
* Control messages are grouped per instance into :class:`~host.durable.engine.sessions.Session`\\ s;
  one episode runs at a time per instance; orchestrations and entities share the mechanism.
* No fixed-interval polling on the hot path: a message this host sends to a partition it owns,
  and an activity it has a free slot for, is put on the queue *locked* (invisible) and handed over
  in memory; the queue copy is only the crash-recovery record and is deleted when the work is
  done. Activities beyond the free slots go on the shared work-item queue, visible, for any host
  of the hub. Idle polling of the queues
  backs off from 50 ms to ``max_poll_interval``; a send from this process wakes the poller.
* Poison-proof intake: a message that cannot be decoded is quarantined by the task hub; one
  received more than ``max_dequeue_count`` times, or that cannot be dispatched, is quarantined
  here. Pollers are supervised: one that dies is restarted, one that keeps dying gives its
  partition up so another host can serve it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import uuid
from collections import OrderedDict
from collections.abc import Callable, Coroutine, Hashable, Iterable
from datetime import datetime, timedelta
from typing import Any

from host.durable.engine.activities import ActivityWorker, WorkItem
from host.durable.engine.anchor_keeper import AnchorKeeper
from host.durable.engine.anchors import Anchors
from host.durable.engine.clock import Cancellable, Clock, WallClock
from host.durable.engine.entity_sessions import EntityRunner, entity_request_event
from host.durable.engine.handover import Handover
from host.durable.engine.http_activity import BUILTIN_HTTP_ACTIVITY
from host.durable.engine.later_deletes import LaterDeletes
from host.durable.engine.locks import MessageLocks
from host.durable.engine.options import EngineOptions
from host.durable.engine.sessions import OrchestrationRunner, Session
from host.durable.engine.supervisor import PollerSupervisor
from host.durable.replay.history import EventType, OrchestrationStatus, completion_id, execution_id_of
from host.durable.replay.model import (
    CallHttp,
    CompleteParent,
    EntityRequest,
    EpisodeResult,
    OrchestrationState,
    ReplayOptions,
    ScheduleActivity,
    ScheduleTimer,
    StartSubOrchestration,
)
from host.durable.replay.source import CodePosition, traced
from host.durable.replay.waiting import ActivityRun
from host.durable.taskhub.hub import TaskHub
from host.durable.taskhub.messages import TaskMessage, new_message
from host.durable.taskhub.partitions import PartitionManager, PartitionTimings
from host.durable.taskhub.poison import too_often_reason
from host.durable.taskhub.queues import abandon_backoff
from host.errors import InvalidRequestError, StorageError
from host.indexing.registry import Registry
from host.invocation import Invoker

log = logging.getLogger("host.durable")

DRAIN_SECONDS = 30.0
"""How long a partition hand-over waits for its running episodes."""
POLLER_DRAIN_SECONDS = 2.0
"""How long a stop waits for the pollers' receives in flight."""
STOP_SECONDS = 6.0
"""How long a graceful stop waits for running work before it releases the partitions (the host
gives all its services 10 s)."""
RECENT_TERMINAL_CAP = 10_000
"""How many finished instance ids the engine remembers for ``wait_terminal``."""
EXECUTION_STARTED = int(EventType.ExecutionStarted)
EPISODE_RETRY_SECONDS = 0.5
"""How long a session waits before it retries a failed episode's in-memory completions."""
GIVE_UP_PAUSE_SECONDS = 30.0
"""How long a given-up poller rests when no other host can take its queue over."""


class DurableEngine:
    """Runs orchestrations, activities and entities of one task hub on this host."""

    def __init__(
        self,
        hub: TaskHub,
        registry: Registry,
        invoker: Invoker,
        options: EngineOptions | None = None,
        *,
        worker_id: str | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.hub = hub
        self.registry = registry
        self.invoker = invoker
        self.options = options or EngineOptions()
        self.worker_id = worker_id or f"{uuid.uuid4().hex[:12]}"
        self.clock: Clock = clock or WallClock()
        self.now: Callable[[], datetime] = self.clock.now
        self.replay_options = ReplayOptions(
            known_activities={f.durable_name.lower() for f in registry.by_trigger("activityTrigger")},
            known_orchestrators={f.durable_name.lower() for f in registry.by_trigger("orchestrationTrigger")},
            versioning=self.options.versioning,
        )
        self.sessions: dict[str, Session] = {}
        self._traced: dict[str, tuple[Callable[..., Any], Callable[..., Any]]] = {}
        self.runner = OrchestrationRunner(self)
        self.entity_runner = EntityRunner(self)
        self.activities = ActivityWorker(self)
        self.owned: set[int] = set()
        self.pollers = PollerSupervisor(self._poller_given_up)
        self._wake: dict[int, asyncio.Event] = {}
        self._orchestration_slots = asyncio.Semaphore(self.options.max_concurrent_orchestrations)
        self._timers: set[Cancellable] = set()
        self._armed: dict[int, tuple[datetime, TaskMessage]] = {}
        """Durable timers this host fires from memory (their queue copies are hidden until fire
        time + lock): a stop makes each visible at its fire time for the next owner."""
        self._tasks: set[asyncio.Task[Any]] = set()
        self._waiters: dict[str, list[asyncio.Future[OrchestrationStatus]]] = {}
        self._partitions: PartitionManager | None = None
        self._running = False
        self._locked: set[int] = set()
        self._reserved = 0
        """Room in the control-message buffer taken by receives in flight."""
        self._recent_terminal: OrderedDict[str, OrchestrationStatus] = OrderedDict()
        self.locks = MessageLocks(hub, self.options.lock_seconds)
        """Messages held in memory (inboxes, activities) stay locked until settled."""
        self.anchors = Anchors()
        """Control messages kept locked for activities run from memory (engine/anchors.py)."""
        self.anchor_keeper = AnchorKeeper(self, self.anchors)
        """Settles activities' completions against their work items and the anchors."""
        self.control_queues = frozenset(hub.names.control_queues)
        self.later_deletes = LaterDeletes(self.delete, self.spawn)
        """Work items whose completions are checkpointed, deleted off the critical path."""
        self.hub.on_sent = self._on_sent

    # ------------------------------------------------------------------ life cycle
    async def start(self) -> None:
        """Create the hub's resources, take partitions and start dispatching."""
        await self.hub.create()
        self._running = True
        self.activities.start()
        self.locks.start()
        if self.options.use_partition_table:
            timings = PartitionTimings(
                renew_interval=self.options.partition_renew_seconds,
                acquire_interval=self.options.partition_acquire_seconds,
                lease_interval=self.options.partition_lease_seconds,
            )
            self._partitions = PartitionManager(self.hub, self.worker_id, self._acquired, self._lost, timings)
            await self._partitions.start()
        else:
            for p in range(self.hub.names.partition_count):
                self._acquired(p)

    async def stop(self, timeout: float = STOP_SECONDS) -> None:
        """Stop taking work, let running episodes and activities finish (bounded), then release the
        partitions at once: work still waiting in memory goes back to the queues for the next owner."""
        self._running = False
        deadline = asyncio.get_running_loop().time() + timeout

        def left() -> float:
            return max(0.1, deadline - asyncio.get_running_loop().time())

        for handle in list(self._timers):
            handle.cancel()
        self._timers.clear()
        await self._disarm()
        # Pollers end after the receive in flight (cancelled, its messages would stay invisible
        # for a whole lock): what they got waits in memory and is handed back below.
        for wake in self._wake.values():
            wake.set()
        self.activities.halt()
        await self.pollers.drain_all(min(POLLER_DRAIN_SECONDS, left()))
        await self.pollers.stop_all()
        busy = [s.task for s in self.sessions.values() if s.task is not None and not s.task.done()]
        busy += [t for t in self._tasks if not t.done()]
        if busy:
            _done, pending = await asyncio.wait(busy, timeout=left())
            for task in pending:
                task.cancel()
            await self._disarm()  # timers those episodes handed over
        await self.activities.stop(left())
        # Checkpointed work items: deleted now (the rest run again on another host, and replay
        # drops their completions, as after a crash).
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.later_deletes.flush(), left())
        if self._partitions is not None:
            with contextlib.suppress(Exception):
                await self._partitions.stop(release=True)
        await self.locks.stop()
        self.owned.clear()

    # ------------------------------------------------------------------ partitions
    def _acquired(self, partition: int) -> None:
        if partition in self.owned or not self._running:
            return
        self.owned.add(partition)
        self._wake[partition] = asyncio.Event()
        self._start_poller(partition)
        log.debug("worker %s owns partition %d", self.worker_id, partition)

    async def _lost(self, partition: int) -> None:
        self.owned.discard(partition)
        await self.pollers.stop(partition)
        ids = [i for i in self.sessions if self.hub.names.partition_of(i) == partition]
        running = [t for i in ids if (t := self.sessions[i].task) is not None and not t.done()]
        if running:
            # Let running episodes checkpoint, but not forever: past the cap the new owner may start
            # too, and the sentinel eTag lets only one of the two checkpoints win.
            await asyncio.wait(running, timeout=DRAIN_SECONDS)
        waiting = [m for iid in ids if (s := self.sessions.pop(iid, None)) is not None for m in s.take()]
        await self._hand_back(waiting)
        await self.anchor_keeper.partition_left(partition)
        log.debug("worker %s released partition %d", self.worker_id, partition)

    def _start_poller(self, partition: int) -> None:
        poll = functools.partial(self._poll_control, partition)
        self.pollers.start(partition, poll, f"control-{partition}")

    async def _poller_given_up(self, key: Hashable, err: BaseException) -> None:
        """A poller kept dying: release its partition to another host (or rest, then try again)."""
        if not isinstance(key, int):  # the work-item poller: nobody else runs this host's activities
            await asyncio.sleep(GIVE_UP_PAUSE_SECONDS)
            if self._running:
                self.activities.start()
            return
        if not self._running or key not in self.owned:
            return
        queue = self.hub.names.control_queue(key)
        if self._partitions is not None:
            log.error(
                "control queue %s cannot be served by worker %s; releasing partition %d so another "
                "host can take it",
                queue,
                self.worker_id,
                key,
            )
            await self._partitions.release(key)
            return
        log.error("control queue %s cannot be served; trying again in %g s", queue, GIVE_UP_PAUSE_SECONDS)
        await asyncio.sleep(GIVE_UP_PAUSE_SECONDS)
        if self._running and key in self.owned:
            self._start_poller(key)

    async def _hand_back(self, msgs: list[TaskMessage]) -> None:
        """Messages waiting for instances this host no longer runs go back for the next owner at once
        (an activity's completion is sent to the control queue, then its work item deleted or, run
        from memory with no queue copy, taken off its instance's anchor)."""
        jobs = [self._forward_completion(m) for m in msgs if self._is_activity_completion(m)]
        jobs.append(self.locks.unlock([m for m in msgs if not self._is_activity_completion(m)]))
        await asyncio.gather(*jobs, return_exceptions=True)

    def _is_activity_completion(self, msg: TaskMessage) -> bool:
        """A completion delivered in memory by this host's activity worker: its work item's queue
        copy, or none at all (run from memory; it exists nowhere else)."""
        return msg.queue == self.hub.names.workitem_queue or (
            not msg.message_id and completion_id(msg.event) is not None
        )

    async def _forward_completion(self, msg: TaskMessage) -> None:
        try:
            await self.send_event(msg.instance_id, msg.event, execution_id=msg.execution_id)
        except Exception:
            # Not sent (storage down): the activity must run again, not wait for ever on a lock
            # this host keeps renewing: its work item goes visible, or its anchor is let go.
            if msg.message_id:
                await self.locks.unlock([msg])
            else:
                await self.anchor_keeper.let_go(msg.instance_id)
            raise
        await self.anchor_keeper.completion_forwarded(msg, completion_id(msg.event))

    def busy_tasks(self) -> list[asyncio.Task[Any]]:
        """Work in progress: running episodes, activities and background jobs (for idle checks)."""
        tasks = [s.task for s in self.sessions.values() if s.task is not None and not s.task.done()]
        return tasks + self.activities.running() + [t for t in self._tasks if not t.done()]

    def owns(self, instance_id: str) -> bool:
        return self.hub.names.partition_of(instance_id) in self.owned

    # ------------------------------------------------------------------ polling
    def _on_sent(self, queue: str, msg: TaskMessage) -> None:
        """A message was put by this process (e.g. a client operation): poll that queue now."""
        partition = self.hub.names.partition_of_queue(queue)
        if partition is not None and partition in self._wake and not self._is_locked(msg):
            self._wake[partition].set()
        elif queue == self.hub.names.workitem_queue and not self._is_locked(msg):
            self.activities.wake()

    def _is_locked(self, msg: TaskMessage) -> bool:
        return id(msg) in self._locked

    async def put_locked(self, msg: TaskMessage, delay: timedelta, queue: str | None = None) -> None:
        """Put a message this host will handle itself: invisible to pollers for ``delay``."""
        self._locked.add(id(msg))
        try:
            await self.hub.send_message(msg, queue=queue, delay=delay)
        finally:
            self._locked.discard(id(msg))

    async def _poll_control(self, partition: int) -> None:
        delay = self.options.min_poll_interval
        wake = self._wake[partition]
        while self._running and partition in self.owned:
            # Reserve room before receiving: pollers of other partitions receive at the same time,
            # and together they must not hold more than the threshold.
            room = self.options.max_buffered_messages - self.buffered() - self._reserved
            if room <= 0:
                await asyncio.sleep(0.05)
                continue
            count = min(self.options.control_batch_size, room)
            self._reserved += count
            try:
                msgs = await self.hub.receive_control(partition, count, visibility=self.options.lock_seconds)
            except StorageError as err:  # anything else is a bug: the supervisor restarts the poller
                log.warning("control queue %d: %s", partition, err)
                msgs = []
                delay = self.options.max_poll_interval
            finally:
                self._reserved -= count
            if msgs and not self._running:  # received while stopping: visible again at once
                await self.locks.unlock(msgs)
                return
            if msgs:
                delay = self.options.min_poll_interval
                for m in msgs:
                    self._admit(m)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout=delay)
            if wake.is_set():
                wake.clear()
                delay = self.options.min_poll_interval
            else:
                delay = min(delay * 2, self.options.max_poll_interval)

    def buffered(self) -> int:
        """Control messages held in memory, waiting for their sessions."""
        return sum(len(s.inbox) for s in self.sessions.values())

    # ------------------------------------------------------------------ dispatch
    def _admit(self, msg: TaskMessage) -> None:
        """Deliver a received control message, or quarantine it when it can never be processed."""
        limit = self.options.max_dequeue_count
        if msg.dequeue_count > limit:
            self.spawn(
                self._too_often(msg, too_often_reason(msg.dequeue_count, limit)), f"poison-{msg.message_id}"
            )
            return
        try:
            self.deliver(msg)
        except Exception as err:
            self.quarantine(msg, f"it cannot be dispatched: {type(err).__name__}: {err}")

    async def _too_often(self, msg: TaskMessage, reason: str) -> None:
        """Quarantine a message received too often, unless it waits for a host of its version."""
        version = await self._rejected_version(msg)
        if version is None:
            await self.quarantine_now(msg, reason)
            return
        log.warning(
            "instance %s: version '%s' is not run by this host (defaultVersion '%s'); its message is "
            "left for another host (received %d times)",
            msg.instance_id,
            version,
            self.options.versioning.default_version,
            msg.dequeue_count,
        )
        await self.abandon([msg])

    async def _rejected_version(self, msg: TaskMessage) -> str | None:
        """The instance's version when this host leaves it to others (versionFailureStrategy Reject)."""
        versioning = self.options.versioning
        if not versioning.checks or msg.instance_id.startswith("@"):
            return None
        if msg.event_type == EXECUTION_STARTED:
            version = str(msg.event.get("Version") or "")
        else:
            row = await self.hub.get_instance(msg.instance_id, fetch_large=False)
            if row is None:
                return None
            version = row.version or ""
        return version if versioning.rejects(version) else None

    def quarantine(self, msg: TaskMessage, reason: str) -> None:
        """Move a received message to the poison queue in the background (logged there)."""
        self.spawn(self.quarantine_now(msg, reason), name=f"poison-{msg.message_id}")

    async def quarantine_now(self, msg: TaskMessage, reason: str) -> bool:
        """Move a received message to the poison queue (after releasing its lock: newest receipt)."""
        await self.locks.release(msg)
        return await self.hub.quarantine(msg, reason)

    @property
    def running(self) -> bool:
        return self._running

    def deliver(self, msg: TaskMessage, *, new_instance: bool = False) -> None:
        """Queue ``msg`` for its instance's session and make sure the session runs.

        ``new_instance``: the caller just created the instance, so it has no history to load.
        """
        iid = msg.instance_id
        if not self._running or not self.owns(iid):
            return  # its queue copy stays locked, then goes to whoever owns the partition
        session = self.sessions.get(iid)
        if session is None:
            session = self.sessions[iid] = Session(iid)
            if new_instance:
                session.loaded = True
        if msg.event_type == EXECUTION_STARTED:
            self._recent_terminal.pop(iid, None)
        session.add(msg)
        self.locks.hold(msg)
        if session.task is None or session.task.done():
            session.task = asyncio.create_task(self._run_session(session), name=f"session-{iid}")

    async def _run_session(self, session: Session) -> None:
        async with self._orchestration_slots:
            while session.inbox and self._running:
                batch = session.take()
                try:
                    if session.instance_id.startswith("@"):
                        await self.entity_runner.run_batch(session, batch)
                    else:
                        await self.runner.run_batch(session, batch)
                except asyncio.CancelledError:
                    raise
                except InvalidRequestError as err:  # an entity whose state storage refuses for good
                    session.forget()
                    reason = f"the host cannot store instance {session.instance_id!r}: {err}"
                    for msg in batch:
                        if msg.queue and msg.message_id and msg.pop_receipt:
                            self.quarantine(msg, reason)
                except Exception:
                    log.exception(
                        "instance %s: episode failed; its messages will be retried", session.instance_id
                    )
                    session.forget()
                    await self.abandon(batch)
                    if memory_only := [m for m in batch if not m.message_id]:
                        # Completions of activities run from memory exist nowhere else (their
                        # instance's anchor only brings them back after a crash): retry them here.
                        for msg in memory_only:
                            session.add(msg)
                        await asyncio.sleep(EPISODE_RETRY_SECONDS)
            # A finished instance needs no cached history; a late message reloads it.
            if (
                session.instance_id in self._recent_terminal
                and not session.inbox
                and self.sessions.get(session.instance_id) is session
            ):
                del self.sessions[session.instance_id]

    def orchestrator_handle(self, name: str) -> Callable[..., Any] | None:
        """The orchestrator's handle, traced (its episodes record the line they stop at)."""
        fn = self.registry.orchestrator(name)
        if fn is None:
            return None
        cached = self._traced.get(name)
        if cached is None or cached[0] is not fn.func:
            cached = (fn.func, traced(fn.func))
            self._traced[name] = cached
        return cached[1]

    def code_position(self, instance_id: str, history_length: int) -> CodePosition | None:
        """Where the instance's code stopped, when this host ran its last episode (else None)."""
        session = self.sessions.get(instance_id)
        position = session.position if session is not None else None
        return position if position is not None and position.history_length == history_length else None

    def activity_runs(self, instance_id: str) -> dict[int, ActivityRun]:
        """Task id -> the activities of ``instance_id`` executing on this host now."""
        return self.activities.runs_of(instance_id)

    def version_refusal(self, version: str | None) -> str | None:
        """Why this host leaves instances of ``version`` to other hosts (``None``: it runs them)."""
        versioning = self.options.versioning
        return versioning.mismatch(version) if versioning.rejects(version) else None

    # ------------------------------------------------------------------ sending
    async def send_outbound(
        self, state: OrchestrationState, result: EpisodeResult, *, anchor_room: int = 0
    ) -> Handover:
        """Put every outbound message of an episode on its queue (in parallel).

        ``anchor_room``: how many activities may run from memory without a work-item message of
        their own (the instance's anchor stands for them; engine/anchors.py).
        """
        handover = Handover()
        me, my_exec = state.instance_id, result.execution_id
        jobs: list[Coroutine[Any, Any, Any]] = []
        for out in result.messages:
            if isinstance(out, ScheduleActivity | CallHttp):
                anchored, anchor_room = anchor_room > 0, anchor_room - 1
                jobs.append(
                    self._send_activity(
                        state.instance_id,
                        result.execution_id,
                        out.event,
                        handover,
                        builtin_http=isinstance(out, CallHttp),
                        anchored=anchored,
                    )
                )
            elif isinstance(out, ScheduleTimer):
                jobs.append(self._send_timer(state, result, out, handover))
            elif isinstance(out, StartSubOrchestration):
                child_exec = execution_id_of(out.event)
                jobs.append(
                    self.send_event(
                        out.instance_id,
                        out.event,
                        handover,
                        execution_id=child_exec,
                        sender_instance_id=me,
                        sender_execution_id=my_exec,
                    )
                )
            elif isinstance(out, CompleteParent):
                jobs.append(
                    self.send_event(
                        out.parent_instance_id,
                        out.event,
                        handover,
                        execution_id=out.parent_execution_id,
                        sender_instance_id=me,
                        sender_execution_id=my_exec,
                    )
                )
            elif isinstance(out, EntityRequest):
                event = entity_request_event(out, self.now())
                delay = (out.scheduled_time - self.now()) if out.scheduled_time else None
                jobs.append(
                    self.send_event(
                        out.instance_id,
                        event,
                        handover,
                        delay=delay,
                        sender_instance_id=me,
                        sender_execution_id=my_exec,
                    )
                )
        if jobs:
            outcomes = await asyncio.gather(*jobs, return_exceptions=True)
            failed = next((o for o in outcomes if isinstance(o, BaseException)), None)
            if failed is not None:
                self.drop_handover(handover)
                raise failed
        return handover

    def anchor_in_doubt(self, instance_id: str) -> None:
        """A checkpoint that failed may have been written naming activities the instance's anchor
        does not stand for in memory, so the anchor can no longer be settled from memory (deleted
        once its known activities are done, or handed back by a stop): it is let go at once."""
        self.spawn(self.anchor_keeper.let_go(instance_id), f"anchor-{instance_id}")

    def drop_handover(self, handover: Handover) -> None:
        """An episode's checkpoint failed: give back the activity slots its hand-over reserved (its
        locked work items become visible when their locks end)."""
        self.activities.unreserve(len(handover.activities))
        handover.activities.clear()

    async def resend_activities(
        self, instance_id: str, execution_id: str, events: list[dict[str, Any]]
    ) -> None:
        """Put scheduled activities on the work-item queue again (their anchor came back: the host
        that ran them from memory died) and run them here."""
        handover = Handover()
        outcomes = await asyncio.gather(
            *(
                self._send_activity(
                    instance_id,
                    execution_id,
                    e,
                    handover,
                    builtin_http=str(e.get("Name")) == BUILTIN_HTTP_ACTIVITY,
                    anchored=False,
                )
                for e in events
            ),
            return_exceptions=True,
        )
        if failed := next((o for o in outcomes if isinstance(o, BaseException)), None):
            self.drop_handover(handover)  # what was put runs when its lock ends; the caller retries
            raise failed
        self.hand_over(handover)

    async def _send_activity(
        self,
        instance_id: str,
        execution_id: str,
        event: dict[str, Any],
        handover: Handover,
        *,
        builtin_http: bool,
        anchored: bool,
    ) -> None:
        msg = new_message(event, instance_id=instance_id, execution_id=execution_id)
        queue = self.hub.names.workitem_queue
        if not self.activities.reserve():
            # No free slot here now: visible on the shared queue, for the first host with one.
            await self.hub.send_message(msg, queue=queue)
            return
        if anchored:  # no message of its own: the instance's anchor stands for it
            handover.activities.append(WorkItem(msg, builtin_http=builtin_http, anchored=True))
            return
        try:
            await self.put_locked(msg, timedelta(seconds=self.options.lock_seconds), queue)
        except BaseException:
            self.activities.unreserve(1)
            raise
        handover.activities.append(WorkItem(msg, builtin_http=builtin_http))

    async def _send_timer(
        self, state: OrchestrationState, result: EpisodeResult, out: ScheduleTimer, handover: Handover
    ) -> None:
        msg = new_message(out.event, instance_id=state.instance_id, execution_id=result.execution_id)
        # Invisible until the fire time plus the lock: this host fires it from memory at the
        # exact time; another host only sees it if this one died.
        delay = max(out.fire_at - self.now(), timedelta(0)) + timedelta(seconds=self.options.lock_seconds)
        await self.put_locked(msg, delay)
        handover.timers.append((out.fire_at, msg))

    async def send_event(
        self,
        instance_id: str,
        event: dict[str, Any],
        handover: Handover | None = None,
        *,
        execution_id: str | None = None,
        delay: timedelta | None = None,
        sender_instance_id: str = "",
        sender_execution_id: str = "",
    ) -> TaskMessage:
        """Send ``event`` to an instance's control queue; hand it over in memory when this host owns it."""
        msg = new_message(
            event,
            instance_id=instance_id,
            execution_id=execution_id,
            sender_instance_id=sender_instance_id,
            sender_execution_id=sender_execution_id,
        )
        local = handover is not None and self.owns(instance_id) and self._running
        lock = timedelta(seconds=self.options.lock_seconds)
        if local and delay is not None and delay > timedelta(0):
            assert handover is not None
            await self.put_locked(msg, delay + lock)
            handover.timers.append((self.now() + delay, msg))
        elif local:
            assert handover is not None
            await self.put_locked(msg, lock)
            handover.local_messages.append(msg)
        else:
            await self.hub.send_message(msg, delay=delay)
        return msg

    def hand_over(self, handover: Handover) -> None:
        """After the checkpoint: start local activities, deliver local messages, arm timers."""
        for item in handover.activities:
            self.activities.submit(item)
        for msg in handover.local_messages:
            self.deliver(msg)
        for fire_at, msg in handover.timers:
            self._armed[id(msg)] = (fire_at, msg)
            self.call_at(fire_at, functools.partial(self._fire, msg))

    def _fire(self, msg: TaskMessage) -> None:
        self._armed.pop(id(msg), None)
        self.deliver(msg)

    async def _disarm(self) -> None:
        """Timers armed in memory: their queue copies become visible at their fire times."""
        armed, self._armed = list(self._armed.values()), {}

        async def one(fire_at: datetime, msg: TaskMessage) -> None:
            seconds = max(0, math.ceil((fire_at - self.now()).total_seconds()))
            with contextlib.suppress(Exception):  # at worst it shows at fire time + lock, as before
                await self.hub.renew_message(msg, seconds)

        await asyncio.gather(*(one(fire_at, msg) for fire_at, msg in armed))

    def call_at(self, when: datetime, callback: Callable[[], None]) -> None:
        """Run ``callback`` at ``when`` on the engine's clock (unless the engine stopped)."""
        handle: Cancellable

        def fire() -> None:
            self._timers.discard(handle)
            if self._running:
                callback()

        handle = self.clock.call_at(when, fire)
        self._timers.add(handle)

    # ------------------------------------------------------------------ settling
    async def settle(self, consumed: Iterable[TaskMessage], deferred: Iterable[TaskMessage]) -> None:
        """Delete consumed messages; make deferred ones visible again after a back-off."""
        jobs: list[Coroutine[Any, Any, Any]] = [
            self.delete(m) for m in consumed if m.message_id and m.pop_receipt
        ]
        jobs += [self._abandon(m, min(abandon_backoff(m.dequeue_count), 5)) for m in deferred]
        if jobs:
            await asyncio.gather(*jobs, return_exceptions=True)

    async def delete(self, msg: TaskMessage) -> None:
        """Delete a settled message (its lock is no longer renewed)."""
        await self.locks.release(msg)
        await self.hub.delete_message(msg)

    async def _abandon(self, msg: TaskMessage, seconds: int) -> None:
        if msg.message_id and msg.pop_receipt:
            await self.locks.release(msg)
            await self.hub.abandon_message(msg, timedelta(seconds=seconds))

    async def abandon(self, batch: Iterable[TaskMessage]) -> None:
        jobs = [self._abandon(m, abandon_backoff(m.dequeue_count)) for m in batch]
        if jobs:
            await asyncio.gather(*jobs, return_exceptions=True)

    def spawn(self, coro: Any, name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ------------------------------------------------------------------ completion waiters
    def notify_terminal(self, instance_id: str, status: OrchestrationStatus) -> None:
        self._recent_terminal[instance_id] = status
        self._recent_terminal.move_to_end(instance_id)
        while len(self._recent_terminal) > RECENT_TERMINAL_CAP:
            self._recent_terminal.popitem(last=False)
        for fut in self._waiters.pop(instance_id, []):
            if not fut.done():
                fut.set_result(status)

    async def wait_terminal(self, instance_id: str, timeout: float) -> OrchestrationStatus | None:
        """Wait until this host sees ``instance_id`` finish (``None`` on timeout).

        Returns at once when this host recently finished it (and has not started it again).
        """
        known = self._recent_terminal.get(instance_id)
        if known is not None:
            return known
        fut: asyncio.Future[OrchestrationStatus] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(instance_id, []).append(fut)
        try:
            return await asyncio.wait_for(fut, timeout)
        except TimeoutError:
            return None
        finally:
            waiters = self._waiters.get(instance_id)
            if waiters and fut in waiters:
                waiters.remove(fut)
