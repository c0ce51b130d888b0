"""One orchestration work item: replay the SDK handle and decide what to do next (pure).

``run_episode(handle, state, new_events, now, options)`` takes the instance's current history
(``state.history``) and the batch of new events from the control queue, and returns an
:class:`~host.durable.replay.model.EpisodeResult`: the history events to append, the outbound
messages, the new status/output/custom status, and which events to defer or drop. It touches
no storage and no clock; the dispatcher persists and sends what it returns.

Rules (docs/protocol.md, "Orchestrator episodes"):

* Every episode appends ``OrchestratorStarted``, the accepted new events, the decision events
  of the new actions, terminal events, ``OrchestratorCompleted``.
* Duplicate completions are dropped; completions whose scheduling event is not in history
  (and entity responses to unknown requests) are returned in ``deferred``.
* A retry-relevant event (failure of a with-retry attempt, firing of a retry timer) goes first
  in its episode and at most one per episode; its hidden id is allocated before the new
  actions' ids. Further retry events run in further episodes of the same call.
* External events are only handed to the SDK when a waiter for that name is open, oldest
  first; others are stored as pending ``GenericEvent`` (see :mod:`host.durable.replay.ledger`) and
  delivered later. This gives FIFO buffering per name, which the SDK alone does not.
* Suspended instances store new events as pending and run no code; ``ExecutionResumed``
  releases them. ``ExecutionTerminated`` ends the instance without running code.
* ``continue_as_new`` is handled in the same call: the result's ``history`` is the new
  generation (``rewritten``), whose first episode already ran with the unconsumed external
  events carried over.
* A rewound history (failure events turned into ``GenericEvent``) simply replays: the ids of
  the failed tasks count as scheduled but not completed; re-issuing them is the caller's job
  (:func:`host.durable.replay.rewind.rewind_history`).
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from typing import Any

from host.durable.entities.from_orchestrations import looks_like_response
from host.durable.replay import history as h
from host.durable.replay.actions import ActionType, atype
from host.durable.replay.decisions import (
    Decisions,
    Identity,
    decide,
    derived_execution_id,
    retry_attempt,
    retry_timer,
)
from host.durable.replay.ledger import Divergence, Scan, is_retry_event, pending_marker, reconcile, scan
from host.durable.replay.model import (
    CompleteParent,
    EpisodeResult,
    OrchestrationState,
    ReplayOptions,
)
from host.durable.replay.orchestrator_call import (
    OrchestratorHandle,
    SdkOutcome,
    build_context_json,
    call_orchestrator,
)
from host.durable.replay.versioning import FailureStrategy

_MANAGEMENT = frozenset({h.EventType.ExecutionSuspended, h.EventType.ExecutionResumed})
_MAX_RUNS_PER_EPISODE = 8


def run_episode(
    handle: OrchestratorHandle | None,
    state: OrchestrationState,
    new_events: list[h.Event],
    now: datetime,
    options: ReplayOptions | None = None,
) -> EpisodeResult:
    """Process ``new_events`` for ``state`` at time ``now`` (see the module docstring)."""
    opts = options or ReplayOptions()
    work = _Work(handle, state, now, opts)
    work.process(list(new_events))
    return work.result


class _Work:
    """The state of one work item while it is being built."""

    def __init__(
        self, handle: OrchestratorHandle | None, state: OrchestrationState, now: datetime, opts: ReplayOptions
    ) -> None:
        self.handle, self.state, self.now, self.opts = handle, state, now, opts
        self.history = list(state.history)
        self.appended: list[h.Event] = []
        self.result = EpisodeResult(
            state.instance_id, state.execution_id, self.history, self.appended, input_text=state.input_text
        )
        self.result.status = h.runtime_status(self.history)
        self.episodes = 0

    # ------------------------------------------------------------------------------ entry
    def process(self, events: list[h.Event]) -> None:
        r = self.result
        if r.is_terminal:
            last = h.find_terminal(self.history) or {}
            r.output_text, r.failure_details = last.get("Result"), last.get("FailureDetails")
            r.dropped.extend(events)
            return
        started = h.find_execution_started(self.history)
        if started is None:
            starts = [e for e in events if h.etype(e) == h.EventType.ExecutionStarted]
            if not starts:
                r.deferred.extend(events)
                return
            started = starts[0]
            events = [e for e in events if e is not started]
            self._adopt_start(started)
            fresh_start: h.Event | None = started
        else:
            fresh_start = None
        refusal = self.opts.versioning.mismatch(str(started.get("Version") or ""))
        if refusal is not None:
            self._refuse_version(refusal, fresh_start, events)
            return
        dups = [e for e in events if h.etype(e) == h.EventType.ExecutionStarted]
        r.dropped.extend(dups)
        events = [e for e in events if h.etype(e) != h.EventType.ExecutionStarted]
        term: h.Event | None = next(
            (e for e in events if h.etype(e) == h.EventType.ExecutionTerminated), None
        )
        if term is not None:
            r.dropped.extend(e for e in events if e is not term)
            self._terminate(fresh_start, term)
            return
        self._episodes(fresh_start, events)

    def _refuse_version(self, refusal: str, fresh_start: h.Event | None, events: list[h.Event]) -> None:
        """This host may not run the instance's version: leave it (Reject) or fail it (Fail)."""
        r = self.result
        if self.opts.versioning.failure is FailureStrategy.REJECT:
            r.rejected = refusal
            r.deferred.extend([*([fresh_start] if fresh_start else []), *events])
            return
        head = [h.orchestrator_started(self.now)] + ([fresh_start] if fresh_start else [])
        self._append(head)
        r.dropped.extend(events)
        self._fail(refusal, None, Decisions(), plain=True, error_type="VersionMismatch")

    def _adopt_start(self, started: h.Event) -> None:
        execution_id = h.execution_id_of(started)
        if execution_id:
            self.state.execution_id = self.result.execution_id = str(execution_id)
        self.state.name = str(started.get("Name") or self.state.name)
        self.state.input_text = self.result.input_text = started.get("Input")
        self.state.parent_instance_id = h.parent_instance_id(started)

    # ------------------------------------------------------------------------------ helpers
    def _append(self, events: list[h.Event]) -> None:
        self.history.extend(events)
        self.appended.extend(events)

    def _identity(self) -> Identity:
        started = h.find_execution_started(self.history) or {}
        return Identity(
            self.state.instance_id,
            self.result.execution_id,
            self.state.name,
            str(started.get("Version") or ""),
        )

    def _terminate(self, fresh_start: h.Event | None, term: h.Event) -> None:
        reason = term.get("Input")
        head = [h.orchestrator_started(self.now)] + ([fresh_start] if fresh_start else [])
        self._append(
            [
                *head,
                term,
                h.execution_completed(self.now, h.OrchestrationStatus.Terminated, reason),
                h.orchestrator_completed(self.now),
            ]
        )
        self.result.status = h.OrchestrationStatus.Terminated
        self.result.output_text = reason
        self._notify_parent(completed=False, result_text=None, reason=reason or "", details="")

    def _notify_parent(
        self, *, completed: bool, result_text: str | None, reason: str | None, details: str | None
    ) -> None:
        started = h.find_execution_started(self.history)
        parent = (started or {}).get("ParentInstance")
        if not parent:
            return
        tid = int(parent.get("TaskScheduleId", -1))
        ev = (
            h.sub_orchestration_completed(self.now, tid, result_text)
            if completed
            else h.sub_orchestration_failed(self.now, tid, reason or "", details or "")
        )
        self.result.messages.append(
            CompleteParent(
                str(h.instance_id_of(parent)),
                h.execution_id_of(parent),
                tid,
                completed,
                result_text,
                reason,
                details,
                ev,
            )
        )

    # ------------------------------------------------------------------------------ episodes
    def _episodes(self, fresh_start: h.Event | None, events: list[h.Event]) -> None:
        r = self.result
        fresh = events
        while True:
            self.episodes += 1
            fresh = self._one_episode(fresh_start, fresh)
            fresh_start = None
            if r.is_terminal or r.status == h.OrchestrationStatus.ContinuedAsNew or r.rewritten:
                r.dropped.extend(fresh)
                return
            if not fresh:
                return
            if self.episodes >= self.opts.max_episodes:
                r.deferred.extend(fresh)
                return

    def _one_episode(self, fresh_start: h.Event | None, fresh: list[h.Event]) -> list[h.Event]:
        """Run one episode; returns fresh events left for the next one (postponed retry events)."""
        sc = scan(self.history)
        head: list[h.Event] = [h.orchestrator_started(self.now)] + ([fresh_start] if fresh_start else [])
        mgmt = [e for e in fresh if h.etype(e) in _MANAGEMENT]
        others = [e for e in fresh if h.etype(e) not in _MANAGEMENT]
        suspended = h.is_suspended(self.history)
        for e in mgmt:
            suspended = h.etype(e) == h.EventType.ExecutionSuspended
        if suspended:
            markers = [h.generic_event(self.now, pending_marker("suspended", e)) for e in others]
            self._append([*head, *mgmt, *markers, h.orchestrator_completed(self.now)])
            self.result.status = h.OrchestrationStatus.Suspended
            return []
        if self.handle is None:
            self._append([*head, *mgmt])
            self._fail(
                f"The orchestrator function '{self.state.name}' doesn't exist, is disabled, or is "
                "not an orchestrator function.",
                None,
                Decisions(),
            )
            return []
        completions, externals, leftover = self._classify(sc, sc.pending + others, others)
        return self._run(sc, head + mgmt, completions, externals, leftover)

    def _classify(
        self, sc: Scan, candidates: list[h.Event], fresh: list[h.Event]
    ) -> tuple[list[h.Event], list[h.Event], list[h.Event]]:
        """Split candidates into deliverable completions and external events; defer/drop the rest."""
        completions: list[h.Event] = []
        externals: list[h.Event] = []
        seen: set[int] = set()
        fresh_ids = {id(e) for e in fresh}
        for e in candidates:
            tid = h.completion_id(e)
            if sc.is_duplicate(e) or (tid is not None and tid in seen):
                if id(e) in fresh_ids:
                    self.result.dropped.append(e)
            elif sc.is_early(e) or (
                h.etype(e) == h.EventType.EventRaised
                and not sc.is_response(e)
                and looks_like_response(str(e.get("Name")), e.get("Input"))
            ):
                if id(e) in fresh_ids:
                    self.result.deferred.append(e)
            elif tid is not None or sc.is_response(e):
                if tid is not None:
                    seen.add(tid)
                completions.append(e)
            elif h.etype(e) == h.EventType.EventRaised:
                externals.append(e)
            else:
                completions.append(e)  # other event types are recorded as they come
        return completions, externals, []

    def _run(
        self,
        sc: Scan,
        head: list[h.Event],
        completions: list[h.Event],
        externals: list[h.Event],
        leftover: list[h.Event],
    ) -> list[h.Event]:
        cached = self.state.cache.get("waiters") if self.state.cache.get("len") == len(self.history) else None
        waiters: Counter[str] = Counter(cached or {})
        deliver = _pick(externals, waiters)
        batch_completions, postponed = completions, []
        outcome = SdkOutcome()
        rec = None
        for _ in range(_MAX_RUNS_PER_EPISODE):
            batch = batch_completions + deliver
            outcome = self._call(head + batch)
            flat = outcome.flat_actions
            rec = reconcile(self.history, flat)
            ordered, later = _order_for_retries(completions, rec.chains)
            waits = open_waiters(flat, sc, deliver)
            over = [n for n, c in waits.items() if c < 0]
            want = [e for e in deliver if e.get("Name") not in over]
            want += _pick(
                [e for e in externals if all(e is not d for d in want)],
                Counter({n: c for n, c in waits.items() if c > 0}),
            )
            postponed = later
            if _same(ordered, batch_completions) and _same(want, deliver):
                break
            batch_completions, deliver = ordered, want
        assert rec is not None
        self._commit(sc, head, batch_completions + deliver, externals, outcome, rec)
        return postponed + leftover

    def _call(self, new: list[h.Event]) -> SdkOutcome:
        assert self.handle is not None
        ctx = build_context_json(
            self.history + new,
            instance_id=self.state.instance_id,
            input_text=self.state.input_text,
            parent_instance_id=self.state.parent_instance_id,
            options=self.opts,
        )
        self.result.ran_code = True
        return call_orchestrator(self.handle, ctx)

    # ------------------------------------------------------------------------------ commit
    def _commit(
        self,
        sc: Scan,
        head: list[h.Event],
        batch: list[h.Event],
        externals: list[h.Event],
        outcome: SdkOutcome,
        rec: object,
    ) -> None:
        from host.durable.replay.ledger import Reconciled

        assert isinstance(rec, Reconciled)
        pending_ids = {id(e) for e in sc.pending}
        delivered = {id(e) for e in batch}
        markers = [
            h.generic_event(self.now, pending_marker("buffered", e))
            for e in externals
            if id(e) not in delivered and id(e) not in pending_ids
        ]
        self._append([*head, *batch, *markers])
        out = Decisions(history=self.history)
        who = self._identity()
        next_id = sc.next_id
        if batch and h.completion_id(batch[0]) is not None and is_retry_event(rec.chains, batch[0]):
            chain = rec.chains[h.completion_id(batch[0]) or 0]
            if h.etype(batch[0]) == h.EventType.TimerFired:
                retry_attempt(chain.action, next_id, who, self.now, self.opts.versioning.default_version, out)
            else:
                retry_timer(next_id, chain.interval_ms, self.now, out)
            next_id += 1
        flat = outcome.flat_actions
        can = None
        if rec.divergence is None:
            for pos in rec.new_positions:
                a = flat[pos]
                if atype(a) == ActionType.ContinueAsNew:
                    can = a
                else:
                    decide(a, next_id, who, self.now, self.opts, out)
                next_id += 1
        self._append(out.events)
        self.result.messages.extend(out.messages)
        custom = outcome.state.get("customStatus")
        self.result.custom_status_text = None if custom is None else json.dumps(custom)
        self.result.open_events = self._remember_waiters(flat, sc, batch)
        self.result.source = outcome.source
        if rec.divergence is not None:
            self._fail(_divergence_text(rec.divergence), None, out, plain=True)
        elif outcome.error is not None or out.error is not None:
            self._fail(outcome.error or out.error or "", outcome.details, out)
            self.result.failure = outcome.exception
        elif outcome.is_done and can is not None:
            self._append([h.orchestrator_completed(self.now)])
            self._continue_as_new(can.get("input"), externals, delivered)
        elif outcome.is_done:
            text = json.dumps(outcome.state.get("output"))
            self._append(
                [
                    h.execution_completed(self.now, h.OrchestrationStatus.Completed, text),
                    h.orchestrator_completed(self.now),
                ]
            )
            self.result.status, self.result.output_text = h.OrchestrationStatus.Completed, text
            self._notify_parent(completed=True, result_text=text, reason=None, details=None)
        else:
            self._append([h.orchestrator_completed(self.now)])
            self.result.status = h.OrchestrationStatus.Running

    def _remember_waiters(self, flat: list[dict[str, Any]], sc: Scan, batch: list[h.Event]) -> dict[str, int]:
        delivered = [e for e in batch if h.etype(e) == h.EventType.EventRaised and not sc.is_response(e)]
        waiters = {n: c for n, c in open_waiters(flat, sc, delivered).items() if c > 0}
        self.state.cache.update({"len": len(self.history) + 1, "waiters": waiters})
        return dict(waiters)

    def _fail(
        self,
        message: str,
        details: str | None,
        out: Decisions,
        plain: bool = False,
        error_type: str = "OrchestrationFailure",
    ) -> None:
        text = message if plain else f"Orchestrator function '{self.state.name}' failed: {message}"
        fd = h.failure_details(error_type, text, details)
        self._append(
            [
                h.execution_completed(self.now, h.OrchestrationStatus.Failed, text, fd),
                h.orchestrator_completed(self.now),
            ]
        )
        self.result.status, self.result.output_text, self.result.failure_details = (
            h.OrchestrationStatus.Failed,
            text,
            fd,
        )
        self._notify_parent(
            completed=False,
            result_text=None,
            reason=text,
            details=f"Message: {message}, StackTrace: {details or ''}",
        )

    def _continue_as_new(self, input_text: str | None, externals: list[h.Event], delivered: set[int]) -> None:
        r = self.result
        carried = [e for e in externals if id(e) not in delivered]
        old_custom = r.custom_status_text
        stored_input = None if input_text is None else json.dumps(input_text)
        old = h.find_execution_started(self.history) or {}
        new_exec = derived_execution_id(self.state.instance_id, r.execution_id, "continue-as-new")
        started = h.execution_started(
            self.now,
            instance_id=self.state.instance_id,
            execution_id=new_exec,
            name=self.state.name,
            input_text=stored_input,
            version=str(old.get("Version") or ""),
            parent=old.get("ParentInstance"),
            generation=int(old.get("Generation") or 0) + 1,
        )
        r.continued_as_new += 1
        r.status = h.OrchestrationStatus.ContinuedAsNew
        if r.continued_as_new > self.opts.max_episodes:
            r.rewritten, r.history, r.appended = True, [], []
            r.deferred.extend([started, *carried])
            return
        nxt = OrchestrationState(
            self.state.instance_id, new_exec, self.state.name, stored_input, self.state.parent_instance_id, []
        )
        sub = _Work(self.handle, nxt, self.now, self.opts)
        sub.result.continued_as_new = r.continued_as_new
        sub.process([started, *carried])
        s = sub.result
        self.state.cache.clear()
        s.messages[:0] = r.messages
        s.dropped[:0] = r.dropped
        s.deferred[:0] = r.deferred
        s.rewritten = True
        s.appended = list(s.history)
        if s.custom_status_text is None:
            s.custom_status_text = old_custom
        s.ran_code = True
        self.result = s


