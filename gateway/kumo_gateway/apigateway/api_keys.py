"""API keys (pure): their format, their id and the hash that is all Kumo stores of them.

An API Gateway key value is 40 alphanumeric characters (API Gateway also accepts imported values of
20 to 128 characters; Kumo takes the same range from Secrets). A key's id is 10 lower-case
alphanumerics, as API Gateway's key ids are. Only ``sha256(value)`` is stored; the value is shown
once, when the key is created.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import string
from dataclasses import dataclass

#: The header API Gateway reads the key from (header names are case-insensitive).
API_KEY_HEADER = "x-api-key"
KEY_LENGTH = 40
MIN_KEY_LENGTH, MAX_KEY_LENGTH = 20, 128
_ALPHANUMERIC = string.ascii_letters + string.digits
_ID_ALPHABET = string.ascii_lowercase + string.digits
_KEY_PATTERN = re.compile(r"^[A-Za-z0-9]+$")
#: An imported key value (a Secret's): printable ASCII without spaces.
_IMPORTED_PATTERN = re.compile(r"^[\x21-\x7e]+$")


def new_key_value() -> str:
    """A fresh key: 40 random alphanumerics (about 238 bits)."""
    return "".join(secrets.choice(_ALPHANUMERIC) for _ in range(KEY_LENGTH))


def new_key_id() -> str:
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(10))


def is_generated_key(value: str) -> bool:
    return len(value) == KEY_LENGTH and bool(_KEY_PATTERN.match(value))


def check_imported_value(value: str) -> str | None:
    """Why ``value`` cannot be a key (from a Secret), or None."""
    if not MIN_KEY_LENGTH <= len(value) <= MAX_KEY_LENGTH:
        return f"must be {MIN_KEY_LENGTH} to {MAX_KEY_LENGTH} characters long"
    if not _IMPORTED_PATTERN.match(value):
        return "must be printable ASCII without spaces"
    return None


def key_hash(value: str) -> str:
    """What is stored of a key: the hex SHA-256 of its value."""
    return hashlib.sha256(value.encode("utf-8", "surrogateescape")).hexdigest()


@dataclass(frozen=True)
class KeyRecord:
    """A stored key (never its value)."""

    id: str
    api: str
    plan: str
    name: str
    enabled: bool
    #: Creation time, epoch seconds.
    created: float
    #: ``admin`` (created through the admin API / CLI) or ``secret`` (a labelled Kubernetes Secret).
    source: str = "admin"

    def public(self) -> dict[str, object]:
        """The key as the admin API lists it (no value, no hash)."""
        return {
            "id": self.id,
            "api": self.api,
            "plan": self.plan,
            "name": self.name,
            "enabled": self.enabled,
            "createdDate": self.created,
            "source": self.source,
        }
