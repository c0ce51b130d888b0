"""Queue operations of :class:`host.storage.azure.storage.AzureStorage` (azure.storage.queue.aio)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from azure.core.exceptions import AzureError, ResourceExistsError, ResourceNotFoundError

from host.storage.azure.base import AzureBase
from host.storage.interface import MAX_BATCH_RECEIVE, QueueMessage, SentMessage
from host.storage.limits import check_message

_ERRORS = (AzureError, OSError)


def _message(m: Any) -> QueueMessage:
    return QueueMessage(
        id=m.id,
        pop_receipt=m.pop_receipt or "",
        content=m.content if m.content is not None else "",
        dequeue_count=m.dequeue_count or 0,
        inserted_on=m.inserted_on,
        expires_on=m.expires_on,
        next_visible_on=m.next_visible_on,
    )


class AzureQueues(AzureBase):
    """Queues: messages are stored exactly as given (no Base64 by the SDK)."""

    async def create_queue(self, queue: str) -> None:
        self.stats.add("queue.create")
        try:
            await self.queue_client(queue).create_queue()
        except ResourceExistsError:
            pass
        except _ERRORS as err:
            self.raise_mapped(err, f"create queue {queue}")

    async def delete_queue(self, queue: str) -> None:
        self.stats.add("queue.delete_queue")
        try:
            await self.queue_client(queue).delete_queue()
        except ResourceNotFoundError:
            pass
        except _ERRORS as err:
            self.raise_mapped(err, f"delete queue {queue}")
        self._queues.pop(queue, None)

    async def list_queues(self, prefix: str = "") -> list[str]:
        names: list[str] = []
        try:
            pages = self.queue_service().list_queues(name_starts_with=prefix or None).by_page()
            async for page in pages:
                names.extend([q.name async for q in page])
                self.stats.add("queue.list")
        except _ERRORS as err:
            self.raise_mapped(err, "list queues")
        return names

    async def put_message(
        self, queue: str, content: str, *, visibility_timeout: int = 0, time_to_live: int = -1
    ) -> SentMessage:
        check_message(queue, content)
        self.stats.add("queue.put")
        try:
            m = await self.queue_client(queue).send_message(
                content, visibility_timeout=visibility_timeout or None, time_to_live=time_to_live
            )
        except _ERRORS as err:
            self.raise_mapped(err, f"put message on queue {queue}")
        inserted = m.inserted_on or datetime.now(UTC)
        return SentMessage(m.id, m.pop_receipt or "", inserted, m.next_visible_on)

    async def receive_messages(
        self, queue: str, *, max_messages: int = 1, visibility_timeout: int = 300
    ) -> list[QueueMessage]:
        count = max(1, min(max_messages, MAX_BATCH_RECEIVE))
        self.stats.add("queue.receive")
        pages = (
            self.queue_client(queue)
            .receive_messages(messages_per_page=count, visibility_timeout=visibility_timeout)
            .by_page()
        )
        try:
            page = await pages.__anext__()  # exactly one request; StopAsyncIteration when empty
            return [_message(m) async for m in page]
        except StopAsyncIteration:
            return []
        except _ERRORS as err:
            self.raise_mapped(err, f"receive from queue {queue}")

    async def peek_messages(self, queue: str, *, max_messages: int = 32) -> list[QueueMessage]:
        self.stats.add("queue.peek")
        try:
            found = await self.queue_client(queue).peek_messages(
                max_messages=max(1, min(max_messages, MAX_BATCH_RECEIVE))
            )
        except _ERRORS as err:
            self.raise_mapped(err, f"peek queue {queue}")
        return [_message(m) for m in found]

    async def update_message(
        self,
        queue: str,
        message_id: str,
        pop_receipt: str,
        *,
        visibility_timeout: int,
        content: str | None = None,
    ) -> str:
        if content is not None:
            check_message(queue, content)
        self.stats.add("queue.update")
        try:
            m = await self.queue_client(queue).update_message(
                message_id,
                pop_receipt=pop_receipt,
                content=content,
                visibility_timeout=visibility_timeout,
            )
        except _ERRORS as err:
            self.raise_mapped(err, f"update message {message_id} on queue {queue}")
        return str(m.pop_receipt)

    async def delete_message(self, queue: str, message_id: str, pop_receipt: str) -> None:
        self.stats.add("queue.delete")
        try:
            await self.queue_client(queue).delete_message(message_id, pop_receipt)
        except _ERRORS as err:
            self.raise_mapped(err, f"delete message {message_id} from queue {queue}")

    async def queue_length(self, queue: str) -> int:
        self.stats.add("queue.length")
        try:
            props = await self.queue_client(queue).get_queue_properties()
        except _ERRORS as err:
            self.raise_mapped(err, f"length of queue {queue}")
        return int(props.approximate_message_count or 0)
