"""Data types of the replay core: instance state, options, outbound messages, episode result.

All plain dataclasses; the engine (``host/durable/engine/``: ``dispatcher.py`` sends the outbound
messages as queue messages, ``sessions.py`` checkpoints the episode result as history rows and an
Instances row).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from host.durable.entities.requests import RequestMessage
from host.durable.replay.history import Event, OrchestrationStatus
from host.durable.replay.source import SourceLine
from host.durable.replay.versioning import Versioning


@dataclass
class OrchestrationState:
    """What the engine keeps per instance: identity plus the current execution's history.

    Everything else (next sequence id, scheduled tasks, retry chains, pending events,
    parent link) is derived from ``history``. ``name``/``input_text``/``parent_instance_id``
    come from the ExecutionStarted once it is in history.
    """

    instance_id: str
    execution_id: str
    name: str
    input_text: str | None = None
    parent_instance_id: str | None = None
    history: list[Event] = field(default_factory=list)
    cache: dict[str, Any] = field(default_factory=dict)
    """Derived data kept between episodes for speed (validated against ``len(history)``)."""


@dataclass(frozen=True)
class ReplayOptions:
    """Knobs of the replay core."""

    max_short_timer: timedelta = timedelta(days=6)
    long_timer_interval: timedelta = timedelta(days=3)
    http_poll_interval_ms: int = 30000
    known_activities: Collection[str] | None = None
    """Registered activity names (lower-case); ``None`` disables the check."""
    known_orchestrators: Collection[str] | None = None
    """Registered orchestrator names (lower-case) for sub-orchestrations; ``None`` disables it."""
    max_episodes: int = 50
    """Upper bound of episodes one :func:`run_episode` call may run (retry events go one per episode)."""
    versioning: Versioning = field(default_factory=Versioning)
    """The host's ``defaultVersion`` (sub-orchestrations without a version get it) and which
    instance versions it runs."""


# ------------------------------------------------------------------------------ outbound messages


@dataclass(frozen=True)
class ScheduleActivity:
    """Run activity ``name``; answer with TaskCompleted/TaskFailed(``task_id``)."""

    task_id: int
    name: str
    input_text: str | None
    event: Event
    """The TaskScheduled event (what goes on the work-item queue)."""


@dataclass(frozen=True)
class ScheduleTimer:
    """Deliver ``event`` (a TimerFired) to this instance at ``fire_at`` (exact, not rounded)."""

    timer_id: int
    fire_at: datetime
    event: Event


@dataclass(frozen=True)
class StartSubOrchestration:
    """Start orchestration ``name`` as instance ``instance_id`` with ``event`` (its ExecutionStarted)."""

    task_id: int
    instance_id: str
    name: str
    input_text: str | None
    event: Event


@dataclass(frozen=True)
class EntityRequest:
    """Send ``request`` to entity ``instance_id`` (``@name@key``) as EventRaised ``event_name``."""

    instance_id: str
    request: RequestMessage
    event_name: str = "op"
    scheduled_time: datetime | None = None


@dataclass(frozen=True)
class CallHttp:
    """Run the built-in HTTP activity; answer with :func:`http_result` in TaskCompleted(``task_id``)."""

    task_id: int
    request: dict[str, Any]
    event: Event


@dataclass(frozen=True)
class CompleteParent:
    """Tell the parent orchestration that this sub-orchestration ended (``event`` is ready to send)."""

    parent_instance_id: str
    parent_execution_id: str | None
    task_id: int
    completed: bool
    result_text: str | None
    reason: str | None
    details: str | None
    event: Event


Outbound = (
    ScheduleActivity | ScheduleTimer | StartSubOrchestration | EntityRequest | CallHttp | CompleteParent
)


@dataclass
class EpisodeResult:
    """Everything one work item produced.

    ``history`` is the complete history afterwards. Normally it is the old history plus
    ``appended``; after continue-as-new ``rewritten`` is true and ``history`` is the new
    generation's history (``execution_id`` is then the new execution id).
    """

    instance_id: str
    execution_id: str
    history: list[Event]
    appended: list[Event]
    rewritten: bool = False
    messages: list[Outbound] = field(default_factory=list)
    status: OrchestrationStatus = OrchestrationStatus.Running
    output_text: str | None = None
    """JSON text of the output (Completed), the failure message (Failed) or the reason (Terminated)."""
    failure_details: dict[str, Any] | None = None
    failure: BaseException | None = field(default=None, repr=False, compare=False)
    """The exception the orchestrator raised (Failed by user code), for the console."""
    custom_status_text: str | None = None
    """JSON text of the custom status, ``None`` when unset."""
    input_text: str | None = None
    """The execution's input (changes after continue-as-new)."""
    continued_as_new: int = 0
    """How many times the instance continued as new in this work item."""
    deferred: list[Event] = field(default_factory=list)
    """Completions whose scheduling event is not in history yet: offer them again later."""
    dropped: list[Event] = field(default_factory=list)
    """Duplicates and events for a finished execution: delete them."""
    ran_code: bool = False
    """Whether user code ran (False for pure management episodes)."""
    source: SourceLine | None = None
    """Where the code is suspended after the last run (traced handles, unfinished instances)."""
    open_events: dict[str, int] = field(default_factory=dict)
    """External event names the code waits for after the last run, with how many waits."""
    rejected: str | None = None
    """Set when this host may not run the instance's version (``versionFailureStrategy`` Reject):
    why. Nothing was done; the engine leaves the messages for another host."""

    @property
    def is_terminal(self) -> bool:
        return self.status in (
            OrchestrationStatus.Completed,
            OrchestrationStatus.Failed,
            OrchestrationStatus.Terminated,
            OrchestrationStatus.Canceled,
        )
