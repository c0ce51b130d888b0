"""Entity typing of the lean REST path, checked against the tables SDK's own (de)serializers."""

from __future__ import annotations

import json
import math
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from azure.data.tables._deserialize import _convert_to_entity
from azure.data.tables._serialize import _add_entity_properties

from host.storage.azure.convert import from_sdk_entity, to_sdk_entity
from host.storage.azure.rest_values import (
    decode_entity,
    encode_entity,
    entity_key_path,
    parse_http_date,
    parse_iso,
)

WHEN = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)
ENTITY: dict[str, Any] = {
    "PartitionKey": "p",
    "RowKey": "r",
    "small": 7,
    "neg32": -(2**31),
    "big": 2**40,
    "neg64": -(2**35),
    "f": 1.5,
    "whole": 2.0,
    "flag": True,
    "off": False,
    "text": "a'b é",
    "when": WHEN,
    "eastern": datetime(2024, 5, 1, 8, 0, tzinfo=timezone(timedelta(hours=-4))),
    "naive": datetime(2024, 1, 2, 3, 4, 5),
    "guid": uuid.UUID(int=5),
    "data": b"\x00\x01",
    "dropped": None,
}


def test_encode_matches_the_sdk() -> None:
    ours = json.loads(encode_entity(ENTITY))
    sdk = _add_entity_properties(to_sdk_entity(ENTITY))
    # The SDK also annotates strings as Edm.String, the default type of a JSON string.
    sdk = {k: v for k, v in sdk.items() if v != "Edm.String"}
    assert ours == json.loads(json.dumps(sdk))
    assert ours["big@odata.type"] == "Edm.Int64" and ours["big"] == str(2**40)
    assert "small@odata.type" not in ours and "dropped" not in ours


def test_encode_non_finite_doubles_and_rejects_huge_ints() -> None:
    ours = json.loads(encode_entity({"a": math.nan, "b": math.inf, "c": -math.inf}))
    assert (ours["a"], ours["b"], ours["c"]) == ("NaN", "Infinity", "-Infinity")
    with pytest.raises(TypeError):
        encode_entity({"x": 2**64})


def test_decode_matches_the_sdk() -> None:
    wire = {
        "odata.metadata": "http://x/$metadata#t/@Element",
        "odata.etag": "W/\"datetime'x'\"",
        "PartitionKey": "p",
        "RowKey": "r",
        "Timestamp": "2024-05-01T12:00:00.1234567Z",
        "small": 7,
        "big@odata.type": "Edm.Int64",
        "big": "1099511627776",
        "unannotated": 2**40,
        "f@odata.type": "Edm.Double",
        "f": "NaN",
        "d": 2.5,
        "flag": True,
        "text": "x",
        "when@odata.type": "Edm.DateTime",
        "when": "2024-05-01T12:00:00.1234567Z",
        "plain@odata.type": "Edm.DateTime",
        "plain": "2024-05-01T12:00:00Z",
        "guid@odata.type": "Edm.Guid",
        "guid": str(uuid.UUID(int=5)),
        "data@odata.type": "Edm.Binary",
        "data": "AAE=",
    }
    ours = decode_entity(wire)
    sdk_entity = _convert_to_entity(wire)
    sdk = from_sdk_entity(sdk_entity, sdk_entity.metadata.get("etag"))
    assert math.isnan(ours.pop("f")) and math.isnan(sdk.pop("f"))
    assert ours == sdk and ours.etag == sdk.etag == "W/\"datetime'x'\""
    assert "Timestamp" not in ours and ours["big"] == 2**40 and ours["data"] == b"\x00\x01"
    assert ours["when"] == datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)


def test_dates() -> None:
    assert parse_http_date("Wed, 01 May 2024 12:03:04 GMT") == datetime(2024, 5, 1, 12, 3, 4, tzinfo=UTC)
    assert parse_iso("2024-05-01T12:00:00.5Z") == datetime(2024, 5, 1, 12, 0, 0, 500000, tzinfo=UTC)


def test_entity_key_path_escapes_quotes_and_reserved_characters() -> None:
    assert entity_key_path("t", "a'b", "c/d e") == "t(PartitionKey='a%27%27b',RowKey='c%2Fd%20e')"
