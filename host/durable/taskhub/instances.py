"""Instances table of a task hub: point reads, writes, queries with paging, purge."""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Sequence
from datetime import datetime

from host.durable.taskhub.base import TaskHubBase
from host.durable.taskhub.history import HistoryOps
from host.durable.taskhub.messages import decode_message
from host.durable.taskhub.names import escape_key
from host.durable.taskhub.rows import (
    INSTANCE_SELECT_NO_IO,
    TERMINAL_STATUSES,
    InstanceStatus,
    instance_to_row,
    row_to_instance,
)
from host.errors import NotFoundError
from host.storage.interface import Filter, Row, TableOp, WriteMode, all_of, any_of, eq, ge, le, lt

MAX_QUERY_PAGE = 1000
"""Azure Tables returns at most 1,000 rows per query request (``$top`` may not ask for more)."""


def prefix_filter(prop: str, prefix: str) -> Filter | None:
    """``prop`` starts with ``prefix`` as a key range (``ge prefix and lt prefix+1``)."""
    if not prefix:
        return None
    upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    return all_of(ge(prop, prefix), lt(prop, upper))


def instance_filter(
    runtime_status: Collection[str] | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    instance_id_prefix: str | None = None,
    exclude_entities: bool = True,
    name: str | None = None,
) -> Filter | None:
    """The Instances-table filter of a query (DTFx ``OrchestrationInstanceStatusQueryCondition``,
    plus an exact orchestrator ``name``)."""
    statuses = any_of(*(eq("RuntimeStatus", s) for s in sorted(runtime_status or ())))
    return all_of(
        eq("RowKey", ""),
        eq("Name", name) if name else None,
        ge("CreatedTime", created_from) if created_from is not None else None,
        le("CreatedTime", created_to) if created_to is not None else None,
        statuses,
        prefix_filter("PartitionKey", escape_key(instance_id_prefix)) if instance_id_prefix else None,
        any_of(lt("PartitionKey", "@"), ge("PartitionKey", "A")) if exclude_entities else None,
    )


