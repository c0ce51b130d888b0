"""Chaos: three host processes on one hub, SIGKILLs and an Azurite restart while 200 instances run.

Chains, fan-outs and sub-orchestrations after a durable timer. Nothing stalls (every instance
Completes with the right output), nothing is lost or doubled (every TaskScheduled in the History
table has exactly one completion, every sub-orchestration and timer exactly one outcome;
activities themselves are at-least-once), entity signals count exactly once (counter sums). The
run uses its own on-disk Azurite (fixed ports, restarted in the middle), not the session's.
bench/chaos.py runs longer.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from chaos_support import ChaosPlan, ChaosRun, describe

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


@pytest.fixture
async def chaos(tmp_path: Path) -> AsyncIterator[ChaosRun]:
    seed = int(os.environ.get("CHAOS_SEED", "0")) or int.from_bytes(os.urandom(2), "big")
    print(f"chaos seed {seed} (CHAOS_SEED={seed} repeats this run)")
    plan = ChaosPlan(chains=140, fans=40, nested=20, width=5, hosts=3, kills=3, azurite_restarts=1, seed=seed)
    run = ChaosRun(tmp_path, plan)
    try:
        yield run
    finally:
        await run.aclose()


async def test_kills_and_an_azurite_restart_lose_and_double_nothing(chaos: ChaosRun) -> None:
    await chaos.start()
    await chaos.run()
    await chaos.wait_completed(timeout=300)
    await chaos.wait_counters(timeout=120)
    report = await chaos.report()
    print(report.summary())
    print(describe(report.kills))
    assert report.problems == []
    assert report.lost == 0
    assert report.duplicates == 0 and report.missing == 0
    assert report.counters == report.expected_counters
    assert len(report.kills) == 3 and len(report.azurite_restarts) == 1
    assert report.executions >= report.scheduled
