"""DynamoDB numbers: exact decimals of at most 38 significant digits within DynamoDB's range.

Numbers stay strings in the wire form (``{"N": "1.5"}``); these functions parse, range-check,
canonicalise and add them exactly (``decimal``), and size them as DynamoDB counts them. Canonical
integers, the common case, skip ``Decimal``. Pure; every error is a :class:`ValidationException`.
"""

from __future__ import annotations

import re
from decimal import Context, Decimal, InvalidOperation
from typing import Any

from .errors import ValidationException

MAX_DIGITS = 38
_MAX_MAGNITUDE = Decimal("9.9999999999999999999999999999999999999E+125")
_MIN_MAGNITUDE = Decimal("1E-130")
#: Wide enough that + and - on in-range numbers are exact; the result is then range-checked.
EXACT = Context(prec=400, Emax=999, Emin=-999)
_NUMBER_CHARS = frozenset("0123456789.eE+-")
#: ``0``, or an optional ``-`` and 1 to 38 ASCII digits without a leading zero.
_CANONICAL_INT = re.compile(r"-?[1-9][0-9]{0,37}|0")

INVALID_NUMBER = "A value provided cannot be converted into a number"
NUMBER_OVERFLOW = "Number overflow. Attempting to store a number with magnitude larger than supported range"
NUMBER_UNDERFLOW = "Number underflow. Attempting to store a number with magnitude smaller than supported range"
TOO_MANY_DIGITS = "Attempting to store more than 38 significant digits in a Number"


def parse_number(text: Any) -> Decimal:
    """Parse and range-check a DynamoDB number string."""
    if not isinstance(text, str) or not text or not _NUMBER_CHARS.issuperset(text):
        raise ValidationException(INVALID_NUMBER)
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValidationException(INVALID_NUMBER) from None
    if not value.is_finite():
        raise ValidationException(INVALID_NUMBER)
    check_number(value)
    return value


def check_number(value: Decimal) -> None:
    """Raise when ``value`` has more than 38 significant digits or is outside DynamoDB's range."""
    if not value:
        return
    magnitude = value.copy_abs()
    if magnitude > _MAX_MAGNITUDE:
        raise ValidationException(NUMBER_OVERFLOW)
    if magnitude < _MIN_MAGNITUDE:
        raise ValidationException(NUMBER_UNDERFLOW)
    digits = value.as_tuple().digits
    significant = len(digits)
    while significant and digits[significant - 1] == 0:
        significant -= 1
    if significant > MAX_DIGITS:
        raise ValidationException(TOO_MANY_DIGITS)


def format_number(value: Decimal) -> str:
    """Canonical form, as DynamoDB returns numbers: no exponent, no trailing zeros ("0.3", "100")."""
    if not value:
        return "0"
    return format(value.normalize(EXACT), "f")


def is_canonical_int(text: Any) -> bool:
    """Whether ``text`` is a canonical integer within 38 digits (``0``, ``17``, ``-4``): already valid
    and canonical, so it needs no ``Decimal``."""
    return type(text) is str and _CANONICAL_INT.fullmatch(text) is not None


def normalize_number(text: Any) -> str:
    """Validate a number string and return its canonical form."""
    if is_canonical_int(text):
        return text
    return format_number(parse_number(text))


def add_numbers(a: str, b: str) -> str:
    """Exact ``a + b`` of two number strings; out-of-range results raise."""
    result = EXACT.add(Decimal(a), Decimal(b))
    check_number(result)
    return format_number(result)


def subtract_numbers(a: str, b: str) -> str:
    """Exact ``a - b`` of two number strings; out-of-range results raise."""
    result = EXACT.subtract(Decimal(a), Decimal(b))
    check_number(result)
    return format_number(result)


def number_size(text: str) -> int:
    """Bytes a number counts for in an item's size: about one per two significant digits, plus one."""
    if is_canonical_int(text):
        significant = len(text.lstrip("-").rstrip("0")) or 1  # zero has one digit
        return (significant + 1) // 2 + 1
    digits = Decimal(text).normalize(EXACT).as_tuple().digits
    return (len(digits) + 1) // 2 + 1
