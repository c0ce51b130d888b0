"""An in-memory, virtual-time driver of the replay core (pure: no storage, no real clock).

Runs orchestrations with their real SDK handles through :func:`host.durable.replay.episode.run_episode`;
activities are plain Python callables run immediately, timers fire when virtual time reaches
them, sub-orchestrations and entity operations are delivered in memory. Meant for unit tests
of the replay core and as a building block for the testing toolkit.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from host.durable.entities.requests import response_message
from host.durable.replay import history as h
from host.durable.replay.completions import activity_failed, http_completed, unknown_activity_failed
from host.durable.replay.episode import run_episode
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
from host.durable.replay.orchestrator_call import OrchestratorHandle

T0 = datetime(2024, 1, 1, tzinfo=UTC)
HttpHandler = Callable[[dict[str, Any]], tuple[int, dict[str, str], str]]


@dataclass
class SimInstance:
    """One simulated instance: engine state, inbox and the latest result."""

    state: OrchestrationState
    inbox: list[h.Event] = field(default_factory=list)
    last: EpisodeResult | None = None
    status: h.OrchestrationStatus = h.OrchestrationStatus.Pending
    output_text: str | None = None
    custom_status_text: str | None = None
    results: list[EpisodeResult] = field(default_factory=list)


class Simulator:
    """Drive orchestrations to quiescence in virtual time."""

    def __init__(
        self,
        orchestrators: dict[str, OrchestratorHandle],
        activities: dict[str, Callable[..., Any]],
        entities: dict[str, Callable[[Any], str]] | None = None,
        http: HttpHandler | None = None,
        start: datetime = T0,
        options: ReplayOptions | None = None,
    ) -> None:
        self.orchestrators = {k.lower(): v for k, v in orchestrators.items()}
        self.activities = {k.lower(): v for k, v in activities.items()}
        self.entities = {k.lower(): v for k, v in (entities or {}).items()}
        self.http = http
        self.now = start
        self.options = options or ReplayOptions()
        self.instances: dict[str, SimInstance] = {}
        self.timers: list[tuple[datetime, int, str, h.Event]] = []
        self.entity_state: dict[str, tuple[bool, str | None]] = {}
        self.activity_calls: dict[str, int] = defaultdict(int)
        self._seq = 0

    # ------------------------------------------------------------------------ client operations
    def start(
        self, name: str, value: Any = None, instance_id: str | None = None, *, version: str | None = None
    ) -> str:
        """Start ``name`` with input ``value`` (encoded like the Python client does) as ``version``
        (default: the options' ``defaultVersion``)."""
        iid = instance_id or uuid.uuid4().hex
        stored = None if value is None else json.dumps(json.dumps(value))
        self._start(
            iid,
            name,
            h.execution_started(
                self.now,
                instance_id=iid,
                execution_id=uuid.uuid4().hex,
                name=name,
                input_text=stored,
                version=self.options.versioning.default_version if version is None else version,
            ),
        )
        return iid

    def _start(self, iid: str, name: str, started: h.Event) -> None:
        exec_id = started["OrchestrationInstance"]["ExecutionId"]
        inst = SimInstance(OrchestrationState(iid, exec_id, name))
        inst.inbox.append(started)
        self.instances[iid] = inst

    def raise_event(self, iid: str, name: str, value: Any) -> None:
        """Raise an event whose orchestrator-side value is ``value``."""
        self.send(iid, h.event_raised(self.now, name, json.dumps(value)))

    def send(self, iid: str, e: h.Event) -> None:
        """Put any event into an instance's inbox."""
        self.instances[iid].inbox.append(e)

    def terminate(self, iid: str, reason: str) -> None:
        self.send(iid, h.execution_terminated(self.now, reason))

    def suspend(self, iid: str, reason: str = "") -> None:
        self.send(iid, h.execution_suspended(self.now, reason))

    def resume(self, iid: str, reason: str = "") -> None:
        self.send(iid, h.execution_resumed(self.now, reason))

    # ------------------------------------------------------------------------------ running
    def episode(self, iid: str) -> EpisodeResult:
        """Run one work item for ``iid`` with everything in its inbox."""
        inst = self.instances[iid]
        batch, inst.inbox = inst.inbox, []
        handle = self.orchestrators.get(inst.state.name.lower())
        started = h.find_execution_started(inst.state.history) or next(
            (e for e in batch if h.etype(e) == h.EventType.ExecutionStarted), {}
        )
        if started:
            inst.state.name = str(started.get("Name") or inst.state.name)
            handle = self.orchestrators.get(inst.state.name.lower())
        res = run_episode(handle, inst.state, batch, self.now, self.options)
        inst.state.history = res.history
        inst.state.execution_id = res.execution_id
        inst.state.input_text = res.input_text
        inst.last, inst.status = res, res.status
        inst.output_text = res.output_text
        if res.custom_status_text is not None or res.ran_code:
            inst.custom_status_text = res.custom_status_text
        inst.results.append(res)
        inst.inbox[:0] = res.deferred
        for m in res.messages:
            self._carry_out(iid, m)
        return res

    def run(self, until: datetime | None = None, max_steps: int = 10_000) -> None:
        """Run episodes and fire timers (advancing virtual time) until nothing is left or ``until``."""
        for _ in range(max_steps):
            ready = [i for i, inst in self.instances.items() if inst.inbox and not self._stuck(inst)]
            if ready:
                self.episode(ready[0])
                continue
            if not self.timers:
                return
            self.timers.sort(key=lambda t: (t[0], t[1]))
            fire_at, _, iid, e = self.timers[0]
            if until is not None and fire_at > until:
                return
            self.timers.pop(0)
            self.now = max(self.now, fire_at)
            self.send(iid, e)
        raise RuntimeError("simulation did not settle")

    def _stuck(self, inst: SimInstance) -> bool:
        # an inbox holding only deferred events cannot make progress by itself
        last = inst.last
        return last is not None and bool(last.deferred) and inst.inbox == last.deferred

    # ------------------------------------------------------------------------------ messages
    def _carry_out(self, iid: str, m: object) -> None:
        if isinstance(m, ScheduleActivity):
            self.send(iid, self._run_activity(m))
        elif isinstance(m, ScheduleTimer):
            self._seq += 1
            self.timers.append((m.fire_at, self._seq, iid, m.event))
        elif isinstance(m, StartSubOrchestration):
            if m.instance_id in self.instances and self.instances[m.instance_id].inbox:
                self.instances[m.instance_id].inbox.append(m.event)
            else:
                self._start(m.instance_id, m.name, m.event)
        elif isinstance(m, CompleteParent):
            self.send(m.parent_instance_id, m.event)
        elif isinstance(m, EntityRequest):
            self._run_entity(m)
        elif isinstance(m, CallHttp):
            assert self.http is not None, "no HTTP handler given to the simulator"
            code, headers, content = self.http(m.request)
            self.send(iid, http_completed(self.now, m.task_id, code, headers, content))

    def _run_activity(self, m: ScheduleActivity) -> h.Event:
        fn = self.activities.get(m.name.lower())
        self.activity_calls[m.name] += 1
        if fn is None:
            return unknown_activity_failed(self.now, m.task_id, m.name)
        try:
            value = fn(None if m.input_text is None else json.loads(m.input_text))
        except Exception as exc:
            return activity_failed(self.now, m.task_id, m.name, exc)
        return h.task_completed(self.now, m.task_id, json.dumps(value))

    def _run_entity(self, m: EntityRequest) -> None:
        name, key = m.instance_id[1:].split("@", 1)
        exists, state = self.entity_state.get(m.instance_id, (False, None))
        batch = {
            "self": {"name": name, "key": key},
            "exists": exists,
            "state": state,
            "batch": [
                {
                    "name": m.request.operation,
                    "input": m.request.batch_input(),
                    "isSignal": m.request.is_signal,
                }
            ],
        }
        out = json.loads(self.entities[name](json.dumps(batch)))
        self.entity_state[m.instance_id] = (out["entityExists"], out["entityState"])
        r = out["results"][0]
        if not m.request.is_signal and m.request.parent_instance_id:
            self.send(
                m.request.parent_instance_id,
                h.event_raised(self.now, m.request.id, response_message(r["result"], r["isError"])),
            )

    # ------------------------------------------------------------------------------ queries
    def output(self, iid: str) -> Any:
        """The parsed output of a completed instance."""
        text = self.instances[iid].output_text
        return None if text is None else json.loads(text)
