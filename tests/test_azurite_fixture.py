from host.storage.azurite import AzuriteProcess, is_listening


def test_session_azurite_listens_on_non_default_ports(azurite: AzuriteProcess) -> None:
    ports = (azurite.blob_port, azurite.queue_port, azurite.table_port)
    assert not set(ports) & {10000, 10001, 10002}
    assert all(is_listening("127.0.0.1", p) for p in ports)