class InstanceOps(HistoryOps, TaskHubBase):
    """Instances operations (mixed into :class:`host.durable.taskhub.hub.TaskHub`)."""

    async def get_instance(self, instance_id: str, *, fetch_large: bool = True) -> InstanceStatus | None:
        """Point read of the instance's row (spilled Input/Output downloaded unless told not to)."""
        row = await self.storage.get_row(self.names.instances_table, escape_key(instance_id), "")
        if row is None:
            return None
        status = row_to_instance(row, row.etag)
        if fetch_large:
            await self._fetch_large(status)
        return status

    async def _fetch_large(self, status: InstanceStatus) -> None:
        if status.input_blob:
            status.input = await self._blob_value(status.input_blob, "Input")
        if status.output_blob:
            status.output = await self._blob_value(status.output_blob, "Output")

    async def _blob_value(self, blob_name: str, prop: str) -> str | None:
        text = await self.download_text(blob_name)
        if "-ExecutionStarted.json.gz" in blob_name and blob_name.split("/")[-1].startswith("message-"):
            # a whole start message: the input is its event's Input
            return decode_message(text).event.get(prop)
        return text

    async def _instance_row(self, status: InstanceStatus, *, full: bool) -> dict[str, object]:
        if status.last_updated_time is None:
            status.last_updated_time = self.now()
        row, spills = instance_to_row(
            status, self.names.hub, full=full, max_chars=self.options.max_inline_chars
        )
        await self.upload_spills(spills)
        for spill in spills:
            url = self.blob_url(spill.blob_name)
            if url is not None:  # DTFx stores the blob URL in the column itself
                row[spill.prop] = url
                del row[f"{spill.prop}BlobName"]
        return row

    async def write_instance(self, status: InstanceStatus, *, merge: bool = True) -> str:
        """InsertOrMerge (``merge``) or InsertOrReplace the row; ``None`` fields untouched on merge."""
        row = await self._instance_row(status, full=not merge)
        mode = WriteMode.UPSERT_MERGE if merge else WriteMode.UPSERT_REPLACE
        etag = await self.storage.write_row(self.names.instances_table, TableOp(mode, row))
        assert etag is not None
        status.etag = etag
        return etag

    async def create_instance(self, status: InstanceStatus, *, replace_etag: str | None = None) -> str:
        """Insert the row of a new instance, or replace an existing one guarded by its eTag.

        Raises ConflictError (insert: it exists) or PreconditionFailedError (replace: it changed).
        """
        row = await self._instance_row(status, full=True)
        op = (
            TableOp(WriteMode.INSERT, row)
            if replace_etag is None
            else TableOp(WriteMode.UPDATE_REPLACE, row, etag=replace_etag)
        )
        etag = await self.storage.write_row(self.names.instances_table, op)
        assert etag is not None
        status.etag = etag
        return etag

    async def update_instance(self, status: InstanceStatus, *, etag: str | None = None) -> str:
        """Merge into an existing row (``etag`` None = unconditional); NotFoundError if it is gone."""
        row = await self._instance_row(status, full=False)
        new_etag = await self.storage.write_row(
            self.names.instances_table, TableOp(WriteMode.UPDATE_MERGE, row, etag=etag)
        )
        assert new_etag is not None
        status.etag = new_etag
        return new_etag

    async def query_instances(
        self,
        runtime_status: Collection[str] | None = None,
        created_from: datetime | None = None,
        created_to: datetime | None = None,
        instance_id_prefix: str | None = None,
        *,
        top: int | None = None,
        continuation: str | None = None,
        include_input_output: bool = False,
        exclude_entities: bool = True,
        name: str | None = None,
        columns: Sequence[str] | None = None,
    ) -> tuple[list[InstanceStatus], str | None]:
        """One page of instances (up to ``top``; all of them when ``top`` is None) and its continuation.

        ``name``: only instances of that orchestrator (exact). ``columns``: read only these
        Instances columns (a narrower ``$select`` than the default, for listings of thousands).
        """
        where = instance_filter(
            runtime_status, created_from, created_to, instance_id_prefix, exclude_entities, name
        )
        if columns is not None:
            select: Sequence[str] | None = ("PartitionKey", "RowKey", *columns)
        else:
            select = None if include_input_output else INSTANCE_SELECT_NO_IO
        rows, token = await self.query_instance_rows(where, select, top=top, continuation=continuation)
        found = [row_to_instance(r, r.etag) for r in rows]
        if include_input_output:
            await asyncio.gather(*(self._fetch_large(s) for s in found if s.input_blob or s.output_blob))
        return found, token

    async def query_instance_rows(
        self,
        where: Filter | None,
        select: Sequence[str] | None = None,
        *,
        top: int | None = None,
        continuation: str | None = None,
    ) -> tuple[list[Row], str | None]:
        """Raw Instances rows matching ``where`` (see :func:`instance_filter`), up to ``top`` (all
        when None) over as many requests as it takes, and the continuation after them."""
        found: list[Row] = []
        token = continuation
        while True:
            want = None if top is None else min(top - len(found), MAX_QUERY_PAGE)
            page = await self.storage.query_rows(
                self.names.instances_table, where, select=select, top=want, continuation=token
            )
            found.extend(page.rows)
            token = page.continuation
            if token is None or (top is not None and len(found) >= top):
                return found, token

    async def purge_instance(self, instance_id: str) -> int:
        """Delete history rows, large-message blobs and the Instances row; 1 if the row existed."""
        key = escape_key(instance_id)

        async def delete_row() -> int:
            try:
                await self.storage.write_row(
                    self.names.instances_table,
                    TableOp(WriteMode.DELETE, {"PartitionKey": key, "RowKey": ""}),
                )
                return 1
            except NotFoundError:
                return 0

        _, _, deleted = await asyncio.gather(
            self.delete_history(instance_id), self.delete_blobs_of(key), delete_row()
        )
        return deleted

    async def purge_instances(
        self,
        created_from: datetime | None,
        created_to: datetime | None = None,
        runtime_status: Collection[str] | None = None,
    ) -> int:
        """Purge every terminal instance created in the range (optionally of the given statuses)."""
        statuses = set(TERMINAL_STATUSES) if not runtime_status else set(runtime_status) & TERMINAL_STATUSES
        if not statuses:
            return 0
        where = instance_filter(statuses, created_from, created_to, exclude_entities=False)
        ids = [
            row_to_instance(r).instance_id
            async for r in self.storage.iter_rows(
                self.names.instances_table, where, select=("PartitionKey", "RowKey")
            )
        ]
        gate = asyncio.Semaphore(self.options.purge_concurrency)

        async def one(instance_id: str) -> int:
            async with gate:
                return await self.purge_instance(instance_id)

        return sum(await asyncio.gather(*(one(i) for i in ids)))
