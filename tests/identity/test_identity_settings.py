"""Identity-based connection settings, the token cache and the bearer header (no network)."""

from __future__ import annotations

from pathlib import Path

import pytest
from azure.core.credentials import AccessToken
from identity_support import SECRET

from host.config.settings import load_settings
from host.errors import ConfigError, StorageCredentialError
from host.storage.accounts import StorageAccounts
from host.storage.azure.bearer import STORAGE_SCOPE, BearerTokens, open_credential, token_claims
from host.storage.azure.rest_client import (
    OAUTH_MIN_API_VERSION,
    QUEUE_API_VERSION,
    TABLE_API_VERSION,
    RestClient,
)
from host.storage.connection import StorageAccount
from host.storage.identity import IdentityConnection, identity_account
from host.storage.memory import MemoryStorage
from host.storage.resolve import storage_account
from host.testing.tokens import UnsignedTokenCredential

ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def _resolve(tmp_path: Path, values: dict[str, str], connection: str | None = None) -> StorageAccount | None:
    return storage_account(load_settings(tmp_path, environ=values, azurite=False), connection)


def test_account_name_alone_means_public_azure_and_the_developers_sign_in(tmp_path: Path) -> None:
    account = _resolve(tmp_path, {"AzureWebJobsStorage__accountName": "myacct"})
    assert account is not None and account.identity is not None
    assert account.account_name == "myacct" and account.account_key is None and account.sas_token is None
    assert [account.endpoint(s) for s in ("blob", "queue", "table")] == [
        "https://myacct.blob.core.windows.net",
        "https://myacct.queue.core.windows.net",
        "https://myacct.table.core.windows.net",
    ]
    assert (
        account.identity.kind == "default" and account.identity.source == "AzureWebJobsStorage__accountName"
    )
    assert not account.is_loopback


def test_service_uris_name_the_account_and_only_those_services(tmp_path: Path) -> None:
    values = {
        "AzureWebJobsStorage__queueServiceUri": "https://127.0.0.1:10001/devstoreaccount1/",
        "AzureWebJobsStorage__blobServiceUri": "https://127.0.0.1:10000/devstoreaccount1",
    }
    account = _resolve(tmp_path, values)
    assert account is not None and account.identity is not None
    assert account.account_name == "devstoreaccount1" and account.is_loopback
    assert account.queue_endpoint == "https://127.0.0.1:10001/devstoreaccount1"
    with pytest.raises(ConfigError, match="no table endpoint: set AzureWebJobsStorage__tableServiceUri"):
        account.endpoint("table")


def test_setting_names_are_case_insensitive_and_service_uri_serves_blob_and_queue(tmp_path: Path) -> None:
    account = _resolve(tmp_path, {"myconn__SERVICEURI": "https://acct.blob.core.windows.net"}, "MyConn")
    assert account is not None and account.identity is not None
    assert account.blob_endpoint == account.queue_endpoint == "https://acct.blob.core.windows.net"
    assert account.identity.connection == "MyConn" and account.account_name == "acct"


def test_a_binding_connection_is_looked_up_as_azurewebjobs_prefix_first(tmp_path: Path) -> None:
    values = {"AzureWebJobsMyConn__accountName": "first", "MyConn__accountName": "second"}
    account = _resolve(tmp_path, values, "MyConn")
    assert account is not None and account.account_name == "first"
    assert _resolve(tmp_path, {"MyConn__accountName": "second"}, "MyConn").account_name == "second"  # type: ignore[union-attr]
    assert _resolve(tmp_path, {"AzureWebJobsStorage__accountName": "x"}, "MyConn") is None


def test_a_connection_string_wins_over_identity_settings(tmp_path: Path) -> None:
    values = {
        "AzureWebJobsStorage": f"AccountName=keyed;AccountKey={ACCOUNT_KEY}",
        "AzureWebJobsStorage__accountName": "identity",
    }
    account = _resolve(tmp_path, values)
    assert account is not None and account.identity is None and account.account_name == "keyed"


@pytest.mark.parametrize(
    ("extra", "kind", "client_id"),
    [
        ({"AzureWebJobsStorage__credential": "managedidentity"}, "managedidentity", None),
        (
            {"AzureWebJobsStorage__credential": "ManagedIdentity", "AzureWebJobsStorage__clientId": "c1"},
            "managedidentity",
            "c1",
        ),
        (
            {
                "AzureWebJobsStorage__tenantId": "t1",
                "AzureWebJobsStorage__clientId": "c2",
                "AzureWebJobsStorage__clientSecret": SECRET,
            },
            "clientsecret",
            "c2",
        ),
        ({"AzureWebJobsStorage__clientId": "c3"}, "default", "c3"),
    ],
    ids=["system-assigned", "user-assigned", "service-principal", "default-with-client-id"],
)
def test_the_credential_settings_choose_the_credential(
    tmp_path: Path, extra: dict[str, str], kind: str, client_id: str | None
) -> None:
    account = _resolve(tmp_path, {"AzureWebJobsStorage__accountName": "acct", **extra})
    assert account is not None and account.identity is not None
    assert account.identity.kind == kind and account.identity.client_id == client_id
    assert SECRET not in repr(account) and SECRET not in account.identity.describe()


