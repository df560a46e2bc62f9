"""Which request bodies reach the function base64-encoded (pure: no I/O).

An Api may list ``binaryMediaTypes`` as API Gateway REST APIs do: media-type patterns such as
``image/png``, ``image/*`` or ``*/*``. When the list is given, a request whose ``Content-Type``
matches one of them gets its body base64-encoded (``isBase64Encoded: true``); any other body is
passed as text. When the list is empty, HTTP APIs' rule applies (``event_v2.is_text_content_type``):
text types as text, everything else base64. Either way a body that is not valid UTF-8 is always
base64-encoded, so no byte is ever lost.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence


def media_type(content_type: str | None) -> str | None:
    """``"Image/PNG; q=1"`` -> ``"image/png"``; ``None`` for a missing or empty header."""
    if not content_type:
        return None
    media = content_type.split(";", 1)[0].strip().lower()
    return media or None


def matches(content_type: str | None, patterns: Sequence[str]) -> bool:
    """True when ``content_type`` matches one of ``patterns`` (``type/sub``, ``type/*`` or ``*/*``).

    Matching ignores case and parameters. A request without a content type matches only ``*/*``.
    """
    media = media_type(content_type)
    for pattern in patterns:
        wanted = pattern.strip().lower()
        if wanted == "*/*":
            return True
        if media is None:
            continue
        if wanted.endswith("/*"):
            if media.split("/", 1)[0] == wanted[:-2]:
                return True
        elif media == wanted:
            return True
    return False


def encode_listed(body: bytes, content_type: str | None, patterns: Sequence[str]) -> tuple[str, bool]:
    """``(body, isBase64Encoded)`` under a configured ``binaryMediaTypes`` list."""
    if not matches(content_type, patterns):
        try:
            return body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(body).decode("ascii"), True
