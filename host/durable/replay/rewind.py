"""Rewinding a failed orchestration's history (pure; the management layer persists the result).

Like DTFx's Azure Storage provider, the failure events and the terminal ``ExecutionCompleted``
are turned into ``GenericEvent`` rows (``Data`` keeps the original event as JSON). The
scheduling events stay, so the failed task ids count as scheduled but open: the caller
re-issues them with the returned scheduling events (same ids) and the next episode replays.
"""

from __future__ import annotations

import json
from datetime import datetime

from host.durable.replay import history as h

_FAILURES = frozenset({h.EventType.TaskFailed, h.EventType.SubOrchestrationInstanceFailed})


def rewind_history(
    history: list[h.Event], now: datetime, reason: str | None = None
) -> tuple[list[h.Event], list[h.Event]]:
    """Returns (new history, scheduling events of the tasks to run again)."""
    failed_ids = {h.completion_id(e) for e in history if h.etype(e) in _FAILURES}
    out: list[h.Event] = []
    for e in history:
        t = h.etype(e)
        if t in _FAILURES or (
            t == h.EventType.ExecutionCompleted
            and e.get("OrchestrationStatus") == h.OrchestrationStatus.Failed
        ):
            out.append(
                h.generic_event(
                    h.parse_timestamp(e["Timestamp"]), json.dumps({"rewound": e}, separators=(",", ":"))
                )
            )
        else:
            out.append(e)
    reissue = [e for e in history if h.etype(e) in h.SCHEDULING_TYPES and e["EventId"] in failed_ids]
    out.append(h.event(h.EventType.ExecutionRewound, now, Reason=reason))
    return out, reissue
