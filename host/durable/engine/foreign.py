"""Instances of orchestrators this app does not define (another app on the same task hub).

Two apps on one task hub (both on the default ``TestHubName``, say) share its control queues:
either host may receive the other's messages, and fails those instances for want of their
orchestrator. :func:`unknown_orchestrator_message` is the log line of such a failure (the
extension's wording, plus how to separate the apps); :func:`warn_about_foreign_instances`
looks once, at start-up, for unfinished instances of orchestrators the app does not define.
"""

from __future__ import annotations

import logging
from collections import Counter

from host.durable.taskhub.hub import TaskHub
from host.indexing.registry import ORCHESTRATION_TRIGGER, Registry

log = logging.getLogger("host.durable")

UNFINISHED = ("Pending", "Running", "Suspended", "ContinuedAsNew")
MAX_SCANNED = 1000
"""Instances read by the start-up check at most (one page; a larger hub is reported as "at least")."""
HUB_NAME_HINT = (
    'give each app its own task hub: set "extensions": {"durableTask": {"hubName": "<name>"}} in '
    "host.json (extensions.durableTask.hubName)"
)


def known_orchestrators(registry: Registry) -> list[str]:
    """The orchestrator names of the app, sorted."""
    return sorted(f.durable_name for f in registry.by_trigger(ORCHESTRATION_TRIGGER))


def unknown_orchestrator_message(name: str, instance_id: str, hub: str, registry: Registry) -> str:
    """Why instance ``instance_id`` of ``name`` failed in this app, and what to do about it."""
    known = "', '".join(known_orchestrators(registry))
    listing = (
        f"The following are the known orchestrator functions: '{known}'."
        if known
        else "No orchestrator functions are currently registered!"
    )
    return (
        f"The function '{name}' doesn't exist, is disabled, or is not an orchestrator function. "
        f"Additional info: {listing} InstanceId: {instance_id}. Function: {name}. HubName: {hub}. "
        f"If another app uses this task hub, {HUB_NAME_HINT}."
    )


async def find_foreign_instances(hub: TaskHub, registry: Registry) -> tuple[Counter[str], bool]:
    """Unfinished instances per orchestrator name not in ``registry``, and whether more may exist."""
    rows, more = await hub.query_instances(UNFINISHED, top=MAX_SCANNED)
    return Counter(r.name for r in rows if r.name and registry.orchestrator(r.name) is None), bool(more)


async def warn_about_foreign_instances(hub: TaskHub, registry: Registry) -> None:
    """Log one warning when the hub holds unfinished instances of orchestrators not in ``registry``."""
    foreign, more = await find_foreign_instances(hub, registry)
    if not foreign:
        return
    listed = ", ".join(f"{name} ({n} instance{'s' if n != 1 else ''})" for name, n in sorted(foreign.items()))
    log.warning(
        "Task hub '%s' holds unfinished instances of orchestrators this app does not define: %s%s. "
        "Another app probably uses the same task hub; when this host receives their messages it fails "
        "those instances. To keep the apps apart, %s.",
        hub.names.hub,
        listed,
        f" (and maybe more: only the first {MAX_SCANNED} were read)" if more else "",
        HUB_NAME_HINT,
    )
