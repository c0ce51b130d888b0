"""The storage retry policy: bounded exponential back-off with jitter, retryable failures only.

Pure tests of the policy, then both client paths (lean REST and SDK) against the real Azurite
behind a proxy that answers with failures first.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator

import pytest
from fault_proxy import FaultProxy

from host.errors import PreconditionFailedError, StorageBusyError
from host.storage.azure.storage import AzureSdkStorage, AzureStorage
from host.storage.azurite import DEV_ACCOUNT, DEV_KEY, AzuriteProcess
from host.storage.connection import parse_connection_string
from host.storage.interface import TableOp, WriteMode
from host.storage.retry import RETRYABLE_STATUS, RetryPolicy, is_retryable_status


def test_delays_grow_exponentially_with_jitter_and_are_bounded() -> None:
    policy = RetryPolicy(retries=8, initial=0.1, maximum=1.0, jitter=0.25)
    rng = random.Random(1)
    for retry in range(1, 9):
        base = min(1.0, 0.1 * 2 ** (retry - 1))
        samples = [policy.delay(retry, rng) for _ in range(200)]
        assert all(base * 0.75 <= d <= min(1.0, base * 1.25) for d in samples), retry
        assert len({round(d, 6) for d in samples}) > 50  # jittered, also at the cap
    assert policy.worst_case <= 0.125 + 0.25 + 0.5 + 1.0 * 5
    assert RetryPolicy(retries=0).worst_case == 0


def test_only_transient_statuses_are_retryable() -> None:
    assert {408, 429, 500, 502, 503, 504} == RETRYABLE_STATUS
    for status in (200, 201, 204, 400, 403, 404, 409, 412, 501, 505):
        assert not is_retryable_status(status), status


@pytest.mark.parametrize("bad", [dict(retries=-1), dict(initial=2.0, maximum=1.0), dict(jitter=1.0)])
def test_invalid_policies_are_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**bad)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- both paths, real Azurite

FAST = RetryPolicy(retries=3, initial=0.01, maximum=0.05)


@pytest.fixture
async def proxies(azurite: AzuriteProcess) -> AsyncIterator[dict[str, FaultProxy]]:
    a = parse_connection_string(azurite.connection_string)
    found = {s: await FaultProxy(a.endpoint(s)).start() for s in ("queue", "table", "blob")}
    try:
        yield found
    finally:
        for proxy in found.values():
            await proxy.stop()


def _through(proxies: dict[str, FaultProxy], impl: str) -> AzureSdkStorage:
    text = f"AccountName={DEV_ACCOUNT};AccountKey={DEV_KEY};" + "".join(
        f"{s.capitalize()}Endpoint={p.endpoint(DEV_ACCOUNT)};" for s, p in proxies.items()
    )
    kind = AzureStorage if impl == "lean" else AzureSdkStorage
    return kind(parse_connection_string(text), retry=FAST)


@pytest.mark.parametrize("impl", ["lean", "sdk"])
async def test_busy_answers_are_retried_on_both_paths(proxies: dict[str, FaultProxy], impl: str) -> None:
    storage = _through(proxies, impl)
    queue, table, container = f"retry{impl}q", f"retry{impl}t", f"retry{impl}c"
    try:
        await storage.create_queue(queue)
        await storage.create_table(table)
        for service, status in (("queue", 503), ("table", 500), ("blob", 503)):
            proxies[service].fail_next = [status, 502, 408]
        sent = await storage.put_message(queue, "hello")
        etag = await storage.write_row(
            table, TableOp(WriteMode.UPSERT_REPLACE, {"PartitionKey": "p", "RowKey": "r"})
        )
        info = await storage.upload_blob(container, "b", b"data")
        assert sent.id and etag and info.size == 4
        assert [m.content for m in await storage.peek_messages(queue)] == ["hello"]
        assert storage.health.healthy
        # a failure that outlasts the retries is reported as busy, after exactly 1 + 3 attempts
        row = {"PartitionKey": "p", "RowKey": "lost"}
        for service, call in (
            ("queue", lambda: storage.put_message(queue, "lost")),
            ("table", lambda: storage.write_row(table, TableOp(WriteMode.UPSERT_MERGE, row))),
            ("blob", lambda: storage.upload_blob(container, "lost", b"")),
        ):
            proxies[service].fail_next = [503] * 4
            before = len(proxies[service].seen)
            with pytest.raises(StorageBusyError, match="503"):
                await call()
            assert len(proxies[service].seen) - before == 4, service
            assert storage.health.problem is not None and "busy" in storage.health.problem
        await storage.put_message(queue, "back")
        assert storage.health.healthy
    finally:
        await storage.delete_queue(queue)
        await storage.delete_table(table)
        await storage.delete_container(container)
        await storage.close()


@pytest.mark.parametrize("impl", ["lean", "sdk"])
async def test_a_lost_race_412_is_never_retried(proxies: dict[str, FaultProxy], impl: str) -> None:
    storage = _through(proxies, impl)
    table = f"race{impl}"
    try:
        await storage.create_table(table)
        row = {"PartitionKey": "p", "RowKey": "r", "v": 1}
        stale = await storage.write_row(table, TableOp(WriteMode.INSERT, row))
        await storage.write_row(table, TableOp(WriteMode.UPDATE_REPLACE, {**row, "v": 2}, etag=stale))
        before = len(proxies["table"].seen)
        with pytest.raises(PreconditionFailedError):
            await storage.write_row(table, TableOp(WriteMode.UPDATE_REPLACE, {**row, "v": 3}, etag=stale))
        assert len(proxies["table"].seen) - before == 1
        current = await storage.get_row(table, "p", "r")
        assert current is not None and current["v"] == 2
    finally:
        await storage.delete_table(table)
        await storage.close()