async def test_open_credential_builds_the_azure_identity_credential_of_each_kind() -> None:
    from azure.identity.aio import ClientSecretCredential, DefaultAzureCredential, ManagedIdentityCredential

    cases = [
        (
            IdentityConnection("C", "C__accountName", "managedidentity", client_id="c1"),
            ManagedIdentityCredential,
        ),
        (IdentityConnection("C", "C__accountName", "clientsecret", "c", "t", SECRET), ClientSecretCredential),
        (IdentityConnection("C", "C__accountName"), DefaultAzureCredential),
        (
            IdentityConnection(
                "C", "C__accountName", "factory", token_factory="host.testing.tokens:UnsignedTokenCredential"
            ),
            UnsignedTokenCredential,
        ),
    ]
    for identity, expected in cases:
        credential = open_credential(identity)
        assert isinstance(credential, expected)
        await credential.close()


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"AzureWebJobsStorage__tenantId": "t", "AzureWebJobsStorage__clientSecret": SECRET},
            "AzureWebJobsStorage__accountName is set with a service principal, "
            "but AzureWebJobsStorage__clientId is missing",
        ),
        (
            {"AzureWebJobsStorage__clientSecret": SECRET, "AzureWebJobsStorage__clientId": "c"},
            "but AzureWebJobsStorage__tenantId is missing",
        ),
        (
            {"AzureWebJobsStorage__credential": "certificate"},
            "AzureWebJobsStorage__credential must be 'managedidentity'",
        ),
        ({"AzureWebJobsStorage__credential": SECRET}, "got (not shown)"),
    ],
)
def test_incomplete_credential_settings_name_what_is_missing_and_never_the_secret(
    tmp_path: Path, values: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        _resolve(tmp_path, {"AzureWebJobsStorage__accountName": "acct", **values})
    assert message in str(caught.value) and SECRET not in str(caught.value)


def test_a_plain_http_service_uri_is_refused_naming_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="MyConn__queueServiceUri must be an https URL"):
        _resolve(tmp_path, {"MyConn__queueServiceUri": "http://127.0.0.1:10001/devstoreaccount1"}, "MyConn")


def test_a_missing_ca_file_is_named(tmp_path: Path) -> None:
    values = {
        "AzureWebJobsStorage__accountName": "acct",
        "AzureWebJobsStorage__caFile": str(tmp_path / "nope.pem"),
    }
    with pytest.raises(ConfigError, match="AzureWebJobsStorage__caFile: no such file"):
        _resolve(tmp_path, values)


def test_the_test_hook_replaces_every_credential(tmp_path: Path) -> None:
    values = {
        "X__accountName": "acct",
        "X__credential": "managedidentity",
        "FUNCHOST_TOKEN_CREDENTIAL": "m:f",
    }
    account = identity_account("X", values.get)
    assert account is not None and account.identity is not None
    assert account.identity.kind == "factory" and account.identity.token_factory == "m:f"
    with pytest.raises(ConfigError, match="FUNCHOST_TOKEN_CREDENTIAL must be 'module:factory'"):
        identity_account("X", {**values, "FUNCHOST_TOKEN_CREDENTIAL": "nocolon"}.get)


def test_a_binding_gets_its_own_identity_account_once(tmp_path: Path) -> None:
    settings = load_settings(tmp_path, environ={"IdConn__accountName": "other"}, azurite=False)
    default = MemoryStorage()
    accounts = StorageAccounts(default, lambda name: storage_account(settings, name))
    first = accounts.get("IdConn")
    assert first is not default and accounts.get("IdConn") is first
    assert first.account.identity.connection == "IdConn"  # type: ignore[attr-defined]
    with pytest.raises(ConfigError, match="'Nowhere__accountName'"):
        accounts.get("Nowhere")


# ------------------------------------------------------------------------------ the token cache

IDENTITY = IdentityConnection("AzureWebJobsStorage", "AzureWebJobsStorage__accountName", client_secret=SECRET)


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


async def test_tokens_are_cached_and_refreshed_ahead_of_expiry() -> None:
    clock = Clock()
    credential = UnsignedTokenCredential(lifetime=3600, clock=clock)
    tokens = BearerTokens(IDENTITY, credential=credential, clock=clock, refresh_ahead=300)
    first = await tokens.token()
    assert token_claims(first)["aud"] == "https://storage.azure.com"
    clock.now += 3600 - 301
    assert await tokens.token() == first and credential.issued == 1
    clock.now += 2  # within 5 minutes of expiry: a new token before the old one runs out
    second = await tokens.token()
    assert second != first and credential.issued == 2 and tokens.fetches == 2
    # the SDK clients ask through get_token: same cache
    assert (await tokens.get_token(STORAGE_SCOPE)).token == second and credential.issued == 2
    tokens.invalidate()
    assert await tokens.token() != second and credential.issued == 3


