"""The hot queue operations over the lean REST path (put, receive, update, delete).

Everything else (create/delete/list queues, peek, length) is inherited from the SDK-backed
:class:`~host.storage.azure.queues.AzureQueues`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from host.storage.azure.lean_base import LeanBase
from host.storage.azure.queues import AzureQueues
from host.storage.azure.rest_errors import raise_response
from host.storage.azure.rest_values import parse_http_date
from host.storage.interface import MAX_BATCH_RECEIVE, QueueMessage, SentMessage
from host.storage.limits import check_message

_XML = {"content-type": "application/xml; charset=utf-8"}


_ENTITIES = {"\r": "&#13;"}  # XML parsers turn a raw CR (or CRLF) into LF


def _body(content: str) -> bytes:
    text = escape(content, _ENTITIES)
    return (
        f'<?xml version="1.0" encoding="utf-8"?><QueueMessage><MessageText>{text}'
        "</MessageText></QueueMessage>"
    ).encode()


def _date(text: str | None) -> datetime | None:
    return parse_http_date(text) if text else None


def parse_messages(body: bytes) -> list[QueueMessage]:
    """The ``QueueMessagesList`` of a receive/put response."""
    out: list[QueueMessage] = []
    for m in ElementTree.fromstring(body):
        f = {child.tag: child.text for child in m}
        out.append(
            QueueMessage(
                id=f.get("MessageId") or "",
                pop_receipt=f.get("PopReceipt") or "",
                content=f.get("MessageText") or "",
                dequeue_count=int(f.get("DequeueCount") or 0),
                inserted_on=_date(f.get("InsertionTime")) or datetime.now(UTC),
                expires_on=_date(f.get("ExpirationTime")),
                next_visible_on=_date(f.get("TimeNextVisible")),
            )
        )
    return out


class LeanQueues(LeanBase, AzureQueues):
    """:class:`AzureQueues` with put/receive/update/delete as bare signed requests."""

    async def put_message(
        self, queue: str, content: str, *, visibility_timeout: int = 0, time_to_live: int = -1
    ) -> SentMessage:
        check_message(queue, content)
        self.stats.add("queue.put")
        what = f"put message on queue {queue}"
        query = [("visibilitytimeout", str(visibility_timeout))] if visibility_timeout else []
        query.append(("messagettl", str(time_to_live)))
        r = await self._rest.send(
            "queue", "POST", f"{queue}/messages", what, query=query, headers=dict(_XML), body=_body(content)
        )
        if r.status != 201:
            raise_response(r, what)
        m = parse_messages(r.body)[0]
        return SentMessage(m.id, m.pop_receipt, m.inserted_on, m.next_visible_on)

    async def receive_messages(
        self, queue: str, *, max_messages: int = 1, visibility_timeout: int = 300
    ) -> list[QueueMessage]:
        count = max(1, min(max_messages, MAX_BATCH_RECEIVE))
        self.stats.add("queue.receive")
        what = f"receive from queue {queue}"
        r = await self._rest.send(
            "queue",
            "GET",
            f"{queue}/messages",
            what,
            query=[("numofmessages", str(count)), ("visibilitytimeout", str(visibility_timeout))],
        )
        if r.status != 200:
            raise_response(r, what)
        return parse_messages(r.body)

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
        what = f"update message {message_id} on queue {queue}"
        # An empty body, typed, so no header that is signed is left to aiohttp to choose.
        body = b"" if content is None else _body(content)
        r = await self._rest.send(
            "queue",
            "PUT",
            f"{queue}/messages/{quote(message_id, safe='')}",
            what,
            query=[("popreceipt", pop_receipt), ("visibilitytimeout", str(visibility_timeout))],
            headers=dict(_XML),
            body=body,
        )
        if r.status != 204:
            raise_response(r, what)
        return str(r.headers.get("x-ms-popreceipt", ""))

    async def delete_message(self, queue: str, message_id: str, pop_receipt: str) -> None:
        self.stats.add("queue.delete")
        what = f"delete message {message_id} from queue {queue}"
        r = await self._rest.send(
            "queue",
            "DELETE",
            f"{queue}/messages/{quote(message_id, safe='')}",
            what,
            query=[("popreceipt", pop_receipt)],
        )
        if r.status != 204:
            raise_response(r, what)
