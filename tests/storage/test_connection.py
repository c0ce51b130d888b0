"""Parsing of AzureWebJobsStorage-style connection strings."""

from __future__ import annotations

import pytest

from host.errors import ConfigError
from host.storage.azurite import DEV_KEY
from host.storage.connection import parse_connection_string
from host.storage.resolve import cli_account

KEY = "c2VjcmV0LWtleS1ub3QtcmVhbA=="


def test_development_storage() -> None:
    a = parse_connection_string("UseDevelopmentStorage=true")
    assert a.account_name == "devstoreaccount1" and a.account_key == DEV_KEY
    assert a.blob_endpoint == "http://127.0.0.1:10000/devstoreaccount1"
    assert a.queue_endpoint == "http://127.0.0.1:10001/devstoreaccount1"
    assert a.table_endpoint == "http://127.0.0.1:10002/devstoreaccount1"
    assert a.is_azurite and a.is_loopback


def test_development_storage_proxy_and_case() -> None:
    a = parse_connection_string("usedevelopmentstorage=TRUE;DevelopmentStorageProxyUri=http://myhost")
    assert a.queue_endpoint == "http://myhost:10001/devstoreaccount1"
    assert a.is_azurite and not a.is_loopback


def test_explicit_endpoints() -> None:
    text = (
        f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={DEV_KEY};"
        "BlobEndpoint=http://127.0.0.1:5000/devstoreaccount1/;"
        "QueueEndpoint=http://127.0.0.1:5001/devstoreaccount1;"
        "TableEndpoint=http://localhost:5002/devstoreaccount1;"
    )
    a = parse_connection_string(text)
    assert a.blob_endpoint == "http://127.0.0.1:5000/devstoreaccount1"
    assert a.table_endpoint == "http://localhost:5002/devstoreaccount1"
    assert a.is_azurite and a.is_loopback


def test_endpoints_without_account_name_use_the_path() -> None:
    a = parse_connection_string(f"AccountKey={KEY};QueueEndpoint=http://127.0.0.1:7/acct1")
    assert a.account_name == "acct1" and a.queue_endpoint == "http://127.0.0.1:7/acct1"
    assert a.blob_endpoint is None
    with pytest.raises(ConfigError, match="BlobEndpoint"):
        a.endpoint("blob")


def test_real_account_defaults_and_suffix() -> None:
    a = parse_connection_string(f"AccountName=myacct;AccountKey={KEY}")
    assert a.queue_endpoint == "https://myacct.queue.core.windows.net"
    assert not a.is_azurite and not a.is_loopback
    b = parse_connection_string(
        f"DefaultEndpointsProtocol=http;AccountName=myacct;AccountKey={KEY};EndpointSuffix=core.chinacloudapi.cn"
    )
    assert b.table_endpoint == "http://myacct.table.core.chinacloudapi.cn"
    assert KEY not in repr(b)


def test_sas_instead_of_key() -> None:
    a = parse_connection_string(
        "BlobEndpoint=https://x.blob.core.windows.net;SharedAccessSignature=?sv=1&sig=abc"
    )
    assert a.account_name == "x" and a.sas_token == "sv=1&sig=abc" and a.account_key is None


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "empty"),
        ("   ", "empty"),
        ("UseDevelopmentStorage=false", "UseDevelopmentStorage"),
        ("AccountName=a", "neither AccountKey"),
        (f"AccountKey={KEY}", "needs AccountName"),
        (f"AccountName=a;AccountKey={KEY};Bogus=1", "unknown key 'Bogus'"),
        (f"AccountName=a;AccountKey={KEY};DefaultEndpointsProtocol=ftp", "http or https"),
        (f"AccountName=a;AccountKey={KEY};QueueEndpoint=not-a-url", "QueueEndpoint"),
        ("AccountName=a;AccountKey=not base64!!", "not valid Base64"),
        (f"AccountName=a;{KEY}", "Key=Value"),
    ],
)
def test_malformed_strings_are_config_errors_without_secrets(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        parse_connection_string(text)
    shown = str(info.value)
    assert "\n" not in shown
    assert KEY not in shown and "not base64!!" not in shown


def test_sdk_connection_string_round_trip() -> None:
    a = parse_connection_string("UseDevelopmentStorage=true")
    assert parse_connection_string(a.to_connection_string()) == a


def test_cli_account_takes_a_string_an_app_setting_or_identity_settings() -> None:
    environ = {
        "MyStorage": "UseDevelopmentStorage=true",
        "AzureWebJobsOther": "AccountName=a;AccountKey=" + KEY,
        "Ident__accountName": "idacct",
    }
    dev = parse_connection_string("UseDevelopmentStorage=true")
    assert cli_account("UseDevelopmentStorage=true", environ=environ) == dev
    assert cli_account("MyStorage", environ=environ) == dev
    assert cli_account("Other", environ=environ) == parse_connection_string("AccountName=a;AccountKey=" + KEY)
    ident = cli_account("Ident", environ=environ)
    assert ident.identity is not None and ident.account_name == "idacct"
    with pytest.raises(ConfigError, match=r"--connection 'Missing' is neither.*Missing__accountName"):
        cli_account("Missing", environ=environ)
    # Outside the app folder no local.settings.json is read: the message says how to go on.
    with pytest.raises(ConfigError, match=r"in the app folder.*--connection UseDevelopmentStorage=true"):
        cli_account("AzureWebJobsStorage", environ={})
