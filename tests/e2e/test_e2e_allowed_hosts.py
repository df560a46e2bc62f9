"""``kumo up --allowed-host``/``KUMO_ALLOWED_HOSTS`` widen the Host allow-list; other names get 400."""

from __future__ import annotations

import os

import httpx
from kumo_up import KumoUp


def test_allowed_hosts_from_flag_and_environment(tmp_path) -> None:
    os.environ["KUMO_ALLOWED_HOSTS"] = "env.example"
    try:
        up = KumoUp([], tmp_path, args=["--allowed-host", "dev.example", "--allowed-host", "box.local"])
    finally:
        del os.environ["KUMO_ALLOWED_HOSTS"]
    try:
        url = f"{up.url}/healthz"
        for host in ("dev.example", "box.local:8080", "env.example", "localhost", "127.0.0.1"):
            assert httpx.get(url, headers={"Host": host}, timeout=5).status_code == 200, host
        refused = httpx.get(url, headers={"Host": "other.example"}, timeout=5)
        assert refused.status_code == 400 and refused.json() == {"message": "Invalid Host header"}
    finally:
        assert up.stop() == 0
