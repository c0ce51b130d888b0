"""The chaos run shared by tests/engine/test_engine_chaos.py and bench/chaos.py.

A persistent Azurite of its own (a data folder, fixed ports, so it can be restarted), a few
``python -m host start`` processes of the app in apps/chaos on one task hub, a few hundred chains
and fan-outs that also signal counter entities; while they run, hosts are SIGKILLed (and replaced
by new ones) and Azurite is restarted, each at a random point of the work. Then the History and
Instances tables are read back: every instance Completed with the right output, every
TaskScheduled with exactly one completion, counter sums exact.
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from crash_support import HostProcess, HubView
from waiting import eventually

from host.durable.entities.query import read_entity_state
from host.durable.replay.history import EventType, parse_timestamp
from host.storage.azurite import AzuriteProcess, free_port

APP = Path(__file__).parent / "apps" / "chaos"
PARTITIONS = 4
COUNTERS = 4
SCHEDULED = int(EventType.TaskScheduled)
EPISODE = int(EventType.OrchestratorStarted)
PAIRS: dict[int, tuple[str, set[int]]] = {
    SCHEDULED: ("TaskScheduledId", {int(EventType.TaskCompleted), int(EventType.TaskFailed)}),
    int(EventType.SubOrchestrationInstanceCreated): (
        "TaskScheduledId",
        {int(EventType.SubOrchestrationInstanceCompleted), int(EventType.SubOrchestrationInstanceFailed)},
    ),
    int(EventType.TimerCreated): ("TimerId", {int(EventType.TimerFired)}),
}
"""What each scheduling event's outcome is, and the field of the outcome naming it."""


@dataclass(frozen=True)
class ChaosPlan:
    """What to run and what to break."""

    chains: int = 160
    fans: int = 40
    width: int = 5
    nested: int = 0
    """Instances that wait on a durable timer, then run a chain as a sub-orchestration."""
    seconds: float = 0.1
    """How long one activity sleeps."""
    hosts: int = 3
    kills: int = 3
    azurite_restarts: int = 1
    azurite_down: float = 2.0
    """Seconds Azurite stays down at a restart."""
    seed: int = 0

    @property
    def activities(self) -> int:
        return (self.chains + self.nested) * 3 + self.fans * self.width


@dataclass
class Instance:
    instance_id: str
    orchestrator: str
    """``chain``, ``fan`` or ``nested``."""
    n: int
    width: int

    def expected(self) -> int:
        steps = self.width if self.orchestrator == "fan" else 3
        return sum(self.n * 10 + step for step in range(steps))

    def input(self, seconds: float) -> dict[str, Any]:
        return {"n": self.n, "seconds": seconds, "width": self.width}

    def histories(self) -> dict[str, dict[int, int]]:
        """Instance id -> how many of each scheduling event its history must have (a nested
        instance's sub-orchestration included)."""
        if self.orchestrator == "fan":
            return {self.instance_id: {SCHEDULED: self.width}}
        if self.orchestrator == "chain":
            return {self.instance_id: {SCHEDULED: 3}}
        timer, sub = int(EventType.TimerCreated), int(EventType.SubOrchestrationInstanceCreated)
        return {self.instance_id: {timer: 1, sub: 1}, f"{self.instance_id}-child": {SCHEDULED: 3}}


@dataclass
class Kill:
    """One SIGKILL: when, which worker, which partitions it owned then."""

    at: float
    worker: str
    partitions: set[int]
    pending: int = 0
    """Instances of those partitions not Completed at the kill."""
    recovery: float | None = None


@dataclass
class ChaosReport:
    """What the run found (``problems`` empty = nothing lost, nothing duplicated)."""

    instances: int
    completed: int
    kills: list[Kill]
    azurite_restarts: list[float]
    scheduled: int
    duplicates: int
    """TaskScheduled events with more than one completion in history."""
    missing: int
    """TaskScheduled events of Completed instances with no completion in history."""
    executions: int
    """Activity executions the app logged (at least ``scheduled``: activities are at-least-once)."""
    counters: dict[str, Any]
    expected_counters: dict[str, int]
    problems: list[str] = field(default_factory=list)
    elapsed: float = 0.0

    @property
    def lost(self) -> int:
        return self.instances - self.completed

    def recoveries(self) -> list[float]:
        return [k.recovery for k in self.kills if k.recovery is not None]

    def summary(self) -> str:
        rec = self.recoveries()
        recovery = (
            f"recovery p50 {statistics.median(rec):.1f} s, max {max(rec):.1f} s" if rec else "recovery n/a"
        )
        return (
            f"{self.instances} instances ({self.scheduled} activities, {self.executions} executions), "
            f"{len(self.kills)} kills, {len(self.azurite_restarts)} Azurite restarts: lost {self.lost}, "
            f"duplicates {self.duplicates}, missing completions {self.missing}, {recovery}; "
            f"counters {'exact' if self.counters == self.expected_counters else 'WRONG'}; "
            f"{self.elapsed:.0f} s"
        )


