"""Which History rows a rewind rewrites (pure; DTFx ``RewindHistoryAsync``, spec §5.4).

Failure rows (``TaskFailed``, ``SubOrchestrationInstanceFailed`` and a failed
``ExecutionCompleted``) become ``GenericEvent`` rows with ``Reason = "Rewound: <old type>"``.
Scheduling rows stay, so the replay core sees those tasks as scheduled but not completed
(the dispatcher re-issues them). Failed sub-orchestrations are rewound recursively by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from host.durable import history as h
from host.durable.history_rows import event_type_name

REWOUND_PREFIX = "Rewound: "


@dataclass
class RewindPlan:
    """Rows to overwrite (by sequence number) and failed children to rewind first."""

    replacements: dict[int, dict[str, Any]] = field(default_factory=dict)
    failed_children: list[str] = field(default_factory=list)


def _is_failure(event: dict[str, Any]) -> bool:
    t = h.etype(event)
    if t in (h.EventType.TaskFailed, h.EventType.SubOrchestrationInstanceFailed):
        return True
    failed = event.get("OrchestrationStatus") == h.OrchestrationStatus.Failed
    return t == h.EventType.ExecutionCompleted and failed


def rewound_event(event: dict[str, Any]) -> dict[str, Any]:
    """The GenericEvent that replaces a failure row (same timestamp and played flag)."""
    return {
        "EventType": int(h.EventType.GenericEvent),
        "EventId": -1,
        "IsPlayed": bool(event.get("IsPlayed", True)),
        "Timestamp": event.get("Timestamp"),
        "Data": None,
        "Reason": REWOUND_PREFIX + event_type_name(h.etype(event)),
    }


def plan_rewind(events: list[dict[str, Any]]) -> RewindPlan:
    """The rows to rewrite in ``events`` (one execution) and the instance ids of failed children."""
    children = {
        int(e["EventId"]): str(e.get("InstanceId"))
        for e in events if h.etype(e) == h.EventType.SubOrchestrationInstanceCreated and e.get("InstanceId")
    }
    plan = RewindPlan()
    for seq, event in enumerate(events):
        if not _is_failure(event):
            continue
        plan.replacements[seq] = rewound_event(event)
        if h.etype(event) == h.EventType.SubOrchestrationInstanceFailed:
            child = children.get(int(event.get("TaskScheduledId", -1)))
            if child is not None and child not in plan.failed_children:
                plan.failed_children.append(child)
    return plan
