"""SigV4's canonical request, string to sign and signing keys (pure): the one definition both the
general verifier (:mod:`.sigv4`) and the one-pass check of botocore's requests (:mod:`.sigv4_botocore`)
sign with.

The canonical request is built as the SigV4 documentation defines it and as botocore signs it:

- path: the path as sent, dot segments and empty segments removed, then URI-encoded once more
  (``/`` and ``~`` kept) — non-S3 services sign the encoded path encoded again;
- query: each ``name=value`` decoded and re-encoded (RFC 3986 unreserved kept), sorted;
- headers: the signed ones, lower-case names, values trimmed with inner whitespace runs collapsed,
  repeated headers joined by ``,``; header bytes are taken as Latin-1 and the whole canonical
  request is signed as UTF-8;
- payload: SHA-256 of the body.

Everything that is the same from one request to the next (a path's first lines, a signed-header
list's names, a day's signing key) is cached, so a request costs two SHA-256s and one HMAC.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache
from urllib.parse import quote, unquote_plus

ALGORITHM = "AWS4-HMAC-SHA256"
TERMINATOR = "aws4_request"

Headers = Sequence[tuple[bytes, bytes]]


@lru_cache(maxsize=256)
def amz_time(value: str) -> float | None:
    """Seconds since the epoch of ``yyyymmddThhmmssZ`` (cached: a client reuses a date for a second)."""
    if len(value) != 16 or value[8] != "T" or value[15] != "Z" or not (value[:8] + value[9:15]).isdigit():
        return None
    try:
        when = datetime(
            int(value[0:4]), int(value[4:6]), int(value[6:8]), int(value[9:11]), int(value[11:13]), int(value[13:15]),
            tzinfo=UTC,
        )  # fmt: skip
    except ValueError:
        return None
    return when.timestamp()


def query_pairs(query: str) -> list[tuple[str, str]]:
    pairs = []
    for part in query.split("&"):
        if part:
            key, _, value = part.partition("=")
            pairs.append((unquote_plus(key), unquote_plus(value)))
    return pairs


def canonical_query(query: str, *, presigned: bool = False) -> str:
    if not query:
        return ""
    pairs = [
        (quote(key, safe="-_.~"), quote(value, safe="-_.~"))
        for key, value in query_pairs(query)
        if not (presigned and key == "X-Amz-Signature")
    ]
    return "&".join(f"{key}={value}" for key, value in sorted(pairs))


def remove_dot_segments(path: str) -> str:
    """RFC 3986 dot-segment removal, also dropping empty segments (as AWS and botocore do)."""
    if not path:
        return "/"
    kept: list[str] = []
    for segment in path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if kept:
                kept.pop()
        else:
            kept.append(segment)
    first = "/" if path[0] == "/" else ""
    last = "/" if path[-1] == "/" and kept else ""
    return first + "/".join(kept) + last


@lru_cache(maxsize=1024)
def canonical_path(raw_path: str) -> str:
    """The canonical URI (cached: a gateway sees the same few paths again and again)."""
    return quote(remove_dot_segments(raw_path), safe="/~")


@lru_cache(maxsize=1024)
def request_head(method: str, raw_path: str) -> bytes:
    """The canonical request's first two lines (cached)."""
    return f"{method.upper()}\n{canonical_path(raw_path)}\n".encode()


class SignedNames:
    """A signed-header list, ready for :func:`header_block`: ``wire`` is (the name as ASGI servers give
    it, ``name:``) per header, ``joined`` the canonical request's ``name;name;…`` line."""

    __slots__ = ("joined", "wire")

    def __init__(self, names: Sequence[str]) -> None:
        lowered = [name.lower() for name in names]
        self.wire = tuple((name.encode("latin-1", "replace"), f"{name}:".encode()) for name in lowered)
        self.joined = ";".join(lowered).encode()


signed_names = lru_cache(maxsize=256)(SignedNames)


