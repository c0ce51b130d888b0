"""Per-sender ordering and de-duplication of entity requests (the extension's ``MessageSorter``).

Senders that are orchestrations or entities stamp each request to a destination with a
strictly increasing ``Timestamp`` and the ``Predecessor`` (timestamp of their previous request
to that destination within the reorder window). The receiving entity delivers a request only
after its predecessor, buffers early ones, and drops any request not newer than the last one
delivered from that sender. Client signals (no parent) pass straight through. The sorter is
part of the scheduler state, so it is checkpointed with the entity. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from host.durable.entities.requests import RequestMessage
from host.durable.entities.ticks import MIN_TICKS, TICKS_PER_SECOND, format_ticks, parse_ticks

REORDER_WINDOW_TICKS = 30 * 60 * TICKS_PER_SECOND
"""``EntityMessageReorderWindowInMinutes`` default: 30 minutes."""
_MIN_INTERVAL_BETWEEN_COLLECTIONS = 10 * TICKS_PER_SECOND


@dataclass
class ReceiveBuffer:
    """What has been delivered from one sender, and its requests waiting for a predecessor."""

    last: int = MIN_TICKS
    execution_id: str | None = None
    buffered: dict[int, RequestMessage] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"Last": format_ticks(self.last)}
        if self.execution_id is not None:
            d["ExecutionId"] = self.execution_id
        if self.buffered:
            d["Buffered"] = {format_ticks(t): m.to_json() for t, m in sorted(self.buffered.items())}
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ReceiveBuffer:
        buffered = {parse_ticks(t): RequestMessage.from_json(m) for t, m in (d.get("Buffered") or {}).items()}
        return cls(parse_ticks(d.get("Last")), d.get("ExecutionId"), buffered)


@dataclass
class MessageSorter:
    """The ``sorter`` member of the scheduler state."""

    last_sent: dict[str, int] = field(default_factory=dict)
    received: dict[str, ReceiveBuffer] = field(default_factory=dict)
    receive_horizon: int = MIN_TICKS
    send_horizon: int = MIN_TICKS

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {}
        if self.last_sent:
            d["LastSentToInstance"] = {k: format_ticks(v) for k, v in self.last_sent.items()}
        if self.received:
            d["ReceivedFromInstance"] = {k: v.to_json() for k, v in self.received.items()}
        if self.receive_horizon != MIN_TICKS:
            d["ReceiveHorizon"] = format_ticks(self.receive_horizon)
        if self.send_horizon != MIN_TICKS:
            d["SendHorizon"] = format_ticks(self.send_horizon)
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any] | None) -> MessageSorter:
        d = d or {}
        return cls(
            {k: parse_ticks(v) for k, v in (d.get("LastSentToInstance") or {}).items()},
            {k: ReceiveBuffer.from_json(v) for k, v in (d.get("ReceivedFromInstance") or {}).items()},
            parse_ticks(d.get("ReceiveHorizon")),
            parse_ticks(d.get("SendHorizon")),
        )

    def buffered_requests(self) -> list[RequestMessage]:
        """Requests waiting for a predecessor (for de-dup checks and status)."""
        return [m for b in self.received.values() for m in b.buffered.values()]

    def label_outgoing(
        self, request: RequestMessage, destination: str, now: int, window: int = REORDER_WINDOW_TICKS
    ) -> None:
        """Stamp ``Timestamp``/``Predecessor`` on a request this entity sends to ``destination``."""
        if window == 0:
            return
        timestamp = now
        if self.send_horizon + window + _MIN_INTERVAL_BETWEEN_COLLECTIONS < now:
            self.send_horizon = now - window
            for dest in [k for k, v in self.last_sent.items() if v < self.send_horizon]:
                del self.last_sent[dest]
        last = self.last_sent.get(destination)
        if last is not None:
            request.predecessor = last
            if timestamp <= last:
                timestamp = last + 1  # monotonic even if the clock is not
        request.timestamp = timestamp
        self.last_sent[destination] = timestamp

    def receive_in_order(
        self, request: RequestMessage, window: int = REORDER_WINDOW_TICKS
    ) -> list[RequestMessage]:
        """The requests deliverable now that ``request`` arrived (possibly none, or several)."""
        if window == 0 or request.parent_instance_id is None or request.extra.get("pos", 0) > 0:
            return [request]
        out: list[RequestMessage] = []
        if self.receive_horizon + window + _MIN_INTERVAL_BETWEEN_COLLECTIONS < request.timestamp:
            self.receive_horizon = request.timestamp - window
            for source in list(self.received):
                buf = self.received[source]
                if buf.last < self.receive_horizon:
                    buf.last = MIN_TICKS
                out.extend(self._drain(buf))
                if buf.last == MIN_TICKS and not buf.buffered:
                    del self.received[source]
        if request.timestamp < self.receive_horizon:
            out.append(request)
            return out
        found = self.received.get(request.parent_instance_id)
        if found is None:
            buf = self.received[request.parent_instance_id] = ReceiveBuffer(
                execution_id=request.parent_execution_id
            )
        else:
            buf = found
        if found is not None and buf.execution_id != request.parent_execution_id:
            # a new execution of the sender: release what was held and start over
            out.extend(m for _, m in sorted(buf.buffered.items()))
            buf.buffered.clear()
            buf.last = MIN_TICKS
            buf.execution_id = request.parent_execution_id
        if request.timestamp <= buf.last:
            return out  # already delivered: a duplicate
        if request.predecessor > buf.last and request.predecessor >= self.receive_horizon:
            buf.buffered[request.timestamp] = request
            return out
        out.append(request)
        buf.last = request.timestamp if request.timestamp >= self.receive_horizon else MIN_TICKS
        out.extend(self._drain(buf))
        return out

    def _drain(self, buf: ReceiveBuffer) -> list[RequestMessage]:
        out: list[RequestMessage] = []
        while buf.buffered:
            first = min(buf.buffered)
            message = buf.buffered[first]
            if not (message.predecessor <= buf.last or message.predecessor < self.receive_horizon):
                break
            del buf.buffered[first]
            buf.last = message.timestamp if message.timestamp >= self.receive_horizon else MIN_TICKS
            out.append(message)
        return out
