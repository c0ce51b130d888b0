"""Queue trigger listener and queue output binding (v5 storage extension behaviour).

One :class:`QueueListener` per queue-triggered function: receives batches, runs messages
concurrently (fetching more once in-flight ≤ ``newBatchThreshold``), keeps a slow function's
message invisible, deletes on success, releases on failure after ``visibilityTimeout``, and
after ``maxDequeueCount`` attempts copies the message to ``<queue>-poison``. A message that is
not valid base64 (with the default encoding) goes to poison without running the function. Idle
polling backs off exponentially up to ``maxPollingInterval``; a write to the queue by this host
(queue output binding) wakes the listener at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from host.errors import NotFoundError, StorageError
from host.indexing.registry import QUEUE_TRIGGER, Binding, FunctionInfo
from host.storage.accounts import StorageAccounts
from host.storage.interface import MAX_BATCH_RECEIVE, QueueMessage, Storage
from host.triggers.bindexpr import json_binding_data
from host.triggers.common import Backoff, Invoke, QueueOptions, Wakeups, wakeups_for
from host.triggers.convert import queue_trigger_value
from host.triggers.encoding import decode_body, encode_body, output_messages
from host.triggers.names import poison_queue_name

if TYPE_CHECKING:
    from host.runtime import HostRuntime

log = logging.getLogger("host.triggers.queue")


def queue_metadata(msg: QueueMessage, body: bytes) -> dict[str, Any]:
    """Trigger metadata (binding data) of a queue message, as the extension provides it."""
    text = body.decode("utf-8", errors="replace")
    meta: dict[str, Any] = dict(json_binding_data(body))
    meta.update(
        {
            "QueueTrigger": text,
            "Id": msg.id,
            "DequeueCount": msg.dequeue_count,
            "InsertionTime": msg.inserted_on,
            "ExpirationTime": msg.expires_on or datetime.max.replace(tzinfo=msg.inserted_on.tzinfo),
            "NextVisibleTime": msg.next_visible_on,
            "PopReceipt": msg.pop_receipt,
        }
    )
    return meta


class QueueListener:
    """Polls one queue for one function and runs its messages."""

    def __init__(
        self,
        fn: FunctionInfo,
        storage: Storage,
        invoke: Invoke,
        options: QueueOptions,
        *,
        wakeups: Wakeups | None = None,
        queue: str | None = None,
    ) -> None:
        self.fn = fn
        self.storage = storage
        self.invoke = invoke
        self.options = options
        self.queue = queue or str(fn.trigger.get("queueName", "")).lower()
        self.poison_queue = poison_queue_name(self.queue)
        self.wakeups = wakeups if wakeups is not None else wakeups_for(storage)
        self._wake: asyncio.Event | None = None
        self._slot_freed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._in_flight: set[asyncio.Task[None]] = set()
        self._stopping = False
        self.processed = 0

    async def start(self) -> None:
        self._wake = self.wakeups.subscribe(self.queue)
        self._task = asyncio.create_task(self._run(), name=f"queue-listener:{self.fn.name}")

    async def stop(self) -> None:
        self._stopping = True
        if self._wake is not None:
            self._wake.set()
            self.wakeups.unsubscribe(self.queue, self._wake)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._in_flight:  # let running functions finish (their messages are settled after)
            await asyncio.gather(*self._in_flight, return_exceptions=True)

    # -- polling ----------------------------------------------------------------------
    async def _run(self) -> None:
        assert self._wake is not None
        backoff = Backoff(self.options.max_polling_interval)
        batch = min(self.options.batch_size, MAX_BATCH_RECEIVE)
        while not self._stopping:
            while len(self._in_flight) > self.options.new_batch_threshold:
                self._slot_freed.clear()
                await self._slot_freed.wait()
            self._wake.clear()
            try:
                messages = await self.storage.receive_messages(
                    self.queue, max_messages=batch, visibility_timeout=self.options.message_lease
                )
            except NotFoundError:
                messages = []  # the queue does not exist (yet): back off quietly
            except StorageError as e:
                log.warning("Polling queue '%s' failed: %s", self.queue, e)
                messages = []
            if messages:
                backoff.reset()
                for msg in messages:
                    task = asyncio.create_task(self._process(msg))
                    self._in_flight.add(task)
                    task.add_done_callback(self._done)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), backoff.next_delay())

    def _done(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self._slot_freed.set()
        if not task.cancelled() and task.exception() is not None:
            log.error("Processing a message of queue '%s' failed: %s", self.queue, task.exception())

    # -- one message ------------------------------------------------------------------
    async def _process(self, msg: QueueMessage) -> None:
        if msg.dequeue_count > self.options.max_dequeue_count:
            await self._to_poison(msg, msg.pop_receipt)
            return
        try:
            body = decode_body(msg.content, self.options.message_encoding)
        except ValueError as e:
            log.error(
                "Message '%s' of queue '%s' is not valid base64 (%s); moving it to the poison queue.",
                msg.id,
                self.queue,
                e,
            )
            await self._to_poison(msg, msg.pop_receipt)
            return
        meta = queue_metadata(msg, body)
        receipt = _Receipt(msg.pop_receipt)
        keeper = asyncio.create_task(self._keep_invisible(msg, receipt))
        ok = False
        try:
            value = queue_trigger_value(self.fn, body, meta)
            await self.invoke(
                self.fn, value, trigger_metadata=meta, reason=f"New queue message detected on '{self.queue}'."
            )
            ok = True
        except Exception as e:
            log.debug("Function '%s' failed on message '%s': %s", self.fn.name, msg.id, e)
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
        self.processed += 1
        await self._settle(msg, receipt.value, ok)

    async def _keep_invisible(self, msg: QueueMessage, receipt: _Receipt) -> None:
        """Renew the message's invisibility at half the lease while the function runs."""
        lease = self.options.message_lease
        while True:
            await asyncio.sleep(lease / 2)
            try:
                receipt.value = await self.storage.update_message(
                    self.queue, msg.id, receipt.value, visibility_timeout=lease
                )
            except StorageError as e:
                log.warning("Could not renew the visibility of message '%s': %s", msg.id, e)

    async def _settle(self, msg: QueueMessage, pop_receipt: str, ok: bool) -> None:
        try:
            if ok:
                await self.storage.delete_message(self.queue, msg.id, pop_receipt)
            elif msg.dequeue_count >= self.options.max_dequeue_count and self.poison_queue:
                await self._to_poison(msg, pop_receipt)
            elif self.poison_queue or msg.dequeue_count < self.options.max_dequeue_count:
                await self.storage.update_message(
                    self.queue,
                    msg.id,
                    pop_receipt,
                    visibility_timeout=max(0, round(self.options.visibility_timeout)),
                )
        except NotFoundError:
            log.warning("Message '%s' of queue '%s' was gone when settling it.", msg.id, self.queue)

    async def _to_poison(self, msg: QueueMessage, pop_receipt: str) -> None:
        if self.poison_queue is None:
            return  # no poison queue: the message stays invisible (as the real host leaves it)
        log.warning(
            "Message has reached MaxDequeueCount of %d. Moving message to queue '%s'.",
            self.options.max_dequeue_count,
            self.poison_queue,
        )
        await self.storage.create_queue(self.poison_queue)
        await self.storage.put_message(self.poison_queue, msg.content)
        self.wakeups.notify(self.poison_queue)
        with contextlib.suppress(NotFoundError):
            await self.storage.delete_message(self.queue, msg.id, pop_receipt)


