"""Durations and sizes as people write them in manifests (pure functions, no I/O).

Durations are Go/Kubernetes-style strings (``500ms``, ``3s``, ``1h30m``) or plain numbers of seconds;
sizes are Kubernetes quantities (``128Mi``, ``1Gi``, ``512M``) or plain integers meaning MiB.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation

_DURATION_UNITS: dict[str, Decimal] = {
    "ns": Decimal("1e-9"),
    "us": Decimal("1e-6"),
    "µs": Decimal("1e-6"),
    "μs": Decimal("1e-6"),
    "ms": Decimal("1e-3"),
    "s": Decimal(1),
    "m": Decimal(60),
    "h": Decimal(3600),
}
_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ns|us|µs|μs|ms|s|m|h)")
#: Pattern of the string form of a duration (also used in the CRDs).
DURATION_PATTERN = r"^([0-9]+(\.[0-9]+)?(ns|us|µs|μs|ms|s|m|h))+$"

_MIB = 1024 * 1024
_SIZE_FACTORS: dict[str, int] = {
    "Ki": 1024,
    "Mi": 1024**2,
    "Gi": 1024**3,
    "Ti": 1024**4,
    "Pi": 1024**5,
    "Ei": 1024**6,
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "P": 10**15,
    "E": 10**18,
}
_SIZE_RE = re.compile(r"([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)")
#: Pattern of the string form of a size (also used in the CRDs).
SIZE_PATTERN = r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)$"


def parse_duration(value: object) -> float:
    """Return ``value`` in seconds: a number of seconds or a Go-style string such as ``1h30m``.

    Raises ``ValueError`` with a message fit for a user on anything else (negative, no unit, ...).
    """
    if isinstance(value, bool):
        raise ValueError(f"invalid duration {value!r}: use a number of seconds or a string such as '3s'")
    if isinstance(value, int | float):
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"invalid duration {value!r}: must be a non-negative number of seconds")
        return float(value)
    if not isinstance(value, str):
        raise ValueError(f"invalid duration {value!r}: use a number of seconds or a string such as '3s'")
    text = value.strip()
    if re.fullmatch(r"[0-9]+(\.[0-9]+)?", text):
        raise ValueError(f"invalid duration {value!r}: a duration string needs a unit, e.g. '{text}s'")
    pos = 0
    total = Decimal(0)
    while pos < len(text):
        match = _DURATION_PART.match(text, pos)
        if match is None:
            break
        total += Decimal(match.group(1)) * _DURATION_UNITS[match.group(2)]
        pos = match.end()
    if not text or pos != len(text):
        raise ValueError(
            f"invalid duration {value!r}: expected e.g. '500ms', '3s', '15m' or '1h30m' (units ns, us, ms, s, m, h)"
        )
    return float(total)


def format_duration(seconds: float) -> str:
    """Format seconds as a compact Go-style duration (``90.5`` -> ``1m30s500ms``), exact to 1 µs."""
    micros = round(seconds * 1_000_000)
    if micros <= 0:
        return "0s"
    parts = []
    for unit, size in (("h", 3_600_000_000), ("m", 60_000_000), ("s", 1_000_000), ("ms", 1_000), ("us", 1)):
        count, micros = divmod(micros, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def parse_size_mib(value: object) -> int:
    """Return ``value`` in MiB: a plain integer (MiB) or a Kubernetes quantity (``128Mi``, ``1Gi``).

    Decimal units (``512M``) are converted to bytes and rounded up to a whole MiB.
    """
    if isinstance(value, bool):
        raise ValueError(f"invalid size {value!r}: use an integer number of MiB or a string such as '128Mi'")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"invalid size {value!r}: must not be negative")
        return value
    if isinstance(value, float):
        if not value.is_integer() or value < 0:
            raise ValueError(f"invalid size {value!r}: a plain number of MiB must be a whole number")
        return int(value)
    if not isinstance(value, str):
        raise ValueError(f"invalid size {value!r}: use an integer number of MiB or a string such as '128Mi'")
    text = value.strip()
    if re.fullmatch(r"[0-9]+(\.[0-9]+)?", text):
        raise ValueError(f"invalid size {value!r}: a size string needs a unit, e.g. '{text}Mi' (plain numbers are MiB)")
    match = _SIZE_RE.fullmatch(text)
    if match is None:
        raise ValueError(
            f"invalid size {value!r}: expected e.g. '128Mi', '1Gi' or '512M' (units Ki, Mi, Gi, Ti, k, M, G, T)"
        )
    try:
        size_bytes = Decimal(match.group(1)) * _SIZE_FACTORS[match.group(2)]
    except InvalidOperation as exc:  # pragma: no cover - the regex only lets decimals through
        raise ValueError(f"invalid size {value!r}") from exc
    return math.ceil(size_bytes / _MIB)


def parse_size_bytes(value: str) -> int:
    """Return ``value`` in bytes: a plain integer (bytes, as in a Kubernetes quantity) or ``75Gi``, ``512M``.

    Fractions of a byte round up.
    """
    text = value.strip()
    if re.fullmatch(r"[0-9]+", text):
        return int(text)
    match = _SIZE_RE.fullmatch(text)
    if match is None:
        raise ValueError(f"invalid size {value!r}: expected bytes or e.g. '75Gi', '512Mi', '10G'")
    return math.ceil(Decimal(match.group(1)) * _SIZE_FACTORS[match.group(2)])


def format_size_mib(mib: int) -> str:
    """Format MiB as a Kubernetes quantity (``128`` -> ``128Mi``)."""
    return f"{mib}Mi"
