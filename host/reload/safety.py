"""The replay-safety check of a reload: replay every unfinished instance's history against the new
code (the existing replay check, :func:`host.durable.app_check.check_history`) and report, per
diverging instance, both actions and the line of the user's file where the new code now yields.

Large hubs: at most :data:`SAMPLE` instances are replayed and the rest only counted (within
:data:`BUDGET_SECONDS`); the report says how many were not checked.
"""

from __future__ import annotations

import asyncio
import random
import sys
import time
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import CodeType, FrameType, GeneratorType
from typing import TYPE_CHECKING, Any

from host.durable.app_check import check_history
from host.durable.replay.actions import flatten
from host.durable.replay.source import suspended_at
from host.errors import HostError
from host.indexing.registry import Registry

if TYPE_CHECKING:
    from host.durable.management import Management

UNFINISHED = ("Pending", "Running", "Suspended", "ContinuedAsNew")
SAMPLE = 200
"""Most instances replayed per check (chosen at random when the hub holds more)."""
BUDGET_SECONDS = 5.0
"""Time for listing, reading and replaying; what is left when it runs out is counted as not checked."""
_PAGE = 500


@dataclass(frozen=True)
class InstanceDivergence:
    """One instance the new code no longer replays."""

    instance_id: str
    name: str
    position: int
    task_id: int
    history_index: int
    recorded: str
    """The action the history recorded (the old code)."""
    now: str
    """What the new code does there (``nothing`` when it no longer schedules anything)."""
    source: str | None = None
    """``file.py:LINE`` where the new code yields that action (``None``: it yields nothing there)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "instanceId": self.instance_id,
            "name": self.name,
            "position": self.position,
            "taskId": self.task_id,
            "historyIndex": self.history_index,
            "recorded": self.recorded,
            "now": self.now,
            "source": self.source,
        }

    def line(self) -> str:
        where = f" at {self.source}" if self.source else ""
        return (
            f"  {self.instance_id} ({self.name}): action #{self.position} was {self.recorded}, "
            f"the new code does {self.now}{where}"
        )


@dataclass
class SafetyReport:
    """The outcome of one check over a task hub."""

    checked: int = 0
    unchecked: int = 0
    divergences: list[InstanceDivergence] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    more: bool = False
    """Counting stopped at the time budget: there are more unchecked instances than counted."""

    @property
    def ok(self) -> bool:
        return not self.divergences

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "unchecked": self.unchecked,
            "uncheckedIsLowerBound": self.more,
            "divergences": [d.to_json() for d in self.divergences],
            "errors": self.errors,
        }

    def lines(self) -> list[str]:
        """What the console shows after a reload (nothing when there was nothing to check)."""
        out: list[str] = []
        if not (self.checked or self.unchecked or self.errors):
            return out
        if self.divergences:
            out.append(
                f"Replay check: the new code breaks {len(self.divergences)} of {self.checked} "
                "unfinished instance(s):"
            )
            out += [d.line() for d in self.divergences]
        else:
            out.append(f"Replay check: {self.checked} unfinished instance(s) replay on the new code")
        out += [f"  could not check: {e}" for e in self.errors]
        if self.unchecked:
            more = "+" if self.more else ""
            out.append(f"  {self.unchecked}{more} more unfinished instance(s) not checked (bounded sample)")
        return out


# --------------------------------------------------------------------- one instance


def _add_to_actions_code() -> CodeType:
    """The code of the SDK method that records each group of actions the orchestrator yields."""
    from azure.durable_functions.models.DurableOrchestrationContext import DurableOrchestrationContext

    code: CodeType = DurableOrchestrationContext._add_to_actions.__code__
    return code


class _YieldRecorder:
    """Where the orchestrator yielded each action group: the SDK adds a group right after the
    generator yields it, so at that call the (innermost) generator frame stands at the yield."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.groups: list[tuple[int, str | None]] = []
        """(number of flat actions, ``file:line``) per group, in order."""
        self._target = _add_to_actions_code()

    def __call__(self, frame: FrameType, event: str, arg: Any) -> None:
        if event != "call" or frame.f_code is not self._target:
            return
        action: Any = frame.f_locals.get("action_repr")
        items: list[Any] = action if isinstance(action, list) else [action]
        try:
            count = len(flatten([a.to_json() for a in items]))
        except AttributeError:  # not the SDK's Action objects: count it as one
            count = 1
        self.groups.append((count, self._where(frame.f_back)))

    def _where(self, caller: FrameType | None) -> str | None:
        # Added from user code (continue_as_new): the caller's line; else the SDK resumed the
        # generator (TaskOrchestrationExecutor.resume_user_code): where that generator stands.
        frame = caller
        while frame is not None:
            if Path(frame.f_code.co_filename).is_relative_to(self.root):
                return f"{Path(frame.f_code.co_filename).relative_to(self.root).as_posix()}:{frame.f_lineno}"
            frame = frame.f_back
        executor = caller.f_locals.get("self") if caller is not None else None
        generator = vars(executor).get("generator") if hasattr(executor, "__dict__") else None
        if not isinstance(generator, GeneratorType):
            return None
        line = suspended_at(generator)
        return str(line.relative_to(self.root)) if line is not None else None

    def source_of(self, position: int) -> str | None:
        """The yield line of the group holding flat action ``position``."""
        start = 0
        for count, where in self.groups:
            if position < start + count:
                return where
            start += count
        return None