async def test_short_lived_tokens_are_refreshed_at_half_their_lifetime() -> None:
    clock = Clock()
    credential = UnsignedTokenCredential(lifetime=120, clock=clock)
    tokens = BearerTokens(IDENTITY, credential=credential, clock=clock, refresh_ahead=300)
    await tokens.token()
    clock.now += 59
    await tokens.token()
    assert credential.issued == 1
    clock.now += 2
    await tokens.token()
    assert credential.issued == 2


class FlakyCredential(UnsignedTokenCredential):
    """Works once, then fails with the secret in its message."""

    async def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
        if self.issued:
            raise RuntimeError(f"AADSTS50126: bad secret {SECRET}\nmore lines")
        return await super().get_token(*scopes)


async def test_a_failed_refresh_keeps_the_valid_token_and_a_failed_first_fetch_is_a_clear_error() -> None:
    clock = Clock()
    tokens = BearerTokens(IDENTITY, credential=FlakyCredential(lifetime=3600, clock=clock), clock=clock)
    first = await tokens.token()
    clock.now += 3500  # due for refresh; the refresh fails; the token is still valid
    assert await tokens.token() == first
    clock.now += 200  # now expired
    with pytest.raises(StorageCredentialError) as caught:
        await tokens.token()
    text = str(caught.value)
    assert text.startswith("AzureWebJobsStorage__accountName is set but no credential could be obtained")
    assert "AADSTS50126" in text and SECRET not in text and "\n" not in text


async def test_a_real_client_secret_credential_failure_never_shows_the_secret() -> None:
    from azure.identity.aio import ClientSecretCredential

    identity = IdentityConnection("C", "C__accountName", "clientsecret", "client", "tenant", SECRET)
    credential = ClientSecretCredential(
        "tenant",
        "client",
        SECRET,
        authority="https://127.0.0.1:9",
        retry_total=0,
        disable_instance_discovery=True,
    )  # nothing listens on the discard port
    tokens = BearerTokens(identity, credential=credential)
    try:
        with pytest.raises(StorageCredentialError) as caught:
            await tokens.token()
    finally:
        await tokens.close()
    assert str(caught.value).startswith(
        "C__accountName is set but no credential could be obtained from ClientSecretCredential"
    )
    assert SECRET not in str(caught.value)


# ------------------------------------------------------------------------------ the lean path


def test_the_lean_path_sends_the_bearer_token_with_an_oauth_capable_version() -> None:
    assert min(QUEUE_API_VERSION, TABLE_API_VERSION) >= OAUTH_MIN_API_VERSION
    account = StorageAccount(
        "acct",
        None,
        None,
        "https://acct.queue.core.windows.net",
        "https://acct.table.core.windows.net",
        identity=IDENTITY,
    )
    client = RestClient(account)
    for service, version in (("queue", QUEUE_API_VERSION), ("table", TABLE_API_VERSION)):
        headers: dict[str, str] = {}
        url = client._prepare(
            service, "GET", "q/messages", [("numofmessages", "1")], headers, None, "tok.en.x"
        )
        assert headers["authorization"] == "Bearer tok.en.x" and headers["x-ms-version"] == version
        assert url == f"https://acct.{service}.core.windows.net/q/messages?numofmessages=1"


class NoSignIn(UnsignedTokenCredential):
    """Fails as DefaultAzureCredential does on a machine where nobody signed in."""

    async def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
        raise RuntimeError(
            "DefaultAzureCredential failed to retrieve a token from the included credentials.\n"
            "Attempted credentials:\n\tEnvironmentCredential: EnvironmentCredential authentication "
            "unavailable. Environment variables are not fully configured.\nVisit https://aka.ms/x to "
            "troubleshoot this issue.\n\tAzureCliCredential: Azure CLI not found on path\n"
            "To mitigate this issue, please refer to the troubleshooting guidelines here at https://aka.ms/y."
        )


async def test_the_developers_missing_sign_in_is_one_line_with_what_to_do() -> None:
    identity = IdentityConnection("AzureWebJobsStorage", "AzureWebJobsStorage__accountName")
    with pytest.raises(StorageCredentialError) as caught:
        await BearerTokens(identity, credential=NoSignIn()).token()
    assert str(caught.value) == (
        "AzureWebJobsStorage__accountName is set but no credential could be obtained from "
        "DefaultAzureCredential (the developer's sign-in: Azure CLI, azd, environment, ...): "
        "DefaultAzureCredential failed to retrieve a token from the included credentials; "
        "EnvironmentCredential: EnvironmentCredential authentication unavailable; "
        "AzureCliCredential: Azure CLI not found on path; sign in with 'az login' or 'azd auth login', "
        "or set AzureWebJobsStorage__credential or a service principal"
    )
