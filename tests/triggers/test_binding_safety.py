"""Bindings stay inside their container and account; storage errors other than 404 are errors.

Real Azurite throughout: the session's (account A) and, for ``connection``, a second one started
here (account B).
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from triggers_support import StartHost, app_globals, peek
from waiting import eventually

from host.errors import IndexingError, InvocationError, NotFoundError, StorageError
from host.indexing.registry import Binding, FunctionInfo
from host.storage.accounts import StorageAccounts
from host.storage.azure.storage import AzureStorage
from host.storage.azurite import DEV_ACCOUNT, DEV_KEY, AzuriteProcess, start_azurite_on_free_ports
from host.storage.connection import parse_connection_string
from host.storage.interface import Storage
from host.triggers.bindexpr import BlobPathPattern
from host.triggers.blob import BlobInput, BlobOutput

TRAVERSALS = [
    "../secret/creds.txt",
    "a/../../secret/creds.txt",
    "./creds.txt",
    "a/./b",
    "..",
    "..\\secret\\creds.txt",
    "a\\b",
    "creds\x00.txt",
    "line\nbreak",
    "..%2Fsecret%2Fcreds.txt",
    "%2e%2e/secret/creds.txt",
]


def _sas_connection(azurite: AzuriteProcess) -> str:
    """A connection string with an account SAS instead of the key (the reported setup)."""
    from azure.storage.blob import AccountSasPermissions, ResourceTypes, generate_account_sas

    sas = generate_account_sas(
        DEV_ACCOUNT,
        DEV_KEY,
        ResourceTypes(service=True, container=True, object=True),
        AccountSasPermissions(read=True, write=True, list=True, create=True),
        datetime.now(UTC) + timedelta(hours=1),
    )
    a = parse_connection_string(azurite.connection_string)
    return (
        f"BlobEndpoint={a.blob_endpoint};QueueEndpoint={a.queue_endpoint};"
        f"TableEndpoint={a.table_endpoint};SharedAccessSignature={sas}"
    )


def _fn(*bindings: Binding) -> FunctionInfo:
    trigger = Binding("req", "httpTrigger", "in", {})
    return FunctionInfo("f", trigger, [trigger, *bindings], lambda: None)


@pytest.fixture
async def sas_accounts(azurite: AzuriteProcess) -> AsyncIterator[StorageAccounts]:
    storage = AzureStorage(parse_connection_string(_sas_connection(azurite)))
    accounts = StorageAccounts(storage, lambda name: None)
    try:
        yield accounts
    finally:
        await accounts.close()
        await storage.close()


@pytest.mark.parametrize("name", TRAVERSALS)
async def test_blob_input_path_cannot_leave_its_container(
    sas_accounts: StorageAccounts, storage: Storage, unique: Any, name: str
) -> None:
    images, secret = unique("images"), unique("secret")
    await storage.upload_blob(secret, "creds.txt", b"top secret")
    await storage.upload_blob(images, "cat.png", b"meow")
    binding = Binding("blob", "blob", "in", {"path": f"{images}/{{name}}"})
    provider = BlobInput(sas_accounts)
    assert (await provider(binding, _fn(binding), {"name": "cat.png"})).read() == b"meow"
    with pytest.raises(InvocationError, match="blob path") as caught:
        await provider(binding, _fn(binding), {"name": name.replace("secret", secret)})
    assert "top secret" not in str(caught.value)


@pytest.mark.parametrize("name", TRAVERSALS)
async def test_blob_output_path_cannot_leave_its_container(
    sas_accounts: StorageAccounts, storage: Storage, unique: Any, name: str
) -> None:
    images, secret = unique("images"), unique("secret")
    await storage.upload_blob(secret, "creds.txt", b"top secret")
    binding = Binding("out", "blob", "out", {"path": f"{images}/{{name}}"})
    with pytest.raises(InvocationError, match="blob path"):
        await BlobOutput(sas_accounts)(binding, "overwritten", {"name": name.replace("secret", secret)})
    data, _ = await storage.download_blob(secret, "creds.txt")
    assert data == b"top secret"
    assert await storage.list_blobs(images) == []


@pytest.mark.parametrize(
    "path",
    [
        "images/../secret/{name}",
        "images/./{name}",
        "images\\{name}",
        "../images/{name}",
        "images/a\x01/{name}",
    ],
)
def test_blob_trigger_path_with_traversal_is_an_indexing_error(path: str) -> None:
    with pytest.raises(IndexingError, match="blob trigger path"):
        BlobPathPattern.parse(path)


ADMIN_BLOB_APP = """
import azure.functions as func
app = func.FunctionApp()
SEEN = []

