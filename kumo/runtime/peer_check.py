"""Which process is on the other end of a loopback TCP connection, and is it the instance's?

The Runtime API of an instance listens on 127.0.0.1, where any local process can connect. On each new
connection the server asks :class:`PeerCheck` once (keep-alive connections cost nothing afterwards):

1. the kernel's socket diagnostics (``NETLINK_SOCK_DIAG``, an exact ``INET_DIAG`` lookup of the
   connecting socket by its address pair) give the peer socket's inode;
2. that inode must be among the open files of the instance's process tree: the runtime child itself,
   then processes of its session (the child leads its own session).

Where the lookup is not available (not Linux, no ``sock_diag``, ``/proc`` hidden) the check allows the
connection and says so once in the log (documented in ``docs/security.md``).
"""

from __future__ import annotations

import errno
import ipaddress
import logging
import os
import socket
import struct
from collections.abc import Callable

log = logging.getLogger("kumo.runtime")

NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
NLM_F_REQUEST = 1
NLMSG_ERROR = 2
_NLMSG = struct.Struct("=IHHII")
_REQ = struct.Struct("=BBBBI")  # family, protocol, ext, pad, states
_SOCKID = struct.Struct("!HH16s16s")  # sport, dport, src, dst (network order)
_SOCKID_TAIL = struct.Struct("=III")  # interface, cookie[2]
_MSG_TAIL = struct.Struct("=IIIII")  # expires, rqueue, wqueue, uid, inode
_NOCOOKIE = 0xFFFFFFFF


class PeerUnknown(Exception):
    """The peer's socket could not be looked up on this system."""


def _address_bytes(host: str) -> tuple[int, bytes]:
    address = ipaddress.ip_address(host)
    family = socket.AF_INET if address.version == 4 else socket.AF_INET6
    return family, address.packed.ljust(16, b"\0")


def diag_request(peer: tuple[str, int], local: tuple[str, int], seq: int = 1) -> bytes:
    """The netlink message asking for the socket ``peer`` → ``local`` (the connecting side's socket)."""
    family, src = _address_bytes(peer[0])
    _, dst = _address_bytes(local[0])
    body = (
        _REQ.pack(family, socket.IPPROTO_TCP, 0, 0, 0xFFFFFFFF)
        + _SOCKID.pack(peer[1], local[1], src, dst)
        + _SOCKID_TAIL.pack(0, _NOCOOKIE, _NOCOOKIE)
    )
    return _NLMSG.pack(_NLMSG.size + len(body), SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST, seq, 0) + body


def parse_diag_reply(data: bytes) -> tuple[int, int] | None:
    """``(uid, inode)`` from an ``inet_diag_msg`` reply; ``None`` if the kernel found no such socket."""
    if len(data) < _NLMSG.size:
        raise PeerUnknown("short netlink reply")
    _length, kind, _flags, _seq, _pid = _NLMSG.unpack_from(data)
    if kind == NLMSG_ERROR:
        (error,) = struct.unpack_from("=i", data, _NLMSG.size)
        if -error == errno.ENOENT:  # no such socket (it closed already)
            return None
        raise PeerUnknown(f"sock_diag answered error {-error}")
    if kind != SOCK_DIAG_BY_FAMILY:
        raise PeerUnknown(f"unexpected netlink message type {kind}")
    offset = _NLMSG.size + 4 + _SOCKID.size + _SOCKID_TAIL.size
    _expires, _rq, _wq, uid, inode = _MSG_TAIL.unpack_from(data, offset)
    return uid, inode


def peer_socket(peer: tuple[str, int], local: tuple[str, int]) -> tuple[int, int] | None:
    """``(uid, inode)`` of the connecting socket, asked from the kernel (raises :class:`PeerUnknown`)."""
    try:
        with socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_SOCK_DIAG) as nl:
            nl.settimeout(1.0)
            nl.send(diag_request(peer, local))
            return parse_diag_reply(nl.recv(8192))
    except (OSError, AttributeError, struct.error) as exc:
        raise PeerUnknown(str(exc)) from None


def holds_socket(pid: int, inode: int) -> bool:
    """Whether process ``pid`` has socket ``inode`` among its open files."""
    target = f"socket:[{inode}]"
    fd_dir = f"/proc/{pid}/fd"
    try:
        for fd in os.listdir(fd_dir):
            try:
                if os.readlink(f"{fd_dir}/{fd}") == target:
                    return True
            except OSError:
                continue
    except FileNotFoundError:
        return False
    return False


def session_members(leader: int) -> list[int]:
    """Processes whose session id is ``leader`` (the instance's tree, unless one left with ``setsid``)."""
    out: list[int] = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == leader:
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()
        if len(fields) > 3 and int(fields[3]) == leader:
            out.append(int(entry))
    return out


class PeerCheck:
    """Is the other end of a new Runtime API connection the instance (pid ``owner``) or its tree?"""

    _warned = False

    def __init__(self) -> None:
        self._owner: int | None = None
        self._waiting: list[Callable[[], None]] = []

    @property
    def owner(self) -> int | None:
        """The instance's process (the runtime child); ``None`` until it is spawned."""
        return self._owner

    @owner.setter
    def owner(self, pid: int | None) -> None:
        self._owner = pid
        if pid is not None:
            waiting, self._waiting = self._waiting, []
            for callback in waiting:
                callback()

    def when_owner(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once the owner is known (connections made before the spawn returned)."""
        self._waiting.append(callback)

    def allows(self, peer: tuple[str, int], local: tuple[str, int]) -> bool:
        owner = self.owner
        if owner is None:
            return False  # no instance yet: nobody may take its invocations
        try:
            found = peer_socket(peer[:2], local[:2])
        except PeerUnknown as exc:
            self._warn(str(exc))
            return True
        if found is None:
            return False
        _uid, inode = found
        try:
            if holds_socket(owner, inode):
                return True
            return any(holds_socket(pid, inode) for pid in session_members(owner))
        except PermissionError as exc:
            self._warn(f"cannot read the instance's open files: {exc}")
            return True

    @classmethod
    def _warn(cls, reason: str) -> None:
        if not cls._warned:
            cls._warned = True
            log.warning("Runtime API peer check unavailable (%s): connections are not bound to instances", reason)
