"""Client-side checks of Azure Tables' transaction rules (shared by both implementations)."""

from __future__ import annotations

from collections.abc import Sequence

from host.errors import StorageError
from host.storage.interface import MAX_TRANSACTION_OPERATIONS, TableOp


def check_transaction(table: str, ops: Sequence[TableOp]) -> None:
    """StorageError unless ``ops`` are ≤ 100 operations on one partition, each row once."""
    if len(ops) > MAX_TRANSACTION_OPERATIONS:
        raise StorageError(
            f"table {table}: a transaction may hold at most {MAX_TRANSACTION_OPERATIONS} "
            f"operations, got {len(ops)}"
        )
    partitions = {str(op.entity.get("PartitionKey")) for op in ops}
    if len(partitions) > 1:
        shown = ", ".join(sorted(partitions)[:3])
        raise StorageError(
            f"table {table}: a transaction must stay in one partition, got PartitionKeys {shown}"
        )
    keys = [str(op.entity.get("RowKey")) for op in ops]
    if len(set(keys)) != len(keys):
        raise StorageError(f"table {table}: a transaction may touch each row only once")
