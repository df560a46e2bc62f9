"""SigV4 in one pass for the requests almost every client sends (pure).

botocore, the AWS CLI and the other SDKs sign with one header layout,
``AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/SERVICE/aws4_request, SignedHeaders=a;b;c,
Signature=<64 hex>``, plus ``X-Amz-Date``. Everything in it but the signature and the time stays the
same for a client's requests all day, so that part is parsed once (cached) and a request costs a
dict of its headers, the canonical request's join, two SHA-256s and one HMAC, in one function: the
general verifier's dozen calls cost more than its hashing in a gateway under load.

:func:`accepts` only ever *accepts*: anything unusual (another layout, a repeated header, a date
outside the window, a wrong signature) answers None, and the caller runs the general verifier
(:mod:`.sigv4`), which accepts or says why not. So this adds no rule of its own; what it signs is
:mod:`.sigv4_canonical`'s, as the general verifier's is.
"""

from __future__ import annotations

import hmac
import re
from functools import lru_cache
from typing import TYPE_CHECKING, NamedTuple

from kumo.access_keys import AccessKey
from kumo_gateway.auth import sigv4_canonical as canonical
from kumo_gateway.auth.keys import KeyLookup

if TYPE_CHECKING:
    from kumo_gateway.auth.sigv4 import SigV4Verifier

#: The part of the header before ``, Signature=`` (stricter than SigV4: anything else is the general
#: verifier's).
_HEAD = re.compile(
    rb"AWS4-HMAC-SHA256 Credential=([A-Za-z0-9]+)/([0-9]{8})/([a-z0-9-]+)/([a-z0-9-]+)/aws4_request, "
    rb"SignedHeaders=([a-z0-9-]+(?:;[a-z0-9-]+)*)"
)
_SIGNATURE = b", Signature="


class Scope(NamedTuple):
    """What a header's part before its signature says, ready to sign with."""

    access_key_id: str
    date: str
    region: str
    service: str
    date_bytes: bytes
    names: canonical.SignedNames
    scope_line: bytes


@lru_cache(maxsize=1024)
def scope(head: bytes) -> Scope | None:
    """The :class:`Scope` of a header's part before ``, Signature=`` (cached); None for another layout."""
    match = _HEAD.fullmatch(head)
    if match is None:
        return None
    akid, date, region, service, signed = (part.decode("ascii") for part in match.groups())
    names = signed.split(";")
    if "host" not in names:
        return None
    return Scope(
        akid, date, region, service, date.encode(), canonical.signed_names(tuple(names)),
        canonical.scope_line(date, region, service),
    )  # fmt: skip


def accepts(
    keys: KeyLookup,
    verifier: SigV4Verifier,
    service: str,
    method: str,
    raw_path: str,
    query: str,
    headers: canonical.Headers,
    body: bytes,
) -> AccessKey | None:
    """The signer's key when the request is a well-formed, current (``verifier``'s clock and window),
    correctly signed request in botocore's layout; None otherwise (the general verifier then decides)."""
    values = dict(headers)
    authorization = values.get(b"authorization")
    amz_date = values.get(b"x-amz-date")
    if authorization is None or amz_date is None or len(values) != len(headers):
        return None
    head, sep, signature = authorization.rpartition(_SIGNATURE)
    found = scope(head) if sep and len(signature) == 64 else None
    if found is None or found.service != service or amz_date[:8] != found.date_bytes:
        return None
    when = canonical.amz_time(amz_date.decode("latin-1"))
    if when is None or abs(verifier.clock() - when) > verifier.max_skew_s:
        return None
    key = keys.lookup(found.access_key_id)
    block = canonical.header_block(found.names, values) if key is not None else None
    if key is None or block is None:
        return None
    query_text = canonical.canonical_query(query) if query else ""
    to_sign = canonical.string_to_sign(
        method, raw_path, query_text, block, found.names, body, amz_date, found.scope_line
    )
    expected = verifier.signing_keys.signature(key.secret_access_key, found.date, found.region, found.service, to_sign)
    return key if hmac.compare_digest(expected, signature) else None
