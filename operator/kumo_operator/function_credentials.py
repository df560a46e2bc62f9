"""Each Function's own access key: the Secret ``<fn>-credentials`` its pods sign their AWS calls with.

The Secret has the shape the gateway reads (:func:`kumo.access_keys.secret_manifest`: labelled
``kumo.dev/access-key=true``, key name ``function:<fn>``, policy ``*``), is owned by the Function (deleted
with it) and is created once: its key is generated when the Secret is created and never again, so a
reconcile, an operator restart or a new version leaves running pods' credentials valid. Labels and the
owner reference are put back if someone removes them; the data is never rewritten (an operator who
narrows the ``policy`` in the Secret keeps that policy).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kumo.access_keys import FUNCTION_KEY_PREFIX, ID_KEY, SECRET_KEY, new_access_key, secret_manifest
from kumo.kube.client import KubeClient
from kumo.kube.names import FUNCTION_LABEL, MANAGED_BY, MANAGED_BY_LABEL, owner_reference
from kumo_operator.apply import ensure

#: The environment variable -> Secret data key every function container takes from its Secret.
CREDENTIAL_ENV = {"AWS_ACCESS_KEY_ID": ID_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}


def credentials_secret_name(function: str) -> str:
    return f"{function}-credentials"


def build_credentials_secret(fn: Mapping[str, Any]) -> dict[str, Any]:
    """The desired Secret of ``fn`` with a freshly generated key (used only if the Secret does not exist)."""
    meta = fn["metadata"]
    key = new_access_key(f"{FUNCTION_KEY_PREFIX}{meta['name']}")
    labels = {FUNCTION_LABEL: meta["name"], MANAGED_BY_LABEL: MANAGED_BY}
    secret = secret_manifest(key, credentials_secret_name(meta["name"]), meta["namespace"], labels)
    secret["metadata"]["ownerReferences"] = [owner_reference(fn)]
    return secret


def credential_env(function: str) -> list[dict[str, Any]]:
    """Container ``env`` entries reading the key from the Function's Secret (``secretKeyRef``)."""
    name = credentials_secret_name(function)
    return [
        {"name": env, "valueFrom": {"secretKeyRef": {"name": name, "key": key}}} for env, key in CREDENTIAL_ENV.items()
    ]


async def ensure_credentials(kube: KubeClient, fn: Mapping[str, Any]) -> str:
    """Create the Function's Secret if missing, repair its labels/owner; ``created|patched|unchanged``."""
    return (await ensure(kube, build_credentials_secret(fn)))[0]
