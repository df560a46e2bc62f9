"""Order-preserving byte encodings of DynamoDB key values and (partition key, sort key) pairs.

Pure functions. ``encode_value`` maps a wire-form key value (``{"S": ...}``, ``{"N": ...}``,
``{"B": base64}``) to bytes whose bytewise order equals DynamoDB's order for that type: S by UTF-8
bytes, B by bytes, N numerically. Each encoding starts with a one-byte type tag, so it decodes on
its own. ``table_key`` joins a partition-key encoding (escaped and terminated, so no value is a
prefix of another) and a sort-key encoding, so one partition-key value's items are contiguous
and ordered by sort key.
"""

from __future__ import annotations

import base64
import binascii
import re
from decimal import Decimal
from typing import Any

from kumo_tablestore.errors import ValidationException
from kumo_tablestore.numbers import MAX_DIGITS, format_number, is_canonical_int

TAG_S = 0x53  # "S"
TAG_N = 0x4E  # "N"
TAG_B = 0x42  # "B"

#: With value = 0.d1d2... x 10**E, DynamoDB's range 1E-130 .. 9.99..E+125 gives E in [-129, 126].
MIN_EXP = -129
MAX_EXP = 126

_NEG, _ZERO, _POS = 0x01, 0x02, 0x03
_EXP_BIAS = 0x8000
_NEG_END = 0xFF
_ESC = b"\x00\xff"
_TERM = b"\x00\x01"

_NUMBER_RE = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d{1,9})?")
#: A number already in canonical form that is an integer of at most 38 digits.
_POS_DIGITS = bytes.maketrans(b"0123456789", bytes(0x10 + d for d in range(10)))
_NEG_DIGITS = bytes.maketrans(b"0123456789", bytes(0x19 - d for d in range(10)))


# ---- numbers ---------------------------------------------------------------------------------


def parse_number(text: str) -> Decimal:
    """Parse and range-check a DynamoDB number string, raising ``ValidationException``."""
    if not isinstance(text, str) or not _NUMBER_RE.fullmatch(text):
        raise ValidationException(f"The parameter cannot be converted to a numeric value: {text}")
    sign, digits, exp = Decimal(text).as_tuple()  # exact: no context rounding
    assert isinstance(exp, int)
    ds = list(digits)
    while ds and ds[-1] == 0:
        ds.pop()
        exp += 1
    while ds and ds[0] == 0:
        ds.pop(0)
    if not ds:
        return Decimal(0)
    if len(ds) > MAX_DIGITS:
        raise ValidationException("Attempting to store more than 38 significant digits in a Number")
    value = Decimal((sign, tuple(ds), exp))
    if value.adjusted() + 1 > MAX_EXP:
        raise ValidationException(
            "Number overflow. Attempting to store a number with magnitude larger than supported range"
        )
    if value.adjusted() + 1 < MIN_EXP:
        raise ValidationException(
            "Number underflow. Attempting to store a number with magnitude smaller than supported range"
        )
    return value


def canonical_number(value: Decimal) -> str:
    """DynamoDB's canonical spelling (shared with :mod:`values`): plain notation, no trailing zeros."""
    return format_number(value)


def _encode_number(value: Decimal) -> bytes:
    if value.is_zero():
        return bytes([TAG_N, _ZERO])
    sign, digits, _ = value.as_tuple()
    exp = value.adjusted() + 1 + _EXP_BIAS
    if sign:  # negative: invert everything so larger magnitudes sort first, and terminate
        return (
            bytes([TAG_N, _NEG])
            + (0xFFFF - exp).to_bytes(2, "big")
            + bytes(0x19 - d for d in digits)
            + bytes([_NEG_END])
        )
    return bytes([TAG_N, _POS]) + exp.to_bytes(2, "big") + bytes(0x10 + d for d in digits)


def encode_plain_int(text: str) -> bytes | None:
    """:func:`encode_value` of ``{"N": text}`` for a canonical integer (``"0"``, ``"-17"``, at most 38
    digits) without going through ``Decimal``; ``None`` for any other text (use the general path)."""
    if not is_canonical_int(text):
        return None
    if text == "0":
        return bytes([TAG_N, _ZERO])
    negative = text[0] == "-"
    digits = text[1:] if negative else text
    exp = len(digits) + _EXP_BIAS
    significant = digits.rstrip("0").encode()
    if negative:
        return (
            bytes([TAG_N, _NEG])
            + (0xFFFF - exp).to_bytes(2, "big")
            + significant.translate(_NEG_DIGITS)
            + bytes([_NEG_END])
        )
    return bytes([TAG_N, _POS]) + exp.to_bytes(2, "big") + significant.translate(_POS_DIGITS)


