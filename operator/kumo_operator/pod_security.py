"""The hardened security settings every pod the operator creates shares (pure)."""

from __future__ import annotations

from typing import Any

RUN_AS_USER = 1000


def container_security_context() -> dict[str, Any]:
    """Non-root, read-only root filesystem, no privilege escalation, no capabilities, RuntimeDefault seccomp."""
    return {
        "runAsNonRoot": True,
        "runAsUser": RUN_AS_USER,
        "runAsGroup": RUN_AS_USER,
        "readOnlyRootFilesystem": True,
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def pod_security_context() -> dict[str, Any]:
    """Pod-level defaults (``fsGroup`` makes mounted volumes writable by the user)."""
    return {
        "runAsNonRoot": True,
        "runAsUser": RUN_AS_USER,
        "runAsGroup": RUN_AS_USER,
        "fsGroup": RUN_AS_USER,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def readiness_probe(path: str = "/healthz", port: str = "http") -> dict[str, Any]:
    """A tight HTTP readiness probe: instances join the endpoints as soon as they answer."""
    return {
        "httpGet": {"path": path, "port": port},
        "initialDelaySeconds": 0,
        "periodSeconds": 1,
        "timeoutSeconds": 1,
        "successThreshold": 1,
        "failureThreshold": 3,
    }
