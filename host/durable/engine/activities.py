"""Activity execution: work items from this host's episodes (in memory) and from the queue.

An episode hands over in memory only the activities this host can start at once: each takes one
of its free slots (:meth:`ActivityWorker.reserve`). The rest of a fan-out is put on the shared
work-item queue, visible, for whichever host of the hub has a free slot first (this one included).
The poller asks for its free slots plus as many work items as finished since its previous receive
(several receives at once past 32): short activities are not left waiting a round trip per batch
of slots, long ones are hardly held back from other hosts.

An activity's completion goes straight into its orchestration's session when this host owns
the orchestration's partition (the work-item message is deleted after that session's next
checkpoint); otherwise TaskCompleted/TaskFailed is sent to the control queue and the work item
deleted, as the provider does (docs/taskhub.md, "An activity").
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from azure.functions.durable_functions import ActivityTriggerConverter
from azure.functions.meta import Datum

from host.durable.engine.http_activity import BUILTIN_HTTP_ACTIVITY, run_durable_http
from host.durable.replay import history as h
from host.durable.replay.completions import activity_failed, unknown_activity_failed
from host.durable.replay.waiting import ActivityRun
from host.durable.taskhub.messages import TaskMessage
from host.durable.taskhub.poison import too_often_reason
from host.errors import StorageError
from host.failures import not_serializable
from host.invocation import RETURN

if TYPE_CHECKING:
    from host.durable.engine.ports import ActivityEngine

log = logging.getLogger("host.durable")

WORKITEMS = "workitems"
RECEIVE_BATCH = 32
"""The most work items one queue receive returns."""
MAX_RECEIVES = 4
"""Receives the poller sends at once when it wants more than one batch."""
TASK_SCHEDULED = int(h.EventType.TaskScheduled)


@dataclass
class WorkItem:
    """A TaskScheduled message to execute (locked on the work-item queue)."""

    message: TaskMessage
    builtin_http: bool = False
    anchored: bool = False
    """Run from memory without a queue message: the instance's anchor stands for it."""


def activity_input(event: dict[str, Any]) -> str | None:
    """The activity's input JSON text from TaskScheduled.Input (DTFx stores ``[input]``)."""
    raw = event.get("Input")
    if raw is None:
        return None
    try:
        parsed = json.loads(raw)
    except (TypeError, ValueError):
        return str(raw)
    if isinstance(parsed, list) and len(parsed) == 1 and isinstance(parsed[0], str):
        return parsed[0]
    return raw if isinstance(raw, str) else json.dumps(raw)


def encode_activity_result(value: Any) -> str:
    """The JSON text of an activity's return value; TypeError naming the type if it has none."""
    try:
        encoded = ActivityTriggerConverter.encode(value, expected_type=None)
    except (TypeError, ValueError):
        raise TypeError(not_serializable(type(value).__name__)) from None
    return str(encoded.value) if encoded is not None else "null"


