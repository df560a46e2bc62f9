"""The Runtime API serves its own instance's process tree only: a foreign local process is refused."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys

import pytest
from runtime_support import invocation

from kumo.runtime.peer_check import PeerCheck, diag_request, parse_diag_reply, peer_socket
from kumo.runtime.runtime_server import RuntimeApiServer
from kumo.runtime.session import RuntimeSession

APP = """
import os
def handler(event, context):
    return {"pid": os.getpid(), "api": os.environ["AWS_LAMBDA_RUNTIME_API"], "event": event}
"""

#: A process outside the instance's tree trying to take the next invocation.
FOREIGN = r"""
import socket, sys
host, port = sys.argv[1].split(":")
s = socket.create_connection((host, int(port)), timeout=10)
s.sendall(b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n")
data = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
print(data.decode("latin-1"))
"""


async def test_foreign_process_is_refused_and_the_invocation_reaches_the_instance(make_config, hosts):
    config = make_config(APP, name="bound")
    host = await hosts(config)
    first = json.loads((await host.invoke(invocation(config, b'{"n": 1}'))).payload)
    assert first["pid"] == host.pid
    foreign = await asyncio.create_subprocess_exec(
        sys.executable, "-c", FOREIGN, first["api"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        # The instance is parked on /next; the foreign process asks too, and the invocation is submitted.
        result = await host.invoke(invocation(config, b'{"n": 2}'))
        out, err = await asyncio.wait_for(foreign.communicate(), 15)
    finally:
        if foreign.returncode is None:
            foreign.kill()
            await foreign.wait()
    assert json.loads(result.payload) == {"pid": host.pid, "api": first["api"], "event": {"n": 2}}
    text = out.decode()
    assert text.startswith("HTTP/1.1 403"), (text, err)
    assert "Forbidden" in text and "Lambda-Runtime-Aws-Request-Id" not in text
    third = json.loads((await host.invoke(invocation(config, b'{"n": 3}'))).payload)
    assert third["event"] == {"n": 3} and third["pid"] == host.pid  # the instance still owns its API


def _pair() -> tuple[socket.socket, socket.socket, socket.socket]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    client = socket.create_connection(server.getsockname())
    accepted, _ = server.accept()
    return server, client, accepted


def test_peer_check_finds_the_connecting_socket_in_its_owner():
    server, client, accepted = _pair()
    try:
        peer, local = accepted.getpeername(), accepted.getsockname()
        found = peer_socket(peer, local)
        assert found == (os.getuid(), os.fstat(client.fileno()).st_ino)
        check = PeerCheck()
        assert check.allows(peer, local) is False  # no owner yet: nobody
        check.owner = os.getpid()
        assert check.allows(peer, local) is True
        with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"]) as other:
            try:
                check.owner = other.pid  # a process that does not hold the socket
                assert check.allows(peer, local) is False
            finally:
                other.kill()
    finally:
        for s in (server, client, accepted):
            s.close()


def test_diag_messages():
    request = diag_request(("127.0.0.1", 40000), ("127.0.0.1", 9001))
    assert len(request) == 16 + 56 and request[4:6] == (20).to_bytes(2, sys.byteorder)
    error = (
        (36).to_bytes(4, sys.byteorder)
        + (2).to_bytes(2, sys.byteorder)
        + bytes(10)
        + (-2).to_bytes(4, sys.byteorder, signed=True)
    )
    assert parse_diag_reply(error + bytes(16)) is None  # ENOENT: the socket is gone
    with pytest.raises(Exception, match="short"):
        parse_diag_reply(b"\0")


async def _ask(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /2018-06-01/runtime/no-such-route HTTP/1.1\r\nHost: x\r\n\r\n")
    await writer.drain()
    return reader, writer


async def test_a_connection_made_before_the_pid_is_known_waits_for_the_verdict():
    check = PeerCheck()
    server = RuntimeApiServer(RuntimeSession(lambda: None), check)
    port = await server.start()
    try:
        reader, writer = await _ask(port)
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(reader.read(100), 0.2)  # held: the instance's pid is not known yet
        check.owner = os.getpid()  # this process holds the client socket: allowed, the request is answered
        assert (await asyncio.wait_for(reader.readline(), 5)).startswith(b"HTTP/1.1 404")
        writer.close()
        with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"]) as other:
            try:
                check.owner = other.pid
                reader, writer = await _ask(port)
                assert (await asyncio.wait_for(reader.readline(), 5)).startswith(b"HTTP/1.1 403")
                writer.close()
            finally:
                other.kill()
    finally:
        await server.close()
