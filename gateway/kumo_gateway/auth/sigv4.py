"""AWS Signature Version 4: parse a request's signature and verify it against a secret (pure).

Both forms the SDKs use: the ``Authorization: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=...,
Signature=...`` header (with ``X-Amz-Date``) and the presigned query string (``X-Amz-Algorithm``,
``X-Amz-Credential``, ``X-Amz-Date``, ``X-Amz-Expires``, ``X-Amz-SignedHeaders``, ``X-Amz-Signature``).
The canonical request is built as the SigV4 documentation defines it and as botocore signs it:

- path: the path as sent, dot segments and empty segments removed, then URI-encoded once more
  (``/`` and ``~`` kept) — non-S3 services sign the encoded path encoded again;
- query: each ``name=value`` decoded and re-encoded (RFC 3986 unreserved kept), sorted;
- headers: the signed ones, lower-case names, values trimmed with inner whitespace runs collapsed,
  repeated headers joined by ``,``;
- payload: SHA-256 of the body, in both forms (botocore presigns non-S3 requests with the empty
  body's hash); a client's ``X-Amz-Content-Sha256`` must equal it, else the signature does not
  match — ``UNSIGNED-PAYLOAD`` (S3's) is not accepted, so a signature always covers the body.

Requests are accepted within ±15 minutes of the server clock (injected for tests); presigned URLs
until ``X-Amz-Date + X-Amz-Expires``. Derived signing keys are cached per (secret, date, region,
service), so a request costs one HMAC of the string to sign once the day's key exists.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import NamedTuple
from urllib.parse import quote, unquote_plus

from kumo_gateway.auth import errors
from kumo_gateway.auth.errors import AuthFailure

ALGORITHM = "AWS4-HMAC-SHA256"
TERMINATOR = "aws4_request"
MAX_SKEW_S = 15 * 60
#: The longest a presigned URL may live (as AWS: 7 days).
MAX_EXPIRES_S = 7 * 24 * 3600
_AMZ_DATE = "%Y%m%dT%H%M%SZ"

Headers = Sequence[tuple[bytes, bytes]]


class ParsedAuth(NamedTuple):
    """The signature a request carries (not yet verified)."""

    access_key_id: str
    date: str  # yyyymmdd of the credential scope
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str
    amz_date: str  # yyyymmddThhmmssZ
    presigned: bool = False
    expires_s: int | None = None


_new_tuple = tuple.__new__


def header(headers: Headers, name: bytes) -> bytes | None:
    """The first value of header ``name`` (lower-case), None when absent."""
    for key, value in headers:
        if key == name:
            return value
    return None


def header_map(headers: Headers) -> dict[bytes, bytes] | None:
    """The headers as a dict (one lookup each), None when a name repeats (then lists are walked)."""
    values = dict(headers)
    return values if len(values) == len(headers) else None


def parse(
    query: str, headers: Headers, service: str, values: dict[bytes, bytes] | None = None
) -> ParsedAuth | AuthFailure:
    """The request's signature, or why there is none to verify (never raises). ``values``: the
    :func:`header_map` of ``headers``, when the caller has it."""
    if values is not None:
        authorization = values.get(b"authorization")
        if authorization is not None:
            common = _parse_botocore_layout(authorization, values)
            if common is not None:
                return common
    else:
        authorization = header(headers, b"authorization")
    if authorization is not None:
        return _parse_header(authorization.decode("latin-1"), headers)
    if "X-Amz-" in query or "x-amz-" in query:
        params = {k: v for k, v in _query_pairs(query)}
        if "X-Amz-Algorithm" in params or "X-Amz-Signature" in params or "X-Amz-Credential" in params:
            return _parse_query(params)
    return errors.missing(service)


def _parse_botocore_layout(authorization: bytes, values: dict[bytes, bytes]) -> ParsedAuth | None:
    """The signature of a header in botocore's layout (``AWS4-HMAC-SHA256 Credential=C,
    SignedHeaders=H, Signature=S``) with an ``X-Amz-Date``; None for anything else, which
    :func:`_parse_header` then parses (and explains). All but the signature is the same for a
    client's every request that day, so that part is parsed once."""
    head, sep, signature = authorization.rpartition(b", Signature=")
    if not sep or len(signature) != 64 or not signature.isalnum():
        return None
    scope = _botocore_scope(head)
    amz_date = values.get(b"x-amz-date")
    if scope is None or amz_date is None:
        return None
    date_text = amz_date.decode("latin-1").strip()
    if _amz_time(date_text) is None:
        return None
    # tuple.__new__ builds the NamedTuple without its Python-level __new__ (this runs for every request).
    return _new_tuple(ParsedAuth, (*scope, signature.decode("ascii"), date_text, False, None))


