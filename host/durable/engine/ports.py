"""What the engine offers its runners: the narrow interfaces sessions, entities and activities use.

The runners (``sessions``, ``entity_sessions``, ``activities``) take one of these protocols
instead of the whole :class:`~host.durable.engine.dispatcher.DurableEngine`, so they depend on
what they call (send, hand over, settle, now, options, the task hub) and the dispatcher is the
only module that knows them all.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from host.durable.engine.anchor_keeper import AnchorKeeper
    from host.durable.engine.anchors import Anchors
    from host.durable.engine.handover import Handover
    from host.durable.engine.later_deletes import LaterDeletes
    from host.durable.engine.locks import MessageLocks
    from host.durable.engine.options import EngineOptions
    from host.durable.engine.supervisor import PollerSupervisor
    from host.durable.replay.history import OrchestrationStatus
    from host.durable.replay.model import EpisodeResult, OrchestrationState, ReplayOptions
    from host.durable.taskhub.hub import TaskHub
    from host.durable.taskhub.messages import TaskMessage
    from host.indexing.registry import Registry
    from host.invocation import Invoker


class EngineCore(Protocol):
    """What every runner uses: the task hub, the app's functions, options, clock, sends, settles."""

    @property
    def hub(self) -> TaskHub: ...

    @property
    def registry(self) -> Registry: ...

    @property
    def options(self) -> EngineOptions: ...

    def now(self) -> datetime:
        """The engine's clock (virtual in tests)."""
        ...

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
        """Send an event to an instance's control queue (in memory too when given a hand-over)."""
        ...

    async def settle(self, consumed: Iterable[TaskMessage], deferred: Iterable[TaskMessage]) -> None:
        """Delete consumed messages; make deferred ones visible again after a back-off."""
        ...


class EntityEngine(EngineCore, Protocol):
    """What the entity runner uses: invocations of the entity function and the hand-over."""

    @property
    def invoker(self) -> Invoker: ...

    def hand_over(self, handover: Handover) -> None:
        """After the checkpoint: start the work this host does itself."""
        ...


class OrchestrationEngine(EngineCore, Protocol):
    """What the orchestration runner uses: replay, outbound sends, the hand-over, poison and waiters."""

    @property
    def replay_options(self) -> ReplayOptions: ...

    @property
    def invoker(self) -> Invoker:
        """Where episodes are counted as invocations of the orchestrator function."""
        ...

    def orchestrator_handle(self, name: str) -> Callable[..., Any] | None:
        """The app's orchestrator function called ``name`` (``None``: there is none)."""
        ...

    @property
    def anchors(self) -> Anchors: ...

    @property
    def later_deletes(self) -> LaterDeletes:
        """Checkpointed work items deleted off the critical path (engine/later_deletes.py)."""
        ...

    @property
    def control_queues(self) -> frozenset[str]: ...

    async def send_outbound(
        self, state: OrchestrationState, result: EpisodeResult, *, anchor_room: int = 0
    ) -> Handover:
        """Put every outbound message of an episode on its queue (``anchor_room`` activities may
        run from memory on the instance's anchor)."""
        ...

    async def resend_activities(
        self, instance_id: str, execution_id: str, events: list[dict[str, Any]]
    ) -> None:
        """Put scheduled activities on the work-item queue again and run them here."""
        ...

    def hand_over(self, handover: Handover) -> None:
        """After the checkpoint: start the work this host does itself."""
        ...

    def drop_handover(self, handover: Handover) -> None:
        """The checkpoint failed: give back what the hand-over reserved."""
        ...

    def anchor_in_doubt(self, instance_id: str) -> None:
        """A failed checkpoint may have named activities the instance's anchor does not stand for
        in memory: stop holding the anchor and make it visible (its receiver sends them again)."""
        ...

    async def quarantine_now(self, msg: TaskMessage, reason: str) -> bool:
        """Move a received message to the poison queue."""
        ...

    async def abandon(self, batch: Iterable[TaskMessage]) -> None:
        """Make messages visible again after DTFx's abandon back-off (work left for later or others)."""
        ...

    def notify_terminal(self, instance_id: str, status: OrchestrationStatus) -> None:
        """An instance ended: wake whoever waits for it."""
        ...


class ActivityEngine(EngineCore, Protocol):
    """What the activity worker uses: invocations, message locks, its poller, poison and delivery."""

    @property
    def worker_id(self) -> str:
        """This host's worker id (recorded on the completions of the activities it runs)."""
        ...

    @property
    def invoker(self) -> Invoker: ...

    @property
    def locks(self) -> MessageLocks: ...

    @property
    def pollers(self) -> PollerSupervisor: ...

    @property
    def running(self) -> bool: ...

    def owns(self, instance_id: str) -> bool:
        """Whether this host owns the instance's partition."""
        ...

    def deliver(self, msg: TaskMessage, *, new_instance: bool = False) -> None:
        """Queue a message for its instance's session on this host."""
        ...

    def quarantine(self, msg: TaskMessage, reason: str) -> None:
        """Move a received message to the poison queue in the background."""
        ...

    @property
    def anchor_keeper(self) -> AnchorKeeper:
        """Settles a completion sent (or an activity run from memory that could not complete)."""
        ...

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> None:
        """Run a background job the engine keeps track of."""
        ...


class AnchorHost(Protocol):
    """What the anchor keeper uses: the task hub, message locks, ownership and deletes."""

    @property
    def hub(self) -> TaskHub: ...

    @property
    def locks(self) -> MessageLocks: ...

    @property
    def running(self) -> bool: ...

    def owns(self, instance_id: str) -> bool:
        """Whether this host owns the instance's partition."""
        ...

    async def delete(self, msg: TaskMessage) -> None:
        """Delete a settled message (its lock is no longer renewed)."""
        ...
