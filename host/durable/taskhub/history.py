"""History table of a task hub: load one execution, checkpoint new events under the sentinel eTag."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from host.durable.taskhub.base import TaskHubBase
from host.durable.taskhub.names import escape_key
from host.durable.taskhub.rows import (
    SENTINEL_ROW_KEY,
    RecoveryRecord,
    decode_member,
    estimate_row_bytes,
    event_to_row,
    parse_datetime,
    row_to_event,
    sentinel_row,
)
from host.errors import ConflictError, PreconditionFailedError
from host.storage.interface import Filter, Row, TableOp, WriteMode, all_of, any_of, eq


@dataclass
class LoadedHistory:
    """The latest execution of an instance as stored.

    ``etag`` is the sentinel's eTag (``None`` when there is no sentinel yet: the next checkpoint
    inserts it). When ``load_history`` was asked for a specific execution and the stored one is
    different, ``events`` is empty and ``execution_id`` names the stored one.
    """

    events: list[dict[str, Any]]
    execution_id: str | None
    etag: str | None
    checkpoint_complete: bool = True
    blob_names: list[str] = field(default_factory=list)
    recovery: RecoveryRecord | None = None
    """The sentinel's recovery record (activities a host ran from memory), if any."""

    @property
    def exists(self) -> bool:
        return self.etag is not None or bool(self.events)


