"""Accepting requests that arrive on an entity's control queue into its scheduler state (pure).

The dispatcher hands over the ``EventRaised`` events of one dequeued batch (name, input) in
queue order. Each request is de-duplicated by id (recently executed, queued, or buffered),
put in per-sender order by the sorter, and appended to the state's queue. A scheduled signal
(``op@<time>``) whose due time is still in the future is *not* queued: it comes back in
``deferred`` and the dispatcher re-sends it to the entity with a delayed visibility.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from host.durable.entities.requests import EntityMessageError, RequestMessage, parse_entity_event
from host.durable.entities.sorter import REORDER_WINDOW_TICKS
from host.durable.entities.state import SchedulerState
from host.durable.entities.ticks import ticks_from_datetime

log = logging.getLogger("host.durable.entities")


@dataclass
class InboxResult:
    """What became of the incoming events."""

    accepted: list[RequestMessage] = field(default_factory=list)
    """Requests appended to the queue, in the order they will run."""
    duplicates: list[RequestMessage] = field(default_factory=list)
    deferred: list[RequestMessage] = field(default_factory=list)
    """Scheduled requests that arrived before their due time: re-send them delayed."""
    ignored: list[str] = field(default_factory=list)
    """Names of events that are not entity messages (or were malformed)."""


def receive_events(
    state: SchedulerState,
    events: Iterable[tuple[str, str | None]],
    now: datetime,
    *,
    reorder_window_ticks: int = REORDER_WINDOW_TICKS,
) -> InboxResult:
    """Apply incoming ``(event name, event input)`` pairs to ``state`` (mutated in place)."""
    result = InboxResult()
    now_ticks = ticks_from_datetime(now)
    for name, input_text in events:
        try:
            event = parse_entity_event(name, input_text)
        except EntityMessageError as exc:
            log.warning("Dropping a malformed entity message %r: %s", name, exc)
            result.ignored.append(name)
            continue
        if event.kind == "release":
            if event.release_parent is not None and state.locked_by == event.release_parent:
                state.locked_by = None
            continue
        if event.kind == "continue":
            continue
        if event.kind != "request" or event.request is None:
            log.warning("Ignoring event %r sent to an entity", name)
            result.ignored.append(name)
            continue
        _receive(state, event.request, now_ticks, reorder_window_ticks, result)
    return result


def _receive(
    state: SchedulerState, request: RequestMessage, now_ticks: int, window: int, result: InboxResult
) -> None:
    if state.knows_request(request.id):
        result.duplicates.append(request)
        return
    if request.scheduled_time is not None:
        if request.scheduled_time > now_ticks:
            result.deferred.append(request)
        else:
            _enqueue(state, request, result)
        return
    for delivered in state.sorter.receive_in_order(request, window):
        if delivered is not request and state.knows_request(delivered.id):
            result.duplicates.append(delivered)
        else:
            _enqueue(state, delivered, result)
    # a request the sorter recognised as already delivered (by timestamp) is a duplicate too
    if not any(m is request for m in result.accepted) and not any(
        m is request for m in state.sorter.buffered_requests()
    ):
        result.duplicates.append(request)


def _enqueue(state: SchedulerState, request: RequestMessage, result: InboxResult) -> None:
    state.queue.append(request)
    result.accepted.append(request)
