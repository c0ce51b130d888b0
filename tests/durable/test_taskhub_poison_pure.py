"""Pure parts of poison-proof intake: strict message decoding, bounded inflation, poison records."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from host.durable.replay import history as h
from host.durable.taskhub.base import PayloadError, inflate
from host.durable.taskhub.messages import MessageFormatError, decode_message, encode_message, new_message
from host.durable.taskhub.poison import decode_record, encode_record, new_record, too_often_reason

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def body() -> dict[str, Any]:
    event = h.task_scheduled(T0, 3, "greet", '"x"')
    parsed: dict[str, Any] = json.loads(
        encode_message(new_message(event, instance_id="abc", execution_id="e1"))
    )
    return parsed


def test_a_well_formed_message_decodes() -> None:
    msg = decode_message(json.dumps(body()))
    assert (msg.instance_id, msg.execution_id, msg.event_type, msg.event["Name"]) == ("abc", "e1", 4, "greet")


@pytest.mark.parametrize(
    ("path", "value", "named"),
    [
        (("TaskMessage", "Event", "EventType"), "abc", "EventType"),
        (("TaskMessage", "Event", "EventType"), 2, "EventType"),  # ExecutionFailed is never sent
        (("TaskMessage", "Event", "EventType"), True, "EventType"),
        (("Sender",), "oops", "Sender"),
        (("Sender", "InstanceId"), 5, "Sender.InstanceId"),
        (("SequenceNumber",), "7", "SequenceNumber"),
        (("Episode",), [], "Episode"),
        (("TaskMessage",), "x", "TaskMessage"),
        (("TaskMessage", "Event"), [], "Event"),
        (("TaskMessage", "Event", "EventId"), "3", "EventId"),
        (("TaskMessage", "Event", "Name"), 12, "Name"),
        (("TaskMessage", "Event", "Input"), {"a": 1}, "Input"),
        (("TaskMessage", "OrchestrationInstance"), "abc", "OrchestrationInstance"),
        (("TaskMessage", "OrchestrationInstance", "InstanceId"), "", "InstanceId"),
        (("CompressedBlobName",), 1, "CompressedBlobName"),
    ],
)
def test_a_member_of_the_wrong_shape_is_named(path: tuple[str, ...], value: Any, named: str) -> None:
    data = body()
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(MessageFormatError, match=named):
        decode_message(json.dumps(data))


def test_inflate_refuses_past_the_limit_and_garbage() -> None:
    assert inflate(gzip.compress(b"hello"), "b", limit=5) == "hello"
    with pytest.raises(PayloadError, match="inflates past the limit"):
        inflate(gzip.compress(b"x" * 6), "b", limit=5)
    with pytest.raises(PayloadError, match="not valid gzip"):
        inflate(b"\x1f\x8b" + b"garbage", "b")
    with pytest.raises(PayloadError, match="UTF-8"):
        inflate(gzip.compress(b"\xff\xfe"), "b")
    assert inflate(b"plain", "b") == "plain"


def test_poison_record_round_trip() -> None:
    record = new_record("hub-control-01", "m1", 4, too_often_reason(4, 3), T0, T0, "{not json")
    back = decode_record(encode_record(record))
    assert back == record
    assert "maxDequeueCount 3" in record.reason and record.quarantined_at.startswith("2026-01-01T00:00:00")
    assert decode_record("something else someone put there") is None


def test_inflate_without_a_limit_takes_everything() -> None:
    assert inflate(gzip.compress(b"y" * 100), "b", limit=None) == "y" * 100


def test_max_dequeue_count_comes_from_host_json() -> None:
    from host.durable.engine.options import EngineOptions
    from host.errors import ConfigError

    assert EngineOptions().max_dequeue_count == 20
    assert EngineOptions.from_host_json({"storageProvider": {"MaxDequeueCount": 3}}).max_dequeue_count == 3
    with pytest.raises(ConfigError, match="maxDequeueCount"):
        EngineOptions.from_host_json({"storageProvider": {"maxDequeueCount": 0}})
