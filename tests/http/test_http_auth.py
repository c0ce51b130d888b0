"""Keys with --enable-auth: function/admin levels, header and query keys, persisted key files."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import azure.functions as func

from host.http.auth import DURABLE_SYSTEM_KEY, SYSTEM_KEYS, KeyStore, same_key

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
    assert (await client.get("/admin/host/status")).status_code == 401
    assert (await client.get("/admin/host/status", params={"code": master})).json()["state"] == "Running"
    assert (await client.get("/admin/host/ping")).status_code == 200  # anonymous in Azure too


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


NON_ASCII = "schlüssel-ключ-鍵"


async def test_odd_keys_are_just_wrong(make_client: Any, tmp_path: Path) -> None:
    client, _ = make_client(app, enable_auth=True)
    system = KeyStore.load(tmp_path, []).system_key(DURABLE_SYSTEM_KEY)
    assert system
    for path in ("/api/keyed", "/api/adminonly", "/admin/functions", "/admin/host/status"):
        assert (await client.get(path, params={"code": NON_ASCII})).status_code == 401, path
        r = await client.get(path, headers={"x-functions-key": NON_ASCII.encode()})
        assert r.status_code == 401, path
        assert (await client.get(path + "?code=%FF%00%ED%A0%80")).status_code == 401, path  # not UTF-8
        # the system key opens webhooks only
        assert (await client.get(path, params={"code": system})).status_code == 401, path


def test_key_comparison_is_bytewise() -> None:
    assert same_key("abc", "abc") and not same_key("abc", "abd")
    assert not same_key(NON_ASCII, "abc") and same_key(NON_ASCII, NON_ASCII)
    assert not same_key("\udcff", "abc")


async def test_key_files_are_private(make_client: Any, tmp_path: Path) -> None:
    make_client(app, enable_auth=True)
    folder = tmp_path / ".funchost" / "secrets"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    files = sorted(folder.iterdir())
    assert {"host.json", "keyed.json", "other.json"} <= {f.name for f in files}
    for f in files:
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f
    host = json.loads((folder / "host.json").read_text())
    assert [k["name"] for k in host["systemKeys"]] == list(SYSTEM_KEYS)


async def test_system_key_is_added_to_an_existing_key_file(tmp_path: Path) -> None:
    folder = tmp_path / ".funchost" / "secrets"
    folder.mkdir(parents=True, mode=0o755)
    (folder / "keyed.json").write_text(json.dumps({"keys": [{"name": "default", "value": "f" * 40}]}))
    (folder / "keyed.json").chmod(0o644)
    old = {
        "masterKey": {"name": "master", "value": "m" * 40, "encrypted": False},
        "functionKeys": [{"name": "default", "value": "h" * 40, "encrypted": False}],
        "systemKeys": [],
    }
    (folder / "host.json").write_text(json.dumps(old))
    (folder / "host.json").chmod(0o644)
    keys = KeyStore.load(tmp_path, ["keyed"])
    assert keys.default_function_key("keyed") == "f" * 40
    for path in (folder / "host.json", folder / "keyed.json"):  # an older host's files are tightened
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert keys.master_key == "m" * 40 and keys.host_keys == {"default": "h" * 40}
    system = keys.system_key(DURABLE_SYSTEM_KEY)
    assert system and keys.is_system(system, DURABLE_SYSTEM_KEY)
    assert keys.is_system("m" * 40, DURABLE_SYSTEM_KEY)
    assert not keys.is_system("h" * 40, DURABLE_SYSTEM_KEY) and not keys.is_system(None, DURABLE_SYSTEM_KEY)
    assert KeyStore.load(tmp_path, []).system_key(DURABLE_SYSTEM_KEY) == system  # saved
    assert stat.S_IMODE((folder / "host.json").stat().st_mode) == 0o600


def test_new_keys_never_start_with_a_dash() -> None:
    """A key is passed on command lines (``--key KEY``): one starting with '-' would read as an option."""
    from host.http.auth import new_key

    keys = [new_key() for _ in range(2000)]  # ~1 in 64 raw encodings starts with '-'
    assert all(not k.startswith("-") for k in keys) and len(set(keys)) == len(keys)
