"""Access keys Kumo issues (SigV4 credentials) and how they are kept in a Kubernetes Secret.

One definition of the Secret's shape, shared by the gateway (which reads the Secrets) and the operator
(which writes one per Function): label :data:`ACCESS_KEY_LABEL` = ``"true"``, data keys
:data:`ID_KEY`, :data:`SECRET_KEY`, :data:`POLICY_KEY` (JSON, see :mod:`kumo.policy`), :data:`NAME_KEY`.
"""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from kumo.policy import ALLOW_ALL, Policy

ACCESS_KEY_LABEL = "kumo.dev/access-key"
ID_KEY = "AWS_ACCESS_KEY_ID"
SECRET_KEY = "AWS_SECRET_ACCESS_KEY"
POLICY_KEY = "policy"
NAME_KEY = "name"
#: Name of the key a Function's instances get (local mode's store entry, the cluster Secret's ``name``).
FUNCTION_KEY_PREFIX = "function:"
ID_PREFIX = "KUMO"
_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


@dataclass(frozen=True)
class AccessKey:
    access_key_id: str
    secret_access_key: str = field(repr=False)
    name: str = ""
    created: str = ""
    policy: Policy = ALLOW_ALL

    def public(self) -> dict[str, Any]:
        """What may be shown: everything but the secret."""
        return {
            "accessKeyId": self.access_key_id,
            "name": self.name,
            "created": self.created,
            "policy": self.policy.to_json(),
        }

    def to_json(self) -> dict[str, Any]:
        return {**self.public(), "secretAccessKey": self.secret_access_key}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AccessKey:
        return cls(
            str(data["accessKeyId"]),
            str(data["secretAccessKey"]),
            str(data.get("name", "")),
            str(data.get("created", "")),
            Policy.from_json(data.get("policy")),
        )


def now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_access_key(name: str = "", policy: Policy = ALLOW_ALL) -> AccessKey:
    """A fresh key: a 20-character id (``KUMO`` + 16 of A-Z2-7) and a 40-character secret."""
    key_id = ID_PREFIX + "".join(secrets.choice(_ID_ALPHABET) for _ in range(20 - len(ID_PREFIX)))
    secret = base64.b64encode(secrets.token_bytes(30)).decode("ascii")
    return AccessKey(key_id, secret, name, now_text(), policy)


def secret_string_data(key: AccessKey) -> dict[str, str]:
    """The Secret data of ``key``, before base64 (``stringData`` form)."""
    return {
        ID_KEY: key.access_key_id,
        SECRET_KEY: key.secret_access_key,
        POLICY_KEY: json.dumps(key.policy.to_json()),
        NAME_KEY: key.name,
    }


def secret_manifest(key: AccessKey, name: str, namespace: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    """The labelled Secret holding ``key`` (what the gateway's ``SecretKeys`` reads with :func:`from_secret`);
    ``labels`` are added to :data:`ACCESS_KEY_LABEL`."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace, "labels": {**(labels or {}), ACCESS_KEY_LABEL: "true"}},
        "type": "Opaque",
        "data": {k: base64.b64encode(v.encode("utf-8")).decode("ascii") for k, v in secret_string_data(key).items()},
    }


def from_secret(secret: dict[str, Any]) -> AccessKey | None:
    """The access key a labelled Secret holds, None when its data is incomplete or invalid."""
    data = secret.get("data") or {}
    try:
        values = {k: base64.b64decode(v).decode("utf-8") for k, v in data.items()}
        policy = Policy.from_json(json.loads(values[POLICY_KEY])) if values.get(POLICY_KEY) else ALLOW_ALL
        key_id, secret_value = values[ID_KEY], values[SECRET_KEY]
    except (KeyError, ValueError, TypeError):
        return None
    if not key_id or not secret_value:
        return None
    metadata = secret.get("metadata") or {}
    name = values.get(NAME_KEY) or str(metadata.get("name", ""))
    return AccessKey(key_id, secret_value, name, str(metadata.get("creationTimestamp", "")), policy)
