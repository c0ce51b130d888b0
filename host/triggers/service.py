"""Wiring the storage triggers into a runtime: bindings on the invoker, admin invocations.

Every trigger module's ``create_services`` calls :func:`register_bindings` (idempotent), so the
``queue``/``blob``/``table`` bindings work in any function (an HTTP function with a queue
output, a timer with a table input) as soon as one trigger module is loaded.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from host.indexing.registry import BLOB_TRIGGER, QUEUE_TRIGGER, TIMER_TRIGGER, FunctionInfo
from host.storage.accounts import StorageAccounts
from host.storage.interface import QueueMessage
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


@dataclass
class TriggerState:
    """Per-runtime state of the storage triggers."""

    queue_options: QueueOptions
    timers: dict[str, TimerListener] = field(default_factory=dict)
    accounts: StorageAccounts | None = None


def trigger_state(runtime: HostRuntime) -> TriggerState:
    """The triggers' state attached to ``runtime`` (created on first use)."""
    state: TriggerState | None = getattr(runtime, "_storage_triggers", None)
    if state is None:
        state = TriggerState(QueueOptions.from_settings(runtime.settings))
        runtime._storage_triggers = state  # type: ignore[attr-defined]
    return state


def storage_accounts(runtime: HostRuntime) -> StorageAccounts:
    """The accounts of the bindings' ``connection`` settings (ConfigError without AzureWebJobsStorage)."""
    state = trigger_state(runtime)
    if state.accounts is None:
        state.accounts = StorageAccounts(runtime.storage, runtime.settings.connection)
    return state.accounts


class _CloseAccounts:
    """A service that closes the other accounts the bindings opened when the host stops."""

    def __init__(self, accounts: StorageAccounts) -> None:
        self.accounts = accounts

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        await self.accounts.close()


def register_bindings(runtime: HostRuntime) -> list[Service]:
    """Register queue/blob/table bindings and admin trigger converters on ``runtime.invoker``.

    Returns the service that closes the bindings' other accounts the first time, ``[]`` after."""
    state = trigger_state(runtime)
    invoker = runtime.invoker
    if getattr(invoker, "_storage_bindings_registered", False) or not runtime.has_storage:
        return []
    accounts = storage_accounts(runtime)
    invoker.add_output_handler("queue", QueueOutput(accounts, state.queue_options.message_encoding))
    invoker.add_input_provider("blob", BlobInput(accounts))
    invoker.add_output_handler("blob", BlobOutput(accounts))
    invoker.add_input_provider("table", TableInput(accounts))
    invoker.add_output_handler("table", TableOutput(accounts))
    if hasattr(invoker, "add_trigger_converter"):
        invoker.add_trigger_converter(QUEUE_TRIGGER, _admin_queue)
        invoker.add_trigger_converter(BLOB_TRIGGER, lambda fn, text: _admin_blob(runtime, fn, text))
        invoker.add_trigger_converter(TIMER_TRIGGER, lambda fn, text: _admin_timer(state, fn, text))
    invoker._storage_bindings_registered = True
    return [_CloseAccounts(accounts)]


async def _admin_queue(fn: FunctionInfo, text: str) -> tuple[Any, dict[str, Any]]:
    """An admin-invoked queue function gets a message made from the input text."""
    now = datetime.now(UTC)
    msg = QueueMessage(id=str(uuid.uuid4()), pop_receipt="", content=text, dequeue_count=1,
                       inserted_on=now, expires_on=now + timedelta(days=7), next_visible_on=now)
    body = text.encode("utf-8")
    meta = queue_metadata(msg, body)
    return queue_trigger_value(fn, body, meta), meta


async def _admin_blob(runtime: HostRuntime, fn: FunctionInfo, text: str) -> tuple[Any, dict[str, Any]]:
    """An admin-invoked blob function gets the blob at path ``container/name``."""
    storage = storage_accounts(runtime).get(fn.trigger.get("connection"))
    container, name = split_blob_path(text)
    data, info = await storage.download_blob(container, name)
    pattern = BlobPathPattern.parse(str(fn.trigger.get("path", "")))
    params = pattern.match(name) or {} if pattern.container == container else {}
    meta = blob_metadata(storage, container, info, params)
    return blob_value(fn, fn.trigger.name, data, meta, trigger=True), meta


async def _admin_timer(state: TriggerState, fn: FunctionInfo, _text: str) -> tuple[Any, dict[str, Any]]:
    """An admin-invoked timer: input ignored, not past due, status from the monitor."""
    listener = state.timers.get(fn.name)
    payload = listener.payload(False) if listener is not None else timer_payload(False, None)
    return timer_trigger_value(fn, payload), {}


__all__ = ["TriggerState", "register_bindings", "storage_accounts", "trigger_state"]