def _decode_number(data: bytes) -> Decimal:
    kind = data[0]
    if kind == _ZERO:
        return Decimal(0)
    raw_exp = int.from_bytes(data[1:3], "big")
    if kind == _POS:
        digits = tuple(b - 0x10 for b in data[3:])
        sign, exp = 0, raw_exp - _EXP_BIAS
    elif kind == _NEG and data[-1] == _NEG_END:
        digits = tuple(0x19 - b for b in data[3:-1])
        sign, exp = 1, (0xFFFF - raw_exp) - _EXP_BIAS
    else:
        raise ValueError("corrupt number encoding")
    if not digits or any(not 0 <= d <= 9 for d in digits):
        raise ValueError("corrupt number encoding")
    return Decimal((sign, digits, exp - len(digits)))


# ---- single values ---------------------------------------------------------------------------


def encode_value(value: dict[str, Any]) -> bytes:
    """Encode a wire-form key value; raises ``ValidationException`` on anything else."""
    if not isinstance(value, dict) or len(value) != 1:
        raise ValidationException("Key attribute values must have exactly one type: S, N or B")
    ((kind, raw),) = value.items()
    if kind == "S":
        if not isinstance(raw, str):
            raise ValidationException("Key attribute of type S must be a string")
        if not raw:
            raise ValidationException("One or more parameter values are not valid. A key attribute cannot be empty")
        return bytes([TAG_S]) + raw.encode("utf-8", "surrogatepass")
    if kind == "N":
        return _encode_number(parse_number(raw))
    if kind == "B":
        data = _b64(raw)
        if not data:
            raise ValidationException("One or more parameter values are not valid. A key attribute cannot be empty")
        return bytes([TAG_B]) + data
    raise ValidationException(f"Key attributes must be of type S, N or B, not {kind}")


def decode_value(data: bytes) -> dict[str, str]:
    """Inverse of :func:`encode_value`, giving the canonical wire form."""
    if not data:
        raise ValueError("empty key encoding")
    tag, body = data[0], data[1:]
    if tag == TAG_S:
        return {"S": body.decode("utf-8", "surrogatepass")}
    if tag == TAG_B:
        return {"B": base64.b64encode(body).decode("ascii")}
    if tag == TAG_N:
        return {"N": canonical_number(_decode_number(body))}
    raise ValueError(f"unknown key type tag {tag:#x}")


def _b64(raw: Any) -> bytes:
    if isinstance(raw, bytes | bytearray):
        return bytes(raw)
    if not isinstance(raw, str):
        raise ValidationException("Key attribute of type B must be base64-encoded")
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationException("Invalid Base64 value for a B attribute") from None


# ---- composite keys --------------------------------------------------------------------------


def escape(component: bytes) -> bytes:
    """Escape ``0x00`` and append a terminator so no escaped value prefixes another."""
    return component.replace(b"\x00", _ESC) + _TERM


def unescape(data: bytes) -> tuple[bytes, bytes]:
    """Split ``escape(x) + rest`` into ``(x, rest)``."""
    out = bytearray()
    i = 0
    while True:
        j = data.find(b"\x00", i)
        if j < 0 or j + 1 >= len(data):
            raise ValueError("unterminated key component")
        out += data[i:j]
        marker = data[j + 1]
        if marker == 0x01:
            return bytes(out), data[j + 2 :]
        if marker != 0xFF:
            raise ValueError("bad escape in key component")
        out.append(0)
        i = j + 2


def partition_prefix(pk_enc: bytes) -> bytes:
    """The prefix shared by every table key of one partition-key value."""
    return escape(pk_enc)


def table_key(pk_enc: bytes, sk_enc: bytes | None = None) -> bytes:
    """Storage key for an item: ``escape(pk) + sk`` (the sort key goes last, so needs no escaping)."""
    return escape(pk_enc) + (sk_enc or b"")


def split_table_key(key: bytes) -> tuple[bytes, bytes | None]:
    """Inverse of :func:`table_key`: ``(pk_enc, sk_enc or None)``."""
    pk, rest = unescape(key)
    return pk, (rest or None)


def encode_key(item_key: dict[str, dict[str, Any]], pk_name: str, sk_name: str | None = None) -> bytes:
    """Table key for a wire-form key map such as ``{"id": {"S": "a"}, "ts": {"N": "1"}}``."""
    expected = {pk_name} | ({sk_name} if sk_name else set())
    if set(item_key) != expected:
        raise ValidationException("The provided key element does not match the schema")
    sk = encode_value(item_key[sk_name]) if sk_name else None
    return table_key(encode_value(item_key[pk_name]), sk)


def decode_key(key: bytes, pk_name: str, sk_name: str | None = None) -> dict[str, dict[str, str]]:
    """Wire-form key map of a table key."""
    pk, sk = split_table_key(key)
    out = {pk_name: decode_value(pk)}
    if sk_name and sk is not None:
        out[sk_name] = decode_value(sk)
    return out


def prefix_successor(prefix: bytes) -> bytes | None:
    """Smallest byte string greater than every string starting with ``prefix`` (None: no bound).

    Used for ``begins_with`` on a sort key: ``lower=prefix`` inclusive, ``upper=successor`` exclusive.
    """
    stripped = prefix.rstrip(b"\xff")
    if not stripped:
        return None
    return stripped[:-1] + bytes([stripped[-1] + 1])
