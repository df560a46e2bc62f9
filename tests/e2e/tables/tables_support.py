"""Helpers for the table tests: manifests, starting ``kumo up``, boto3 clients."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import boto3
from botocore.config import Config

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/e2e, for kumo_up

from kumo_up import KumoUp

TTL_INTERVAL_S = "0.2"


def table_manifest(name: str, pk: tuple[str, str], sk: tuple[str, str] | None = None, **spec) -> dict:
    body = {"partitionKey": {"name": pk[0], "type": pk[1]}, **spec}
    if sk is not None:
        body["sortKey"] = {"name": sk[0], "type": sk[1]}
    return {"apiVersion": "kumo.dev/v1alpha1", "kind": "Table", "metadata": {"name": name}, "spec": body}


def manifests() -> list[dict]:
    return [
        table_manifest("items", ("id", "S"), partitions=3),
        table_manifest("events", ("pk", "S"), ("sk", "N"), partitions=3, ttlAttribute="expires"),
        table_manifest("blobs", ("pk", "B"), ("sk", "B"), partitions=2),
        table_manifest(
            "tiny",
            ("id", "S"),
            billingMode="PROVISIONED",
            provisionedThroughput={"readCapacityUnits": 1, "writeCapacityUnits": 1},
        ),
    ]


def start_kumo(workdir: Path, docs: list[dict]) -> KumoUp:
    old = os.environ.get("KUMO_TTL_INTERVAL")
    os.environ["KUMO_TTL_INTERVAL"] = TTL_INTERVAL_S
    try:
        return KumoUp(docs, workdir)
    finally:
        if old is None:
            os.environ.pop("KUMO_TTL_INTERVAL", None)
        else:
            os.environ["KUMO_TTL_INTERVAL"] = old


def clients(kumo: KumoUp, **config):
    """A DynamoDB client and resource for ``kumo``, signed with its default key."""
    options = {
        "endpoint_url": kumo.url,
        "region_name": "us-east-1",
        "aws_access_key_id": kumo.key.access_key_id,
        "aws_secret_access_key": kumo.key.secret_access_key,
        "config": Config(retries={"max_attempts": 1, "mode": "standard"}, **config),
    }
    return boto3.client("dynamodb", **options), boto3.resource("dynamodb", **options)


def partition_pids(state_dir: Path, table: str) -> dict[int, int]:
    """partition index -> pid of its ``kumo partition`` process, found by its data directory."""
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"partition" in argv and b"--data-dir" in argv:
            data_dir = argv[argv.index(b"--data-dir") + 1].decode()
            if data_dir.startswith(str(state_dir / "tables" / table) + "/p"):
                out[int(data_dir.rsplit("/p", 1)[1])] = int(entry.name)
    return out
