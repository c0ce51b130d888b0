"""Fixtures of the identity-based connection tests: an HTTPS Azurite with ``--oauth basic``.

The session makes its own CA and a certificate for 127.0.0.1 (``trustme``); the clients trust that
CA through the ``<connection>__caFile`` option, never through the process environment.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from identity_support import IdentitySettings, TlsFiles

from host.storage.azurite import AzuriteProcess, start_azurite_on_free_ports

SERVICES = ("blob", "queue", "table")
TEST_CREDENTIAL = "host.testing.tokens:UnsignedTokenCredential"


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    folder = Path(tmp_path_factory.mktemp("tls"))
    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1", "localhost")
    files = TlsFiles(folder / "ca.pem", folder / "cert.pem", folder / "key.pem")
    ca.cert_pem.write_to_path(str(files.ca))
    server.cert_chain_pems[0].write_to_path(str(files.cert))
    server.private_key_pem.write_to_path(str(files.key))
    return files


@pytest.fixture(scope="session")
def oauth_azurite(tmp_path_factory: pytest.TempPathFactory, tls_files: TlsFiles) -> Iterator[AzuriteProcess]:
    """An Azurite over HTTPS that accepts bearer tokens (in memory, free ports)."""
    location = Path(tmp_path_factory.mktemp("azurite-oauth"))
    proc = start_azurite_on_free_ports(
        location, in_memory=True, tls=(tls_files.cert, tls_files.key), oauth=True
    )
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture
def identity_settings(oauth_azurite: AzuriteProcess, tls_files: TlsFiles) -> IdentitySettings:
    """``identity_settings(prefix="AzureWebJobsStorage", credential=TEST_CREDENTIAL)``: the app
    settings of an identity-based connection to the OAuth Azurite (service URIs, CA, credential)."""

    def settings(prefix: str = "AzureWebJobsStorage", credential: str = TEST_CREDENTIAL) -> dict[str, str]:
        values = {f"{prefix}__{s}ServiceUri": oauth_azurite.service_uri(s) for s in SERVICES}
        values[f"{prefix}__caFile"] = str(tls_files.ca)
        values["FUNCHOST_TOKEN_CREDENTIAL"] = credential
        return values

    return settings
