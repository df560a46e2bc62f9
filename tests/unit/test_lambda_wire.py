"""The Lambda Invoke API rules shared by the gateway and a pod's invoke endpoint (kumo.lambda_wire)."""

from __future__ import annotations

import base64
import json

import pytest

from kumo.lambda_wire import MAX_CLIENT_CONTEXT, check_client_context, error_body


def _context_of_length(n: int) -> str:
    """Base64 of a JSON object, exactly ``n`` characters of base64 text (``n`` a multiple of 4)."""
    raw_len = n // 4 * 3
    doc = '{"k":"' + "x" * (raw_len - 8) + '"}'
    text = base64.b64encode(doc.encode()).decode()
    assert len(text) == n
    return text


def test_client_context_at_the_limit_is_accepted() -> None:
    assert check_client_context(_context_of_length(3580)) is None  # the largest multiple of 4 within 3583


def test_client_context_over_the_limit_is_refused() -> None:
    problem = check_client_context(_context_of_length(3584))
    assert problem == f"Client context must be at most {MAX_CLIENT_CONTEXT} bytes (base64-encoded)."


def test_client_context_limit_counts_bytes_not_characters() -> None:
    # 1,800 two-byte characters: within the limit counted in characters, over it counted in bytes.
    value = "é" * 1800
    assert len(value) <= MAX_CLIENT_CONTEXT < len(value.encode())
    assert "at most 3583 bytes" in (check_client_context(value) or "")


@pytest.mark.parametrize(
    "value",
    ["%%%", base64.b64encode(b"[1, 2]").decode(), base64.b64encode(b"not json").decode(), "e30"],
)
def test_client_context_must_be_base64_of_a_json_object(value: str) -> None:
    assert check_client_context(value) == "Client context must be a valid Base64-encoded JSON object."


def test_error_body_type_follows_the_status() -> None:
    assert json.loads(error_body(400, "InvalidRequestContentException", "bad")) == {"Type": "User", "message": "bad"}
    assert json.loads(error_body(503, "ServiceException", "down")) == {"Type": "Service", "message": "down"}
    assert json.loads(error_body(429, "TooManyRequestsException", "slow", {"Reason": "X"})) == {
        "Type": "User",
        "message": "slow",
        "Reason": "X",
    }
