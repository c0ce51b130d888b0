"""controlQueueBufferThreshold bounds the control messages held in memory across every poller.

Each poller reserves room in the shared buffer before it receives, so four pollers with a batch
size of 32 cannot hold more than the threshold between them.
"""

from __future__ import annotations

from waiting import eventually

from host.durable.engine.dispatcher import DurableEngine
from host.durable.engine.options import EngineOptions
from host.durable.replay import history as h
from host.durable.taskhub.hub import TaskHub
from host.durable.taskhub.messages import TaskMessage
from host.indexing.registry import Registry
from host.invocation import Invoker

THRESHOLD = 8


class RecordingEngine(DurableEngine):
    """The engine, noting the most control messages it held in memory at once."""

    peak = 0

    def deliver(self, msg: TaskMessage, *, new_instance: bool = False) -> None:
        super().deliver(msg, new_instance=new_instance)
        self.peak = max(self.peak, self.buffered())


async def test_pollers_reserve_room_before_they_receive(hub: TaskHub) -> None:
    # 4 partitions × 40 events for instances that do not exist: each is dropped by its own episode.
    ids = [f"b{n:03d}" for n in range(160)]
    for iid in ids:
        await hub.send(None, h.event_raised(hub.now(), "go", "1"), instance_id=iid)
    options = EngineOptions(
        use_partition_table=False,
        max_buffered_messages=THRESHOLD,
        control_batch_size=32,
        max_concurrent_orchestrations=1,
    )
    registry = Registry([])
    engine = RecordingEngine(hub, registry, Invoker(registry), options)
    await engine.start()
    try:

        async def drained() -> bool:
            lengths = [await hub.storage.queue_length(q) for q in hub.names.control_queues]
            return sum(lengths) == 0 and engine.buffered() == 0

        await eventually(drained, 60, "every event to be dropped", interval=0.1)
    finally:
        await engine.stop()
    assert 0 < engine.peak <= THRESHOLD
