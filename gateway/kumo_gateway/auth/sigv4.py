"""AWS Signature Version 4: parse a request's signature and verify it against a secret (pure).

Both forms the SDKs use: the ``Authorization: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=...,
Signature=...`` header (with ``X-Amz-Date``) and the presigned query string (``X-Amz-Algorithm``,
``X-Amz-Credential``, ``X-Amz-Date``, ``X-Amz-Expires``, ``X-Amz-SignedHeaders``, ``X-Amz-Signature``).
The canonical request is :mod:`.sigv4_canonical`'s. The payload is the body's SHA-256 in both forms
(botocore presigns non-S3 requests with the empty body's hash); a client's ``X-Amz-Content-Sha256``
must equal it, else the signature does not match — ``UNSIGNED-PAYLOAD`` (S3's) is not accepted, so a
signature always covers the body.

Requests are accepted within ±15 minutes of the server clock (injected for tests); presigned URLs
until ``X-Amz-Date + X-Amz-Expires``. This is the general verifier, and the one that says why a
request is refused; :mod:`.sigv4_botocore` accepts the common case in one pass first.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import NamedTuple

from kumo_gateway.auth import errors
from kumo_gateway.auth import sigv4_canonical as canonical
from kumo_gateway.auth.errors import AuthFailure

ALGORITHM = canonical.ALGORITHM
TERMINATOR = canonical.TERMINATOR
MAX_SKEW_S = 15 * 60
#: The longest a presigned URL may live (as AWS: 7 days).
MAX_EXPIRES_S = 7 * 24 * 3600
_AMZ_DATE = "%Y%m%dT%H%M%SZ"

Headers = canonical.Headers


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


def header(headers: Headers, name: bytes) -> bytes | None:
    """The first value of header ``name`` (lower-case), None when absent."""
    for key, value in headers:
        if key == name:
            return value
    return None


def parse(query: str, headers: Headers, service: str) -> ParsedAuth | AuthFailure:
    """The request's signature, or why there is none to verify (never raises)."""
    authorization = header(headers, b"authorization")
    if authorization is not None:
        return _parse_header(authorization.decode("latin-1"), headers)
    if "X-Amz-" in query or "x-amz-" in query:
        params = dict(canonical.query_pairs(query))
        if "X-Amz-Algorithm" in params or "X-Amz-Signature" in params or "X-Amz-Credential" in params:
            return _parse_query(params)
    return errors.missing(service)


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
    if canonical.amz_time(amz_date) is None:
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


def _stamp(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime(_AMZ_DATE)


class SigV4Verifier:
    """Checks parsed signatures: scope, clock, then the signature itself (keys cached per day)."""

    def __init__(self, clock: Callable[[], float] = time.time, max_skew_s: float = MAX_SKEW_S) -> None:
        self.clock = clock
        self.max_skew_s = max_skew_s
        self.signing_keys = canonical.SigningKeys()

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
    ) -> AuthFailure | None:
        """None when the signature is good; else why not (never raises)."""
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
        names = canonical.signed_names(parsed.signed_headers)
        block = canonical.header_block(names, canonical.header_map(headers))
        if block is None:
            return errors.bad_signature()
        query_text = canonical.canonical_query(query, presigned=parsed.presigned)
        scope = canonical.scope_line(parsed.date, parsed.region, parsed.service)
        to_sign = canonical.string_to_sign(
            method, raw_path, query_text, block, names, body, parsed.amz_date.encode(), scope
        )
        expected = self.signing_keys.signature(secret, parsed.date, parsed.region, parsed.service, to_sign)
        if not hmac.compare_digest(expected, parsed.signature.encode("utf-8", "replace")):
            return errors.bad_signature()
        return None

    def _check_time(self, parsed: ParsedAuth) -> AuthFailure | None:
        signed_at = canonical.amz_time(parsed.amz_date)
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
