"""Which Secrets are API keys (pure)."""

from __future__ import annotations

import base64

from kumo_gateway.apigateway.api_keys import key_hash
from kumo_gateway.kubernetes.api_key_secrets import key_from_secret

LABELS = {"kumo.dev/api-key": "true", "kumo.dev/api": "pets", "kumo.dev/usage-plan": "basic"}


def secret(labels: dict[str, str], value: str | None = "v" * 30) -> dict[str, object]:
    data = {"value": base64.b64encode(value.encode()).decode()} if value is not None else {}
    return {"metadata": {"name": "alice", "namespace": "team", "labels": labels}, "data": data}


def test_a_labelled_secret_gives_a_hashed_key_named_after_it() -> None:
    found = key_from_secret(secret(LABELS))
    assert not isinstance(found, str)
    assert found.digest == key_hash("v" * 30)
    assert (found.record.id, found.record.api, found.record.plan, found.record.source) == (
        "team.alice",
        "pets",
        "basic",
        "secret",
    )


def test_secrets_without_labels_or_a_usable_value_give_reasons() -> None:
    assert "labelled" in key_from_secret(secret({}))
    assert "usage-plan" in key_from_secret(secret({k: v for k, v in LABELS.items() if "plan" not in k}))
    assert "no data.value" in key_from_secret(secret(LABELS, None))
    assert "20 to 128" in key_from_secret(secret(LABELS, "short"))
    bad = secret(LABELS)
    bad["data"] = {"value": "***"}
    assert "base64" in key_from_secret(bad)
