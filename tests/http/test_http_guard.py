"""The local default refuses what a browser could be tricked into: rebinding Host names, cross-site writes."""

from __future__ import annotations

from typing import Any

import azure.functions as func
import pytest

from host.http.guard import is_loopback_name, split_host

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="echo", methods=["GET", "POST", "PUT", "DELETE"])
def echo(req: func.HttpRequest) -> str:
    return req.method


@pytest.mark.parametrize(
    "host",
    [
        "localhost",
        "localhost:7071",
        "LOCALHOST:7071",
        "127.0.0.1:7071",
        "127.0.0.1",
        "[::1]:7071",
        "[::1]",
        "app.localhost:7071",
        "127.1.2.3:80",
    ],
)
async def test_loopback_hosts_are_served(make_client: Any, host: str) -> None:
    client, _ = make_client(app)
    r = await client.get("/api/echo", headers={"host": host})
    assert (r.status_code, r.text) == (200, "GET")


@pytest.mark.parametrize(
    "host",
    [
        "evil.example",
        "evil.example:7071",
        "localhost.evil.example",
        "127.0.0.1.nip.io:7071",
        "[2001:db8::1]:7071",
        "10.0.0.5:7071",
    ],
)
async def test_other_hosts_get_403(make_client: Any, host: str) -> None:
    client, _ = make_client(app)
    for method in ("GET", "POST"):
        r = await client.request(method, "/api/echo", headers={"host": host})
        assert r.status_code == 403, (method, host)
        assert "DNS rebinding" in r.text
    assert (await client.get("/", headers={"host": host})).status_code == 403


async def test_with_enable_auth_keys_protect_instead(make_client: Any) -> None:
    client, _ = make_client(app, enable_auth=True)
    assert (await client.get("/api/echo", headers={"host": "funcs.example"})).text == "GET"
    r = await client.post("/api/echo", headers={"origin": "http://evil.example"})
    assert r.text == "POST"  # an anonymous function is anonymous, as in Azure


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
@pytest.mark.parametrize(
    "origin",
    [
        "http://evil.example",
        "https://localhost.evil.example",
        "null",
        "http://localhost:3000",
        "http://127.0.0.1:8080",
        "file://",
    ],
)
async def test_cross_site_state_changes_get_403(make_client: Any, method: str, origin: str) -> None:
    client, _ = make_client(app)
    r = await client.request(method, "/api/echo", headers={"origin": origin})
    assert r.status_code == 403 and "Cross-site" in r.text


@pytest.mark.parametrize(
    "origin",
    ["http://localhost:7071", "http://127.0.0.1:7071", "http://[::1]:7071", "HTTP://LOCALHOST:7071/"],
)
async def test_same_origin_and_no_origin_may_change_state(make_client: Any, origin: str) -> None:
    client, _ = make_client(app)
    for method in ("POST", "DELETE"):
        assert (await client.request(method, "/api/echo", headers={"origin": origin})).text == method
        assert (await client.request(method, "/api/echo")).text == method


async def test_cors_origins_may_change_state_and_reads_are_never_refused(make_client: Any) -> None:
    client, _ = make_client(app, cors_origins=("http://app.example:3000",))
    r = await client.post("/api/echo", headers={"origin": "http://app.example:3000"})
    assert r.text == "POST" and r.headers["access-control-allow-origin"] == "http://app.example:3000"
    assert (await client.post("/api/echo", headers={"origin": "http://evil.example"})).status_code == 403
    assert (await client.get("/api/echo", headers={"origin": "http://evil.example"})).text == "GET"
    star, _ = make_client(app, cors_origins=("*",))
    assert (await star.delete("/api/echo", headers={"origin": "http://evil.example"})).text == "DELETE"


def test_split_host_and_loopback_names() -> None:
    assert split_host("[::1]:7071") == ("::1", 7071)
    assert split_host("LocalHost.:80") == ("localhost", 80)
    assert split_host("example.com") == ("example.com", None)
    assert split_host("example.com:x") == ("example.com", None)
    assert all(map(is_loopback_name, ["localhost", "a.localhost", "127.0.0.1", "127.9.9.9", "::1"]))
    assert not any(map(is_loopback_name, ["localhost.example", "10.0.0.1", "::2", "", "0.0.0.0"]))
