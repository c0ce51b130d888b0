"""In-memory queues with Azure's semantics: visibility timeouts, pop receipts, dequeue counts."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from host.errors import InvalidRequestError, NotFoundError
from host.storage.interface import (
    MAX_BATCH_RECEIVE,
    MAX_QUEUE_VISIBILITY_SECONDS,
    QueueMessage,
    SentMessage,
)
from host.storage.limits import check_message
from host.storage.memory.base import MemoryBase

NEVER = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
"""What Azure reports as the expiry of a message put with TTL -1."""


@dataclass
class _Message:
    id: str
    content: str
    pop_receipt: str
    dequeue_count: int
    inserted_on: datetime
    expires_on: datetime
    visible_on: datetime

    def public(self, pop_receipt: str) -> QueueMessage:
        return QueueMessage(
            self.id,
            pop_receipt,
            self.content,
            self.dequeue_count,
            self.inserted_on,
            self.expires_on,
            self.visible_on,
        )


def _check_visibility(seconds: int, what: str) -> None:
    if not 0 <= seconds <= MAX_QUEUE_VISIBILITY_SECONDS:
        raise InvalidRequestError(
            f"{what}: visibility timeout must be 0..{MAX_QUEUE_VISIBILITY_SECONDS} s, got {seconds}"
        )


class MemoryQueues(MemoryBase):
    """Queues: messages kept in insertion order per queue."""

    _queues: dict[str, dict[str, _Message]]

    def _queue(self, queue: str, what: str) -> dict[str, _Message]:
        found = self._queues.get(queue)
        if found is None:
            raise NotFoundError(f"{what}: 404 QueueNotFound")
        self._expire(found)
        return found

    def _expire(self, messages: dict[str, _Message]) -> None:
        now = self.now()
        for key in [k for k, m in messages.items() if m.expires_on <= now]:
            del messages[key]

    def _receipt(self) -> str:
        return f"mem-{self.next_number()}-{self.new_id()[:8]}"

    async def create_queue(self, queue: str) -> None:
        await self._request("queue.create")
        if not (3 <= len(queue) <= 63) or queue != queue.lower():
            raise InvalidRequestError(f"create queue {queue}: 400 OutOfRangeInput (invalid queue name)")
        self._queues.setdefault(queue, {})

    async def delete_queue(self, queue: str) -> None:
        await self._request("queue.delete_queue")
        self._queues.pop(queue, None)

    async def list_queues(self, prefix: str = "") -> list[str]:
        await self._request("queue.list")
        return sorted(q for q in self._queues if q.startswith(prefix))

    async def put_message(
        self, queue: str, content: str, *, visibility_timeout: int = 0, time_to_live: int = -1
    ) -> SentMessage:
        what = f"put message on queue {queue}"
        await self._request("queue.put")
        messages = self._queue(queue, what)
        _check_visibility(visibility_timeout, what)
        check_message(queue, content)
        now = self.now()
        expires = NEVER if time_to_live == -1 else now + timedelta(seconds=time_to_live)
        m = _Message(
            self.new_id(),
            content,
            self._receipt(),
            0,
            now,
            expires,
            now + timedelta(seconds=visibility_timeout),
        )
        messages[m.id] = m
        return SentMessage(m.id, m.pop_receipt, m.inserted_on, m.visible_on)

    async def receive_messages(
        self, queue: str, *, max_messages: int = 1, visibility_timeout: int = 300
    ) -> list[QueueMessage]:
        what = f"receive from queue {queue}"
        await self._request("queue.receive")
        messages = self._queue(queue, what)
        _check_visibility(visibility_timeout, what)
        now = self.now()
        count = max(1, min(max_messages, MAX_BATCH_RECEIVE))
        taken: list[QueueMessage] = []
        for m in sorted(messages.values(), key=lambda m: m.visible_on):
            if len(taken) >= count:
                break
            if m.visible_on > now:
                continue
            m.pop_receipt = self._receipt()
            m.dequeue_count += 1
            m.visible_on = now + timedelta(seconds=visibility_timeout)
            taken.append(m.public(m.pop_receipt))
        return taken

    async def peek_messages(self, queue: str, *, max_messages: int = 32) -> list[QueueMessage]:
        await self._request("queue.peek")
        messages = self._queue(queue, f"peek queue {queue}")
        now = self.now()
        visible = [m for m in sorted(messages.values(), key=lambda m: m.visible_on) if m.visible_on <= now]
        return [m.public("") for m in visible[: max(1, min(max_messages, MAX_BATCH_RECEIVE))]]

    def _held(self, queue: str, message_id: str, pop_receipt: str, what: str) -> _Message:
        m = self._queue(queue, what).get(message_id)
        if m is None:
            raise NotFoundError(f"{what}: 404 MessageNotFound")
        if m.pop_receipt != pop_receipt:
            raise NotFoundError(f"{what}: 400 PopReceiptMismatch")
        return m

    async def update_message(
        self,
        queue: str,
        message_id: str,
        pop_receipt: str,
        *,
        visibility_timeout: int,
        content: str | None = None,
    ) -> str:
        what = f"update message {message_id} on queue {queue}"
        if content is not None:
            check_message(queue, content)
        await self._request("queue.update")
        m = self._held(queue, message_id, pop_receipt, what)
        _check_visibility(visibility_timeout, what)
        m.pop_receipt = self._receipt()
        m.visible_on = self.now() + timedelta(seconds=visibility_timeout)
        if content is not None:
            m.content = content
        return m.pop_receipt

    async def delete_message(self, queue: str, message_id: str, pop_receipt: str) -> None:
        what = f"delete message {message_id} from queue {queue}"
        await self._request("queue.delete")
        self._held(queue, message_id, pop_receipt, what)
        del self._queues[queue][message_id]

    async def queue_length(self, queue: str) -> int:
        await self._request("queue.length")
        return len(self._queue(queue, f"length of queue {queue}"))

    def snapshot_messages(self, queue: str) -> list[QueueMessage]:
        """All messages of ``queue`` (visible or not), for tests and the testing toolkit."""
        return [replace(m).public("") for m in self._queues.get(queue, {}).values()]
