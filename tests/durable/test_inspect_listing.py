"""The dashboard's instance listing over a task hub of 250 instances (no engine), on Azurite (lean
REST and SDK paths) and in memory (the testing toolkit's storage).

Every filter narrows to exactly the instances it names, the pages of either order cover all of
them once, the sorted order is newest update first, and the counts per status match the rows.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio
from storages import open_test_storage

from host.durable.inspect.instances import (
    InstanceFilter,
    InstanceSummary,
    ListingTokenError,
    Order,
    list_instances,
)
from host.durable.taskhub.hub import TaskHub, TaskHubNames
from host.durable.taskhub.rows import InstanceStatus

BASE = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
STATUSES = ("Running", "Completed", "Failed", "Pending", "Terminated")
NAMES = ("alpha_flow", "beta_flow", "gamma_flow")
COUNT = 250
VERSIONS = ("1.0", "", None)
"""Versioned, unversioned as the engine writes it (an empty Version), a row from before versioning."""
pytestmark = pytest.mark.asyncio(loop_scope="module")  # one seeded hub for the module


@dataclass(frozen=True)
class Seeded:
    hub: TaskHub
    rows: list[InstanceStatus]


def _seed_rows() -> list[InstanceStatus]:
    rows = []
    for i in range(COUNT):
        created = BASE + timedelta(minutes=i)
        rows.append(
            InstanceStatus(
                f"{'order' if i < 100 else 'batch'}-{i:03d}",
                name=NAMES[i % 3],
                execution_id=uuid.uuid4().hex,
                runtime_status=STATUSES[i % 5],
                created_time=created,
                # last updates in another order than ids or creation, with ties every 50
                last_updated_time=BASE + timedelta(hours=5, seconds=(i * 37) % 200),
                input='"x"',
                version=VERSIONS[i % 3],
            )
        )
    return rows


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=["azure", "azure_sdk", "memory"])
async def seeded(request: pytest.FixtureRequest) -> AsyncIterator[Seeded]:
    storage = open_test_storage(request.param, request)
    hub = TaskHub(storage, TaskHubNames(f"list{uuid.uuid4().hex[:10]}"))
    await hub.create()
    rows = _seed_rows()
    gate = asyncio.Semaphore(32)

    async def write(row: InstanceStatus) -> None:
        async with gate:
            await hub.write_instance(row, merge=False)

    entity = InstanceStatus("@counter@k", runtime_status="Running", last_updated_time=BASE)
    await asyncio.gather(*(write(r) for r in [*rows, entity]))
    yield Seeded(hub, rows)
    await hub.delete()
    await storage.close()


async def _all_pages(
    hub: TaskHub, where: InstanceFilter, size: int, order: Order = "last_updated"
) -> list[list[str]]:
    pages: list[list[str]] = []
    token: str | None = None
    while True:
        page = await list_instances(hub, where, page_size=size, continuation=token, order=order)
        pages.append([s.instance_id for s in page.instances])
        token = page.continuation
        if token is None:
            return pages
        assert len(pages) <= COUNT, "the continuation tokens never end"


def _newest_first(rows: list[InstanceStatus]) -> list[str]:
    ordered = sorted(rows, key=lambda r: (r.last_updated_time, r.instance_id), reverse=True)
    return [r.instance_id for r in ordered]


async def test_pages_cover_every_instance_once_newest_update_first(seeded: Seeded) -> None:
    pages = await _all_pages(seeded.hub, InstanceFilter(), 40)
    assert [len(p) for p in pages] == [40] * 6 + [10]
    listed = [i for p in pages for i in p]
    assert listed == _newest_first(seeded.rows)  # every one once, no entity, in update order


async def test_instance_id_order_pages_through_the_table(seeded: Seeded) -> None:
    pages = await _all_pages(seeded.hub, InstanceFilter(), 60, order="instance_id")
    listed = [i for p in pages for i in p]
    assert listed == sorted(r.instance_id for r in seeded.rows)
    assert len(pages) == 5


async def test_first_page_has_the_counts_per_status(seeded: Seeded) -> None:
    page = await list_instances(seeded.hub, page_size=10)
    expected = Counter(r.runtime_status for r in seeded.rows)
    assert page.counts is not None and page.counts.by_status == expected
    assert page.counts.total == COUNT and page.counts.complete and not page.truncated
    assert page.matched == COUNT
    first = page.instances[0]
    newest = max(seeded.rows, key=lambda r: (r.last_updated_time, r.instance_id))
    assert first == InstanceSummary(
        newest.instance_id,
        newest.name,
        newest.runtime_status,
        newest.created_time,
        newest.last_updated_time,
        None,
        newest.version or None,
    )


@pytest.mark.parametrize("order", ["last_updated", "instance_id"])
async def test_rows_carry_the_orchestration_version(seeded: Seeded, order: Order) -> None:
    listed: dict[str, str | None] = {}
    token: str | None = None
    while True:
        page = await list_instances(seeded.hub, page_size=100, continuation=token, order=order)
        listed.update((s.instance_id, s.version) for s in page.instances)
        token = page.continuation
        if token is None:
            break
    assert listed == {r.instance_id: r.version or None for r in seeded.rows}
    assert set(listed.values()) == {"1.0", None}


FILTERS = {
    "status": (InstanceFilter(statuses=frozenset({"Failed"})), lambda r: r.runtime_status == "Failed"),
    "statuses": (
        InstanceFilter(statuses=frozenset({"Running", "Pending"})),
        lambda r: r.runtime_status in ("Running", "Pending"),
    ),
    "name": (InstanceFilter(name="beta_flow"), lambda r: r.name == "beta_flow"),
    "created from": (
        InstanceFilter(created_from=BASE + timedelta(minutes=200)),
        lambda r: r.created_time >= BASE + timedelta(minutes=200),
    ),
    "created range": (
        InstanceFilter(created_from=BASE + timedelta(minutes=10), created_to=BASE + timedelta(minutes=30)),
        lambda r: BASE + timedelta(minutes=10) <= r.created_time <= BASE + timedelta(minutes=30),
    ),
    "prefix": (InstanceFilter(prefix="order-0"), lambda r: r.instance_id.startswith("order-0")),
    "all at once": (
        InstanceFilter(
            statuses=frozenset({"Completed"}),
            name="alpha_flow",
            created_from=BASE + timedelta(minutes=50),
            prefix="batch",
        ),
        lambda r: (
            r.runtime_status == "Completed"
            and r.name == "alpha_flow"
            and r.created_time >= BASE + timedelta(minutes=50)
            and r.instance_id.startswith("batch")
        ),
    ),
}


@pytest.mark.parametrize("case", FILTERS)
async def test_each_filter_narrows_to_exactly_its_instances(seeded: Seeded, case: str) -> None:
    where, keep = FILTERS[case]
    wanted = [r for r in seeded.rows if keep(r)]
    assert 0 < len(wanted) < COUNT
    pages = await _all_pages(seeded.hub, where, 7)
    assert [i for p in pages for i in p] == _newest_first(wanted)
    by_id = [i for p in await _all_pages(seeded.hub, where, 9, order="instance_id") for i in p]
    assert by_id == sorted(r.instance_id for r in wanted)
    page = await list_instances(seeded.hub, where, page_size=5)
    assert page.matched == len(wanted)
    # the counts ignore the filter's statuses, not its other conditions
    others = InstanceFilter(
        name=where.name, created_from=where.created_from, created_to=where.created_to, prefix=where.prefix
    )
    unfiltered = [r for r in seeded.rows if _matches_all_but_status(others, r)]
    assert page.counts is not None and page.counts.by_status == Counter(r.runtime_status for r in unfiltered)


def _matches_all_but_status(where: InstanceFilter, row: InstanceStatus) -> bool:
    assert row.created_time is not None
    return (
        (where.name is None or row.name == where.name)
        and (where.created_from is None or row.created_time >= where.created_from)
        and (where.created_to is None or row.created_time <= where.created_to)
        and (where.prefix is None or row.instance_id.startswith(where.prefix))
    )


async def test_a_scan_past_its_limit_says_so(seeded: Seeded) -> None:
    page = await list_instances(seeded.hub, page_size=10, scan_limit=100)
    assert page.truncated
    assert page.counts is not None and not page.counts.complete and page.counts.total == 100


async def test_tokens_of_nobody_or_of_the_other_order_are_refused(seeded: Seeded) -> None:
    by_id = await list_instances(seeded.hub, page_size=10, order="instance_id")
    assert by_id.continuation is not None
    with pytest.raises(ListingTokenError):
        await list_instances(seeded.hub, continuation=by_id.continuation)
    sorted_page = await list_instances(seeded.hub, page_size=10)
    assert sorted_page.continuation is not None
    with pytest.raises(ListingTokenError):
        await list_instances(seeded.hub, continuation=sorted_page.continuation, order="instance_id")
    with pytest.raises(ListingTokenError):
        await list_instances(seeded.hub, continuation="k:not-base64-json")
