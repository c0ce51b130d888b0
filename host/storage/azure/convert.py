"""Conversions between the Azure SDKs' objects/errors and the storage interface's."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, NoReturn

from azure.core.exceptions import (
    AzureError,
    HttpResponseError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.data.tables import EdmType, EntityProperty

from host.errors import (
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    PreconditionFailedError,
    StorageAuthError,
    StorageBusyError,
    StorageError,
    StorageUnreachableError,
)
from host.storage.interface import Row
from host.storage.odata import INT32_MAX, INT32_MIN
from host.storage.retry import is_retryable_status

_UNREACHABLE_HINT = "is the storage account (Azurite) running and reachable?"


def raise_mapped(err: Exception, what: str, *, lease_conflict: bool = False) -> NoReturn:
    """Re-raise an SDK error as the matching :mod:`host.errors` class (one line, names ``what``)."""
    if isinstance(err, ServiceRequestError | ServiceResponseError | OSError | TimeoutError):
        raise StorageUnreachableError(
            f"{what}: storage did not answer ({_short(err)}); {_UNREACHABLE_HINT}"
        ) from err
    if isinstance(err, HttpResponseError):
        try:
            status, code, detail = http_error(err)
            raise_http(status, code, what, detail, lease_conflict=lease_conflict)
        except StorageError as mapped:
            raise mapped from err
    if isinstance(err, AzureError):
        raise StorageError(f"{what}: {_short(err)}") from err
    raise err


_JWT = re.compile(r"eyJ[\w-]*\.[\w-]*\.[\w-]*")


def redact_tokens(text: str) -> str:
    """``text`` with anything that looks like a bearer token (a JWT) replaced by ``(token)``."""
    return _JWT.sub("(token)", text)


def raise_http(
    status: int, code: str, what: str, detail: str = "", *, lease_conflict: bool = False
) -> NoReturn:
    """The :mod:`host.errors` class for an HTTP error ``status`` with error ``code``."""
    text = f"{what}: {status} {code}".rstrip()
    if status == 404 or code in ("PopReceiptMismatch", "MessageNotFound"):
        raise NotFoundError(text)
    if status == 412:
        raise PreconditionFailedError(text)
    if status == 409:
        if lease_conflict or code.startswith("Lease"):
            raise PreconditionFailedError(text)
        raise ConflictError(text)
    if status in (400, 413):
        raise InvalidRequestError(f"{text}: {detail}" if detail else text)
    if status in (401, 403):
        raise StorageAuthError(redact_tokens(f"{text}: {detail}" if detail else text))
    if is_retryable_status(status):
        raise StorageBusyError(f"{text}: {detail}" if detail else text)
    raise StorageError(f"{text}: {detail}" if detail else text)


def http_error(err: HttpResponseError) -> tuple[int, str, str]:
    """(status, error code, one-line detail) of an SDK HTTP error; for 401/403 the detail is the
    service's reason for refusing the credential where it gives one."""
    status = err.status_code or 0
    detail = _auth_detail(err) if status in (401, 403) else ""
    return status, _error_code(err), detail or _short(err)


def _error_code(err: HttpResponseError) -> str:
    code = getattr(err, "error_code", None)
    if code:
        return str(getattr(code, "value", code))
    response: Any = err.response
    if response is not None:
        header = response.headers.get("x-ms-error-code")
        if header:
            return str(header)
    return ""


_AUTH_DETAIL = re.compile(r"^\s*AuthenticationErrorDetail\s*:\s*(.+)$", re.IGNORECASE | re.MULTILINE)


def _auth_detail(err: HttpResponseError) -> str:
    """The service's reason for refusing the credential (the storage SDKs add it as a line)."""
    m = _AUTH_DETAIL.search(str(err))
    if m is None and err.response is not None:
        m = re.search(r"<AuthenticationErrorDetail>([^<]*)<", err.response.text())
    return m.group(1).strip()[:200] if m else ""


def _short(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0][:200] if text else type(err).__name__


# --------------------------------------------------------------------------- entities


def to_sdk_entity(entity: Mapping[str, Any]) -> dict[str, Any]:
    """A plain dict for the tables SDK: ``None`` dropped, large ints as Int64, datetimes in UTC."""
    out: dict[str, Any] = {}
    for key, value in entity.items():
        if value is None:
            continue
        if isinstance(value, int) and not isinstance(value, bool):
            if not INT32_MIN <= value <= INT32_MAX:
                value = EntityProperty(value, EdmType.INT64)
        elif isinstance(value, datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        out[key] = value
    return out


def from_sdk_entity(entity: Mapping[str, Any], etag: str | None) -> Row:
    """A :class:`Row` from a tables SDK entity (plain Python values, no ``None``)."""
    row = Row(etag=etag)
    for key, value in entity.items():
        if value is None:
            continue
        if isinstance(value, EntityProperty):
            value = value.value
        if isinstance(value, datetime):
            # TablesEntityDatetime -> plain datetime, so rows compare and copy cleanly.
            value = datetime(
                value.year,
                value.month,
                value.day,
                value.hour,
                value.minute,
                value.second,
                value.microsecond,
                tzinfo=UTC,
            )
        row[key] = value
    return row


def encode_continuation(token: Any) -> str | None:
    """The SDK's ``{"PartitionKey": …, "RowKey": …}`` continuation as an opaque string."""
    if not token:
        return None
    if isinstance(token, Mapping):
        return json.dumps({"pk": token.get("PartitionKey"), "rk": token.get("RowKey")})
    return json.dumps({"raw": token})


def decode_continuation(token: str | None) -> dict[str, Any] | None:
    """Inverse of :func:`encode_continuation`; ValueError for a token not made by us."""
    if not token:
        return None
    try:
        data = json.loads(token)
        if "raw" in data:
            return dict(data["raw"])
        return {"PartitionKey": data["pk"], "RowKey": data["rk"]}
    except (ValueError, KeyError, TypeError) as err:
        raise ValueError(f"invalid table continuation token: {token[:60]!r}") from err
