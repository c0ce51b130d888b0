"""Keys with --enable-auth: function/admin levels, header and query keys, persisted key files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import azure.functions as func

from host.http.auth import KeyStore

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)


@app.route(route="open", auth_level=func.AuthLevel.ANONYMOUS)
def open_fn(req: func.HttpRequest) -> str:
    return "open"


@app.route(route="keyed")
def keyed(req: func.HttpRequest) -> str:
    return "keyed"


@app.route(route="other")
def other(req: func.HttpRequest) -> str:
    return "other"


@app.route(route="adminonly", auth_level=func.AuthLevel.ADMIN)
def admin_only(req: func.HttpRequest) -> str:
    return "admin"


async def test_keys_are_enforced_only_with_enable_auth(make_client: Any, tmp_path: Path) -> None:
    client, _ = make_client(app)
    assert (await client.get("/api/keyed")).status_code == 200
    assert (await client.get("/api/adminonly")).status_code == 200
    assert not (tmp_path / ".funchost").exists()


async def test_function_and_admin_levels(make_client: Any, tmp_path: Path) -> None:
    client, _ = make_client(app, enable_auth=True)
    keys = KeyStore.load(tmp_path, ["keyed", "other"])
    fkey, other_key = keys.default_function_key("keyed"), keys.default_function_key("other")
    host_key, master = keys.host_keys["default"], keys.master_key
    assert fkey and other_key and fkey != other_key
    assert (await client.get("/api/open")).text == "open"
    r = await client.get("/api/keyed")
    assert (r.status_code, r.content) == (401, b"")
    assert (await client.get("/api/keyed", params={"code": "wrong"})).status_code == 401
    assert (await client.get("/api/keyed", params={"code": fkey})).text == "keyed"
    assert (await client.get("/api/keyed", headers={"x-functions-key": fkey})).text == "keyed"
    assert (await client.get("/api/keyed", params={"code": other_key})).status_code == 401
    assert (await client.get("/api/keyed", params={"code": host_key})).text == "keyed"
    assert (await client.get("/api/keyed", params={"code": master})).text == "keyed"
    assert (await client.get("/api/adminonly", params={"code": host_key})).status_code == 401
    assert (await client.get("/api/adminonly", params={"code": master})).text == "admin"
    assert (await client.get("/admin/functions")).status_code == 401
    assert (await client.get("/admin/functions", headers={"x-functions-key": master})).status_code == 200
    assert (await client.get("/admin/host/status")).status_code == 200


async def test_keys_persist_in_host_file_format(make_client: Any, tmp_path: Path) -> None:
    make_client(app, enable_auth=True)
    host = json.loads((tmp_path / ".funchost" / "secrets" / "host.json").read_text())
    assert host["masterKey"]["name"] == "master" and len(host["masterKey"]["value"]) >= 40
    assert host["functionKeys"][0]["name"] == "default"
    keyed = json.loads((tmp_path / ".funchost" / "secrets" / "keyed.json").read_text())
    assert keyed["keys"][0]["value"]
    again = KeyStore.load(tmp_path, ["keyed"])
    assert again.master_key == host["masterKey"]["value"]
    assert again.default_function_key("keyed") == keyed["keys"][0]["value"]
