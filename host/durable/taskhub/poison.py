"""Records of the task hub's poison queue (``{hub}-poison``), as JSON text and back (pure).

A message that can never be processed is copied to the poison queue wrapped in a small record
naming where it came from and why, then deleted from its queue. The original body is kept
verbatim in ``Content``; when the record would not fit in a queue message, the body goes to
the large-message container and ``ContentBlobName`` names it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from host.storage.odata import format_datetime

POISON_INLINE_BYTES = 48 * 1024
"""Records above this (UTF-8) keep the original body in a blob instead."""


@dataclass(frozen=True)
class PoisonRecord:
    """One quarantined message."""

    queue: str
    message_id: str
    dequeue_count: int
    reason: str
    quarantined_at: str
    inserted_on: str | None = None
    content: str | None = None
    content_blob_name: str | None = None


def poison_blob_name(queue: str, message_id: str) -> str:
    """Where the body of a quarantined message too large for its record is kept."""
    return f"poison/{queue}/{message_id}.txt.gz"


def encode_record(record: PoisonRecord) -> str:
    body: dict[str, Any] = {
        "Queue": record.queue,
        "MessageId": record.message_id,
        "DequeueCount": record.dequeue_count,
        "Reason": record.reason,
        "QuarantinedAt": record.quarantined_at,
        "InsertedOn": record.inserted_on,
        "Content": record.content,
        "ContentBlobName": record.content_blob_name,
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def fits_inline(text: str) -> bool:
    return len(text.encode("utf-8")) <= POISON_INLINE_BYTES


def new_record(
    queue: str,
    message_id: str,
    dequeue_count: int,
    reason: str,
    now: datetime,
    inserted_on: datetime | None,
    content: str,
) -> PoisonRecord:
    return PoisonRecord(
        queue=queue,
        message_id=message_id,
        dequeue_count=dequeue_count,
        reason=reason,
        quarantined_at=format_datetime(now),
        inserted_on=format_datetime(inserted_on) if inserted_on is not None else None,
        content=content,
    )


def too_often_reason(dequeue_count: int, limit: int) -> str:
    """Why a message received ``dequeue_count`` times is quarantined."""
    return (
        f"dequeued {dequeue_count} times without being processed (maxDequeueCount {limit}); "
        "processing it keeps failing or the host processing it keeps dying"
    )


def decode_record(text: str) -> PoisonRecord | None:
    """The record in a poison-queue message (``None`` for anything else put there)."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("Queue"), str)
        or not isinstance(data.get("MessageId"), str)
    ):
        return None

    def text_or_none(key: str) -> str | None:
        value = data.get(key)
        return value if isinstance(value, str) else None

    count = data.get("DequeueCount")
    return PoisonRecord(
        queue=data["Queue"],
        message_id=data["MessageId"],
        dequeue_count=count if isinstance(count, int) and not isinstance(count, bool) else 0,
        reason=text_or_none("Reason") or "",
        quarantined_at=text_or_none("QuarantinedAt") or "",
        inserted_on=text_or_none("InsertedOn"),
        content=text_or_none("Content"),
        content_blob_name=text_or_none("ContentBlobName"),
    )
