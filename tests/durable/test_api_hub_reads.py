"""Reads never create storage; ``taskHub=``/``connection=`` errors are clear and never echo a setting.

A served host (real engine, real Azurite): asking about a task hub that does not exist answers 404
and leaves no queue, table or container behind; starting an orchestration there creates it.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from azure.storage.blob.aio import BlobServiceClient
from client_host_support import SAMPLES, served_host, unique_hub

from host.durable.taskhub.hub import TaskHub, TaskHubNames
from host.storage.azure.base import LOCAL_API_VERSION
from host.storage.factory import open_storage
from host.storage.interface import Storage

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
SECRET = "s3cr3t-Value-9f8e7d"


@pytest.fixture
async def storage(azurite_connection_string: str) -> AsyncIterator[Storage]:
    s = open_storage(azurite_connection_string)
    yield s
    await s.close()


@pytest.fixture
async def url(
    tmp_path: Path, azurite_connection_string: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[str]:
    monkeypatch.setenv("SECRET_SETTING", f"UseDevelopmentStorage={SECRET}")
    monkeypatch.setenv("PLAIN_SETTING", SECRET)
    monkeypatch.setenv("KEYISH_SETTING", f"AccountName=x;AccountKey={SECRET}")
    async with served_host(tmp_path / "app", APP, azurite_connection_string, hub=unique_hub("reads")) as (
        found,
        _,
    ):
        yield found


async def _footprint(storage: Storage, connection: str, hub: str) -> list[str]:
    """The hub's queues, tables and container as they exist in the account."""
    queues = await storage.list_queues(hub.lower())
    tables = await storage.list_tables(hub)
    container = TaskHubNames(hub).large_messages_container
    # Azurite checks x-ms-version: pin the version the host's own clients use locally.
    async with BlobServiceClient.from_connection_string(connection, api_version=LOCAL_API_VERSION) as blobs:
        exists = await blobs.get_container_client(container).exists()
    return sorted([*queues, *tables, *([container] if exists else [])])


async def test_reading_an_unknown_hub_is_404_and_creates_nothing(
    url: str, storage: Storage, azurite_connection_string: str
) -> None:
    hub = "Nohub" + uuid.uuid4().hex[:8]
    assert await _footprint(storage, azurite_connection_string, hub) == []
    q = {"taskHub": hub}
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        for method, path in [
            ("GET", f"{WH}/instances/"),
            ("GET", f"{WH}/instances/some-id"),
            ("GET", f"{WH}/entities/"),
            ("GET", f"{WH}/entities/counter/k"),
            ("DELETE", f"{WH}/instances/some-id"),
            ("DELETE", f"{WH}/instances/?createdTimeFrom=2020-01-01"),
            ("POST", f"{WH}/instances/some-id/terminate"),
            ("POST", f"{WH}/instances/some-id/resume"),
            ("POST", f"{WH}/instances/some-id/restart"),
        ]:
            r = await client.request(method, path, params=q)
            assert r.status_code == 404, (method, path, r.status_code, r.text)
            assert hub in r.text and "does not exist" in r.text, r.text
        r = await client.post(f"{WH}/instances/some-id/raiseEvent/Go", params=q, json=1)
        assert r.status_code == 404
        r = await client.get(f"/durabletask/hubs/{hub}/-/instances/")
        assert r.status_code == 404
        assert await _footprint(storage, azurite_connection_string, hub) == []

        # starting an orchestration is what creates a task hub
        r = await client.post(f"{WH}/orchestrators/hello_sequence/first", params=q, json=["X"])
        assert r.status_code == 202, r.text
        assert await _footprint(storage, azurite_connection_string, hub) != []
        assert (await client.get(f"{WH}/instances/first", params=q)).status_code in (200, 202)
        assert (await client.get(f"{WH}/instances/", params=q)).status_code == 200
    await TaskHub(storage, TaskHubNames(hub)).delete()


async def test_bad_hub_and_connection_names_are_400_without_values(url: str) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        r = await client.get(f"{WH}/instances/", params={"taskHub": "a-b"})
        assert r.status_code == 400 and "a-b" in r.text and "task hub name" in r.text
        for setting in ("SECRET_SETTING", "PLAIN_SETTING", "KEYISH_SETTING", "PATH"):
            for method, path in [("GET", f"{WH}/instances/"), ("POST", f"{WH}/orchestrators/hello_sequence")]:
                r = await client.request(method, path, params={"connection": setting})
                assert r.status_code == 400, (setting, r.status_code, r.text)
                assert setting in r.text and "connection string" in r.text
                assert SECRET not in r.text and SECRET[:6] not in r.text
        r = await client.get(f"{WH}/instances/", params={"connection": "NoSuchSetting"})
        assert r.status_code == 400 and "NoSuchSetting" in r.text
