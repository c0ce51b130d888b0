"""Bounded input on the durable HTTP API: what Azure Storage could never take is a 400 at the door.

A served host (real engine, real Azurite) answers 400 naming the limit for overlong instance ids,
entity keys, event and operation names, for JSON nested too deep, for junk continuation tokens and
unencodable prefixes; bodies past the limit are 413 and are never read whole.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, MutableMapping
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_call import asgi_post
from client_host_support import SAMPLES, served_host, unique_hub

from host.durable.api.limits import MAX_KEY_BYTES, MAX_NAME_LENGTH, key_bytes
from host.durable.api.routes import DurableApi
from host.http.limits import MAX_JSON_DEPTH

APP = f"""
import sys
sys.path.insert(0, {str(SAMPLES)!r})
import azure.durable_functions as df
import azure.functions as func
import http_api

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
app.register_functions(http_api.bp)
"""

WH = "/runtime/webhooks/durabletask"


@pytest.fixture
async def client(tmp_path: Path, azurite_connection_string: str) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        served_host(tmp_path / "app", APP, azurite_connection_string, hub=unique_hub("lim")) as (
            url,
            _,
        ),
        httpx.AsyncClient(base_url=url, timeout=30) as c,
    ):
        yield c


def _rejected(r: httpx.Response, *words: str) -> None:
    assert r.status_code == 400, (r.status_code, r.text[:300])
    text = r.json()["ExceptionMessage"]
    for word in words:
        assert word in text, (word, text)


async def test_overlong_ids_keys_and_names_are_400_naming_the_limit(client: httpx.AsyncClient) -> None:
    r = await client.post(f"{WH}/orchestrators/approval_workflow/waiting", json=300)
    assert r.status_code == 202
    long_id = "i" * 257
    for method, path in [
        ("POST", f"{WH}/orchestrators/hello_sequence/{long_id}"),
        ("GET", f"{WH}/instances/{long_id}"),
        ("DELETE", f"{WH}/instances/{long_id}"),
        ("POST", f"{WH}/instances/{long_id}/terminate"),
        ("POST", f"{WH}/instances/{long_id}/raiseEvent/Go"),
        ("GET", f"/durabletask/instances/{long_id}"),
    ]:
        _rejected(await client.request(method, path, json=1), "256 characters")
    assert (await client.get(f"{WH}/instances/{'i' * 256}")).status_code == 404  # at the limit: looked up

    # entity ids are table keys: 1 KiB of UTF-16 (a non-BMP character counts twice)
    for key in ("k" * 600, "😀" * 300):
        for method in ("POST", "GET", "DELETE"):
            r = await client.request(method, f"{WH}/entities/counter/{key}", params={"op": "add"}, json=1)
            _rejected(r, "entity", f"{MAX_KEY_BYTES} bytes")
    fits = "k" * (MAX_KEY_BYTES // 2 - len("@counter@"))
    assert key_bytes(f"@counter@{fits}") == MAX_KEY_BYTES
    assert (
        await client.post(f"{WH}/entities/counter/{fits}", params={"op": "add"}, json=1)
    ).status_code == 202

    name = "e" * (MAX_NAME_LENGTH + 1)
    r = await client.post(f"{WH}/instances/waiting/raiseEvent/{name}", json=1)
    _rejected(r, "event name", f"{MAX_NAME_LENGTH} characters")
    r = await client.post(f"{WH}/entities/counter/k", params={"op": "o" * (MAX_NAME_LENGTH + 1)}, json=1)
    _rejected(r, "operation name", f"{MAX_NAME_LENGTH} characters")
    ok = await client.post(f"{WH}/instances/waiting/raiseEvent/{'e' * MAX_NAME_LENGTH}", json=1)
    assert ok.status_code == 202


async def test_deep_json_is_400(client: httpx.AsyncClient) -> None:
    deep = "[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1)
    fine = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    hdr = {"content-type": "application/json"}
    for body in (deep, "[" * 100_000, '{"a":' * 5000 + "1" + "}" * 5000):
        for path in (f"{WH}/orchestrators/hello_sequence", f"{WH}/entities/counter/k?op=add"):
            _rejected(await client.post(path, content=body, headers=hdr), "nested", str(MAX_JSON_DEPTH))
    r = await client.post(f"{WH}/orchestrators/approval_workflow/deep", json=300)
    assert r.status_code == 202
    _rejected(
        await client.post(f"{WH}/instances/deep/raiseEvent/Approval", content=deep, headers=hdr), "nested"
    )
    assert (
        await client.post(f"{WH}/instances/deep/raiseEvent/Other", content=fine, headers=hdr)
    ).status_code == 202


@pytest.mark.parametrize(
    "token",
    ["junk", "{}", '{"raw": 5}', '{"pk":"\\u0000","rk":"\\ud800"}', "x" * 5000, "e30=", "\u00ff\u00fe"],
)
async def test_junk_continuation_tokens_are_400(client: httpx.AsyncClient, token: str) -> None:
    for path in (f"{WH}/instances/", f"{WH}/entities/", f"{WH}/entities/counter"):
        r = await client.get(path, headers={b"x-ms-continuation-token": token.encode("latin-1")})
        _rejected(r, "continuation token")


async def test_unencodable_prefixes_are_400(client: httpx.AsyncClient) -> None:
    _rejected(
        await client.get(f"{WH}/instances/", params={"instanceIdPrefix": "\U0010ffff"}), "instanceIdPrefix"
    )
    assert (await client.get(f"{WH}/instances/", params={"instanceIdPrefix": "\uffff"})).json() == []


# --------------------------------------------------------------------------- bodies, streamed


class _EndlessBody:
    """An ASGI ``receive`` that never ends its body; counts what the app pulled."""

    def __init__(self, chunk: int) -> None:
        self.chunk = b"[" + b" " * (chunk - 1)
        self.pulled = 0

    async def __call__(self) -> MutableMapping[str, Any]:
        self.pulled += 1
        return {"type": "http.request", "body": self.chunk, "more_body": True}


async def _never_resolved(task_hub: str | None, connection: str | None, *, create: bool = False) -> Any:
    raise AssertionError("an oversize request must not reach the task hub")


@pytest.mark.parametrize(
    "path",
    [
        f"{WH}/orchestrators/Orch",
        f"{WH}/instances/x/raiseEvent/E",
        f"{WH}/entities/counter/k",
        "/durabletask/orchestrators/Orch",
    ],
)
async def test_oversize_bodies_are_413_and_streamed(path: str) -> None:
    api = DurableApi(lambda: None, _never_resolved, max_body=1024 * 1024)
    endless = _EndlessBody(64 * 1024)
    status, body = await asgi_post(api, path, endless, [(b"content-type", b"application/json")])
    assert status == 413 and b"1048576 bytes" in body
    assert endless.pulled <= 1024 * 1024 // (64 * 1024) + 1  # stopped right past the limit

    declared = _EndlessBody(1024)
    status, _ = await asgi_post(api, path, declared, [(b"content-length", str(1024 * 1024 + 1).encode())])
    assert status == 413 and declared.pulled == 0  # refused on the declared length, nothing read


async def test_the_default_body_limit_is_the_http_trigger_limit() -> None:
    from host.http.limits import MAX_BODY

    api = DurableApi(lambda: None, _never_resolved)
    status, body = await asgi_post(
        api, f"{WH}/orchestrators/Orch", _EndlessBody(1), [(b"content-length", str(MAX_BODY + 1).encode())]
    )
    assert status == 413 and json.loads(body)["Message"].startswith("The request body is larger than")
