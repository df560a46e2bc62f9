"""Rules of the Lambda Invoke API that more than one server applies: the error shape and the
``X-Amz-Client-Context`` check. The gateway (``kumo_gateway.lambda_``) and a function pod's invoke
endpoint (:mod:`kumo.runtime.invoke_endpoint`) both answer with these. Pure.
"""

from __future__ import annotations

import base64
import binascii
import json

from kumo import untrusted_json

#: Lambda's limit for ``X-Amz-Client-Context``: 3,583 bytes of base64-encoded text.
MAX_CLIENT_CONTEXT = 3583
ERROR_CONTENT_TYPE = "application/json"
ERROR_TYPE_HEADER = "x-amzn-ErrorType"


def error_body(status: int, error_type: str, message: str, extra: dict[str, str] | None = None) -> bytes:
    """The Lambda API's JSON error body, ``{"Type": "User"|"Service", "message": ...}``.

    The error type itself travels in :data:`ERROR_TYPE_HEADER`, from which botocore raises
    ``client.exceptions.<error_type>``; ``Type`` is ``Service`` for 5xx answers, ``User`` otherwise.
    """
    body: dict[str, str] = {"Type": "Service" if status >= 500 else "User", "message": message}
    if extra:
        body.update(extra)
    return json.dumps(body).encode()


def check_client_context(value: str) -> str | None:
    """An error message when ``X-Amz-Client-Context`` breaks Lambda's rules, else ``None``.

    The value must be at most :data:`MAX_CLIENT_CONTEXT` bytes (counted in the header's bytes, UTF-8)
    and be base64 of a JSON object.
    """
    if len(value.encode("utf-8", "surrogateescape")) > MAX_CLIENT_CONTEXT:
        return f"Client context must be at most {MAX_CLIENT_CONTEXT} bytes (base64-encoded)."
    try:
        decoded = untrusted_json.loads(base64.b64decode(value, validate=True))
    except (binascii.Error, ValueError):
        decoded = None
    if not isinstance(decoded, dict):
        return "Client context must be a valid Base64-encoded JSON object."
    return None
