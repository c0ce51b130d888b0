"""Pure parts of the storage triggers: templates, blob path patterns, encodings, OData filters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import azure.functions as func
import pytest

from host.errors import ConfigError, IndexingError, InvocationError
from host.storage.interface import And, Compare, Op, Or
from host.triggers.bindexpr import BlobPathPattern, bind_template, json_binding_data, template_params
from host.triggers.common import Backoff
from host.triggers.encoding import check_encoding, decode_body, encode_body, output_messages
from host.triggers.names import blob_receipt_name, poison_queue_name, timer_status_blob
from host.triggers.odata_parse import parse_filter
from host.triggers.timer import format_time, parse_time


def test_blob_pattern_captures_and_anchors() -> None:
    p = BlobPathPattern.parse("uploads/{name}.{ext}")
    assert p.container == "uploads" and p.params == ("name", "ext")
    assert p.match("dir/a.b.txt") == {"name": "dir/a.b", "ext": "txt"}  # greedy, may include '/'
    assert p.match("noext") is None
    assert BlobPathPattern.parse("in/{name}").match("x/y/z") == {"name": "x/y/z"}
    lit = BlobPathPattern.parse("in/images/{{raw}}-{id}.png")
    assert lit.match("images/{raw}-42.png") == {"id": "42"}
    assert lit.match("images/raw-42.png") is None
    assert lit.literal_prefix == "images/"
    assert BlobPathPattern.parse("in").match("anything/at/all") == {}
    with pytest.raises(IndexingError):
        BlobPathPattern.parse("{c}/x")


def test_bind_template() -> None:
    data = {"name": "a.txt", "Id": 7, "order": {"customer": "ann"}, "flag": True}
    assert bind_template("processed/{name}", data) == "processed/a.txt"
    assert bind_template("{id}-{FLAG}", data) == "7-True"  # case-insensitive
    assert bind_template("{order.customer}", data) == "ann"
    assert bind_template("{{x}}", data) == "{x}"
    assert len(bind_template("{rand-guid}", {})) == 36
    assert template_params("a/{x}/{y}") == ["x", "y"]
    with pytest.raises(InvocationError, match="No value for named parameter 'missing'"):
        bind_template("{missing}", data)


def test_json_binding_data() -> None:
    assert json_binding_data('{"id": 7, "name": "x"}') == {"id": 7, "name": "x"}
    assert json_binding_data("[1,2]") == {} and json_binding_data("not json") == {}


def test_message_encoding_roundtrip_and_invalid_base64() -> None:
    assert encode_body("héllo", "base64") == "aMOpbGxv"
    assert decode_body("aMOpbGxv", "base64") == "héllo".encode()
    assert decode_body("aGVs\nbG8=", "base64") == b"hello"  # whitespace is ignored, as .NET does
    assert encode_body("plain", "none") == "plain" and decode_body("plain", "none") == b"plain"
    with pytest.raises(ValueError, match="not a valid Base-64"):
        decode_body("this is not base64!", "base64")
    assert check_encoding(None) == "base64" and check_encoding("None") == "none"
    with pytest.raises(ConfigError):
        check_encoding("utf8")


def test_output_messages() -> None:
    assert output_messages("a") == ["a"]
    assert output_messages(b"\x00\x01") == [b"\x00\x01"]
    assert output_messages(["a", "b", {"k": 1}]) == ["a", "b", '{"k": 1}']
    assert output_messages(func.QueueMessage(body="q")) == [b"q"]
    assert output_messages({"id": 1}) == ['{"id": 1}']
    assert output_messages(None) == []


def test_odata_filter_parser() -> None:
    assert parse_filter("Name eq 'O''Neil'") == Compare("Name", Op.EQ, "O'Neil")
    f = parse_filter("Age gt 30 and (City eq 'Oslo' or Vip eq true)")
    either = Or((Compare("City", Op.EQ, "Oslo"), Compare("Vip", Op.EQ, True)))
    assert f == And((Compare("Age", Op.GT, 30), either))
    assert parse_filter("A lt 5L or B ge 2.5") == Or((Compare("A", Op.LT, 5), Compare("B", Op.GE, 2.5)))
    when = parse_filter("Timestamp ge datetime'2024-05-01T00:00:00Z'")
    assert when == Compare("Timestamp", Op.GE, datetime(2024, 5, 1, tzinfo=UTC))
    for bad in ("Name eq", "Name like 'x'", "(A eq 1", "A eq 1 B"):
        with pytest.raises(InvocationError):
            parse_filter(bad)


def test_derived_names() -> None:
    assert poison_queue_name("work-items") == "work-items-poison"
    assert poison_queue_name("work-items-poison") is None and poison_queue_name("a" * 60) is None
    status = timer_status_blob("devbox01-884720886", "tick")
    assert status == "timers/devbox01-884720886/Host.Functions.tick/status"
    receipt = blob_receipt_name("h", "f", '"0x8D"', "c", "a/b.txt")
    assert receipt == 'blobreceipts/h/Host.Functions.f/"0x8D"/c/a/b.txt'


def test_status_time_format() -> None:
    tz = timezone(timedelta(hours=-7))
    assert format_time(datetime(2024, 5, 1, 17, 5, tzinfo=UTC), tz) == "2024-05-01T10:05:00-07:00"
    with_ms = datetime(2024, 5, 1, 17, 5, 0, 123000, tzinfo=UTC)
    assert format_time(with_ms, UTC) == "2024-05-01T17:05:00.123+00:00"
    assert format_time(None, UTC) == "0001-01-01T00:00:00"
    assert parse_time("0001-01-01T00:00:00") is None
    parsed = parse_time("2024-05-01T10:05:00.1234567-07:00")
    assert parsed == datetime(2024, 5, 1, 17, 5, 0, 123456, tzinfo=UTC)


def test_backoff_schedule() -> None:
    b = Backoff(maximum=1.0)
    delays = [b.next_delay() for _ in range(8)]
    assert delays[0] == pytest.approx(0.1)
    assert 0.18 <= delays[1] <= 0.22 and 0.26 <= delays[2] <= 0.34 and 0.42 <= delays[3] <= 0.58
    assert delays[-1] == 1.0 and all(d <= 1.0 for d in delays)
    b.reset()
    assert b.next_delay() == pytest.approx(0.1)
