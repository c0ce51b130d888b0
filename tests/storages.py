"""Storages the tests run on: the session's Azurite (lean REST path or SDKs only) or in memory."""

from __future__ import annotations

import pytest

from host.storage.azure.storage import AzureSdkStorage, AzureStorage
from host.storage.connection import parse_connection_string
from host.storage.interface import Storage
from host.storage.memory import MemoryStorage


def open_test_storage(kind: str, request: pytest.FixtureRequest) -> Storage:
    """``azure`` (lean path), ``azure_sdk`` (SDKs only) on the session Azurite, or ``memory``."""
    if kind == "memory":
        return MemoryStorage()
    azurite = request.getfixturevalue("azurite")
    kind_class = AzureSdkStorage if kind == "azure_sdk" else AzureStorage
    return kind_class(parse_connection_string(azurite.connection_string))
