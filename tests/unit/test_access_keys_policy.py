"""Access-key policies, the Secret shape and the local key file (pure and file-level)."""

from __future__ import annotations

import base64
import os
import stat

import pytest

from kumo.access_keys import ACCESS_KEY_LABEL, from_secret, new_access_key, secret_string_data
from kumo.policy import ALLOW_ALL, Policy, PolicyError
from kumo_gateway.auth.admin_token import bearer_matches, local_admin_token
from kumo_gateway.auth.local_store import LocalKeyStore


def test_policy_matching() -> None:
    policy = Policy(("lambda:Invoke*", "dynamodb:GetItem"), ("function:orders-*", "table:orders"))
    assert policy.allows("lambda:InvokeFunction", ["function:orders-api"])
    assert policy.allows("LAMBDA:invokefunction", ["function:orders-api"])  # actions ignore case
    assert not policy.allows("lambda:InvokeFunction", ["function:users"])
    assert not policy.allows("lambda:GetFunction", ["function:orders-api"])
    assert not policy.allows("dynamodb:GetItem", ["table:orders", "table:users"])  # every resource must match
    assert not policy.allows("dynamodb:GetItem", ["table:Orders"])  # resources keep case
    assert ALLOW_ALL.unrestricted and ALLOW_ALL.allows("anything:At", ["all"])
    assert Policy.from_json({"actions": ["*"], "resources": ["table:a"]}).allows("x:y", ["table:a"])
    for bad in ([], {"actions": []}, {"actions": "x"}, {"resources": [1]}):
        with pytest.raises(PolicyError):
            Policy.from_json(bad)


def test_keys_look_like_aws_keys_and_round_trip_through_a_secret() -> None:
    key = new_access_key("ci", Policy(("lambda:*",), ("function:a",)))
    assert len(key.access_key_id) == 20 and key.access_key_id.startswith("KUMO") and key.access_key_id.isupper()
    assert len(key.secret_access_key) == 40
    assert key.secret_access_key not in repr(key)
    data = {k: base64.b64encode(v.encode()).decode() for k, v in secret_string_data(key).items()}
    secret = {"metadata": {"name": "ci", "labels": {ACCESS_KEY_LABEL: "true"}}, "data": data}
    back = from_secret(secret)
    assert back is not None and back.access_key_id == key.access_key_id and back.policy == key.policy
    assert from_secret({"metadata": {"name": "x"}, "data": {"AWS_ACCESS_KEY_ID": "!!"}}) is None


def test_local_store_is_private_and_persistent(tmp_path) -> None:
    state = tmp_path / "state"
    store = LocalKeyStore(state)
    store.load()
    default = store.ensure("default")
    assert store.ensure("default") == default
    other = store.create("ci")
    assert stat.S_IMODE(os.stat(state).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(state / "credentials.json").st_mode) == 0o600
    again = LocalKeyStore(state)
    again.load()
    assert {k.access_key_id for k in again.list()} == {default.access_key_id, other.access_key_id}
    assert again.revoke(other.access_key_id) and not again.revoke(other.access_key_id)
    assert again.ring.lookup(other.access_key_id) is None


def test_admin_token_file_and_bearer_check(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("KUMO_ADMIN_TOKEN", raising=False)
    token = local_admin_token(tmp_path)
    assert local_admin_token(tmp_path) == token and len(token) >= 32
    assert stat.S_IMODE(os.stat(tmp_path / "admin-token").st_mode) == 0o600
    assert bearer_matches(f"Bearer {token}", token) and bearer_matches(f"bearer  {token} ", token)
    for bad in (None, "", token, f"Basic {token}", "Bearer", f"Bearer {token}x"):
        assert not bearer_matches(bad, token)
    monkeypatch.setenv("KUMO_ADMIN_TOKEN", "from-env")
    assert local_admin_token(tmp_path) == "from-env"
