"""How Kumo's processes reach the Kubernetes API: in-cluster credentials or the kubeconfig."""

from __future__ import annotations

from kubernetes import config as kube_config
from kubernetes.client import Configuration

MERGE_PATCH = "application/merge-patch+json"


def load_configuration() -> Configuration:
    """In-cluster credentials when running in a pod, else the kubeconfig."""
    configuration = Configuration()
    try:
        kube_config.load_incluster_config(client_configuration=configuration)
    except kube_config.ConfigException:
        kube_config.load_kube_config(client_configuration=configuration, persist_config=False)
    return configuration