def header_map(headers: Headers) -> dict[bytes, bytes]:
    """Each header's value; a repeated header's values trimmed and joined by ``,``."""
    values = dict(headers)
    if len(values) == len(headers):
        return values
    found: dict[bytes, list[bytes]] = {}
    for key, value in headers:
        found.setdefault(key, []).append(trimmed(value))
    return {key: b",".join(values) for key, values in found.items()}


def trimmed(value: bytes) -> bytes:
    """SigV4's ``Trimall``: the ends stripped and inner runs of whitespace made one space."""
    stripped = value.strip()
    if b"  " in stripped or b"\t" in stripped:
        return b" ".join(stripped.split())
    return stripped


def header_block(names: SignedNames, values: dict[bytes, bytes]) -> bytes | None:
    """``name:value\\n`` lines for the signed headers (UTF-8); None when one of them is absent."""
    parts = []
    for key, prefix in names.wire:
        value = values.get(key)
        if value is None:
            return None
        value = value.strip()
        if b"  " in value or b"\t" in value:  # trimmed(), inline: this loop runs for every signed request
            value = b" ".join(value.split())
        parts += (prefix, value, b"\n")
    block = b"".join(parts)
    return block if block.isascii() else block.decode("latin-1").encode()


#: An empty SHA-256 state, copied for each hash: a copy skips the digest lookup a new hash object
#: makes (with OpenSSL 3 most of the cost of hashing a small message).
_SHA256 = hashlib.sha256()


@lru_cache(maxsize=1024)
def scope_line(date: str, region: str, service: str) -> bytes:
    """The credential scope, between the newlines that surround it in the string to sign."""
    return f"\n{date}/{region}/{service}/{TERMINATOR}\n".encode()


def string_to_sign(
    method: str,
    raw_path: str,
    canonical_query_text: str,
    block: bytes,
    names: SignedNames,
    body: bytes,
    amz_date: bytes,
    scope: bytes,
) -> bytes:
    """The string to sign, UTF-8 encoded: the canonical request built from its parts (``block``:
    :func:`header_block`'s, ``scope``: :func:`scope_line`'s) and hashed. One function, hashing written
    out: in a loaded gateway each Python call costs about a microsecond."""
    payload = _SHA256.copy()
    payload.update(body)
    query = canonical_query_text.encode() if canonical_query_text else b""
    head, payload_hash = request_head(method, raw_path), payload.hexdigest().encode()
    request = _SHA256.copy()
    request.update(b"".join((head, query, b"\n", block, b"\n", names.joined, b"\n", payload_hash)))
    return b"".join((_ALGORITHM_LINE, amz_date, scope, request.hexdigest().encode("ascii")))


_ALGORITHM_LINE = f"{ALGORITHM}\n".encode()


def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = ("AWS4" + secret).encode("utf-8")
    for part in (date, region, service, TERMINATOR):
        key = hmac.digest(key, part.encode("utf-8"), "sha256")
    return key


class SigningKeys:
    """An HMAC keyed with each (secret, date, region, service)'s signing key, derived once a day and
    copied per signature (no key schedule per request)."""

    def __init__(self, limit: int = 4096) -> None:
        self.limit = limit
        self._keys: dict[tuple[str, str, str, str], hmac.HMAC] = {}

    def __len__(self) -> int:
        return len(self._keys)

    def signature(self, secret: str, date: str, region: str, service: str, to_sign: bytes) -> bytes:
        """The hex HMAC-SHA256 of ``to_sign`` under the signing key, as ASCII bytes."""
        cache_key = (secret, date, region, service)
        keyed = self._keys.get(cache_key)
        if keyed is None:
            if len(self._keys) >= self.limit:
                self._keys.clear()
            keyed = self._keys[cache_key] = hmac.new(signing_key(secret, date, region, service), None, hashlib.sha256)
        signer = keyed.copy()
        signer.update(to_sign)
        return signer.hexdigest().encode("ascii")
