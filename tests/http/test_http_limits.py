"""The input bounds shared by the HTTP surfaces (pure)."""

from __future__ import annotations

import json

import pytest

from host.http.dispatch import binding_data
from host.http.limits import MAX_JSON_DEPTH, JsonTooDeepError, json_depth_exceeds, loads_bounded


def test_json_depth_is_bounded() -> None:
    fine = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    assert not json_depth_exceeds(json.loads(fine))
    assert loads_bounded('{"a": [1, {"b": 2}]}') == {"a": [1, {"b": 2}]}
    for deep in (
        "[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1),
        "[" * 100_000,
        '{"a":' * 50_000 + "1" + "}" * 50_000,
    ):
        with pytest.raises(JsonTooDeepError, match=f"more than {MAX_JSON_DEPTH} levels"):
            loads_bounded(deep)
    assert json_depth_exceeds({"a": {"b": 1}}, limit=1) and not json_depth_exceeds({"a": 1}, limit=1)
    assert not json_depth_exceeds(5, limit=0)


def test_trigger_metadata_ignores_a_body_nested_too_deep() -> None:
    headers = {"content-type": "application/json"}
    data = binding_data({"id": "7"}, {"q": "1"}, headers, b'{"a":' * 50_000 + b"1" + b"}" * 50_000)
    assert data == {"id": "7", "Query": {"q": "1"}, "Headers": headers}
    assert binding_data({}, {}, headers, b'{"name": "x"}')["name"] == "x"