class ChaosRun:
    """Azurite + host processes + the instances, driven from this process."""

    def __init__(self, workdir: Path, plan: ChaosPlan) -> None:
        self.workdir = workdir
        self.plan = plan
        self.rng = random.Random(plan.seed)
        self.hub_name = f"chaos{uuid.uuid4().hex[:10]}"
        ports = sorted({free_port() for _ in range(3)})
        while len(ports) < 3:
            ports = sorted({*ports, free_port()})
        self.azurite = AzuriteProcess(ports[0], ports[1], ports[2], workdir / "azurite")
        self.hosts: list[HostProcess] = []
        self.view: HubView | None = None
        self.kills: list[Kill] = []
        self.restarts: list[float] = []
        self.instances = self._instances()
        self.started_at = 0.0

    # ---------------------------------------------------------------- set-up
    def _instances(self) -> list[Instance]:
        p = self.plan
        out = [Instance(f"chain{n:04d}", "chain", n, 3) for n in range(p.chains)]
        out += [Instance(f"fan{n:04d}", "fan", p.chains + n, p.width) for n in range(p.fans)]
        out += [Instance(f"nest{n:04d}", "nested", p.chains + p.fans + n, 3) for n in range(p.nested)]
        return out

    def expected_counters(self) -> dict[str, int]:
        sums: Counter[str] = Counter()
        for inst in self.instances:
            sums[f"c{inst.n % COUNTERS}"] += inst.n
        return dict(sums)

    async def start(self) -> None:
        """Azurite (on disk), the hosts (ready, each owning partitions)."""
        self.azurite.start(in_memory=False)
        self.view = HubView(self.azurite.connection_string, self.hub_name, PARTITIONS)
        for _ in range(self.plan.hosts):
            self.spawn()
        for h in self.hosts:
            await h.ready(60)

        async def balanced() -> bool:
            return len(await self.hub_view.owners()) == min(self.plan.hosts, PARTITIONS)

        await eventually(balanced, 60, "every host to own partitions", interval=0.3)

    @property
    def hub_view(self) -> HubView:
        assert self.view is not None, "start() first"
        return self.view

    def spawn(self, port: int | None = None) -> HostProcess:
        name = f"host{len(self.hosts)}"
        proc = HostProcess(APP, self.hub_name, self.azurite.connection_string, self.workdir, name, port=port)
        self.hosts.append(proc)
        return proc

    def alive(self) -> list[HostProcess]:
        return [h for h in self.hosts if h.proc.poll() is None]

    def close(self) -> None:
        for h in self.hosts:
            h.stop()
        self.azurite.stop()

    async def aclose(self) -> None:
        if self.view is not None:
            await self.view.close()
        self.close()

    # ---------------------------------------------------------------- the run
    def executions(self) -> list[tuple[float, int, str]]:
        """Every logged activity execution: (time, pid, instance id)."""
        out = []
        for path in self.workdir.glob("*.log"):
            for line in path.read_text().splitlines():
                at, iid, _step = line.split()
                out.append((float(at), int(path.stem), iid))
        return out

    async def run(self) -> None:
        """Start every instance, then kill hosts and restart Azurite at random points of the work."""
        self.started_at = time.time()
        for kind in ("chain", "fan", "nested"):
            await self.hub_view.start_many(
                kind,
                {i.instance_id: i.input(self.plan.seconds) for i in self.instances if i.orchestrator == kind},
            )
        events = ["kill"] * self.plan.kills + ["azurite"] * self.plan.azurite_restarts
        self.rng.shuffle(events)
        points = sorted(self.rng.uniform(0.1, 0.8) for _ in events)
        for what, point in zip(events, points, strict=True):
            target = int(point * self.plan.activities)

            def reached(t: int = target) -> bool:
                return len(self.executions()) >= t

            await eventually(
                reached,
                300,
                f"{target} activity executions",
                interval=0.1,
            )
            if what == "kill":
                await self.kill_one()
            else:
                await self.restart_azurite()

    async def kill_one(self) -> None:
        """SIGKILL a random live host (noting the partitions it owned), then start one in its place."""
        owning = await self.owners_by_port()
        # Hosts that own partitions are the interesting victims; a fresh one may own none yet.
        victim = self.rng.choice([h for h in self.alive() if h.port in owning] or self.alive())
        worker, owned = owning.get(victim.port, (f"port {victim.port}", set()))
        done = await self.hub_view.completed()
        names = self.hub_view.hub.names
        pending = sum(
            1
            for i in self.instances
            if i.instance_id not in done and names.partition_of(i.instance_id) in owned
        )
        victim.kill()  # returns once the process is gone: later episodes are another host's
        at = time.time()
        self.kills.append(Kill(at, worker, owned, pending))
        # Every other replacement comes back on the victim's port, as a restarted `func start`
        # would: the same worker id, which takes its partitions back at once; the others are new
        # workers that wait for the victim's leases to expire.
        await self.spawn(victim.port if len(self.kills) % 2 == 0 else None).ready(60)

    async def restart_azurite(self) -> None:
        self.azurite.stop()
        await asyncio.sleep(self.plan.azurite_down)  # the outage itself, not a wait for a condition
        self.azurite.start(in_memory=False)
        self.restarts.append(time.time())

    async def owners_by_port(self) -> dict[int, tuple[str, set[int]]]:
        """Port of each owning host -> (its worker id, the partitions it owns); worker ids end in the port."""
        names = self.hub_view.hub.names
        out: dict[int, tuple[str, set[int]]] = {}
        async for row in self.hub_view.storage.iter_rows(names.partitions_table):
            owner, partition = row.get("CurrentOwner"), names.partition_of_queue(row.row_key)
            if owner and partition is not None:
                out.setdefault(int(str(owner).rsplit("-", 1)[1]), (str(owner), set()))[1].add(partition)
        return out

    # ---------------------------------------------------------------- checks
    async def wait_completed(self, timeout: float) -> dict[str, Any]:
        """Outputs of our instances once all are Completed (raises at the deadline)."""
        ids = {i.instance_id for i in self.instances}

        async def all_done() -> dict[str, Any] | None:
            try:
                done = {k: v for k, v in (await self.hub_view.completed()).items() if k in ids}
            except Exception:  # storage may be restarting; try again
                return None
            return done if len(done) == len(ids) else None

        try:
            return await eventually(all_done, timeout, f"{len(ids)} instances to complete", interval=1.0)
        except AssertionError:
            for h in self.hosts:
                print(f"--- {h.name} (port {h.port}) ---\n{h.tail(30)}")
            raise

    async def wait_counters(self, timeout: float) -> dict[str, Any]:
        """The counters once they reach the expected sums (signals are processed after their
        sender completed, so they may still be on their way); raises at the deadline."""
        expected = self.expected_counters()

        async def exact() -> dict[str, Any] | None:
            counters = await self.counters()
            return counters if counters == expected else None

        return await eventually(exact, timeout, f"counters to reach {expected}", interval=0.5)

    async def report(self) -> ChaosReport:
        """Read back outputs, History rows and counters; measure recovery of each kill."""
        view = self.hub_view
        done = {k: v for k, v in (await view.completed()).items()}
        problems: list[str] = []
        scheduled = duplicates = missing = 0
        histories: dict[str, list[dict[str, Any]]] = {}
        slots = asyncio.Semaphore(16)

        async def load(iid: str) -> None:
            async with slots:
                histories[iid] = await view.management.get_history(iid)

        expectations = {
            iid: (i.instance_id, counts) for i in self.instances for iid, counts in i.histories().items()
        }
        await asyncio.gather(*(load(iid) for iid in expectations))
        for inst in self.instances:
            if inst.instance_id not in done:
                problems.append(await self._describe_lost(inst.instance_id, histories[inst.instance_id]))
            elif done[inst.instance_id] != inst.expected():
                problems.append(
                    f"{inst.instance_id}: output {done[inst.instance_id]!r}, expected {inst.expected()}"
                )
        for iid, (top, counts) in expectations.items():
            outcome = check_history(iid, histories[iid], counts, finished=top in done)
            scheduled += outcome.scheduled
            duplicates += outcome.duplicates
            missing += outcome.missing
            problems += outcome.problems
        counters = await self.counters()
        if counters != self.expected_counters():
            problems.append(f"counters {counters}, expected {self.expected_counters()}")
        for kill in self.kills:
            kill.recovery = self._recovery(kill, histories)
        return ChaosReport(
            instances=len(self.instances),
            completed=sum(1 for i in self.instances if i.instance_id in done),
            kills=self.kills,
            azurite_restarts=self.restarts,
            scheduled=scheduled,
            duplicates=duplicates,
            missing=missing,
            executions=len(self.executions()),
            counters=counters,
            expected_counters=self.expected_counters(),
            problems=problems,
            elapsed=time.time() - self.started_at,
        )

    async def _describe_lost(self, instance_id: str, history: list[dict[str, Any]]) -> str:
        status = await self.hub_view.management.get_status(instance_id, show_input=False)
        names = self.hub_view.hub.names
        tail = [
            (EventType(e["EventType"]).name, e.get("EventId"), e.get("TaskScheduledId"), e.get("Timestamp"))
            for e in history[-6:]
        ]
        return (
            f"{instance_id} (partition {names.partition_of(instance_id)}) not Completed: "
            f"{status.runtime_status if status else 'no Instances row'}; history ends {tail}"
        )

    async def counters(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k in range(COUNTERS):
            row = await self.hub_view.hub.get_instance(f"@counter@c{k}")
            exists, value = read_entity_state(row.input if row is not None else None)
            out[f"c{k}"] = value if exists else None
        return out

    def _recovery(self, kill: Kill, histories: dict[str, list[dict[str, Any]]]) -> float | None:
        """Seconds from the kill until every partition the victim owned had a checkpoint again.

        A partition counts once one of its instances has an episode (``OrchestratorStarted``, stamped
        when the episode ran) after the kill: only a live host can run those. Partitions with no
        later episode had nothing left to do.
        """
        names = self.hub_view.hub.names
        firsts = []
        for partition in kill.partitions:
            stamps = [
                ts
                for iid, history in histories.items()
                if names.partition_of(iid) == partition
                for e in history
                if e["EventType"] == EPISODE and (ts := _stamp(e)) is not None and ts > kill.at
            ]
            if stamps:
                firsts.append(min(stamps))
        return max(firsts) - kill.at if firsts else None


@dataclass
class HistoryCheck:
    scheduled: int = 0
    """Activities scheduled (TaskScheduled events)."""
    duplicates: int = 0
    missing: int = 0
    problems: list[str] = field(default_factory=list)


def check_history(
    instance_id: str, history: list[dict[str, Any]], expected: dict[int, int], *, finished: bool
) -> HistoryCheck:
    """Every scheduled task, sub-orchestration and timer has exactly one outcome (none missing
    only while unfinished), and a finished instance scheduled ``expected`` of each kind."""
    out = HistoryCheck()
    for kind, (field_name, outcomes) in PAIRS.items():
        ids = [int(e["EventId"]) for e in history if e["EventType"] == kind]
        seen = Counter(int(e[field_name]) for e in history if e["EventType"] in outcomes)
        what = EventType(kind).name
        if kind == SCHEDULED:
            out.scheduled += len(ids)
        if len(ids) != len(set(ids)):
            out.problems.append(f"{instance_id}: {what} twice with one id: {sorted(ids)}")
        if finished and len(ids) != expected.get(kind, 0):
            out.problems.append(f"{instance_id}: {len(ids)} {what}, expected {expected.get(kind, 0)}")
        for task in ids:
            if seen[task] > 1:
                out.duplicates += 1
                out.problems.append(f"{instance_id}: {what} {task} has {seen[task]} outcomes")
            elif seen[task] == 0 and finished:
                out.missing += 1
                out.problems.append(f"{instance_id}: {what} {task} has no outcome")
    return out


def _stamp(event: dict[str, Any]) -> float | None:
    text = event.get("Timestamp")
    if not text:
        return None
    value: datetime = parse_timestamp(str(text))
    return value.timestamp()


def describe(kills: list[Kill]) -> str:
    return "; ".join(
        f"{k.worker} owning {sorted(k.partitions)} ({k.pending} pending)"
        + (f" recovered in {k.recovery:.1f} s" if k.recovery is not None else "")
        for k in kills
    )


def as_json(report: ChaosReport) -> str:
    return json.dumps(
        {
            "instances": report.instances,
            "lost": report.lost,
            "duplicates": report.duplicates,
            "recoveries": report.recoveries(),
        }
    )
