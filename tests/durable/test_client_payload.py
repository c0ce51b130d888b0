"""Pure tests of the status payload, showHistory formatting, management URLs and binding JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

import azure.durable_functions as df
import azure.functions as func
import pytest
from azure.durable_functions.models.DurableOrchestrationStatus import DurableOrchestrationStatus

from host.durable.api import payloads as sp
from host.durable.replay.history import parse_timestamp


@dataclass
class Status:
    name: str = "Orch"
    instance_id: str = "abc"
    runtime_status: object = "Completed"
    input: str | None = '"{\\"a\\": 1}"'
    output: str | None = '{"r": 1}'
    custom_status: str | None = "null"
    created_time: datetime | None = datetime(2024, 1, 1, 0, 0, 0, 987654, tzinfo=UTC)
    last_updated_time: datetime | None = datetime(2024, 1, 1, 0, 0, 5, 100, tzinfo=UTC)
    version: str | None = ""


def test_status_json_shape_and_parsing() -> None:
    payload = sp.status_json(Status())
    assert payload == {
        "name": "Orch",
        "instanceId": "abc",
        "runtimeStatus": "Completed",
        "input": '{"a": 1}',
        "customStatus": None,
        "output": {"r": 1},
        "createdTime": "2024-01-01T00:00:00Z",
        "lastUpdatedTime": "2024-01-01T00:00:05Z",
    }


def test_status_json_non_json_output_is_string_and_show_input_false() -> None:
    payload = sp.status_json(
        Status(runtime_status=3, output="Orchestrator function 'X' failed: boom"), show_input=False
    )
    assert payload["runtimeStatus"] == "Failed"
    assert payload["output"] == "Orchestrator function 'X' failed: boom"
    assert payload["input"] is None


def test_status_json_is_parsed_by_the_sdk() -> None:
    st = DurableOrchestrationStatus.from_json(sp.status_json(Status(), []))
    assert st.runtime_status == df.OrchestrationRuntimeStatus.Completed
    assert st.output == {"r": 1} and st.input_ == '{"a": 1}'
    assert st.history is None and st.historyEvents == []
    assert st.created_time.year == 2024


def test_a_versioned_status_shows_its_version_to_the_sdk() -> None:
    payload = sp.status_json(Status(version="1.5"))
    assert payload["version"] == "1.5"
    assert DurableOrchestrationStatus.from_json(payload).version == "1.5"


@pytest.mark.parametrize(
    "value, name",
    [
        (0, "Running"),
        ("Pending", "Pending"),
        ("pending", "Pending"),
        (df.OrchestrationRuntimeStatus.Suspended, "Suspended"),
        ("7", "Suspended"),
    ],
)
def test_status_name(value: object, name: str) -> None:
    assert sp.status_name(value) == name


def test_pending_history_is_empty() -> None:
    payload = sp.status_json(Status(runtime_status="Pending"), [{"EventType": 0, "Name": "Orch"}])
    assert payload["historyEvents"] == []


T0 = "2024-01-01T00:00:00.1234567Z"
T1 = "2024-01-01T00:00:01.0000000Z"
T2 = "2024-01-01T00:00:02.0000000Z"


def _history() -> list[dict[str, object]]:
    return [
        {"EventType": 12, "EventId": -1, "IsPlayed": True, "Timestamp": T0},
        {
            "EventType": 0,
            "EventId": -1,
            "IsPlayed": True,
            "Timestamp": T0,
            "Name": "Orch",
            "Version": "",
            "Input": '"x"',
            "OrchestrationInstance": {"InstanceId": "abc"},
            "ParentInstance": None,
            "Tags": None,
        },
        {
            "EventType": 4,
            "EventId": 0,
            "IsPlayed": False,
            "Timestamp": T0,
            "Name": "Hello",
            "Version": "",
            "Input": '["\\"Tokyo\\""]',
        },
        {
            "EventType": 4,
            "EventId": 1,
            "IsPlayed": False,
            "Timestamp": T0,
            "Name": "Never",
            "Version": "",
            "Input": "1",
        },
        {"EventType": 10, "EventId": 2, "IsPlayed": False, "Timestamp": T0, "FireAt": T2},
        {"EventType": 13, "EventId": -1, "IsPlayed": False, "Timestamp": T0},
        {"EventType": 12, "EventId": -1, "IsPlayed": False, "Timestamp": T1},
        {
            "EventType": 5,
            "EventId": -1,
            "IsPlayed": True,
            "Timestamp": T1,
            "TaskScheduledId": 0,
            "Result": '"Hello Tokyo!"',
        },
        {"EventType": 11, "EventId": -1, "IsPlayed": True, "Timestamp": T1, "TimerId": 2, "FireAt": T2},
        {
            "EventType": 1,
            "EventId": 3,
            "IsPlayed": False,
            "Timestamp": datetime(2024, 1, 1, 0, 0, 2, tzinfo=UTC),
            "OrchestrationStatus": 1,
            "Result": '["Hello Tokyo!"]',
        },
        {"EventType": 13, "EventId": -1, "IsPlayed": False, "Timestamp": T1},
    ]


def test_format_history_merges_and_renames() -> None:
    events = sp.format_history(_history(), show_input=True, show_history_output=True)
    assert [e["EventType"] for e in events] == [
        "ExecutionStarted",
        "TaskScheduled",
        "TimerCreated",
        "TaskCompleted",
        "TimerFired",
        "ExecutionCompleted",
    ]
    started, pending, _timer, done, fired, completed = events
    assert started == {
        "EventType": "ExecutionStarted",
        "Timestamp": T0,
        "FunctionName": "Orch",
        "Input": '"x"',
    }
    assert pending == {"EventType": "TaskScheduled", "Timestamp": T0, "Name": "Never", "Input": "1"}
    assert done == {
        "EventType": "TaskCompleted",
        "Timestamp": T1,
        "ScheduledTime": T0,
        "FunctionName": "Hello",
        "Input": '["\\"Tokyo\\""]',
        "Result": "Hello Tokyo!",
    }
    assert "TimerId" not in fired and fired["FireAt"] == T2
    assert completed["OrchestrationStatus"] == "Completed" and completed["Result"] == ["Hello Tokyo!"]
    assert completed["Timestamp"] == "2024-01-01T00:00:02.0000000Z"


def test_format_history_without_output_and_input() -> None:
    events = sp.format_history(_history(), show_input=False, show_history_output=False)
    assert all("Input" not in e and "Result" not in e for e in events)
    assert all("EventId" not in e and "IsPlayed" not in e for e in events)


def test_failed_task_keeps_reason_and_details() -> None:
    events = sp.format_history(
        [
            {"EventType": "TaskScheduled", "EventId": 0, "Timestamp": T0, "Name": "Boom", "Input": "null"},
            {
                "EventType": "TaskFailed",
                "EventId": -1,
                "Timestamp": T1,
                "TaskScheduledId": 0,
                "Reason": "r",
                "Details": "d",
            },
        ]
    )
    assert events == [
        {
            "EventType": "TaskFailed",
            "Timestamp": T1,
            "Reason": "r",
            "Details": "d",
            "FunctionName": "Boom",
            "ScheduledTime": T0,
            "Input": "null",
        }
    ]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2024-01-02T03:04:05.000000Z", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("2024-01-02T03:04:05.1234567Z", datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)),
        ("2024-01-02", datetime(2024, 1, 2, tzinfo=UTC)),
        ("2024-01-02T05:04:05+02:00", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
    ],
)
def test_parse_time(text: str, expected: datetime) -> None:
    assert parse_timestamp(text) == expected


def test_parse_time_rejects_garbage() -> None:
    with pytest.raises(ValueError):
        parse_timestamp("yesterday")


def test_management_urls() -> None:
    urls = sp.management_urls("http://127.0.0.1:8123", "a b/c", task_hub="MyHub", code="K")
    q = "taskHub=MyHub&connection=Storage&code=K"
    inst = "http://127.0.0.1:8123/runtime/webhooks/durabletask/instances/a%20b%2Fc"
    assert urls == {
        "id": "a b/c",
        "statusQueryGetUri": f"{inst}?{q}",
        "sendEventPostUri": f"{inst}/raiseEvent/{{eventName}}?{q}",
        "terminatePostUri": f"{inst}/terminate?reason={{text}}&{q}",
        "rewindPostUri": f"{inst}/rewind?reason={{text}}&{q}",
        "purgeHistoryDeleteUri": f"{inst}?{q}",
        "restartPostUri": f"{inst}/restart?{q}",
        "suspendPostUri": f"{inst}/suspend?reason={{text}}&{q}",
        "resumePostUri": f"{inst}/resume?reason={{text}}&{q}",
    }
    assert "rewindPostUri" not in sp.check_status_payload("http://h:1", "x", task_hub="H")


def test_rpc_base_url_ends_with_slash() -> None:
    assert sp.rpc_base_url("http://127.0.0.1:7071") == "http://127.0.0.1:7071/durabletask/"
    assert sp.rpc_base_url("http://h:1/", "Other", "MyConn") == "http://h:1/durabletask/hubs/Other/MyConn/"
    assert sp.rpc_base_url("http://h:1", "Other") == "http://h:1/durabletask/hubs/Other/-/"


def test_binding_payload_drives_the_sdk_client() -> None:
    payload = sp.binding_payload("http://127.0.0.1:9999", task_hub="TestHubName")
    assert payload["rpcBaseUrl"] == "http://127.0.0.1:9999/durabletask/"
    assert payload["managementUrls"]["id"] == "INSTANCEID"
    assert payload["requiredQueryStringParameters"] == ""
    client = df.DurableOrchestrationClient(json.dumps(payload))
    assert client._orchestration_bindings.task_hub_name == "TestHubName"
    req = func.HttpRequest("POST", "https://example.com:8443/api/start", body=b"")
    resp = client.create_check_status_response(req, "i1")
    body = json.loads(resp.get_body())
    assert resp.status_code == 202 and resp.headers["Location"] == body["statusQueryGetUri"]
    assert body["statusQueryGetUri"] == (
        "https://example.com:8443/runtime/webhooks/durabletask/instances/i1"
        "?taskHub=TestHubName&connection=Storage"
    )
    mgmt = client.create_http_management_payload("i2")
    assert mgmt["terminatePostUri"].startswith(
        "http://127.0.0.1:9999/runtime/webhooks/durabletask/instances/i2/"
    )


def test_binding_payload_with_key() -> None:
    payload = sp.binding_payload("http://h:1", task_hub="H", connection="Other", code="SYS")
    assert payload["creationUrls"]["createNewInstancePostUri"].endswith("[/{instanceId}]?code=SYS")
    assert payload["managementUrls"]["statusQueryGetUri"].endswith("?taskHub=H&connection=Other&code=SYS")
    assert payload["connectionName"] == "Other"


def test_held_back_events_are_not_shown_in_history() -> None:
    from host.durable.replay import history as h
    from host.durable.replay.ledger import pending_marker

    when = datetime(2026, 1, 1, tzinfo=UTC)
    raised = h.event_raised(when, "Approval", '"alice"')
    events = [h.generic_event(when, pending_marker("buffered", raised)), raised]
    shown = sp.format_history(events)
    assert [e["EventType"] for e in shown] == ["EventRaised"]
