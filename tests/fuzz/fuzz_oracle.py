"""What every fuzzed answer must satisfy: no undocumented 5xx, no Python internals in the body, errors in
the protocol's own shape. Pure."""

from __future__ import annotations

import json
import os
import re
from typing import Any

from hypothesis import HealthCheck, settings

#: Examples per fuzz test: a few seconds each in the suite; ``make fuzz`` raises it (``KUMO_FUZZ_EXAMPLES``).
EXAMPLES = int(os.environ.get("KUMO_FUZZ_EXAMPLES", "60"))
#: The fixed seed the suite runs with (``KUMO_FUZZ_SEED`` overrides it for a longer, different run).
SEED = int(os.environ.get("KUMO_FUZZ_SEED", "13"))


def fuzz_settings() -> Any:
    """Hypothesis settings for a fuzz test: bounded, no shrinking database, no deadline."""
    return settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )


#: 5xx answers a protocol documents for bad conditions that are not the request's fault.
DOCUMENTED_5XX = {
    "dynamodb": {503: {"ServiceUnavailableException"}},  # a partition server is down
    "lambda": {503: {"ServiceException"}},  # no instance became available (cold start failed)
    "api": {502: set(), 503: set(), 504: set()},  # API Gateway: bad integration answer, unavailable, timeout
}

_INTERNALS = re.compile(
    r"Traceback \(most recent call last\)|File \"/|\b(KeyError|TypeError|AttributeError|RecursionError|IndexError"
    r"|UnicodeDecodeError|UnicodeEncodeError|JSONDecodeError|OverflowError|AssertionError|NoneType|"
    r"object has no attribute|unhashable type|not subscriptable|is not iterable)\b"
)


def check_no_internals(body: bytes) -> None:
    text = body.decode("utf-8", "replace")
    found = _INTERNALS.search(text)
    assert found is None, f"Python internals in the body ({found.group(0)!r}): {text[:500]}"


def check_status(surface: str, status: int, error_type: str | None) -> None:
    if status < 500:
        return
    allowed = DOCUMENTED_5XX[surface].get(status)
    assert allowed is not None and (not allowed or error_type in allowed), (
        f"undocumented {status} ({error_type}) from the {surface} endpoint"
    )


def check_dynamodb(status: int, headers: dict[str, str], body: bytes) -> None:
    """A DynamoDB answer: JSON; an error is ``{"__type": "com.amazonaws.dynamodb.v20120810#X", "message"}``."""
    check_no_internals(body)
    parsed = json.loads(body)
    assert isinstance(parsed, dict), body[:300]
    error_type = None
    if status != 200:
        assert set(parsed) <= {"__type", "message", "Message"} and "__type" in parsed, body[:300]
        prefix, _, error_type = parsed["__type"].rpartition("#")
        assert prefix.startswith("com.amazon") and error_type, body[:300]
        assert isinstance(parsed.get("message", parsed.get("Message")), str), body[:300]
    check_status("dynamodb", status, error_type)


def check_lambda(status: int, headers: dict[str, str], body: bytes) -> None:
    """A Lambda API error: ``x-amzn-ErrorType`` and ``{"Type", "message"}`` (success bodies are the function's)."""
    check_no_internals(body)
    error_type = None
    if status >= 400:
        error_type = headers.get("x-amzn-errortype")
        assert error_type, f"{status} without x-amzn-ErrorType: {body[:300]!r}"
        parsed = json.loads(body)
        assert isinstance(parsed, dict) and isinstance(parsed.get("message", parsed.get("Message")), str), body[:300]
        assert parsed.get("Type") in ("User", "Service"), body[:300]
    check_status("lambda", status, error_type)


def check_api(status: int, headers: dict[str, str], body: bytes) -> None:
    """An Api route answer: no undocumented 5xx, gateway errors as ``{"message": ...}``."""
    check_no_internals(body)
    check_status("api", status, None)


def check_admin(status: int, headers: dict[str, str], body: bytes) -> None:
    """The admin API: JSON; errors ``{"error": code, "message"}`` with a 4xx status, never a 5xx."""
    check_no_internals(body)
    assert status < 500, f"admin API answered {status}: {body[:300]!r}"
    parsed = json.loads(body) if body else {}
    if status >= 400:
        assert isinstance(parsed, dict) and isinstance(parsed.get("error"), str), body[:300]
