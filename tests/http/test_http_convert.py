"""Request building and response mapping (worker converters, host response rules)."""

from __future__ import annotations

import json

import azure.functions as func
import pytest

from host.http.convert import build_request, join_headers, parse_query, request_url, to_response

TEXT = "text/plain; charset=utf-8"


def test_request_is_built_like_the_worker() -> None:
    headers = join_headers(
        [
            (b"Host", b"localhost:7071"),
            (b"X-Multi", b"a"),
            (b"x-multi", b"b"),
            (b"Content-Type", b"application/json"),
        ]
    )
    params = parse_query("x=1&empty=&x=2&y=%20z")
    url = request_url("http", headers["host"], "/api/hello/Ann", "x=1&empty=&x=2&y=%20z")
    req = build_request("post", url, headers, params, {"name": "Ann"}, b'{"a": 1}')
    assert type(req).__module__ == "azure.functions.http"
    assert req.method == "POST"
    assert req.url == "http://localhost:7071/api/hello/Ann?x=1&empty=&x=2&y=%20z"
    assert dict(req.headers) == {
        "host": "localhost:7071",
        "x-multi": "a,b",
        "content-type": "application/json",
    }
    assert req.headers["X-MULTI"] == "a,b"
    assert dict(req.params) == {"x": "1,2", "y": " z"}
    assert dict(req.route_params) == {"name": "Ann"}
    assert req.get_body() == b'{"a": 1}' and req.get_json() == {"a": 1}


def test_invalid_json_body_raises_worker_value_error() -> None:
    req = build_request("POST", "http://h/x", {}, {}, {}, b"{nope")
    with pytest.raises(ValueError, match="HTTP request does not contain valid JSON data"):
        req.get_json()
    assert build_request("GET", "http://h/x", {}, {}, {}, b"").get_body() == b""


def header(resp: object, name: str) -> list[str]:
    return [v.decode() for k, v in resp.raw_headers if k.decode() == name]  # type: ignore[attr-defined]


def test_http_response_mapping() -> None:
    resp = to_response(func.HttpResponse("Hello", status_code=201, headers={"X-A": "1"}))
    assert resp.status_code == 201 and resp.body == b"Hello"
    assert header(resp, "content-type") == ["text/plain; charset=utf-8"]
    assert header(resp, "x-a") == ["1"] and header(resp, "content-length") == ["5"]
    resp = to_response(func.HttpResponse(b"\x00\x01", mimetype="application/octet-stream"))
    assert header(resp, "content-type") == ["application/octet-stream"] and resp.body == b"\x00\x01"
    resp = to_response(func.HttpResponse("<p>", mimetype="text/html", charset="latin-1"))
    assert header(resp, "content-type") == ["text/html; charset=latin-1"]
    resp = to_response(func.HttpResponse(status_code=204))
    assert resp.status_code == 204 and resp.body == b""


def test_cookies_become_set_cookie_headers() -> None:
    headers = func.HttpResponse("x").headers
    headers.add("Set-Cookie", "a=1; Path=/")
    headers.add("Set-Cookie", "b=2")
    resp = to_response(func.HttpResponse("x", headers=headers))
    assert sorted(header(resp, "set-cookie")) == ["a=1; Path=/", "b=2"]


def test_str_bytes_dict_list_returns() -> None:
    resp = to_response("queued")
    assert (resp.status_code, resp.body) == (200, b"queued")
    assert header(resp, "content-type") == [TEXT]
    resp = to_response('{"not": "a response"}')
    assert resp.body == b'{"not": "a response"}' and header(resp, "content-type") == [TEXT]
    resp = to_response(b"raw")
    assert resp.body == b"raw" and header(resp, "content-type") == ["application/octet-stream"]
    resp = to_response({"a": [1, 2]})
    assert json.loads(bytes(resp.body)) == {"a": [1, 2]}
    assert header(resp, "content-type") == ["application/json; charset=utf-8"]
    resp = to_response([1, "x"])
    assert json.loads(bytes(resp.body)) == [1, "x"]


def test_json_string_with_body_is_a_response_object() -> None:
    resp = to_response(json.dumps({"status": 202, "body": {"id": 7}, "headers": {"X-B": "y"}}))
    assert resp.status_code == 202 and json.loads(bytes(resp.body)) == {"id": 7}
    assert header(resp, "x-b") == ["y"]
    assert header(resp, "content-type") == ["application/json; charset=utf-8"]
    resp = to_response(json.dumps({"statusCode": "418", "body": "teapot"}))
    assert (resp.status_code, resp.body) == (418, b"teapot")


@pytest.mark.parametrize("value", [None, 42, 1.5, object()])
def test_unencodable_values_fail_like_the_worker(value: object) -> None:
    with pytest.raises(TypeError, match="unable to encode outgoing TypedData"):
        to_response(value)
