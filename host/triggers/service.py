"""The storage triggers' component: listeners for every trigger, and the shared bindings.

:mod:`host.runtime` calls :func:`create_services` once per start. It registers the
``queue``/``blob``/``table`` bindings on the invoker, so they work in any function (an HTTP
function with a queue output, a timer with a table input), and the admin-invocation converters;
then it returns the queue listeners, timer listeners and blob scanners. The trigger modules
know nothing of this one (imports flow one way).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from host.indexing.registry import BLOB_TRIGGER, QUEUE_TRIGGER, TIMER_TRIGGER, FunctionInfo
from host.storage.accounts import StorageAccounts
from host.storage.interface import QueueMessage
from host.storage.resolve import storage_account
from host.triggers import blob, queue, timer
from host.triggers.bindexpr import BlobPathPattern
from host.triggers.blob import BlobInput, BlobOutput, blob_metadata
from host.triggers.blobpath import split_blob_path
from host.triggers.common import QueueOptions
from host.triggers.convert import blob_value, queue_trigger_value, timer_payload, timer_trigger_value
from host.triggers.queue import QueueOutput, queue_metadata
from host.triggers.table import TableInput, TableOutput

if TYPE_CHECKING:
    from host.runtime import HostRuntime, Service
    from host.triggers.timer import TimerListener


def create_services(runtime: HostRuntime) -> list[Service]:
    """Register the storage bindings, then a listener per queue, timer and blob trigger.

    Raises ConfigError when the host has no ``AzureWebJobsStorage`` account.
    """
    options = QueueOptions.from_settings(runtime.settings)
    settings = runtime.settings
    accounts = StorageAccounts(runtime.storage, lambda name: storage_account(settings, name))
    timers = timer.create_listeners(runtime)
    register_bindings(runtime, accounts, options, {t.fn.name: t for t in timers})
    return [
        _CloseAccounts(accounts),
        *queue.create_listeners(runtime, accounts, options),
        *timers,
        *blob.create_listeners(runtime, accounts, options.max_dequeue_count),
    ]


class _CloseAccounts:
    """A service that closes the other accounts the bindings opened when the host stops."""

    def __init__(self, accounts: StorageAccounts) -> None:
        self.accounts = accounts

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        await self.accounts.close()


def register_bindings(
    runtime: HostRuntime,
    accounts: StorageAccounts,
    options: QueueOptions,
    timers: Mapping[str, TimerListener],
) -> None:
    """Register queue/blob/table bindings and admin trigger converters on ``runtime.invoker``."""
    invoker = runtime.invoker
    invoker.add_output_handler("queue", QueueOutput(accounts, options.message_encoding))
    invoker.add_input_provider("blob", BlobInput(accounts))
    invoker.add_output_handler("blob", BlobOutput(accounts))
    invoker.add_input_provider("table", TableInput(accounts))
    invoker.add_output_handler("table", TableOutput(accounts))
    invoker.add_trigger_converter(QUEUE_TRIGGER, _admin_queue)
    invoker.add_trigger_converter(BLOB_TRIGGER, lambda fn, text: _admin_blob(accounts, fn, text))
    invoker.add_trigger_converter(TIMER_TRIGGER, lambda fn, text: _admin_timer(timers, fn, text))


async def _admin_queue(fn: FunctionInfo, text: str) -> tuple[Any, dict[str, Any]]:
    """An admin-invoked queue function gets a message made from the input text."""
    now = datetime.now(UTC)
    msg = QueueMessage(
        id=str(uuid.uuid4()),
        pop_receipt="",
        content=text,
        dequeue_count=1,
        inserted_on=now,
        expires_on=now + timedelta(days=7),
        next_visible_on=now,
    )
    body = text.encode("utf-8")
    meta = queue_metadata(msg, body)
    return queue_trigger_value(fn, body, meta), meta


async def _admin_blob(accounts: StorageAccounts, fn: FunctionInfo, text: str) -> tuple[Any, dict[str, Any]]:
    """An admin-invoked blob function gets the blob at path ``container/name``."""
    storage = accounts.get(fn.trigger.get("connection"))
    container, name = split_blob_path(text)
    data, info = await storage.download_blob(container, name)
    pattern = BlobPathPattern.parse(str(fn.trigger.get("path", "")))
    params = pattern.match(name) or {} if pattern.container == container else {}
    meta = blob_metadata(storage, container, info, params)
    return blob_value(fn, fn.trigger.name, data, meta, trigger=True), meta


async def _admin_timer(
    timers: Mapping[str, TimerListener], fn: FunctionInfo, _text: str
) -> tuple[Any, dict[str, Any]]:
    """An admin-invoked timer: input ignored, not past due, status from the monitor."""
    listener = timers.get(fn.name)
    payload = listener.payload(False) if listener is not None else timer_payload(False, None)
    return timer_trigger_value(fn, payload), {}


__all__ = ["create_services", "register_bindings"]