#: The part of botocore's Authorization header before ``, Signature=`` (stricter than SigV4 requires:
#: anything else takes the general parser).
_BOTOCORE_HEAD = re.compile(
    rb"AWS4-HMAC-SHA256 Credential=([A-Za-z0-9]+)/([0-9]{8})/([a-z0-9-]+)/([a-z0-9-]+)/aws4_request, "
    rb"SignedHeaders=([a-z0-9-]+(?:;[a-z0-9-]+)*)"
)


@lru_cache(maxsize=1024)
def _botocore_scope(head: bytes) -> tuple[str, str, str, str, tuple[str, ...]] | None:
    """``(access key id, date, region, service, signed headers)`` of a botocore-layout header's part
    before ``, Signature=``; None when it is not one."""
    match = _BOTOCORE_HEAD.fullmatch(head)
    if match is None:
        return None
    akid, date, region, service, signed_headers = (part.decode("ascii") for part in match.groups())
    names = tuple(signed_headers.split(";"))
    return (akid, date, region, service, names) if "host" in names else None


def _parse_header(value: str, headers: Headers) -> ParsedAuth | AuthFailure:
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != ALGORITHM:
        return errors.incomplete(f"Authorization header requires the {ALGORITHM} algorithm. Authorization={value}")
    fields: dict[str, str] = {}
    for part in rest.split(","):
        key, sep, item = part.strip().partition("=")
        if sep:
            fields[key] = item
    missing = [name for name in ("Credential", "Signature", "SignedHeaders") if not fields.get(name)]
    amz_date = header(headers, b"x-amz-date")
    date_text: str | None = amz_date.decode("latin-1").strip() if amz_date is not None else None
    if date_text is None:
        http_date = header(headers, b"date")
        date_text = _http_date(http_date.decode("latin-1")) if http_date is not None else None
    problems = [f"Authorization header requires '{name}' parameter." for name in missing]
    if date_text is None:
        problems.append("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
    if problems:
        return errors.incomplete(" ".join(problems) + f" Authorization={value}")
    assert date_text is not None
    return _parsed(fields["Credential"], fields["SignedHeaders"], fields["Signature"], date_text, None)


def _parse_query(params: dict[str, str]) -> ParsedAuth | AuthFailure:
    if params.get("X-Amz-Algorithm") != ALGORITHM:
        return errors.incomplete(f"X-Amz-Algorithm must be {ALGORITHM}.")
    names = ("X-Amz-Credential", "X-Amz-Signature", "X-Amz-SignedHeaders", "X-Amz-Date", "X-Amz-Expires")
    missing = [name for name in names if not params.get(name)]
    if missing:
        return errors.incomplete(" ".join(f"AWS query-string parameters must include '{n}'." for n in missing))
    expires = params["X-Amz-Expires"]
    if not (expires.isascii() and expires.isdigit()) or not 1 <= int(expires) <= MAX_EXPIRES_S:
        return errors.incomplete(f"X-Amz-Expires must be a number of seconds between 1 and {MAX_EXPIRES_S}.")
    return _parsed(
        params["X-Amz-Credential"],
        params["X-Amz-SignedHeaders"],
        params["X-Amz-Signature"],
        params["X-Amz-Date"],
        int(expires),
    )


def _parsed(
    credential: str, signed_headers: str, signature: str, amz_date: str, expires: int | None
) -> ParsedAuth | AuthFailure:
    scope = credential.split("/")
    if len(scope) != 5 or not all(scope):
        return errors.incomplete(
            f"Credential should be scoped to a valid region and service: expected AKID/date/region/service/"
            f"{TERMINATOR}, got '{credential}'."
        )
    akid, date, region, service, terminator = scope
    if terminator != TERMINATOR:
        return errors.incomplete(
            f"Credential should be scoped with a valid terminator: '{TERMINATOR}', not '{terminator}'."
        )
    if _amz_time(amz_date) is None:
        return errors.incomplete(f"Date must be in ISO-8601 'basic format'. Got '{amz_date}'.")
    names = tuple(signed_headers.split(";"))
    if "host" not in names:
        return errors.incomplete("'Host' must be a 'SignedHeader' in the AWS Authorization.")
    return ParsedAuth(akid, date, region, service, names, signature, amz_date, expires is not None, expires)


def _http_date(value: str) -> str | None:
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime(_AMZ_DATE)


@lru_cache(maxsize=256)
def _amz_time(value: str) -> float | None:
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


def _stamp(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime(_AMZ_DATE)


# -- the canonical request ------------------------------------------------------------------------


def _query_pairs(query: str) -> list[tuple[str, str]]:
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
        for key, value in _query_pairs(query)
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
def _request_head(method: str, raw_path: str) -> bytes:
    """The canonical request's first two lines (cached)."""
    return f"{method.upper()}\n{canonical_path(raw_path)}\n".encode()


@lru_cache(maxsize=256)
def _signed_names(names: tuple[str, ...]) -> tuple[tuple[tuple[bytes, bytes], ...], bytes]:
    """((the name as ASGI servers give it, ``name:``) of each signed header, ``name;name;…``), cached."""
    lowered = [name.lower() for name in names]
    wire = tuple((name.encode("latin-1", "replace"), f"{name}:".encode()) for name in lowered)
    return wire, ";".join(lowered).encode("utf-8")


def _trimmed(value: bytes) -> bytes:
    """SigV4's ``Trimall``: the ends stripped and inner runs of whitespace made one space."""
    stripped = value.strip()
    if b"  " in stripped or b"\t" in stripped:
        return b" ".join(stripped.split())
    return stripped


def _joined(headers: Headers) -> dict[bytes, bytes]:
    """Each header's values, trimmed and joined by ``,`` (a repeated header's too)."""
    found: dict[bytes, list[bytes]] = {}
    for key, value in headers:
        found.setdefault(key, []).append(_trimmed(value))
    return {key: b",".join(values) for key, values in found.items()}


def canonical_headers(names: Sequence[str], headers: Headers, values: dict[bytes, bytes] | None = None) -> bytes | None:
    """``name:value\\n`` lines for the signed headers; None when one of them is absent. ``values``:
    the :func:`header_map` of ``headers``, when the caller has it."""
    wire, _ = _signed_names(tuple(names))
    if values is None:
        values = header_map(headers) or _joined(headers)
    parts = []
    for key, prefix in wire:
        value = values.get(key)
        if value is None:
            return None
        value = value.strip()
        if b"  " in value or b"\t" in value:  # _trimmed, inline: this loop runs for every signed request
            value = b" ".join(value.split())
        parts += (prefix, value, b"\n")
    block = b"".join(parts)
    # Header bytes are taken as Latin-1 and the canonical request is signed as UTF-8 (as botocore does).
    return block if block.isascii() else block.decode("latin-1").encode("utf-8")


def canonical_request(
    method: str,
    raw_path: str,
    query: str,
    headers: Headers,
    parsed: ParsedAuth,
    payload_hash: bytes,
    values: dict[bytes, bytes] | None = None,
) -> bytes | None:
    """The canonical request, UTF-8 encoded; None when a signed header is absent."""
    lines = canonical_headers(parsed.signed_headers, headers, values)
    if lines is None:
        return None
    canonical = canonical_query(query, presigned=parsed.presigned).encode("utf-8") if query else b""
    names = _signed_names(parsed.signed_headers)[1]
    return b"".join((_request_head(method, raw_path), canonical, b"\n", lines, b"\n", names, b"\n", payload_hash))


def string_to_sign(parsed: ParsedAuth, request: bytes) -> bytes:
    scope = f"{parsed.date}/{parsed.region}/{parsed.service}/{TERMINATOR}"
    digest = sha256_hex(request).decode("ascii")
    return f"{ALGORITHM}\n{parsed.amz_date}\n{scope}\n{digest}".encode()


#: An empty SHA-256 state, copied for each hash: a copy skips the digest lookup a new hash object
#: makes (with OpenSSL 3 most of the cost of hashing a small message).
_SHA256 = hashlib.sha256()


def sha256_hex(data: bytes) -> bytes:
    """The hex SHA-256 of ``data``, as ASCII bytes."""
    digest = _SHA256.copy()
    digest.update(data)
    return digest.hexdigest().encode("ascii")


def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = ("AWS4" + secret).encode("utf-8")
    for part in (date, region, service, TERMINATOR):
        key = hmac.digest(key, part.encode("utf-8"), "sha256")
    return key


class SigV4Verifier:
    """Checks parsed signatures: scope, clock, then the signature itself (keys cached per day)."""

    def __init__(self, clock: Callable[[], float] = time.time, max_skew_s: float = MAX_SKEW_S) -> None:
        self.clock = clock
        self.max_skew_s = max_skew_s
        self._keys: dict[tuple[str, str, str, str], hmac.HMAC] = {}

    def key(self, secret: str, date: str, region: str, service: str) -> hmac.HMAC:
        """An HMAC keyed with the day's signing key, to be copied per message (keys cached)."""
        cache_key = (secret, date, region, service)
        found = self._keys.get(cache_key)
        if found is None:
            if len(self._keys) >= 4096:
                self._keys.clear()
            found = hmac.new(signing_key(secret, date, region, service), digestmod=hashlib.sha256)
            self._keys[cache_key] = found
        return found

    def verify(
        self,
        parsed: ParsedAuth,
        secret: str,
        service: str,
        method: str,
        raw_path: str,
        query: str,
        headers: Headers,
        body: bytes,
        values: dict[bytes, bytes] | None = None,
    ) -> AuthFailure | None:
        """None when the signature is good; else why not (never raises). ``values``: the
        :func:`header_map` of ``headers``, when the caller has it."""
        if parsed.service != service:
            return errors.bad_signature(f"Credential should be scoped to correct service: '{service}'.")
        if parsed.date != parsed.amz_date[:8]:
            return errors.bad_signature(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
                f"'{parsed.date}' != '{parsed.amz_date[:8]}', from '{parsed.amz_date}'."
            )
        stale = self._check_time(parsed)
        if stale is not None:
            return stale
        payload_hash = sha256_hex(body)
        request = canonical_request(method, raw_path, query, headers, parsed, payload_hash, values)
        if request is None:
            return errors.bad_signature()
        key = self.key(secret, parsed.date, parsed.region, parsed.service)
        signer = key.copy()
        signer.update(string_to_sign(parsed, request))
        expected = signer.hexdigest()
        if not hmac.compare_digest(expected, parsed.signature):
            return errors.bad_signature()
        return None

    def _check_time(self, parsed: ParsedAuth) -> AuthFailure | None:
        signed_at = _amz_time(parsed.amz_date)
        assert signed_at is not None  # checked by parse
        now = self.clock()
        skew = self.max_skew_s
        minutes = int(skew // 60)
        if parsed.presigned:
            assert parsed.expires_s is not None
            if now > signed_at + parsed.expires_s:
                return errors.bad_signature(
                    f"Signature expired: {parsed.amz_date} is now earlier than {_stamp(now - parsed.expires_s)} "
                    f"({_stamp(now)} - {parsed.expires_s} sec.)"
                )
        elif now - signed_at > skew:
            return errors.bad_signature(
                f"Signature expired: {parsed.amz_date} is now earlier than {_stamp(now - skew)} "
                f"({_stamp(now)} - {minutes} min.)"
            )
        if signed_at - now > skew:
            return errors.bad_signature(
                f"Signature not yet current: {parsed.amz_date} is still later than {_stamp(now + skew)} "
                f"({_stamp(now)} + {minutes} min.)"
            )
        return None
