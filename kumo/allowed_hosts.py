"""The Host allow-list of local mode (like Django's ``ALLOWED_HOSTS``): pure rules, no I/O.

A page on ``evil.example`` whose name is re-pointed to 127.0.0.1 (DNS rebinding) reaches a local
gateway with ``Host: evil.example``; refusing hostnames the gateway does not serve closes that door.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

ENV_ALLOWED_HOSTS = "KUMO_ALLOWED_HOSTS"
#: Always served in local mode.
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
#: Binding to every address serves no particular name; these are not added to the list.
_WILDCARD_BINDS = ("", "0.0.0.0", "::")


def host_name(value: str) -> str:
    """The hostname of a ``Host`` header value, without port or IPv6 brackets, lower case.

    ``""`` when the value is malformed.
    """
    value = value.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return ""
        rest = value[end + 1 :]
        if rest and not (rest.startswith(":") and rest[1:].isdigit()):
            return ""
        return value[1:end]
    name, colon, port = value.partition(":")
    if colon and not port.isdigit():
        return ""
    return name.rstrip(".")


def allowed_hosts(
    bind_host: str, extra: Iterable[str] = (), environ: Mapping[str, str] | None = None
) -> frozenset[str]:
    """Loopback names, the bound host, ``extra`` (``--allowed-host``) and ``KUMO_ALLOWED_HOSTS`` (comma-separated).

    ``*`` in the list allows any host.
    """
    env = os.environ if environ is None else environ
    names = set(LOOPBACK_NAMES)
    if bind_host not in _WILDCARD_BINDS:
        names.add(host_name(bind_host) if not _is_bare_ipv6(bind_host) else bind_host.lower())
    names.update(_clean(extra))
    names.update(_clean(env.get(ENV_ALLOWED_HOSTS, "").split(",")))
    names.discard("")
    return frozenset(names)


def _is_bare_ipv6(value: str) -> bool:
    return value.count(":") > 1 and not value.startswith("[")


def _clean(values: Iterable[str]) -> list[str]:
    return [v.strip().lower().strip("[]").rstrip(".") for v in values if v.strip()]


def is_allowed(host_header: bytes | None, allowed: frozenset[str]) -> bool:
    """Whether a request's ``Host`` may be served. A request without ``Host`` (HTTP/1.0 tools; browsers
    always send one) is served."""
    if "*" in allowed or host_header is None:
        return True
    return host_name(host_header.decode("latin-1")) in allowed