def _pick(externals: list[h.Event], waiters: Counter[str]) -> list[h.Event]:
    """Oldest external events first, at most ``waiters[name]`` per name."""
    left = Counter(waiters)
    out = []
    for e in externals:
        n = str(e.get("Name"))
        if left[n] > 0:
            left[n] -= 1
            out.append(e)
    return out


def open_waiters(flat: list[dict[str, Any]], sc: Scan, delivered: list[h.Event]) -> Counter[str]:
    """External event names the actions wait for beyond what history and ``delivered`` gave them."""
    waits = Counter(
        str(a.get("externalEventName")) for a in flat if atype(a) == ActionType.WaitForExternalEvent
    )
    waits.subtract(sc.raised)
    waits.subtract(Counter(str(e.get("Name")) for e in delivered))
    return waits


def _order_for_retries(
    completions: list[h.Event], chains: dict[int, Any]
) -> tuple[list[h.Event], list[h.Event]]:
    """At most one retry-relevant event, placed first; the other ones wait for later episodes."""
    retry = [e for e in completions if is_retry_event(chains, e)]
    if not retry:
        return completions, []
    retry_ids = {id(e) for e in retry}
    return [retry[0]] + [e for e in completions if id(e) not in retry_ids], retry[1:]


def _same(a: list[h.Event], b: list[h.Event]) -> bool:
    return len(a) == len(b) and all(x is y for x, y in zip(a, b, strict=True))


def _divergence_text(d: Divergence) -> str:
    return d.message
