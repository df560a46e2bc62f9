"""Desired children of a Table: partition StatefulSet, headless Service, PodDisruptionBudget (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kumo.kube.names import POD_PORT as PORT
from kumo.kube.names import TABLE_LABEL, child_metadata, table_child_name, table_labels
from kumo.models import TableSpec
from kumo_operator.config import OperatorConfig
from kumo_operator.platform_secret import platform_credential_env
from kumo_operator.pod_security import container_security_context, pod_security_context, readiness_probe

DATA_DIR = "/data"


@dataclass(frozen=True)
class TableChildren:
    name: str
    stateful_set: dict[str, Any]
    service: dict[str, Any]
    disruption_budget: dict[str, Any]

    @property
    def children(self) -> list[dict[str, Any]]:
        return [self.stateful_set, self.service, self.disruption_budget]


def partition_args(table: str) -> list[str]:
    """Arguments of ``kumo partition`` in a StatefulSet pod (the index is the pod name's ordinal).

    The table description (keys, slot map, TTL) is not an argument: the gateway's
    ``KubernetesTables`` directory computes it from the Table and sends it (``PUT /table``) to each ready partition.
    """
    return [
        "partition",
        "--data-dir",
        DATA_DIR,
        "--host",
        "0.0.0.0",
        "--port",
        str(PORT),
        "--table",
        table,
        "--pod-name",
        "$(POD_NAME)",
    ]


def build_table(table: Mapping[str, Any], spec: TableSpec, config: OperatorConfig) -> TableChildren:
    """The children of ``table`` (the Table object as the API server returns it)."""
    meta = table["metadata"]
    table_name = meta["name"]
    name = table_child_name(table_name)
    labels = table_labels(table_name)
    selector = {TABLE_LABEL: table_name}
    container = {
        "name": "partition",
        "image": config.kumo_image,
        "command": ["kumo"],
        "args": partition_args(table_name),
        "env": [
            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            *platform_credential_env(config.platform_credential),
        ],
        "ports": [{"name": "http", "containerPort": PORT, "protocol": "TCP"}],
        "readinessProbe": readiness_probe(),
        "securityContext": container_security_context(),
        "volumeMounts": [{"name": "data", "mountPath": DATA_DIR}, {"name": "tmp", "mountPath": "/tmp"}],
    }
    claim_spec: dict[str, Any] = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": config.table_storage_size}},
    }
    if config.table_storage_class:
        claim_spec["storageClassName"] = config.table_storage_class
    stateful_set = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": child_metadata(table, name, labels, meta.get("generation")),
        "spec": {
            "replicas": spec.partitions,
            "serviceName": name,
            "podManagementPolicy": "Parallel",
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "securityContext": pod_security_context(),
                    "containers": [container],
                    "volumes": [{"name": "tmp", "emptyDir": {}}],
                },
            },
            "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": claim_spec}],
            # A Table deleted and created again starts empty, as in DynamoDB; scaling keeps the data.
            "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Delete", "whenScaled": "Retain"},
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": child_metadata(table, name, labels),
        "spec": {
            "clusterIP": "None",
            "publishNotReadyAddresses": True,
            "selector": selector,
            "ports": [{"name": "http", "port": PORT, "targetPort": "http", "protocol": "TCP"}],
        },
    }
    budget = {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": child_metadata(table, name, labels),
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": selector}},
    }
    return TableChildren(name, stateful_set, service, budget)