@app.blob_trigger(arg_name="blob", path="CIN/{name}", connection="AzureWebJobsStorage")
def on_blob(blob: func.InputStream) -> None:
    SEEN.append(blob.read())
"""


async def test_admin_invoked_blob_trigger_cannot_leave_its_container(
    start_host: StartHost, storage: Storage, unique: Any
) -> None:
    cin, secret = unique("cin"), unique("secret")
    await storage.upload_blob(secret, "creds.txt", b"top secret")
    runtime = await start_host(ADMIN_BLOB_APP.replace("CIN", cin))
    fn = runtime.registry.get("on_blob")
    assert fn is not None
    convert = runtime.invoker.trigger_converters["blobTrigger"]
    with pytest.raises(InvocationError, match="blob path"):
        await convert(fn, f"{cin}/../{secret}/creds.txt")


# --------------------------------------------------------------------------- errors other than 404


@pytest.fixture
def wrong_key_connection(azurite: AzuriteProcess) -> str:
    wrong = base64.b64encode(b"not the key of this account, so every request is 403").decode()
    return azurite.connection_string.replace(DEV_KEY, wrong)


async def test_blob_input_storage_error_is_an_error_not_none(
    storage: Storage, wrong_key_connection: str, unique: Any
) -> None:
    container = unique("denied")
    await storage.upload_blob(container, "there.txt", b"x")
    accounts = StorageAccounts(storage, {"Denied": parse_connection_string(wrong_key_connection)}.get)
    binding = Binding("blob", "blob", "in", {"path": f"{container}/there.txt", "connection": "Denied"})
    try:
        with pytest.raises(StorageError, match="403") as caught:
            await BlobInput(accounts)(binding, _fn(binding), {})
        assert not isinstance(caught.value, NotFoundError)
        # a missing blob on the right account is still None
        ok = Binding("blob", "blob", "in", {"path": f"{container}/missing.txt"})
        assert await BlobInput(accounts)(ok, _fn(ok), {}) is None
    finally:
        await accounts.close()


# --------------------------------------------------------------------------- per-binding connection


@pytest.fixture(scope="module")
def azurite_b(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AzuriteProcess]:
    """A second Azurite: account B."""
    proc = start_azurite_on_free_ports(Path(tmp_path_factory.mktemp("azurite-b")), in_memory=True)
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture
async def storage_b(azurite_b: AzuriteProcess) -> AsyncIterator[Storage]:
    s = AzureStorage(parse_connection_string(azurite_b.connection_string))
    try:
        yield s
    finally:
        await s.close()


OTHER_APP = """
import json
import azure.functions as func
app = func.FunctionApp()
SEEN = []

@app.queue_trigger(arg_name="msg", queue_name="QIN", connection="Other")
@app.blob_input(arg_name="src", path="CIN/{name}", connection="Other")
@app.table_input(arg_name="row", table_name="TIN", partition_key="p", row_key="{name}", connection="Other")
@app.blob_output(arg_name="out", path="COUT/{name}", connection="Other")
@app.queue_output(arg_name="fwd", queue_name="QOUT", connection="Other")
@app.table_output(arg_name="rec", table_name="TOUT", connection="Other")
def copy(msg: func.QueueMessage, src: str, row: str, out: func.Out[str], fwd: func.Out[str],
         rec: func.Out[str]) -> None:
    name = msg.get_json()["name"]
    SEEN.append((src, json.loads(row)["Size"] if row else None))
    out.set(src.upper())
    fwd.set(name)
    rec.set(json.dumps({"PartitionKey": "p", "RowKey": name, "Copied": True}))
