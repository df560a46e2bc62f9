"""Pure rules of the listener bounds, the Host allow-list and the platform credential."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from kumo import platform_credential
from kumo.allowed_hosts import allowed_hosts, host_name, is_allowed
from kumo.listeners import (
    INTERNAL_KEEPALIVE_S,
    ConnectionGuard,
    HeadersTooLarge,
    ListenerLimits,
    declared_length,
    refusal,
)


def test_limits_default_and_from_env() -> None:
    public = ListenerLimits.from_env({})
    assert (public.header_timeout_s, public.body_timeout_s, public.keepalive_timeout_s) == (10.0, 10.0, 5.0)
    assert (public.max_connections, public.max_header_bytes) == (1024, 65536)
    assert ListenerLimits.from_env({}, internal=True).keepalive_timeout_s == INTERNAL_KEEPALIVE_S
    env = {
        "KUMO_HEADER_TIMEOUT": "2.5",
        "KUMO_BODY_TIMEOUT": "3",
        "KUMO_KEEPALIVE_TIMEOUT": "1",
        "KUMO_INTERNAL_KEEPALIVE_TIMEOUT": "60",
        "KUMO_MAX_CONNECTIONS": "50",
        "KUMO_MAX_HEADER_BYTES": "4096",
    }
    assert ListenerLimits.from_env(env) == ListenerLimits(2.5, 3.0, 1.0, 50, 4096)
    assert ListenerLimits.from_env(env, internal=True).keepalive_timeout_s == 60.0


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("KUMO_HEADER_TIMEOUT", "0"),
        ("KUMO_BODY_TIMEOUT", "-1"),
        ("KUMO_KEEPALIVE_TIMEOUT", "nan"),
        ("KUMO_MAX_CONNECTIONS", "1.5"),
        ("KUMO_MAX_HEADER_BYTES", "lots"),
        ("KUMO_HEADER_TIMEOUT", "inf"),
    ],
)
def test_bad_settings_name_their_variable(name: str, value: str) -> None:
    with pytest.raises(ValueError, match=name):
        ListenerLimits.from_env({name: value})


def test_sweep_interval_follows_the_shortest_timeout() -> None:
    assert ListenerLimits().sweep_interval_s == 1.0
    assert ListenerLimits(header_timeout_s=0.4).sweep_interval_s == pytest.approx(0.1)


def test_refusals_and_declared_lengths() -> None:
    answer = refusal(431, "Request header fields too large")
    assert answer.startswith(b"HTTP/1.1 431 Request Header Fields Too Large\r\n")
    assert b"connection: close\r\n" in answer and answer.endswith(b'{"message": "Request header fields too large"}')
    assert declared_length(b" 42 ") == 42 and declared_length("7") == 7
    assert declared_length(None) is None and declared_length(b"-1") is None and declared_length(b"1e9") is None


@pytest.mark.parametrize(
    ("value", "name"),
    [
        ("localhost", "localhost"),
        ("LocalHost:8080", "localhost"),
        ("[::1]:8080", "::1"),
        ("[::1]", "::1"),
        ("example.com.", "example.com"),
        ("a:b", ""),
        ("[::1", ""),
        ("[::1]x", ""),
    ],
)
def test_host_names(value: str, name: str) -> None:
    assert host_name(value) == name


def test_allow_list() -> None:
    allowed = allowed_hosts("0.0.0.0", ["dev.example", " Box.Local "], environ={"KUMO_ALLOWED_HOSTS": "a.test, b.test"})
    assert allowed == {"localhost", "127.0.0.1", "::1", "dev.example", "box.local", "a.test", "b.test"}
    assert "192.168.1.5" in allowed_hosts("192.168.1.5", environ={})
    assert "fe80::1" in allowed_hosts("fe80::1", environ={})
    assert is_allowed(b"localhost:8080", allowed) and is_allowed(b"[::1]:1", allowed)
    assert not is_allowed(b"evil.example", allowed) and not is_allowed(b"", allowed)
    assert is_allowed(None, allowed)  # HTTP/1.0 tools without Host; browsers always send one
    assert is_allowed(b"anything", allowed_hosts("127.0.0.1", ["*"], environ={}))


def test_platform_credential_file_and_compare(tmp_path: Path) -> None:
    first = platform_credential.load_or_create(tmp_path)
    assert len(first) >= 40
    assert stat.S_IMODE((tmp_path / platform_credential.FILE_NAME).stat().st_mode) == 0o600
    assert platform_credential.load_or_create(tmp_path) == first  # kept across restarts
    assert platform_credential.matches(first, first.encode()) and platform_credential.matches(first, first)
    assert not platform_credential.matches(first, None) and not platform_credential.matches(
        first, b"x" + first.encode()
    )
    assert platform_credential.matches(None, None)  # none configured: nothing checked
    assert platform_credential.from_env({"KUMO_PLATFORM_CREDENTIAL": " s "}) == "s"
    assert platform_credential.from_env({}) is None


class FakeTransport:
    def __init__(self) -> None:
        self.written = b""
        self.closed = False

    def write(self, data: bytes) -> None:
        self.written += data

    def close(self) -> None:
        self.closed = True


async def test_guard_evicts_the_longest_idle_and_refuses_when_none_is_idle() -> None:
    guard = ConnectionGuard(ListenerLimits(max_connections=3))
    a, b, c = FakeTransport(), FakeTransport(), FakeTransport()
    ca, cb, cc = guard.open(a), guard.open(b), guard.open(c)  # type: ignore[arg-type]
    assert ca and cb and cc
    ca.begin()  # a is in a request; b then c are idle (b longest)
    ca.headers_done()
    ca.message_done()
    d = FakeTransport()
    assert guard.open(d) is not None  # type: ignore[arg-type]
    assert b.closed and not a.closed and not c.closed and guard.evicted == 1
    ca.answered()  # a is idle again, now the most recent; c is the longest idle
    e = FakeTransport()
    assert guard.open(e) is not None and c.closed  # type: ignore[arg-type]
    for conn in list(guard.connections):
        conn.begin()  # everyone busy
    f = FakeTransport()
    assert guard.open(f) is None  # type: ignore[arg-type]
    assert f.closed and f.written.startswith(b"HTTP/1.1 503 ") and guard.refused == 1
    guard.close()


async def test_an_answer_before_the_body_ends_leaves_the_connection_reading() -> None:
    guard = ConnectionGuard(ListenerLimits())
    conn = guard.open(FakeTransport())  # type: ignore[arg-type]
    assert conn is not None
    conn.begin()
    conn.headers_done()
    conn.answered()  # a 413 sent at once
    assert conn not in guard.idle and conn.deadline < float("inf")  # the body timeout still applies
    conn.message_done()
    assert conn in guard.idle
    with pytest.raises(HeadersTooLarge):
        conn.begin()
        conn.head_bytes(guard.limits.max_header_bytes + 1)
    guard.close()


async def test_a_request_pipelined_behind_another_has_no_deadline_until_it_is_the_oldest() -> None:
    guard = ConnectionGuard(ListenerLimits())
    conn = guard.open(FakeTransport())  # type: ignore[arg-type]
    assert conn is not None
    conn.begin()
    conn.headers_done()
    conn.message_done()  # the first request is being answered (reading may be paused meanwhile)
    conn.begin()
    conn.headers_done()
    assert conn.deadline == float("inf")
    conn.answered()
    assert conn.deadline < float("inf") and conn.in_message  # now its body must keep coming
    guard.close()
