"""Control and work-item queues of a task hub: send (with large-message blobs), receive, settle."""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from host.durable.taskhub.base import TaskHubBase
from host.durable.taskhub.messages import (
    MessageFormatError,
    TaskMessage,
    decode_message,
    encode_message,
    encode_wrapper,
    new_message,
)
from host.durable.taskhub.rows import message_blob_name
from host.errors import NotFoundError
from host.storage.interface import MAX_BATCH_RECEIVE, MAX_QUEUE_VISIBILITY_SECONDS, QueueMessage

log = logging.getLogger(__name__)

SendListener = Callable[[str, TaskMessage], None]
"""``on_sent(queue_name, message)``: called after every successful send (wake a dispatcher)."""

MAX_ABANDON_SECONDS = 600


def visibility_seconds(delay: timedelta | None) -> int:
    """A delay as a queue visibility timeout: whole seconds rounded up, 0..7 days."""
    if delay is None:
        return 0
    seconds = math.ceil(delay.total_seconds() - 1e-9)
    return max(0, min(seconds, MAX_QUEUE_VISIBILITY_SECONDS))


def abandon_backoff(dequeue_count: int) -> int:
    """DTFx's abandon back-off: ``min(2^DequeueCount, 600)`` seconds."""
    return MAX_ABANDON_SECONDS if dequeue_count > 30 else min(2 ** max(dequeue_count, 0), MAX_ABANDON_SECONDS)


class QueueOps(TaskHubBase):
    """Queue operations (mixed into :class:`host.durable.taskhub.hub.TaskHub`)."""

    on_sent: SendListener | None = None

    async def send(
        self,
        queue: str | None,
        event: dict[str, Any],
        *,
        instance_id: str,
        execution_id: str | None = None,
        sender_instance_id: str = "",
        sender_execution_id: str = "",
        episode: int | None = None,
        delay: timedelta | None = None,
    ) -> TaskMessage:
        """Put ``event`` for ``instance_id`` on ``queue`` (``None`` = the instance's control queue)."""
        msg = new_message(
            event, instance_id=instance_id, execution_id=execution_id,
            sender_instance_id=sender_instance_id, sender_execution_id=sender_execution_id, episode=episode,
        )
        return await self.send_message(msg, queue=queue, delay=delay)

    async def send_message(
        self, msg: TaskMessage, *, queue: str | None = None, delay: timedelta | None = None
    ) -> TaskMessage:
        """Put an already built message (large ones go to a blob first); fills its queue metadata."""
        target = queue or self.names.control_queue_for(msg.instance_id)
        text = encode_message(msg)
        if len(text.encode("utf-8")) > self.options.max_message_bytes:
            blob_name = message_blob_name(msg.instance_id, msg.activity_id, msg.event_type)
            await self.upload_text(blob_name, text)
            text = encode_wrapper(msg, blob_name)
            msg.compressed_blob_name = blob_name
        sent = await self.storage.put_message(target, text, visibility_timeout=visibility_seconds(delay))
        msg.queue = target
        msg.message_id = sent.id
        msg.pop_receipt = sent.pop_receipt
        msg.inserted_on = sent.inserted_on
        msg.next_visible_on = sent.next_visible_on
        listener = self.on_sent
        if listener is not None:
            try:
                listener(target, msg)
            except Exception:  # a wake-up hook must never fail a send
                log.exception("on_sent listener failed for queue %s", target)
        return msg

    async def receive_control(
        self, partition: int, max_messages: int = MAX_BATCH_RECEIVE, visibility: int | None = None
    ) -> list[TaskMessage]:
        """Up to ``max_messages`` messages of control queue ``partition`` (hidden for ``visibility`` s)."""
        return await self.receive(
            self.names.control_queue(partition), max_messages,
            self.options.control_visibility_timeout if visibility is None else visibility,
        )

    async def receive_workitem(
        self, max_messages: int = 1, visibility: int | None = None
    ) -> list[TaskMessage]:
        """Up to ``max_messages`` activity messages from the work-item queue."""
        return await self.receive(
            self.names.workitem_queue, max_messages,
            self.options.workitem_visibility_timeout if visibility is None else visibility,
        )

    async def receive(self, queue: str, max_messages: int, visibility: int) -> list[TaskMessage]:
        """Receive and decode; large messages are fetched from their blobs, unreadable ones abandoned."""
        raw = await self.storage.receive_messages(
            queue, max_messages=min(max_messages, MAX_BATCH_RECEIVE), visibility_timeout=visibility
        )
        if not raw:
            return []
        decoded = await asyncio.gather(*(self._decode(queue, m) for m in raw))
        return [m for m in decoded if m is not None]

    async def _decode(self, queue: str, raw: QueueMessage) -> TaskMessage | None:
        try:
            msg = decode_message(raw.content)
            if msg.is_large:
                assert msg.compressed_blob_name is not None
                blob_name = msg.compressed_blob_name
                msg = decode_message(await self.download_text(blob_name))
                msg.compressed_blob_name = blob_name
        except NotFoundError:
            log.warning("queue %s: message %s points at a missing blob (purged?); deleting it", queue, raw.id)
            await self._delete_raw(queue, raw.id, raw.pop_receipt)
            return None
        except MessageFormatError as err:
            backoff = abandon_backoff(raw.dequeue_count)
            log.warning("queue %s: unreadable message %s (%s); retrying in %d s", queue, raw.id, err, backoff)
            await self._update_raw(queue, raw.id, raw.pop_receipt, backoff)
            return None
        msg.queue = queue
        msg.message_id = raw.id
        msg.pop_receipt = raw.pop_receipt
        msg.dequeue_count = raw.dequeue_count
        msg.inserted_on = raw.inserted_on
        msg.next_visible_on = raw.next_visible_on
        return msg

    async def delete_message(self, msg: TaskMessage) -> bool:
        """Delete a received message; ``False`` when it was already gone (or its receipt is stale)."""
        assert msg.queue and msg.message_id and msg.pop_receipt, "delete needs a received message"
        return await self._delete_raw(msg.queue, msg.message_id, msg.pop_receipt)

    async def abandon_message(self, msg: TaskMessage, backoff: timedelta | None = None) -> bool:
        """Make a received message visible again after ``backoff`` (default: DTFx back-off)."""
        seconds = abandon_backoff(msg.dequeue_count) if backoff is None else visibility_seconds(backoff)
        return await self.renew_message(msg, seconds)

    async def renew_message(self, msg: TaskMessage, visibility: int) -> bool:
        """Set the visibility of a received message to ``visibility`` seconds from now."""
        assert msg.queue and msg.message_id and msg.pop_receipt, "update needs a received message"
        receipt = await self._update_raw(msg.queue, msg.message_id, msg.pop_receipt, visibility)
        if receipt is None:
            return False
        msg.pop_receipt = receipt
        return True

    async def _delete_raw(self, queue: str, message_id: str, pop_receipt: str) -> bool:
        try:
            await self.storage.delete_message(queue, message_id, pop_receipt)
            return True
        except NotFoundError:
            log.debug("queue %s: message %s already gone", queue, message_id)
            return False

    async def _update_raw(self, queue: str, message_id: str, pop_receipt: str, visibility: int) -> str | None:
        try:
            return await self.storage.update_message(
                queue, message_id, pop_receipt,
                visibility_timeout=min(visibility, MAX_QUEUE_VISIBILITY_SECONDS),
            )
        except NotFoundError:
            log.debug("queue %s: message %s already gone", queue, message_id)
            return None
