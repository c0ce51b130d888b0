"""Identity-based connections for real: Azurite over HTTPS with ``--oauth basic`` and bearer tokens.

The storage calls (lean REST path and SDK path), the errors of a bad token, and a subprocess host
running a chain, a fan-out, an entity, a queue trigger and blob bindings over identity settings.
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from host_process_support import start_host, stop_host
from identity_support import SECRET, IdentitySettings, TlsFiles
from waiting import eventually

from host.config.settings import load_settings
from host.errors import NotFoundError, StorageAuthError
from host.runtime_storage import connect_storage
from host.storage.azure.storage import AzureSdkStorage, AzureStorage
from host.storage.azurite import AzuriteProcess, free_port
from host.storage.connection import StorageAccount
from host.storage.interface import Storage, TableOp, WriteMode
from host.storage.resolve import storage_account

pytestmark = pytest.mark.subprocess  # the session's OAuth Azurite
REPO = Path(__file__).resolve().parents[2]
APP = Path(__file__).parent / "apps" / "smoke"


def _account(tmp_path: Path, settings: dict[str, str], connection: str | None = None) -> StorageAccount:
    account = storage_account(load_settings(tmp_path, environ=settings, azurite=False), connection)
    assert account is not None and account.identity is not None
    return account


def _name(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


@pytest.mark.parametrize("kind", [AzureStorage, AzureSdkStorage], ids=["lean", "sdk"])
async def test_queues_tables_and_blobs_work_over_bearer_tokens(
    tmp_path: Path, identity_settings: IdentitySettings, kind: type[AzureSdkStorage]
) -> None:
    storage = kind(_account(tmp_path, identity_settings()))
    queue, table, container = _name("q"), _name("t"), _name("c")
    try:
        await storage.ping()
        await storage.create_queue(queue)
        await storage.put_message(queue, "hello")
        [message] = await storage.receive_messages(queue, visibility_timeout=30)
        assert message.content == "hello"
        await storage.delete_message(queue, message.id, message.pop_receipt)
        await storage.create_table(table)
        await storage.transact(
            table,
            [TableOp(WriteMode.INSERT, {"PartitionKey": "p", "RowKey": str(i), "N": i}) for i in range(3)],
        )
        row = await storage.get_row(table, "p", "2")
        assert row is not None and row["N"] == 2
        await storage.create_container(container)
        await storage.upload_blob(container, "a.txt", b"blob body")
        data, _ = await storage.download_blob(container, "a.txt")
        assert data == b"blob body"
        assert storage.tokens is not None
        assert storage.tokens.fetches == 1  # one token for every request, SDK and lean path alike
    finally:
        await storage.close()


@pytest.mark.parametrize("kind", [AzureStorage, AzureSdkStorage], ids=["lean", "sdk"])
async def test_short_lived_tokens_are_renewed_before_the_service_sees_them_expire(
    tmp_path: Path, identity_settings: IdentitySettings, kind: type[AzureSdkStorage]
) -> None:
    storage = kind(_account(tmp_path, identity_settings(credential="identity_support:short_lived")))
    queue = _name("short")
    try:
        await storage.create_queue(queue)
        tokens = storage.tokens
        assert tokens is not None

        async def renewed_twice() -> bool:
            await storage.put_message(queue, "x")  # Azurite refuses an expired token: this would raise
            return tokens.fetches >= 3

        await eventually(renewed_twice, 30, "two token renewals while requests go on", interval=0.2)
        assert await storage.queue_length(queue) > 0
    finally:
        await storage.close()


async def test_a_shared_key_connection_string_works_over_https_with_the_ca_option(
    tmp_path: Path, oauth_azurite: AzuriteProcess, tls_files: TlsFiles
) -> None:
    settings = {
        "AzureWebJobsStorage": oauth_azurite.connection_string,
        "AzureWebJobsStorage__caFile": str(tls_files.ca),
    }
    account = storage_account(load_settings(tmp_path, environ=settings, azurite=False))
    assert account is not None and account.identity is None and account.ca_file == str(tls_files.ca)
    storage = AzureStorage(account)
    try:
        queue = _name("sk")
        await storage.create_queue(queue)
        await storage.put_message(queue, "signed")
        assert [m.content for m in await storage.peek_messages(queue)] == ["signed"]
    finally:
        await storage.close()


async def _refusal(account: StorageAccount, kind: type[AzureSdkStorage] = AzureStorage) -> str:
    storage = kind(account)
    try:
        with pytest.raises(StorageAuthError) as caught:
            await storage.put_message(_name("never"), "x")
    finally:
        await storage.close()
    return str(caught.value)


@pytest.mark.parametrize(
    ("factory", "expected"),
    [
        ("identity_support:wrong_audience", "is for audience 'https://vault.azure.net', not Azure Storage"),
        ("identity_support:expired", "expired at"),
    ],
    ids=["wrong-audience", "expired"],
)
async def test_a_bad_token_is_a_one_line_error_naming_the_connection(
    tmp_path: Path, identity_settings: IdentitySettings, factory: str, expected: str
) -> None:
    text = await _refusal(_account(tmp_path, identity_settings(credential=factory)))
    assert text.startswith("AzureWebJobsStorage__blobServiceUri: the token from the credential of")
    assert expected in text and "\n" not in text and "eyJ" not in text


@pytest.mark.parametrize("kind", [AzureStorage, AzureSdkStorage], ids=["lean", "sdk"])
async def test_a_token_the_service_refuses_is_one_line_naming_the_connection_on_both_paths(
    tmp_path: Path, identity_settings: IdentitySettings, kind: type[AzureSdkStorage]
) -> None:
    text = await _refusal(
        _account(tmp_path, identity_settings(credential="identity_support:wrong_issuer")), kind
    )
    assert text.startswith("put message on queue never") and text.endswith(
        ": the storage account refused the token of connection 'AzureWebJobsStorage' "
        "(AzureWebJobsStorage__blobServiceUri, the credential of "
        "FUNCHOST_TOKEN_CREDENTIAL=identity_support:wrong_issuer): "
        "403 AuthenticationFailed: Invalid token issuer."
    )
    assert "\n" not in text and "eyJ" not in text


async def test_start_up_names_the_connection_when_the_token_is_refused(
    tmp_path: Path, identity_settings: IdentitySettings
) -> None:
    settings = load_settings(
        tmp_path, environ=identity_settings(credential="identity_support:wrong_issuer"), azurite=False
    )
    account = storage_account(settings)
    assert account is not None
    with pytest.raises(StorageAuthError) as caught:
        await connect_storage(settings, account, 10.0, started_azurite=False)
    text = str(caught.value)
    assert text.startswith("storage account devstoreaccount1 (") and " service at https://127.0.0.1:" in text
    assert "refused the token of connection 'AzureWebJobsStorage'" in text and "Invalid token issuer" in text
    assert "\n" not in text


async def test_a_failing_credential_is_an_error_naming_the_setting_and_never_the_secret(
    tmp_path: Path, identity_settings: IdentitySettings
) -> None:
    settings = {
        **identity_settings(credential="identity_support:failing"),
        "AzureWebJobsStorage__clientSecret": SECRET,
    }
    text = await _refusal(_account(tmp_path, settings))
    assert text.startswith("AzureWebJobsStorage__blobServiceUri is set but no credential could be obtained")
    assert "AADSTS7000215" in text and SECRET not in text and "\n" not in text


@pytest.mark.parametrize(
    ("credential", "status", "detail"),
    [
        ("host.testing.tokens:UnsignedTokenCredential", "ok", "answers with these credentials"),
        ("identity_support:wrong_issuer", "fail", "Invalid token issuer"),
    ],
    ids=["accepted", "refused"],
)
async def test_doctor_checks_an_identity_based_account(
    tmp_path: Path, identity_settings: IdentitySettings, credential: str, status: str, detail: str
) -> None:
    from host.doctor import check_storage

    settings = load_settings(tmp_path, environ=identity_settings(credential=credential), azurite=False)
    storage = (await check_storage(settings, None))[0]
    assert storage.status == status and detail in storage.detail
    if status == "fail":
        assert "its roles on the account" in storage.fix and "AccountKey" not in storage.fix


# ---------------------------------------------------------------------------------- the host


class IdentityHost:
    """``python -m host start`` on the smoke app with identity-based settings only."""

    def __init__(self, settings: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.log = log
        env = {k: v for k, v in os.environ.items() if not k.startswith("AzureWebJobs")}
        env.update(settings)
        env["AzureFunctionsJobHost__extensions__durableTask__hubName"] = _name("idhub")
        env["PYTHONUNBUFFERED"] = "1"
        with log.open("wb") as out:
            self.proc = start_host(APP, self.port, env, out)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    async def ready(self) -> None:
        def started() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"the host exited with {self.proc.returncode}:\n{self.output()[-3000:]}")
            return "Host started" in self.output()

        await eventually(started, 60, "the host to start", interval=0.1)

    def stop(self) -> None:
        stop_host(self.proc, 15)


@pytest.fixture
def host_settings(identity_settings: IdentitySettings) -> dict[str, str]:
    # the trigger's connection names only the services it uses (no table)
    only = {k: v for k, v in identity_settings("IdConn").items() if not k.startswith("IdConn__table")}
    return {**identity_settings(), **only}


@pytest.fixture
def identity_host(host_settings: dict[str, str], tmp_path: Path) -> Iterator[IdentityHost]:
    host = IdentityHost(host_settings, tmp_path / "host.log")
    yield host
    host.stop()


@pytest.fixture
async def idconn(tmp_path: Path, host_settings: dict[str, str]) -> AsyncIterator[Storage]:
    storage = AzureStorage(_account(tmp_path, host_settings, "IdConn"))
    yield storage
    await storage.close()


async def _run(client: httpx.AsyncClient, name: str, value: object) -> object:
    started = await client.post(f"/api/start/{name}", json=value)
    assert started.status_code == 202, started.text
    status_url = started.json()["statusQueryGetUri"]

    async def done() -> dict[str, object] | None:
        body: dict[str, object] = (await client.get(status_url)).json()
        return body if body.get("runtimeStatus") in ("Completed", "Failed", "Terminated") else None

    status = await eventually(done, 60, f"{name} to finish", interval=0.2)
    assert status["runtimeStatus"] == "Completed", status
    return status["output"]


async def test_the_smoke_app_runs_on_identity_based_connections_only(
    identity_host: IdentityHost, idconn: Storage
) -> None:
    await identity_host.ready()
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{identity_host.port}", timeout=30) as client:
        assert await _run(client, "hello_chain", ["Tokyo", "Paris"]) == ["Hello Tokyo!", "Hello Paris!"]
        assert await _run(client, "fan_out", 12) == sum(i * i for i in range(12))
        assert await _run(client, "count", _name("e")) == 6
    # the queue trigger and its blob bindings, on connection IdConn
    await idconn.upload_blob("idsrc", "doc.txt", b"from idconn")
    await idconn.create_queue("idin")
    await idconn.put_message("idin", base64.b64encode(json.dumps({"name": "doc.txt"}).encode()).decode())

    async def copied() -> bytes | None:
        try:
            return (await idconn.download_blob("idout", "doc.txt"))[0]
        except NotFoundError:
            return None

    data = await eventually(copied, 60, "the blob the queue trigger writes")
    assert json.loads(data) == {"name": "doc.txt", "upper": "FROM IDCONN"}
    assert "eyJ" not in identity_host.output()  # no token in the host's log


async def test_the_host_does_not_start_with_a_refused_token_and_says_why(
    host_settings: dict[str, str], tmp_path: Path
) -> None:
    settings = {**host_settings, "FUNCHOST_TOKEN_CREDENTIAL": "identity_support:wrong_issuer"}
    settings["PYTHONPATH"] = os.pathsep.join([str(REPO), str(Path(__file__).parent)])
    host = IdentityHost(settings, tmp_path / "refused.log")
    try:
        assert host.proc.wait(60) != 0
    finally:
        host.stop()
    output = host.output()
    assert (
        "refused the token of connection 'AzureWebJobsStorage'" in output and "Invalid token issuer" in output
    )
    assert "eyJ" not in output and "Traceback" not in output
