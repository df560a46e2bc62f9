"""``kumo up``: its partition processes refuse requests without the platform credential it generated
(the gateway, which has it, is served); the gateway refuses Host names it does not serve."""

from __future__ import annotations

import stat
from pathlib import Path

import httpx

from kumo import platform_credential


def partition_ports(pid: int) -> list[int]:
    """The ``--port`` of every ``kumo partition`` child of ``pid``."""
    ports = []
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    for child in children:
        try:
            argv = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
        except FileNotFoundError:
            continue
        if b"partition" in argv and b"--port" in argv:
            ports.append(int(argv[argv.index(b"--port") + 1]))
    return ports


def test_partitions_refuse_requests_without_the_platform_credential(tables_kumo, ddb) -> None:
    path = tables_kumo.state_dir / platform_credential.FILE_NAME
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    credential = path.read_text().strip()
    ports = partition_ports(tables_kumo.proc.pid)
    assert len(ports) >= 9  # items 3 + events 3 + blobs 2 + tiny 1
    for port in ports:
        url = f"http://127.0.0.1:{port}/table"
        assert httpx.get(url, timeout=5).status_code == 403
        assert httpx.get(url, headers={platform_credential.HEADER: "guess"}, timeout=5).status_code == 403
        assert httpx.get(url, headers={platform_credential.HEADER: credential}, timeout=5).status_code == 200
        scan = httpx.post(f"http://127.0.0.1:{port}/op/Scan", content=b'{"TableName": "items"}', timeout=5)
        assert scan.status_code == 403
    assert "items" in ddb.list_tables()["TableNames"]  # the gateway has it: served as usual


def test_the_gateway_serves_only_its_own_host_names(tables_kumo) -> None:
    url = f"{tables_kumo.url}/healthz"
    assert httpx.get(url, headers={"Host": "localhost"}, timeout=5).status_code == 200
    refused = httpx.get(url, headers={"Host": "rebound.example"}, timeout=5)
    assert refused.status_code == 400 and refused.json() == {"message": "Invalid Host header"}
