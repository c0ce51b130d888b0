"""Names and ids the real Functions host derives for its storage artifacts."""

from __future__ import annotations

import re

HOSTS_CONTAINER = "azure-webjobs-hosts"
BLOB_TRIGGER_POISON_QUEUE = "webjobs-blobtrigger-poison"
_QUEUE_NAME = re.compile(r"[a-z0-9](?:[a-z0-9]|-(?!-)){1,61}[a-z0-9]")


def function_id(name: str) -> str:
    """The id the host uses for a function's storage artifacts (``Host.Functions.<name>``)."""
    return f"Host.Functions.{name}"


def is_valid_queue_name(name: str) -> bool:
    """3–63 chars, lower-case letters, digits and single hyphens, alphanumeric at both ends."""
    return _QUEUE_NAME.fullmatch(name) is not None


def poison_queue_name(queue: str) -> str | None:
    """``<queue>-poison``, or ``None`` when the queue is itself a poison queue or the name is invalid."""
    candidate = f"{queue}-poison"
    if queue.endswith("-poison") or not is_valid_queue_name(candidate):
        return None
    return candidate


def timer_status_blob(host: str, function_name: str) -> str:
    """Blob name (in :data:`HOSTS_CONTAINER`) of a timer's schedule status."""
    return f"timers/{host}/{function_id(function_name)}/status"


def blob_receipt_name(host: str, function_name: str, etag: str, container: str, blob: str) -> str:
    """Blob name (in :data:`HOSTS_CONTAINER`) of the receipt for one blob version."""
    return f"blobreceipts/{host}/{function_id(function_name)}/{etag}/{container}/{blob}"


def blob_trigger_queue(host: str) -> str:
    """The host's queue of blob-trigger work items."""
    return f"azure-webjobs-blobtrigger-{host}"
