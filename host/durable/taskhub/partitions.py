"""Partition ownership through the ``{Hub}Partitions`` table (docs/taskhub.md, "Partitions").

One row per control queue (PartitionKey ``""``, RowKey = queue name) with ``CurrentOwner``,
``NextOwner``, ``OwnedSince``, ``LastRenewal``, ``ExpiresAt`` and ``IsDraining``; every update is
Replace-with-eTag. Each worker runs one loop: claim free/expired rows, renew its own, hand over
rows another worker asked for (``NextOwner``), and steal towards an even share. A worker that
dies stops renewing; its rows expire after ``lease_interval`` and the others claim them.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from host.durable.taskhub.hub import TaskHub
from host.errors import ConflictError, NotFoundError, PreconditionFailedError, StorageError
from host.storage.interface import Row, TableOp, WriteMode, eq

log = logging.getLogger(__name__)

PartitionCallback = Callable[[int], Awaitable[None] | None]
"""``callback(partition_index)``; may be sync or async. ``on_lost`` should return once the
partition is drained (no more dequeues, in-flight work finished or abandoned)."""


@dataclass(frozen=True)
class PartitionTimings:
    """Intervals of the partition manager in seconds (DTFx: 10 s / 10 s / 30 s)."""

    renew_interval: float = 10.0
    acquire_interval: float = 10.0
    lease_interval: float = 30.0
    waiting_interval: float = 1.0
    """Loop interval while this worker waits for a partition it asked for."""


class PartitionManager:
    """Claims, renews, balances and releases control-queue partitions for one worker."""

    def __init__(
        self,
        taskhub: TaskHub,
        worker_id: str,
        on_acquired: PartitionCallback,
        on_lost: PartitionCallback,
        timings: PartitionTimings | None = None,
    ) -> None:
        self.hub = taskhub
        self.worker_id = worker_id
        self.on_acquired = on_acquired
        self.on_lost = on_lost
        self.timings = timings or PartitionTimings()
        self.owned: set[int] = set()
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._held_off: dict[int, datetime] = {}
        """Partitions this worker gave up, and until when it does not claim them again."""

    @property
    def table(self) -> str:
        return self.hub.names.partitions_table

    # life cycle -----------------------------------------------------------
    async def start(self) -> None:
        """Make sure every partition has a row, run one pass, then keep the loop running."""
        await self._ensure_rows()
        await self.run_once()
        self._task = asyncio.create_task(self._loop(), name=f"partitions-{self.worker_id}")

    async def stop(self, *, release: bool = True) -> None:
        """Stop the loop; with ``release`` drain and hand back every owned partition."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
        if release:
            rows = await self._read_rows()
            for name, row in rows.items():
                index = self.hub.names.partition_of_queue(name)
                if index in self.owned and row.get("CurrentOwner") == self.worker_id:
                    await self._release(index, row)
        else:
            self.owned.clear()

    async def release(self, index: int, hold_off: float | None = None) -> None:
        """Give ``index`` up now (drained through ``on_lost``) and leave it to other workers for
        ``hold_off`` seconds (default: two lease intervals); afterwards this worker may claim it again."""
        wait = 2 * self.timings.lease_interval if hold_off is None else hold_off
        self._held_off[index] = self.hub.now() + timedelta(seconds=wait)
        row = (await self._read_rows()).get(self.hub.names.control_queue(index))
        if row is not None and row.get("CurrentOwner") == self.worker_id:
            await self._release(index, row)
        elif index in self.owned:
            self.owned.discard(index)
            await _call(self.on_lost, index)

    def _is_held_off(self, index: int, now: datetime) -> bool:
        until = self._held_off.get(index)
        if until is not None and now >= until:
            del self._held_off[index]
            return False
        return until is not None

    def wake(self) -> None:
        """Run the next pass now."""
        self._wake.set()

    async def _loop(self) -> None:
        while True:
            try:
                interval = await self.run_once()
            except StorageError as err:
                log.warning("partition manager %s: %s", self.worker_id, err)
                interval = self.timings.waiting_interval
            except Exception:  # a bug in a pass must not stop the renewals of every partition
                log.exception("partition manager %s: a pass failed; trying again", self.worker_id)
                interval = self.timings.waiting_interval
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=interval)
            except TimeoutError:
                pass
            self._wake.clear()

    # one pass -------------------------------------------------------------
    async def run_once(self) -> float:
        """One read + claim/renew/release/steal pass; returns how long to wait before the next."""
        rows = await self._read_rows()
        now = self.hub.now()
        names = self.hub.names
        retry_soon = False
        for name, row in rows.items():
            index = names.partition_of_queue(name)
            if index is None:
                continue
            owner, next_owner = row.get("CurrentOwner"), row.get("NextOwner")
            if index in self.owned and owner != self.worker_id:
                self.owned.discard(index)
                log.info("partition manager %s: lost %s to %s", self.worker_id, name, owner)
                await _call(self.on_lost, index)
                continue
            if owner == self.worker_id:
                # A partition this worker gave up whose release lost a race is released again.
                if (next_owner and next_owner != self.worker_id) or self._is_held_off(index, now):
                    await self._release(index, row)
                else:
                    renewed = await self._write(row, self._renewed(row, now))
                    retry_soon |= not renewed
                    if renewed and index not in self.owned:  # a stale read must not re-acquire
                        self.owned.add(index)
                        await _call(self.on_acquired, index)
                continue
            if self._claimable(row, now) and not self._is_held_off(index, now):
                if await self._write(row, self._claimed(row, now)):
                    self.owned.add(index)
                    log.info("partition manager %s: acquired %s", self.worker_id, name)
                    await _call(self.on_acquired, index)
                else:
                    retry_soon = True
        waiting = await self._balance(rows, now)
        if retry_soon or waiting:
            return min(self.timings.waiting_interval, self.timings.acquire_interval)
        return min(self.timings.renew_interval, self.timings.acquire_interval)

    def _claimable(self, row: Row, now: datetime) -> bool:
        owner, next_owner = row.get("CurrentOwner"), row.get("NextOwner")
        expires = row.get("ExpiresAt")
        if owner is None and (next_owner is None or next_owner == self.worker_id):
            return True
        if expires is not None and now >= expires:
            # Expired: its owner stopped renewing, or it was handed to a worker that never claimed
            # it (that worker died between asking and claiming).
            return True
        return owner is not None and bool(row.get("IsDraining")) and next_owner is None

    async def _balance(self, rows: dict[str, Row], now: datetime) -> bool:
        """Ask for partitions (``NextOwner`` = me) from owners above an even share.

        Returns True while this worker waits for a hand-over it asked for.
        """
        counts: dict[str, int] = {}
        asked = 0
        for row in rows.values():
            owner = row.get("CurrentOwner")
            expires = row.get("ExpiresAt")
            if owner and (expires is None or now < expires):
                counts[owner] = counts.get(owner, 0) + 1
            if row.get("NextOwner") == self.worker_id and owner != self.worker_id:
                asked += 1
        workers = set(counts) | {self.worker_id}
        quota = len(rows) // len(workers)
        mine = counts.get(self.worker_id, 0) + asked
        for row in sorted(rows.values(), key=lambda r: r.row_key):
            if mine >= quota:
                break
            owner = row.get("CurrentOwner")
            if not owner or owner == self.worker_id or row.get("NextOwner"):
                continue
            index = self.hub.names.partition_of_queue(row.row_key)
            if index is not None and self._is_held_off(index, now):
                continue
            if counts.get(owner, 0) <= quota:
                continue
            if await self._write(row, {**row, "NextOwner": self.worker_id}):
                counts[owner] -= 1
                mine += 1
                asked += 1
        return asked > 0

    # row writes -----------------------------------------------------------
    def _lease_end(self, now: datetime) -> datetime:
        return now + timedelta(seconds=self.timings.lease_interval)

    def _renewed(self, row: Row, now: datetime) -> dict[str, Any]:
        return {**row, "LastRenewal": now, "ExpiresAt": self._lease_end(now)}

    def _claimed(self, row: Row, now: datetime) -> dict[str, Any]:
        out = {
            **row,
            "CurrentOwner": self.worker_id,
            "OwnedSince": now,
            "LastRenewal": now,
            "ExpiresAt": self._lease_end(now),
            "IsDraining": False,
        }
        out.pop("NextOwner", None)
        return out

    async def _release(self, index: int, row: Row) -> None:
        """Drain (``on_lost``), then clear ``CurrentOwner`` so the next owner can claim it."""
        was_owned = index in self.owned
        self.owned.discard(index)
        if was_owned:
            await _call(self.on_lost, index)
        released = {**row, "IsDraining": False}
        released.pop("CurrentOwner", None)
        if await self._write(row, released):
            log.info("partition manager %s: released %s", self.worker_id, row.row_key)

    async def _write(self, row: Row, entity: dict[str, Any]) -> bool:
        """Replace ``row`` guarded by its eTag; False when someone else changed it first."""
        clean = {k: v for k, v in entity.items() if v is not None}
        try:
            etag = await self.hub.storage.write_row(
                self.table, TableOp(WriteMode.UPDATE_REPLACE, clean, etag=row.etag)
            )
        except (PreconditionFailedError, NotFoundError, ConflictError):
            return False
        row.clear()
        row.update(clean)
        row.etag = etag
        return True

    async def _read_rows(self) -> dict[str, Row]:
        rows = [r async for r in self.hub.storage.iter_rows(self.table, eq("PartitionKey", ""))]
        return {r.row_key: r for r in rows}

    async def _ensure_rows(self) -> None:
        for _ in range(3):
            existing = await self._read_rows()
            missing = [q for q in self.hub.names.control_queues if q not in existing]
            if not missing:
                return
            ops = [
                TableOp(WriteMode.INSERT, {"PartitionKey": "", "RowKey": q, "IsDraining": False})
                for q in missing
            ]
            try:
                await self.hub.storage.transact(self.table, ops)
                return
            except ConflictError:
                continue  # another worker created some of them at the same time


async def _call(callback: PartitionCallback, index: int) -> None:
    result = callback(index)
    if inspect.isawaitable(result):
        await result
