"""Shared Key signing of the lean REST path, checked against the SDKs' own signing policies."""

from __future__ import annotations

import base64
from typing import Any

from azure.core.credentials import AzureNamedKeyCredential
from azure.core.pipeline import PipelineContext, PipelineRequest
from azure.core.pipeline.transport import HttpRequest
from azure.data.tables._authentication import SharedKeyCredentialPolicy as TablePolicy
from azure.storage.queue._shared.authentication import SharedKeyCredentialPolicy as QueuePolicy

from host.storage.azure.rest_auth import HttpDate, queue_string_to_sign, sign, table_string_to_sign
from host.storage.azurite import DEV_ACCOUNT, DEV_KEY

KEY = base64.b64decode(DEV_KEY)
DATE = "Wed, 01 May 2024 12:00:00 GMT"


def _sdk_auth(policy: Any, method: str, url: str, headers: dict[str, str], body: bytes) -> str:
    request = HttpRequest(method, url, headers=dict(headers))
    if body:
        request.set_bytes_body(body)
    pipeline_request = PipelineRequest(request, PipelineContext(None))
    policy.on_request(pipeline_request)
    return str(request.headers["Authorization"])


def test_queue_signature_matches_the_sdk() -> None:
    body = b"<QueueMessage><MessageText>x</MessageText></QueueMessage>"
    headers = {
        "x-ms-date": DATE,
        "x-ms-version": "2021-12-02",
        "content-type": "application/xml",
        "content-length": str(len(body)),
    }
    path = f"/{DEV_ACCOUNT}/q1/messages/id-1"
    query = [("popreceipt", "AgAAAAMAAAAAAAAA+/x=="), ("visibilitytimeout", "30")]
    url = "http://127.0.0.1:10001" + path + "?popreceipt=AgAAAAMAAAAAAAAA%2B%2Fx%3D%3D&visibilitytimeout=30"
    text = queue_string_to_sign(DEV_ACCOUNT, "PUT", path, query, headers)
    ours = f"SharedKey {DEV_ACCOUNT}:{sign(KEY, text)}"
    assert ours == _sdk_auth(QueuePolicy(DEV_ACCOUNT, DEV_KEY), "PUT", url, headers, body)


def test_queue_signature_changes_with_the_query() -> None:
    headers = {"x-ms-date": DATE, "x-ms-version": "2021-12-02"}
    a = queue_string_to_sign(DEV_ACCOUNT, "GET", "/a/q/messages", [("numofmessages", "1")], headers)
    b = queue_string_to_sign(DEV_ACCOUNT, "GET", "/a/q/messages", [("numofmessages", "2")], headers)
    assert sign(KEY, a) != sign(KEY, b)
    assert a.endswith("/devstoreaccount1/a/q/messages\nnumofmessages:1")


def test_table_signature_matches_the_sdk() -> None:
    headers = {
        "x-ms-date": DATE,
        "x-ms-version": "2019-02-02",
        "content-type": "application/json",
        "accept": "application/json;odata=minimalmetadata",
    }
    path = f"/{DEV_ACCOUNT}/t1(PartitionKey='a%27%27b',RowKey='r%201')"
    text = table_string_to_sign(DEV_ACCOUNT, "PATCH", path, [], headers)
    ours = f"SharedKey {DEV_ACCOUNT}:{sign(KEY, text)}"
    policy = TablePolicy(AzureNamedKeyCredential(DEV_ACCOUNT, DEV_KEY))
    assert ours == _sdk_auth(policy, "PATCH", "http://127.0.0.1:10002" + path, headers, b"{}")


def test_table_signature_includes_comp_only() -> None:
    headers = {"x-ms-date": DATE}
    text = table_string_to_sign(DEV_ACCOUNT, "GET", "/a/", [("comp", "properties"), ("x", "1")], headers)
    assert text == f"GET\n\n\n{DATE}\n/{DEV_ACCOUNT}/a/?comp=properties"


def test_known_vector() -> None:
    # HMAC-SHA256 of "abc" with the Azurite key, computed independently with openssl.
    assert (
        sign(KEY, "abc")
        == base64.b64encode(
            bytes.fromhex("488717f75536d0ddca32c8630b10ad4253866397bebe3bef028606f7bbe495c7")
        ).decode()
    )


def test_http_date_is_rfc1123_gmt() -> None:
    text = HttpDate().now()
    assert text.endswith(" GMT") and len(text) == 29