@contextmanager
def _profiled(recorder: _YieldRecorder) -> Iterator[None]:
    previous = sys.getprofile()
    sys.setprofile(recorder)
    try:
        yield
    finally:
        sys.setprofile(previous)


def check_instance(
    registry: Registry, instance_id: str, name: str, events: list[dict[str, Any]], root: Path
) -> InstanceDivergence | None:
    """Replay one history against ``registry``; the divergence with its source line, or None."""
    recorder = _YieldRecorder(root.resolve())
    with _profiled(recorder):
        found = check_history(registry, events, name=name or None)
    if found is None:
        return None
    source = recorder.source_of(found.position) if found.actual != "nothing" else None
    return InstanceDivergence(
        instance_id,
        name,
        found.position,
        found.task_id,
        found.history_index,
        found.expected,
        found.actual,
        source,
    )


# --------------------------------------------------------------------- a whole hub


async def check_hub(
    management: Management,
    registry: Registry,
    root: Path,
    *,
    sample: int = SAMPLE,
    budget: float = BUDGET_SECONDS,
    orchestrators: Collection[str] | None = None,
) -> SafetyReport:
    """Replay a sample of the hub's unfinished instances against ``registry`` (bounded in time).

    ``orchestrators``: only instances of these (the app's, before and after the change); other
    apps' instances on a shared hub are not this app's to break.
    """
    mine = None if orchestrators is None else {n.lower() for n in orchestrators}
    deadline = time.monotonic() + budget
    report = SafetyReport()
    seen: list[tuple[str, str]] = []
    continuation: str | None = None
    while True:
        page, continuation = await management.query_instances(
            UNFINISHED, top=_PAGE, continuation=continuation, include_input_output=False
        )
        seen += [
            (s.instance_id, s.name or "") for s in page if mine is None or (s.name or "").lower() in mine
        ]
        if not continuation:
            break
        if time.monotonic() > deadline:
            report.more = True
            break
    chosen = seen if len(seen) <= sample else random.sample(seen, sample)
    for instance_id, name in chosen:
        if time.monotonic() > deadline:
            break
        try:
            events = await management.get_history(instance_id)
            found = await asyncio.to_thread(check_instance, registry, instance_id, name, events, root)
        except (HostError, OSError) as err:
            report.errors.append(f"{instance_id}: {err}")
            continue
        report.checked += 1
        if found is not None:
            report.divergences.append(found)
    report.unchecked = len(seen) - report.checked - len(report.errors)
    return report