"""


async def test_every_binding_uses_its_own_connection(
    start_host: StartHost, storage: Storage, storage_b: Storage, azurite_b: AzuriteProcess, unique: Any
) -> None:
    from host.storage.interface import TableOp, WriteMode

    names = {k: unique(k.lower()) for k in ("QIN", "CIN", "TIN", "COUT", "QOUT", "TOUT")}
    app = OTHER_APP
    for placeholder, value in names.items():
        app = app.replace(placeholder, value)
    # the inputs exist only in account B
    await storage_b.upload_blob(names["CIN"], "doc.txt", b"from b")
    await storage_b.create_table(names["TIN"])
    row_in = {"PartitionKey": "p", "RowKey": "doc.txt", "Size": 7}
    await storage_b.write_row(names["TIN"], TableOp(WriteMode.INSERT, row_in))
    await storage_b.create_queue(names["QIN"])
    runtime = await start_host(app, env={"Other": azurite_b.connection_string})
    seen = app_globals(runtime, "copy")["SEEN"]
    message = base64.b64encode(json.dumps({"name": "doc.txt"}).encode()).decode()
    await storage_b.put_message(names["QIN"], message)
    await eventually(lambda: seen, what="the queue trigger on account B")
    assert seen[0] == ("from b", 7)

    async def output_in_b() -> bool:
        try:
            data, _ = await storage_b.download_blob(names["COUT"], "doc.txt")
        except NotFoundError:
            return False
        return data == b"FROM B"

    await eventually(output_in_b, what="the blob output in account B")
    assert [base64.b64decode(m.content) for m in await peek(storage_b, names["QOUT"])] == [b"doc.txt"]
    row = await storage_b.get_row(names["TOUT"], "p", "doc.txt")
    assert row is not None and row["Copied"] is True
    # and nothing of it in account A
    assert await storage.list_blobs(names["COUT"]) == []
    assert await peek(storage, names["QOUT"]) == []
    assert names["TOUT"] not in await storage.list_tables(names["TOUT"])
    assert names["QIN"] not in await storage.list_queues(names["QIN"])


async def test_unknown_connection_is_a_clear_error(storage: Storage) -> None:
    accounts = StorageAccounts(storage, lambda name: None)
    with pytest.raises(Exception, match="Nowhere"):
        accounts.get("Nowhere")
    assert accounts.get(None) is storage and accounts.get("") is storage
    assert accounts.get("AzureWebJobsStorage") is storage


async def test_table_input_404_is_none_other_errors_raise(
    storage: Storage, wrong_key_connection: str, unique: Any
) -> None:
    from host.triggers.table import TableInput

    accounts = StorageAccounts(storage, {"Denied": parse_connection_string(wrong_key_connection)}.get)
    table = unique("tblin")
    await storage.create_table(table)
    missing_table = Binding(
        "row", "table", "in", {"tableName": unique("nosuch"), "partitionKey": "p", "rowKey": "r"}
    )
    missing_row = Binding("row", "table", "in", {"tableName": table, "partitionKey": "p", "rowKey": "r"})
    denied = Binding(
        "row", "table", "in", {"tableName": table, "partitionKey": "p", "rowKey": "r", "connection": "Denied"}
    )
    try:
        assert await TableInput(accounts)(missing_table, _fn(missing_table), {}) is None
        assert await TableInput(accounts)(missing_row, _fn(missing_row), {}) is None
        with pytest.raises(StorageError, match="403") as caught:
            await TableInput(accounts)(denied, _fn(denied), {})
        assert not isinstance(caught.value, NotFoundError)
    finally:
        await accounts.close()
