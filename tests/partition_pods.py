"""Real `kumo partition` processes standing in for a Table's StatefulSet pods (on 127.0.0.1 ports), run
with the operator's exact arguments: the cluster-table and cluster stream tests share them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
from cluster import KubeApi
from support import free_port, wait_http

from kumo.models import Table
from kumo_operator.config import OperatorConfig
from kumo_operator.table_resources import build_table

TABLES = "/apis/kumo.dev/v1alpha1/namespaces/default/tables"


class Pods:
    """Real `kumo partition` processes standing in for StatefulSet pods, with the operator's exact args."""

    def __init__(self, api: KubeApi, root: Path) -> None:
        self.api, self.root = api, root
        self.ports: dict[tuple[str, int], int] = {}
        self.procs: dict[tuple[str, int], subprocess.Popen[bytes]] = {}

    def port(self, table: str, index: int) -> int:
        return self.ports.setdefault((table, index), free_port())

    def host(self, table: str, namespace: str, index: int) -> str:
        return f"127.0.0.1:{self.port(table, index)}"

    def args(self, table: str, index: int, data_dir: Path) -> list[str]:
        obj = self.api.get(f"{TABLES}/{table}")
        built = build_table(obj, Table.model_validate(obj).spec, OperatorConfig())
        container = built.stateful_set["spec"]["template"]["spec"]["containers"][0]
        assert container["command"] == ["kumo"]
        substitutes = {
            "/data": str(data_dir),
            "0.0.0.0": "127.0.0.1",
            "8080": str(self.port(table, index)),
            "$(POD_NAME)": f"{built.name}-{index}",
        }
        return [substitutes.get(a, a) for a in container["args"]]

    def start(self, table: str, index: int, data: str = "data") -> None:
        data_dir = self.root / table / f"{data}{index}"
        data_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.root / f"{table}-{index}.log", "ab")  # noqa: SIM115
        proc = subprocess.Popen(
            [sys.executable, "-m", "kumo_cli", *self.args(table, index, data_dir), "--durability", "normal"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self.procs[(table, index)] = proc
        wait_http(f"http://127.0.0.1:{self.port(table, index)}/healthz", proc=proc)

    def stop(self, table: str, index: int) -> None:
        proc = self.procs.pop((table, index), None)
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)

    def stop_all(self) -> None:
        for key in list(self.procs):
            self.stop(*key)

    def table(self, table: str, index: int) -> dict[str, Any]:
        return httpx.get(f"http://127.0.0.1:{self.port(table, index)}/table").json()

    def items(self, table: str, index: int) -> int:
        return httpx.get(f"http://127.0.0.1:{self.port(table, index)}/healthz").json()["items"]