class _Receipt:
    """The current pop receipt of a message (changes at every visibility update)."""

    def __init__(self, value: str) -> None:
        self.value = value


class QueueOutput:
    """The ``queue`` output binding: writes messages after the function succeeded."""

    def __init__(self, accounts: StorageAccounts, encoding: str) -> None:
        self.accounts = accounts
        self.encoding = encoding
        self._created: set[tuple[int, str]] = set()

    async def __call__(self, binding: Binding, value: Any, trigger_metadata: dict[str, Any] | None) -> None:
        from host.triggers.bindexpr import bind_template

        queue = bind_template(str(binding.get("queueName", "")), trigger_metadata or {}).lower()
        bodies = output_messages(value)
        if not bodies:
            return
        storage = self.accounts.get(binding.get("connection"))
        if (id(storage), queue) not in self._created:
            await storage.create_queue(queue)
            self._created.add((id(storage), queue))
        for body in bodies:
            await storage.put_message(queue, encode_body(body, self.encoding))
        wakeups_for(storage).notify(queue)


def create_listeners(
    runtime: HostRuntime, accounts: StorageAccounts, options: QueueOptions
) -> list[QueueListener]:
    """A listener per queue-triggered function (on its ``connection``'s account)."""
    return [
        QueueListener(fn, accounts.get(fn.trigger.get("connection")), runtime.invoker.invoke, options)
        for fn in runtime.registry.by_trigger(QUEUE_TRIGGER)
    ]
