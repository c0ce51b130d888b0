"""Pure parts of the task hub: names, partition hash, key escaping, message envelope, rows."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

from host.durable.taskhub.messages import (
    MessageFormatError,
    decode_message,
    encode_message,
    encode_wrapper,
    new_message,
)
from host.durable.taskhub.names import (
    TaskHubNames,
    escape_key,
    fnv1a_32,
    partition_index,
    sanitize_default_hub_name,
    unescape_key,
    validate_hub_name,
)
from host.durable.taskhub.rows import (
    InstanceStatus,
    event_to_row,
    history_row_key,
    instance_to_row,
    message_blob_name,
    parse_datetime,
    row_to_event,
    row_to_instance,
    sentinel_row,
)
from host.errors import ConfigError

# --------------------------------------------------------------------------- names


def test_names_follow_dtfx_layout() -> None:
    names = TaskHubNames("MyHub", 4)
    assert names.control_queues == (
        "myhub-control-00",
        "myhub-control-01",
        "myhub-control-02",
        "myhub-control-03",
    )
    assert names.workitem_queue == "myhub-workitems"
    assert names.history_table == "MyHubHistory"
    assert names.instances_table == "MyHubInstances"
    assert names.partitions_table == "MyHubPartitions"
    assert names.large_messages_container == "myhub-largemessages"
    assert names.partition_of_queue("myhub-control-02") == 2
    assert names.partition_of_queue("myhub-workitems") is None


@pytest.mark.parametrize("bad", ["", "ab", "1hub", "my-hub", "my_hub", "a" * 51, "hüb1"])
def test_invalid_hub_names_are_rejected_with_the_setting_named(bad: str) -> None:
    with pytest.raises(ConfigError, match=r"extensions\.durableTask\.hubName"):
        validate_hub_name(bad)


def test_valid_hub_names_and_default_sanitising() -> None:
    assert validate_hub_name("TestHubName") == "TestHubName"
    assert validate_hub_name("a" * 50) == "a" * 50
    assert sanitize_default_hub_name(None) == "TestHubName"
    assert sanitize_default_hub_name("my-site") == "mysite"
    assert sanitize_default_hub_name("9lives") == "t9lives"
    assert sanitize_default_hub_name("a-") == "aHub"
    assert sanitize_default_hub_name("--") == "DefaultTaskHub"


@pytest.mark.parametrize("count", [0, 17, -1])
def test_partition_count_out_of_range(count: int) -> None:
    with pytest.raises(ConfigError, match="partitionCount"):
        TaskHubNames("MyHub", count)


@pytest.mark.parametrize(
    ("instance_id", "hash_value", "mod4"),
    [
        ("", 2166136261, 1),
        ("a", 3826002220, 0),
        ("abc", 440920331, 3),
        ("@counter@myKey", 1776272992, 0),
        ("Hello5-0001", 3101681618, 2),
    ],
)
def test_fnv1a_vectors(instance_id: str, hash_value: int, mod4: int) -> None:
    assert fnv1a_32(instance_id.encode()) == hash_value
    assert partition_index(instance_id, 4) == mod4
    assert TaskHubNames("Hub1", 4).control_queue_for(instance_id) == f"hub1-control-0{mod4}"


# --------------------------------------------------------------------------- escaping


def test_escape_known_characters() -> None:
    assert escape_key("a/b\\c#d?e^f") == "a^0b^1c^2d^3e^^f"
    assert escape_key("\x00") == "^\u00c0"
    assert escape_key("\x7f") == "^\u013f"
    assert escape_key("plain-id") == "plain-id"


@pytest.mark.parametrize(
    "key",
    [
        "",
        "abc",
        "^",
        "^^0",
        "a/b",
        "x\\y#z?",
        "".join(chr(c) for c in range(0, 0x20)),
        "".join(chr(c) for c in range(0x7F, 0xA0)),
        "é\u00c0^\u00c0",
        "@counter@k/1",
    ],
)
def test_escape_round_trip(key: str) -> None:
    escaped = escape_key(key)
    assert not any(c in escaped for c in "/\\#?")
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in escaped)
    assert unescape_key(escaped) == key


# --------------------------------------------------------------------------- envelope

SPEC_SAMPLE = (
    '{"$type":"DurableTask.AzureStorage.MessageData","ActivityId":"5406d369-4369-4b4e-9a45-1f2b5e7d2c11",'
    '"TaskMessage":{"$type":"DurableTask.Core.TaskMessage","Event":{"$type":"DurableTask.Core.History.'
    'ExecutionStartedEvent","OrchestrationInstance":{"$type":"DurableTask.Core.OrchestrationInstance",'
    '"InstanceId":"abc","ExecutionId":"aae324dc"},"EventType":0,"ParentInstance":null,"Name":"Hello5",'
    '"Version":"","Input":"\\"Tokyo\\"","Tags":null,"Correlation":null,"ScheduledStartTime":null,'
    '"Generation":0,"EventId":-1,"IsPlayed":false,"Timestamp":"2023-03-24T20:53:05.9093518Z"},'
    '"SequenceNumber":0,"OrchestrationInstance":{"$type":"DurableTask.Core.OrchestrationInstance",'
    '"InstanceId":"abc","ExecutionId":"aae324dc"}},"CompressedBlobName":null,"SequenceNumber":40,'
    '"Sender":{"InstanceId":"","ExecutionId":""},"SerializableTraceContext":null}'
)


def test_decode_spec_sample() -> None:
    msg = decode_message(SPEC_SAMPLE)
    assert msg.instance_id == "abc"
    assert msg.execution_id == "aae324dc"
    assert msg.sequence_number == 40
    assert msg.event_type == 0
    assert msg.event["Name"] == "Hello5"
    assert msg.event["Input"] == '"Tokyo"'
    assert msg.event["OrchestrationInstance"] == {"InstanceId": "abc", "ExecutionId": "aae324dc"}
    assert "$type" not in json.dumps(msg.event)
    assert msg.sender_instance_id == ""
    assert msg.episode is None


def test_decode_base64_body() -> None:
    encoded = base64.b64encode(SPEC_SAMPLE.encode()).decode()
    assert decode_message(encoded).event["Name"] == "Hello5"


@pytest.mark.parametrize("body", ["not json", "{", "[1]", '{"TaskMessage": null}'])
def test_decode_garbage_raises(body: str) -> None:
    with pytest.raises(MessageFormatError):
        decode_message(body)


def test_envelope_round_trip_with_types() -> None:
    event = {
        "EventType": 9,
        "EventId": -1,
        "IsPlayed": False,
        "Timestamp": "2024-01-01T00:00:01.2500000Z",
        "TaskScheduledId": 3,
        "Reason": "boom",
        "Details": "trace ✓",
        "FailureDetails": {"ErrorType": "ValueError", "ErrorMessage": "x", "InnerFailure": None},
    }
    msg = new_message(
        event,
        instance_id="parent",
        execution_id="e1",
        sender_instance_id="child",
        sender_execution_id="e2",
        episode=3,
    )
    text = encode_message(msg)
    data = json.loads(text)
    assert data["$type"] == "DurableTask.AzureStorage.MessageData"
    event_type = data["TaskMessage"]["Event"]["$type"]
    assert event_type == "DurableTask.Core.History.SubOrchestrationInstanceFailedEvent"
    assert data["TaskMessage"]["Event"]["FailureDetails"]["$type"] == "DurableTask.Core.FailureDetails"
    assert data["Episode"] == 3
    assert data["Sender"] == {"InstanceId": "child", "ExecutionId": "e2"}
    back = decode_message(text)
    assert back.event == event
    assert (back.instance_id, back.execution_id) == ("parent", "e1")
    assert (back.sender_instance_id, back.sender_execution_id) == ("child", "e2")
    assert back.sequence_number == msg.sequence_number and back.activity_id == msg.activity_id


def test_sequence_numbers_increase_and_client_messages_omit_episode() -> None:
    a = new_message(
        {"EventType": 15, "EventId": -1, "IsPlayed": False, "Timestamp": "x", "Name": "n"}, instance_id="i"
    )
    b = new_message(
        {"EventType": 15, "EventId": -1, "IsPlayed": False, "Timestamp": "x", "Name": "n"}, instance_id="i"
    )
    assert b.sequence_number > a.sequence_number
    data = json.loads(encode_message(a))
    assert "Episode" not in data
    assert data["TaskMessage"]["OrchestrationInstance"]["ExecutionId"] is None
    assert decode_message(encode_message(a)).execution_id is None


def test_wrapper_decodes_as_large() -> None:
    msg = new_message({"EventType": 0, "EventId": -1, "IsPlayed": False, "Timestamp": "x"}, instance_id="i")
    wrapped = decode_message(encode_wrapper(msg, "i/message-abc-ExecutionStarted.json.gz"))
    assert wrapped.is_large
    assert wrapped.compressed_blob_name == "i/message-abc-ExecutionStarted.json.gz"


def test_message_blob_name() -> None:
    name = message_blob_name("a/b", "5406d369-4369-4b4e-9a45-1f2b5e7d2c11", 0)
    assert name == "a^0b/message-5406d36943694b4e9a451f2b5e7d2c11-ExecutionStarted.json.gz"


# --------------------------------------------------------------------------- history rows


def test_history_row_keys_sort() -> None:
    assert history_row_key(0) == "0000000000000000"
    assert history_row_key(10) == "000000000000000A"
    assert sorted([history_row_key(i) for i in (16, 2, 255)]) == [history_row_key(i) for i in (2, 16, 255)]
    assert history_row_key(2**40) < "sentinel"


def test_execution_started_row_round_trip() -> None:
    event = {
        "EventType": 0,
        "EventId": -1,
        "IsPlayed": True,
        "Timestamp": "2024-01-01T00:00:00.1234567Z",
        "OrchestrationInstance": {"InstanceId": "i#1", "ExecutionId": "e1"},
        "ParentInstance": None,
        "Name": "Orch",
        "Version": "",
        "Input": '"x"',
        "Tags": None,
        "Correlation": None,
        "ParentTraceContext": None,
        "ScheduledStartTime": None,
        "Generation": 0,
    }
    row, spills = event_to_row(event, "i#1", "e1", 1)
    assert not spills
    assert row["PartitionKey"] == "i^21" and row["RowKey"] == "0000000000000001"
    assert row["EventType"] == "ExecutionStarted" and row["ExecutionId"] == "e1"
    assert row["_Timestamp"] == datetime(2024, 1, 1, 0, 0, 0, 123456, tzinfo=UTC)
    assert row["ParentInstance"] == "null" and row["Tags"] == "null"
    assert json.loads(row["OrchestrationInstance"]) == {"InstanceId": "i#1", "ExecutionId": "e1"}
    assert "ScheduledStartTime" not in row and "Correlation" not in row
    back, pending = row_to_event(row)
    assert not pending
    assert back["Timestamp"] == "2024-01-01T00:00:00.1234560Z"
    back["Timestamp"] = event["Timestamp"]
    assert back == event


def test_completion_rows_use_names_and_datetimes() -> None:
    done = {
        "EventType": 1,
        "EventId": -1,
        "IsPlayed": False,
        "Timestamp": "2024-01-01T00:00:00Z",
        "OrchestrationStatus": 3,
        "Result": "bad",
        "FailureDetails": {"ErrorType": "E"},
    }
    row, _ = event_to_row(done, "i", "e", 5)
    assert row["OrchestrationStatus"] == "Failed"
    assert json.loads(row["FailureDetails"]) == {"ErrorType": "E"}
    back, _ = row_to_event(row)
    assert back["OrchestrationStatus"] == 3 and back["FailureDetails"] == {"ErrorType": "E"}
    fired = {
        "EventType": 11,
        "EventId": -1,
        "IsPlayed": False,
        "Timestamp": "2024-01-01T00:00:00Z",
        "TimerId": 2,
        "FireAt": "2024-01-02T03:04:05.5Z",
    }
    row, _ = event_to_row(fired, "i", "e", 6)
    assert row["FireAt"] == datetime(2024, 1, 2, 3, 4, 5, 500000, tzinfo=UTC)
    back, _ = row_to_event(row)
    assert parse_datetime(back["FireAt"]) == row["FireAt"] and back["TimerId"] == 2


def test_large_property_spills_to_blob_name() -> None:
    big = "x" * 30_721
    event = {
        "EventType": 5,
        "EventId": -1,
        "IsPlayed": False,
        "Timestamp": "2024-01-01T00:00:00Z",
        "TaskScheduledId": 0,
        "Result": big,
    }
    row, spills = event_to_row(event, "a/b", "e", 10)
    assert row["Result"] == ""
    assert len(spills) == 1 and spills[0].text == big and spills[0].prop == "Result"
    name = row["ResultBlobName"]
    assert name == spills[0].blob_name
    assert name.startswith("a^0b/history-000000000000000A-TaskCompleted-")
    assert name.endswith("-Result.json.gz")
    _back, pending = row_to_event(row)
    assert pending == {"Result": name}
    exactly, spills2 = event_to_row({**event, "Result": "y" * 30_720}, "i", "e", 1)
    assert not spills2 and exactly["Result"] == "y" * 30_720


def test_sentinel_row() -> None:
    now = datetime(2024, 1, 1, tzinfo=UTC)
    row = sentinel_row("i", "e", complete=True, now=now)
    assert row == {
        "PartitionKey": "i",
        "RowKey": "sentinel",
        "ExecutionId": "e",
        "IsCheckpointComplete": True,
        "CheckpointCompletedTimestamp": now,
    }
    assert "CheckpointCompletedTimestamp" not in sentinel_row("i", "e", complete=False, now=now)


# --------------------------------------------------------------------------- instance rows


def test_instance_row_conventions() -> None:
    created = datetime(2024, 1, 1, tzinfo=UTC)
    status = InstanceStatus(
        "x?y",
        name="Orch",
        version="",
        execution_id="e",
        runtime_status="Pending",
        created_time=created,
        last_updated_time=created,
        input='"in"',
        generation=0,
    )
    row, spills = instance_to_row(status, "MyHub", full=True)
    assert not spills
    assert row["PartitionKey"] == "x^3y" and row["RowKey"] == ""
    assert row["CustomStatus"] == "null" and row["Tags"] == "null" and row["TaskHubName"] == "MyHub"
    assert "Output" not in row and "CompletedTime" not in row
    merged, _ = instance_to_row(InstanceStatus("x?y", runtime_status="Running"), "MyHub", full=False)
    assert set(merged) == {"PartitionKey", "RowKey", "TaskHubName", "RuntimeStatus"}
    back = row_to_instance(row, etag="W/1")
    assert back == status and back.etag == "W/1"
    assert back.custom_status is None and back.tags is None
    assert back.is_running and not back.is_terminal


def test_instance_large_input_and_url_form() -> None:
    status = InstanceStatus("i", input="z" * 40_000, tags={"a": "b"})
    row, spills = instance_to_row(status, "H", full=False)
    assert row["Input"] == "" and spills[0].prop == "Input" and row["InputBlobName"] == spills[0].blob_name
    assert json.loads(row["Tags"]) == {"a": "b"}
    back = row_to_instance(row)
    assert back.input_blob == spills[0].blob_name and back.tags == {"a": "b"}
    url_row = {
        "PartitionKey": "i",
        "RowKey": "",
        "Input": "http://127.0.0.1:10000/devstoreaccount1/h-largemessages/i/message-ab-ExecutionStarted.json.gz",
    }
    assert row_to_instance(url_row).input_blob == "i/message-ab-ExecutionStarted.json.gz"