class HistoryOps(TaskHubBase):
    """History operations (mixed into :class:`host.durable.taskhub.hub.TaskHub`)."""

    async def load_history(self, instance_id: str, execution_id: str | None = None) -> LoadedHistory:
        """One range query over the instance's partition; spilled properties are downloaded."""
        key = escape_key(instance_id)
        where: Filter | None = eq("PartitionKey", key)
        if execution_id is not None:
            where = all_of(where, any_of(eq("RowKey", SENTINEL_ROW_KEY), eq("ExecutionId", execution_id)))
        rows = [r async for r in self.storage.iter_rows(self.names.history_table, where)]
        return await self._history_from_rows(rows, execution_id)

    async def last_checkpoint_time(self, instance_id: str) -> datetime | None:
        """When the instance's history was last written (its sentinel's completed checkpoint time;
        ``None`` without history)."""
        row = await self.storage.get_row(self.names.history_table, escape_key(instance_id), SENTINEL_ROW_KEY)
        stamp = row.get("CheckpointCompletedTimestamp") if row is not None else None
        return parse_datetime(stamp) if stamp is not None else None

    async def _history_from_rows(self, rows: list[Row], wanted: str | None) -> LoadedHistory:
        sentinel = next((r for r in rows if r.row_key == SENTINEL_ROW_KEY), None)
        event_rows = [r for r in rows if r.row_key != SENTINEL_ROW_KEY]
        if sentinel is not None:
            current = sentinel.get("ExecutionId")
        else:
            current = event_rows[0].get("ExecutionId") if event_rows else None
        loaded = LoadedHistory(
            events=[],
            execution_id=current,
            etag=sentinel.etag if sentinel is not None else None,
            checkpoint_complete=sentinel is None or bool(sentinel.get("IsCheckpointComplete", True)),
            recovery=RecoveryRecord.from_columns(sentinel) if sentinel is not None else None,
        )
        if wanted is not None and current is not None and wanted != current:
            return loaded
        downloads: list[tuple[dict[str, Any], str, str]] = []
        for row in event_rows:
            if row.get("ExecutionId") != current:
                break
            event, pending = row_to_event(row)
            loaded.events.append(event)
            for prop, blob in pending.items():
                downloads.append((event, prop, blob))
                loaded.blob_names.append(blob)
        if downloads:
            texts = await asyncio.gather(*(self.download_text(blob) for _, _, blob in downloads))
            for (event, prop, _), text in zip(downloads, texts, strict=True):
                event[prop] = _decoded_spill(prop, text)
        return loaded

    async def append_history(
        self,
        instance_id: str,
        execution_id: str,
        events: Sequence[dict[str, Any]],
        new_count: int,
        etag: str | None,
        *,
        recovery: RecoveryRecord | None = None,
    ) -> str:
        """Checkpoint the last ``new_count`` of ``events``; returns the new sentinel eTag.

        ``recovery`` goes into the sentinel with the last part (see :class:`RecoveryRecord`).

        Rows are UpsertReplace'd together with the sentinel (Insert when ``etag`` is ``None``,
        else Merge with If-Match) in one transaction when they fit (≤ 99 rows, ≤ 3 MiB), else
        in several, the sentinel marked complete on the last. Raises
        :class:`PreconditionFailedError` when another writer got there first.
        """
        start = len(events) - new_count
        rows: list[dict[str, Any]] = []
        spills = []
        for seq in range(start, len(events)):
            row, row_spills = event_to_row(
                events[seq], instance_id, execution_id, seq, max_chars=self.options.max_inline_chars
            )
            rows.append(row)
            spills.extend(row_spills)
        await self.upload_spills(spills)
        chunks = self._chunks(rows)
        table = self.names.history_table
        for index, chunk in enumerate(chunks):
            last = index == len(chunks) - 1
            now = self.now() if last else None
            sentinel = sentinel_row(
                instance_id, execution_id, complete=last, now=now, recovery=recovery if last else None
            )
            guard = (
                TableOp(WriteMode.INSERT, sentinel)
                if etag is None
                else TableOp(WriteMode.UPDATE_MERGE, sentinel, etag=etag)
            )
            ops = [TableOp(WriteMode.UPSERT_REPLACE, row) for row in chunk]
            ops.append(guard)
            try:
                etags = await self.storage.transact(table, ops)
            except (ConflictError, PreconditionFailedError) as err:
                raise PreconditionFailedError(
                    f"history of instance {instance_id!r} was changed by another writer "
                    f"(checkpoint of execution {execution_id} rejected)"
                ) from err
            new_etag = etags[-1]
            assert new_etag is not None
            etag = new_etag
        assert etag is not None
        return etag

    def _chunks(self, rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
        chunks: list[list[dict[str, Any]]] = [[]]
        size = 0
        for row in rows:
            row_bytes = estimate_row_bytes(row)
            current = chunks[-1]
            if current and (
                len(current) >= self.options.max_batch_rows or size + row_bytes > self.options.max_batch_bytes
            ):
                chunks.append([])
                size = 0
            chunks[-1].append(row)
            size += row_bytes
        return chunks

    async def rewrite_history(
        self,
        instance_id: str,
        execution_id: str,
        events: Sequence[dict[str, Any]],
        etag: str | None,
        *,
        old_blob_names: Iterable[str] = (),
        recovery: RecoveryRecord | None = None,
    ) -> str:
        """Write a new execution from row 0 (ContinueAsNew, restart with the same id).

        Stale rows of the previous execution past the new end stay and are ignored by readers;
        blobs of the previous execution are deleted once the new history is committed.
        """
        new_etag = await self.append_history(
            instance_id, execution_id, events, len(events), etag, recovery=recovery
        )
        await self.delete_blobs(old_blob_names)
        return new_etag

    async def replace_events(
        self,
        instance_id: str,
        execution_id: str,
        replacements: Mapping[int, dict[str, Any]],
        etag: str,
    ) -> str:
        """Overwrite events in place (by sequence number) under the sentinel eTag (rewind)."""
        rows: list[dict[str, Any]] = []
        spills = []
        for seq, event in sorted(replacements.items()):
            row, row_spills = event_to_row(
                event, instance_id, execution_id, seq, max_chars=self.options.max_inline_chars
            )
            rows.append(row)
            spills.extend(row_spills)
        await self.upload_spills(spills)
        current = etag
        for chunk in self._chunks(rows):
            ops = [TableOp(WriteMode.UPSERT_REPLACE, row) for row in chunk]
            sentinel = {
                "PartitionKey": escape_key(instance_id),
                "RowKey": SENTINEL_ROW_KEY,
                "ExecutionId": execution_id,
            }
            ops.append(TableOp(WriteMode.UPDATE_MERGE, sentinel, etag=current))
            try:
                etags = await self.storage.transact(self.names.history_table, ops)
            except (ConflictError, PreconditionFailedError) as err:
                raise PreconditionFailedError(
                    f"history of instance {instance_id!r} was changed by another writer"
                ) from err
            new_etag = etags[-1]
            assert new_etag is not None
            current = new_etag
        return current

    async def delete_history(self, instance_id: str) -> int:
        """Delete every History row of the instance (100-row transactions in parallel)."""
        key = escape_key(instance_id)
        rows = [
            r
            async for r in self.storage.iter_rows(
                self.names.history_table, eq("PartitionKey", key), select=("PartitionKey", "RowKey")
            )
        ]
        batches = [rows[i : i + 100] for i in range(0, len(rows), 100)]
        await asyncio.gather(
            *(
                self.storage.transact(
                    self.names.history_table,
                    [TableOp(WriteMode.DELETE, {"PartitionKey": key, "RowKey": r.row_key}) for r in batch],
                )
                for batch in batches
            )
        )
        return len(rows)


def _decoded_spill(prop: str, text: str) -> Any:
    """A downloaded property value (complex members are JSON text in the blob too)."""
    return decode_member(prop, text)
