"""Parsing JSON from outside the platform (request bodies, headers, function results) with one rule for nesting.

The standard library raises ``RecursionError`` (not a ``ValueError``) for text nested deeper than the
interpreter's recursion limit allows, so a caller catching ``ValueError`` would let ``[[[[...`` through as a 500.
:func:`loads` turns it into a ``ValueError`` like any other malformed input. Pure.
"""

from __future__ import annotations

import json
from typing import Any

#: What :func:`loads` says about text nested too deeply to parse.
TOO_DEEP = "JSON nested too deeply"


def loads(data: str | bytes | bytearray) -> Any:
    """``json.loads(data)``; raises ``ValueError`` for anything but JSON text, including nesting too deep to parse."""
    try:
        return json.loads(data)
    except RecursionError:
        raise ValueError(TOO_DEEP) from None
