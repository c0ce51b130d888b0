"""Control and work-item queues of a task hub: send (with large-message blobs), receive, settle.

A received message that can never be processed (not a ``MessageData``, a member of the wrong
type, a large-message blob that is missing or unreadable) is quarantined: copied to the poison
queue with the reason (:mod:`host.durable.taskhub.poison`), deleted from its queue and logged
once. It never reaches the dispatcher and is never retried.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

from host.durable.taskhub.base import MAX_INFLATED_BYTES, PayloadError, TaskHubBase
from host.durable.taskhub.messages import (
    MessageFormatError,
    TaskMessage,
    decode_message,
    encode_message,
    encode_wrapper,
    new_message,
)
from host.durable.taskhub.poison import (
    PoisonRecord,
    decode_record,
    encode_record,
    fits_inline,
    new_record,
    poison_blob_name,
)
from host.durable.taskhub.rows import message_blob_name
from host.errors import NotFoundError, StorageError
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
            event,
            instance_id=instance_id,
            execution_id=execution_id,
            sender_instance_id=sender_instance_id,
            sender_execution_id=sender_execution_id,
            episode=episode,
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
            self.names.control_queue(partition),
            max_messages,
            self.options.control_visibility_timeout if visibility is None else visibility,
        )

    async def receive_workitem(
        self, max_messages: int = 1, visibility: int | None = None
    ) -> list[TaskMessage]:
        """Up to ``max_messages`` activity messages from the work-item queue."""
        return await self.receive(
            self.names.workitem_queue,
            max_messages,
            self.options.workitem_visibility_timeout if visibility is None else visibility,
        )

    async def receive(self, queue: str, max_messages: int, visibility: int) -> list[TaskMessage]:
        """Receive and decode; large messages are fetched from their blobs, poison quarantined."""
        raw = await self.storage.receive_messages(
            queue, max_messages=min(max_messages, MAX_BATCH_RECEIVE), visibility_timeout=visibility
        )
        if not raw:
            return []
        decoded = await asyncio.gather(*(self._decode(queue, m) for m in raw))
        return [m for m in decoded if m is not None]

    async def _decode(self, queue: str, raw: QueueMessage) -> TaskMessage | None:
        blob_name: str | None = None
        try:
            msg = decode_message(raw.content)
            if msg.is_large:
                assert msg.compressed_blob_name is not None
                blob_name = msg.compressed_blob_name
                msg = decode_message(await self.download_text(blob_name, limit=MAX_INFLATED_BYTES))
                msg.compressed_blob_name = blob_name
        except NotFoundError:
            await self.quarantine_raw(queue, raw, f"its large-message blob {blob_name} is missing")
            return None
        except (MessageFormatError, PayloadError) as err:
            in_blob = blob_name is not None and isinstance(err, MessageFormatError)
            reason = f"large-message blob {blob_name}: {err}" if in_blob else str(err)
            await self.quarantine_raw(queue, raw, reason)
            return None
        except StorageError as err:  # the blob could not be read just now: try again later
            backoff = abandon_backoff(raw.dequeue_count)
            log.warning(
                "queue %s: message %s: reading blob %s failed (%s); retrying in %d s",
                queue,
                raw.id,
                blob_name,
                err,
                backoff,
            )
            await self._update_raw(queue, raw.id, raw.pop_receipt, backoff)
            return None
        msg.queue = queue
        msg.message_id = raw.id
        msg.pop_receipt = raw.pop_receipt
        msg.dequeue_count = raw.dequeue_count
        msg.inserted_on = raw.inserted_on
        msg.next_visible_on = raw.next_visible_on
        return msg

    # poison ---------------------------------------------------------------
    async def quarantine_raw(self, queue: str, raw: QueueMessage, reason: str) -> bool:
        """Move a received message body to the poison queue (see :meth:`quarantine`)."""
        record = new_record(
            queue, raw.id, raw.dequeue_count, reason, self.now(), raw.inserted_on, raw.content
        )
        return await self._quarantine(record, raw.pop_receipt)

    async def quarantine(self, msg: TaskMessage, reason: str) -> bool:
        """Copy a received message to the poison queue with ``reason``, log it once, delete it.

        ``False`` when the poison queue could not be written (the message then stays on its
        queue and comes back after its visibility timeout).
        """
        assert msg.queue and msg.message_id and msg.pop_receipt, "quarantine needs a received message"
        blob = msg.compressed_blob_name
        content = encode_wrapper(msg, blob) if blob else encode_message(msg)
        record = new_record(
            msg.queue, msg.message_id, msg.dequeue_count, reason, self.now(), msg.inserted_on, content
        )
        return await self._quarantine(record, msg.pop_receipt)

    async def _quarantine(self, record: PoisonRecord, pop_receipt: str) -> bool:
        poison = self.names.poison_queue
        try:
            text = encode_record(record)
            if not fits_inline(text):
                blob = poison_blob_name(record.queue, record.message_id)
                await self.upload_text(blob, record.content or "")
                text = encode_record(replace(record, content=None, content_blob_name=blob))
            try:
                await self.storage.put_message(poison, text)
            except NotFoundError:
                await self.storage.create_queue(poison)
                await self.storage.put_message(poison, text)
        except StorageError as err:
            log.warning(
                "queue %s: message %s cannot be processed (%s) and could not be moved to %s (%s); "
                "it stays on its queue",
                record.queue,
                record.message_id,
                record.reason,
                poison,
                err,
            )
            return False
        log.warning(
            "queue %s: message %s moved to poison queue %s: %s",
            record.queue,
            record.message_id,
            poison,
            record.reason,
        )
        await self._delete_raw(record.queue, record.message_id, pop_receipt)
        return True

    async def poison_count(self) -> int:
        """Approximate number of quarantined messages (0 while the poison queue does not exist)."""
        try:
            return await self.storage.queue_length(self.names.poison_queue)
        except NotFoundError:
            return 0

    async def peek_poison(self, max_messages: int = MAX_BATCH_RECEIVE) -> list[PoisonRecord]:
        """The oldest quarantined messages (at most 32), without taking them."""
        try:
            raw = await self.storage.peek_messages(
                self.names.poison_queue, max_messages=min(max_messages, MAX_BATCH_RECEIVE)
            )
        except NotFoundError:
            return []
        return [r for m in raw if (r := decode_record(m.content)) is not None]

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
                queue,
                message_id,
                pop_receipt,
                visibility_timeout=min(visibility, MAX_QUEUE_VISIBILITY_SECONDS),
            )
        except NotFoundError:
            log.debug("queue %s: message %s already gone", queue, message_id)
            return None
