"""The multipart ``$batch`` body and response parser of the lean REST path (pure)."""

from __future__ import annotations

import pytest

from host.storage.azure.rest_batch import SubRequest, build_batch, parse_batch

# A failed change set as Azure Tables answers it (one part: the failing operation, index 1).
FAILED = (
    b"--batchresponse_1\r\nContent-Type: multipart/mixed; boundary=changesetresponse_2\r\n\r\n"
    b"--changesetresponse_2\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n"
    b"\r\nHTTP/1.1 409 Conflict\r\nX-Content-Type-Options: nosniff\r\nContent-ID: 2\r\n"
    b"Content-Type: application/json;odata=minimalmetadata;streaming=true;charset=utf-8\r\n\r\n"
    b'{"odata.error":{"code":"EntityAlreadyExists","message":{"lang":"en-US",'
    b'"value":"1:The specified entity already exists.\\nRequestId:x"}}}\r\n'
    b"--changesetresponse_2--\r\n--batchresponse_1--\r\n"
)
OK = (
    b"--batchresponse_a\r\nContent-Type: multipart/mixed; boundary=changesetresponse_b\r\n\r\n"
    + b"".join(
        b"--changesetresponse_b\r\nContent-Type: application/http\r\n"
        b"Content-Transfer-Encoding: binary\r\n\r\nHTTP/1.1 204 No Content\r\n"
        b"Content-ID: " + str(i).encode() + b"\r\nETag: W/\"datetime'" + str(i).encode() + b"'\"\r\n\r\n"
        for i in (1, 2, 3)
    )
    + b"--changesetresponse_b--\r\n--batchresponse_a--\r\n"
)


def test_build_batch_holds_every_operation_in_one_change_set() -> None:
    body, content_type = build_batch(
        [
            SubRequest("PUT", "http://h/a/t(PartitionKey='p',RowKey='1')", {"if-match": "*"}, b'{"x":1}'),
            SubRequest("DELETE", "http://h/a/t(PartitionKey='p',RowKey='2')", {"if-match": 'W/"e"'}, None),
        ]
    )
    boundary = content_type.split("boundary=")[1]
    text = body.decode()
    assert text.startswith(f"--{boundary}\r\nContent-Type: multipart/mixed; boundary=changeset_")
    assert text.endswith(f"--{boundary}--\r\n")
    assert "PUT http://h/a/t(PartitionKey='p',RowKey='1') HTTP/1.1\r\n" in text
    assert 'if-match: W/"e"' in text and '{"x":1}' in text and text.count("Content-ID:") == 2


def test_parse_success_keeps_order_and_etags() -> None:
    answers = parse_batch(OK, "multipart/mixed; boundary=batchresponse_a")
    assert [a.status for a in answers] == [204, 204, 204]
    assert [a.headers["etag"] for a in answers] == [f"W/\"datetime'{i}'\"" for i in (1, 2, 3)]


def test_parse_failure_has_status_and_json_error() -> None:
    (answer,) = parse_batch(FAILED, 'multipart/mixed; boundary="batchresponse_1"')
    assert answer.status == 409
    assert b'"code":"EntityAlreadyExists"' in answer.body and answer.body.endswith(b"}")


def test_parse_needs_a_boundary() -> None:
    with pytest.raises(ValueError):
        parse_batch(OK, "multipart/mixed")