class ActivityWorker:
    """Runs activities with at most ``max_concurrent_activities`` in flight."""

    def __init__(self, engine: ActivityEngine) -> None:
        self.engine = engine
        self.hub = engine.hub
        self.slots = asyncio.Semaphore(engine.options.max_concurrent_activities)
        self._in_flight = 0
        """Work items taken (reserved by an episode, waiting for a slot, running, completing)."""
        self._tasks: set[asyncio.Task[None]] = set()
        self._waiting: dict[asyncio.Task[None], TaskMessage] = {}
        """Submitted activities still waiting for a slot (handed back at once by a stop)."""
        self._finished = 0
        """Work items finished so far (for the poller's look-ahead)."""
        self._finished_at_receive = 0
        """``_finished`` when the poller last sent a receive."""
        self._received_last = 0
        """How many work items the poller's last receive brought."""
        self._queue_full = False
        """The last receive got all it asked for: more may wait (an idle poll sends one receive)."""
        self._wake = asyncio.Event()
        self._starved = False
        """True while the poller skips the queue because every slot is taken."""
        self._running = False
        self._runs: dict[tuple[str, int], ActivityRun] = {}
        """(instance id, task id) -> the activity executing on this host now."""

    def start(self) -> None:
        self._running = True
        self.engine.pollers.start(WORKITEMS, self._poll, WORKITEMS)

    def halt(self) -> None:
        """Stop taking work: the poller ends after its receive in flight (see :meth:`stop`)."""
        self._running = False
        self._wake.set()

    async def stop(self, timeout: float) -> None:
        """Running activities finish (bounded by ``timeout``); those still waiting for a slot are
        handed back at once (visible on the queue again, not after their lock runs out)."""
        self._running = False
        await self.engine.pollers.stop(WORKITEMS)
        waiting, self._waiting = self._waiting, {}
        for task in waiting:
            task.cancel()
        if waiting:
            await asyncio.gather(*waiting, return_exceptions=True)
            await self.engine.locks.unlock(waiting.values())
        if self._tasks:
            _done, pending = await asyncio.wait(list(self._tasks), timeout=timeout)
            for task in pending:
                task.cancel()

    def running(self) -> list[asyncio.Task[None]]:
        """The activities being executed (or waiting for a slot) right now."""
        return [t for t in self._tasks if not t.done()]

    def runs_of(self, instance_id: str) -> dict[int, ActivityRun]:
        """Task id -> run of the activities of ``instance_id`` executing on this host now."""
        return {tid: run for (iid, tid), run in self._runs.items() if iid == instance_id}

    def wake(self) -> None:
        self._wake.set()

    def reserve(self) -> bool:
        """Take a free slot for a work item an episode is about to hand over in memory.

        ``False`` when none is free now (or the worker stopped): the work item goes on the shared
        queue instead, visible to every host. A reservation ends in :meth:`submit` or :meth:`unreserve`.
        """
        if not self._running or self._in_flight >= self.engine.options.max_concurrent_activities:
            return False
        self._in_flight += 1
        return True

    def unreserve(self, count: int) -> None:
        """Give back slots reserved for work items that will not be handed over."""
        self._in_flight -= count
        self._slot_freed()

    def submit(self, item: WorkItem) -> None:
        """Run a work item whose slot :meth:`reserve` took."""
        # Locked from now until its completion is checkpointed (or sent on): while it waits for a
        # slot, runs, and while its completion waits for the orchestration's session.
        self.engine.locks.hold(item.message)
        task = asyncio.create_task(self._run(item), name=f"activity-{item.message.event.get('Name')}")
        self._tasks.add(task)
        self._waiting[task] = item.message
        task.add_done_callback(self._tasks.discard)

    async def _poll(self) -> None:
        opts = self.engine.options
        delay = opts.min_poll_interval
        while self._running:
            # Ask for more than the free slots: as many as finished since the last receive, twice
            # that when all the last receive brought has finished already. Short activities then get
            # ever larger batches instead of a round trip per batch of slots (a receive costs the
            # same for 6 messages as for 32); long ones (a few finish per receive, the rest wait for
            # a slot) are hardly held back from other hosts.
            lookahead = self._finished - self._finished_at_receive
            if lookahead >= self._received_last > 0:
                lookahead *= 2
            lookahead = min(lookahead, RECEIVE_BATCH * MAX_RECEIVES)
            free = opts.max_concurrent_activities + lookahead - self._in_flight
            msgs: list[TaskMessage] = []
            self._starved = free <= 0
            if free > 0:
                self._finished_at_receive = self._finished
                msgs, failure = await self._receive(free)
                self._received_last = len(msgs)
                if failure is not None:
                    log.warning("work-item queue: %s", failure)
                    delay = opts.max_poll_interval
            if msgs and not self._running:  # received while stopping: visible again at once
                await self.engine.locks.unlock(msgs)
                return
            for m in msgs:
                self._admit(m)
            if msgs:
                delay = opts.min_poll_interval
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=delay)
            if self._wake.is_set():
                self._wake.clear()
                delay = opts.min_poll_interval
            else:
                delay = min(delay * 2, opts.max_poll_interval)

    async def _receive(self, wanted: int) -> tuple[list[TaskMessage], StorageError | None]:
        """Up to ``wanted`` work items (several receives at once past one batch, when the last
        receive got all it asked for), and the storage error of a receive that failed. Any other
        error is a bug: the supervisor restarts the poller (what the other receives got becomes
        visible when its lock ends)."""
        wanted = min(wanted, RECEIVE_BATCH * (MAX_RECEIVES if self._queue_full else 1))
        sizes = [min(RECEIVE_BATCH, wanted - n) for n in range(0, wanted, RECEIVE_BATCH)]
        visibility = self.engine.options.lock_seconds
        outcomes = await asyncio.gather(
            *(self.hub.receive_workitem(size, visibility=visibility) for size in sizes),
            return_exceptions=True,
        )
        msgs: list[TaskMessage] = []
        failure: StorageError | None = None
        for outcome in outcomes:
            if isinstance(outcome, StorageError):
                failure = outcome
            elif isinstance(outcome, BaseException):
                raise outcome
            else:
                msgs.extend(outcome)
        self._queue_full = len(msgs) == wanted
        return msgs, failure

    def _admit(self, msg: TaskMessage) -> None:
        """Run a received work item, or quarantine it when it can never be processed."""
        limit = self.engine.options.max_dequeue_count
        if msg.event_type != TASK_SCHEDULED:
            self.engine.quarantine(msg, f"a work item must be a TaskScheduled event, not {msg.event_type}")
        elif msg.dequeue_count > limit:
            self.engine.spawn(
                self._give_up(msg, too_often_reason(msg.dequeue_count, limit)),
                name=f"poison-{msg.message_id}",
            )
        else:
            self._in_flight += 1
            self.submit(WorkItem(msg, builtin_http=str(msg.event.get("Name")) == BUILTIN_HTTP_ACTIVITY))

    async def _give_up(self, msg: TaskMessage, reason: str) -> None:
        """Fail the activity for its orchestration (so it does not wait for ever), then quarantine it."""
        name = str(msg.event.get("Name") or "")
        text = f"Activity function '{name}' was not run: its work item was {reason}"
        failed = h.task_failed(
            self.engine.now(),
            int(msg.event.get("EventId", -1)),
            text,
            "",
            h.failure_details("PoisonMessage", text),
        )
        await self.engine.send_event(msg.instance_id, failed, execution_id=msg.execution_id)
        await self.hub.quarantine(msg, reason)

    async def _run(self, item: WorkItem) -> None:
        key = (item.message.instance_id, int(item.message.event.get("EventId", -1)))
        try:
            async with self.slots:
                if self._waiting.pop(asyncio.current_task(), None) is None and not self._running:  # type: ignore[arg-type]
                    raise asyncio.CancelledError  # a stop handed it back meanwhile: do not run it
                self._runs[key] = ActivityRun(self.engine.worker_id, self.engine.now())
                try:
                    completion = await self._execute(item)
                finally:
                    self._runs.pop(key, None)
            completion[h.EXECUTED_BY] = self.engine.worker_id
            await self._complete(item.message, completion)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception(
                "activity work item %s could not be completed; it will be retried", item.message.message_id
            )
            self.engine.locks.drop([item.message])
            if item.anchored:
                await self.engine.anchor_keeper.let_go(item.message.instance_id)
        finally:
            self._in_flight -= 1
            self._finished += 1
            self._slot_freed()

    def _slot_freed(self) -> None:
        if self._starved:  # the poller waits for a free slot: there is one now
            self._wake.set()

    async def _execute(self, item: WorkItem) -> h.Event:
        event = item.message.event
        task_id = int(event.get("EventId", -1))
        name = str(event.get("Name") or "")
        now = self.engine.now
        if item.builtin_http:
            return await run_durable_http(now, task_id, activity_input(event))
        fn = self.engine.registry.activity(name)
        if fn is None:
            return unknown_activity_failed(now(), task_id, name)
        text = activity_input(event)
        try:
            value = ActivityTriggerConverter.decode(
                Datum(text if text is not None else "null", "string"), trigger_metadata=None
            )
            result = await self.engine.invoker.invoke(
                fn, value, reason="ActivityTrigger", encode_return=encode_activity_result
            )
            return h.task_completed(now(), task_id, result.outputs[RETURN])
        except Exception as exc:
            return activity_failed(now(), task_id, fn.name, exc)

    async def _complete(self, workitem: TaskMessage, completion: h.Event) -> None:
        engine = self.engine
        target = workitem.instance_id
        if engine.running and engine.owns(target):
            # Straight into the session (which takes over the work item's lock); the work item is
            # deleted after the session's checkpoint.
            local = TaskMessage(
                event=completion,
                instance_id=target,
                execution_id=workitem.execution_id,
                queue=workitem.queue,
                message_id=workitem.message_id,
                pop_receipt=workitem.pop_receipt,
                dequeue_count=workitem.dequeue_count,
                inserted_on=engine.now(),
            )
            engine.deliver(local)
            return
        await engine.send_event(target, completion, execution_id=workitem.execution_id)
        await engine.anchor_keeper.completion_sent(workitem)
