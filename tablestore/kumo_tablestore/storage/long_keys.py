"""Table keys longer than LMDB's 511-byte key limit, kept in exact key order.

A key of at most :data:`SHORT_MAX` bytes is an ``items`` key unchanged (the common, fast path).
A longer key ``K`` is cut into its *group* ``K[:SHORT_MAX]`` and then chunks of :data:`CHUNK` bytes,
the last one 1..CHUNK bytes long. The chunks form a trie in the ``overflow`` sub-database:

- ``items``:    ``group + b"\\x00"`` -> 8-byte id of the group's root node
- ``overflow``: ``node + chunk + b"\\x01"`` -> child node id (a full chunk; the key goes on)
- ``overflow``: ``node + chunk + b"\\x00"`` -> the item's stored value (the key's last chunk)

Why the order is exact: every short key is at most ``SHORT_MAX`` bytes, so it sorts against a group
entry exactly as against every key in that group. Inside a node, ``chunk + 0x00`` (the key ends)
sorts before ``chunk + 0x01`` (keys that go on), and a shorter last chunk sorts before any chunk it
is a prefix of, so the siblings' LMDB order is the full keys' order. An in-order walk of the trie
is therefore DynamoDB's order. Node ids come from a counter; empty nodes are removed on delete.

A long item's TTL index entry is ``expiry + b"\\xff" + node + last chunk`` (unique, < 511 bytes)
with the full key as its value; short keys (which start with a type tag, never ``0xFF``) have an
empty value there.
"""

from __future__ import annotations

from collections.abc import Iterator

import lmdb

#: Longest key stored as it is in ``items``; also the length of a long key's group prefix.
SHORT_MAX = 480
#: Bytes of key per trie level below the group.
CHUNK = 480
#: First byte of a long item's TTL index locator (after the expiry).
LONG_LOCATOR = b"\xff"

_GROUP = b"\x00"
_LEAF = 0x00
_INNER = 0x01
_ID = 8
_NEXT_NODE = b"\x00next_node"
_LONG_ADJUST = b"\x00long_adjust"  # long items minus group entries: corrects items' entry count


def is_long(key: bytes) -> bool:
    return len(key) > SHORT_MAX


def split(key: bytes) -> tuple[bytes, list[bytes], bytes]:
    """``(group, full inner chunks, last chunk)`` of a long key."""
    rest = key[SHORT_MAX:]
    n = (len(rest) - 1) // CHUNK
    return key[:SHORT_MAX], [rest[i * CHUNK : (i + 1) * CHUNK] for i in range(n)], rest[n * CHUNK :]


def _u64(n: int) -> bytes:
    return n.to_bytes(_ID, "big")


class LongKeys:
    """The trie of long keys; every method works inside a caller's transaction."""

    def __init__(self, items: lmdb._Database, overflow: lmdb._Database, meta: lmdb._Database) -> None:
        self._items = items
        self._overflow = overflow
        self._meta = meta

    # ---- point access ----------------------------------------------------------------------------

    def _path(self, txn: lmdb.Transaction, key: bytes, create: bool) -> list[tuple[bytes, bytes]] | None:
        """``[(entry, node id), ...]`` from the group entry down to the node holding the last chunk."""
        group, inner, _ = split(key)
        entries = [group + _GROUP]
        path: list[tuple[bytes, bytes]] = []
        node = b""
        for i in range(len(inner) + 1):
            if i:
                entries.append(node + inner[i - 1] + bytes([_INNER]))
            db = self._overflow if i else self._items
            found = txn.get(entries[i], db=db)
            if found is None:
                if not create:
                    return None
                found = self._new_node(txn)
                txn.put(entries[i], found, db=db)
                if not i:
                    self._adjust(txn, -1)
            node = bytes(found)
            path.append((entries[i], node))
        return path

    def get(self, txn: lmdb.Transaction, key: bytes) -> bytes | memoryview | None:
        path = self._path(txn, key, create=False)
        return None if path is None else txn.get(path[-1][1] + split(key)[2] + bytes([_LEAF]), db=self._overflow)

    def locator(self, txn: lmdb.Transaction, key: bytes) -> bytes | None:
        """The TTL index locator of a stored long key (``None``: not stored)."""
        path = self._path(txn, key, create=False)
        return None if path is None else LONG_LOCATOR + path[-1][1] + split(key)[2]

    def put(self, txn: lmdb.Transaction, key: bytes, value: bytes) -> tuple[bytes | None, bytes]:
        """Store ``value``; returns ``(previous value or None, locator)``."""
        path = self._path(txn, key, create=True)
        assert path is not None
        node, last = path[-1][1], split(key)[2]
        leaf = node + last + bytes([_LEAF])
        old = txn.get(leaf, db=self._overflow)
        old = None if old is None else bytes(old)
        txn.put(leaf, value, db=self._overflow)
        if old is None:
            self._adjust(txn, 1)
        return old, LONG_LOCATOR + node + last

    def delete(self, txn: lmdb.Transaction, key: bytes) -> tuple[bytes | None, bytes]:
        """Remove the key and any nodes left empty; returns ``(previous value or None, locator)``."""
        path = self._path(txn, key, create=False)
        if path is None:
            return None, b""
        node, last = path[-1][1], split(key)[2]
        leaf = node + last + bytes([_LEAF])
        old = txn.get(leaf, db=self._overflow)
        if old is None:
            return None, b""
        old = bytes(old)
        txn.delete(leaf, db=self._overflow)
        self._adjust(txn, -1)
        for depth in range(len(path) - 1, -1, -1):
            entry, child = path[depth]
            if self._has_children(txn, child):
                break
            txn.delete(entry, db=self._overflow if depth else self._items)
            if not depth:
                self._adjust(txn, 1)
        return old, LONG_LOCATOR + node + last

    def _has_children(self, txn: lmdb.Transaction, node: bytes) -> bool:
        cur = txn.cursor(db=self._overflow)
        return cur.set_range(node) and bytes(cur.key()[:_ID]) == node

    def _new_node(self, txn: lmdb.Transaction) -> bytes:
        raw = txn.get(_NEXT_NODE, db=self._meta)
        n = int.from_bytes(raw, "big") if raw is not None else 1
        txn.put(_NEXT_NODE, _u64(n + 1), db=self._meta)
        return _u64(n)

    def _adjust(self, txn: lmdb.Transaction, delta: int) -> None:
        value = self.count_adjustment(txn) + delta
        txn.put(_LONG_ADJUST, value.to_bytes(_ID, "big", signed=True), db=self._meta)

    def count_adjustment(self, txn: lmdb.Transaction) -> int:
        """Long items minus group entries: add to ``items``' entry count to get the item count."""
        raw = txn.get(_LONG_ADJUST, db=self._meta)
        return int.from_bytes(raw, "big", signed=True) if raw is not None else 0

    # ---- ordered walks ---------------------------------------------------------------------------

    def position(
        self, txn: lmdb.Transaction, start: bytes | None, incl: bool, forward: bool
    ) -> tuple[Iterator[tuple[bytes, bytes]], Iterator[tuple[bytes, bytes]]]:
        """Start an ordered walk at ``start``: ``(long rows of start's own group, items entries)``.

        The second iterator gives ``items`` entries as they are: the caller expands group entries
        (``len(key) > SHORT_MAX``) with :meth:`group`. Short keys thus need no Python generator
        per row.
        """
        cur = txn.cursor(db=self._items)
        head: Iterator[tuple[bytes, bytes]] = iter(())
        if start is None:
            ok = cur.first() if forward else cur.last()
        elif not is_long(start):
            ok = _seek(cur, start, incl, forward)
        else:
            entry = start[:SHORT_MAX] + _GROUP
            ok = _seek(cur, entry, True, forward)
            if ok and cur.key() == entry:
                head = self._walk_node(txn, cur.value(), start[:SHORT_MAX], start[SHORT_MAX:], incl, forward)
                ok = cur.next() if forward else cur.prev()
        if not ok:
            return head, iter(())
        return head, (cur.iternext() if forward else cur.iterprev())

    def group(self, txn: lmdb.Transaction, entry: bytes, root: bytes, forward: bool) -> Iterator[tuple[bytes, bytes]]:
        """All rows of one group entry of ``items``, in order."""
        return self._walk_node(txn, root, entry[:SHORT_MAX], None, True, forward)

    def _walk_node(
        self, txn: lmdb.Transaction, node: bytes, path: bytes, rest: bytes | None, incl: bool, forward: bool
    ) -> Iterator[tuple[bytes, bytes]]:
        node = bytes(node)
        cur = txn.cursor(db=self._overflow)
        if rest is None:
            ok = cur.set_range(node) if forward else _seek(cur, _u64(int.from_bytes(node, "big") + 1), False, False)
        elif len(rest) <= CHUNK:
            ok = _seek(cur, node + rest + bytes([_LEAF]), incl, forward)
        else:
            entry = node + rest[:CHUNK] + bytes([_INNER])
            ok = _seek(cur, entry, True, forward)
            if ok and cur.key() == entry:
                yield from self._walk_node(txn, cur.value(), path + rest[:CHUNK], rest[CHUNK:], incl, forward)
                ok = cur.next() if forward else cur.prev()
        if not ok:
            return
        for key, value in cur.iternext() if forward else cur.iterprev():
            if key[:_ID] != node:
                return
            if key[-1] == _LEAF:
                yield path + key[_ID:-1], value
            else:
                yield from self._walk_node(txn, value, path + key[_ID:-1], None, True, forward)

    # ---- integrity -------------------------------------------------------------------------------

    def leaves(self, txn: lmdb.Transaction, problems: list[str]) -> Iterator[tuple[bytes, bytes, bytes]]:
        """Every long item as ``(key, stored value, locator)``; structural faults go to ``problems``."""
        groups = leaves = visited = 0
        for entry, root in txn.cursor(db=self._items):
            if len(entry) <= SHORT_MAX:
                continue
            groups += 1
            if len(entry) != SHORT_MAX + 1 or entry[-1:] != _GROUP or len(root) != _ID:
                problems.append(f"group entry {entry[:16]!r}...: malformed")
                continue
            stack = [(bytes(root), bytes(entry[:SHORT_MAX]))]
            while stack:
                node, path = stack.pop()
                children = 0
                cur = txn.cursor(db=self._overflow)
                ok = cur.set_range(node)
                while ok and cur.key()[:_ID] == node:
                    key, value = cur.item()
                    children += 1
                    chunk = key[_ID:-1]
                    if key[-1] == _LEAF and 0 < len(chunk) <= CHUNK:
                        leaves += 1
                        yield path + chunk, value, LONG_LOCATOR + node + chunk
                    elif key[-1] == _INNER and len(chunk) == CHUNK and len(value) == _ID:
                        stack.append((value, path + chunk))
                    else:
                        problems.append(f"overflow entry of node {node.hex()}: malformed")
                    ok = cur.next()
                visited += children
                if not children:
                    problems.append(f"overflow node {node.hex()}: empty")
        if visited != txn.stat(self._overflow)["entries"]:
            problems.append("overflow sub-database has unreachable entries")
        if leaves - groups != self.count_adjustment(txn):
            problems.append("long-key item count is out of step")


def _seek(cur: lmdb.Cursor, key: bytes, incl: bool, forward: bool) -> bool:
    """Position ``cur`` on the first entry after (forward) or before ``key``, or on it if ``incl``."""
    ok = cur.set_range(key)
    if forward:
        if ok and not incl and cur.key() == key:
            ok = cur.next()
        return ok
    if not ok:
        return cur.last()
    if cur.key() > key or (cur.key() == key and not incl):
        return cur.prev()
    return True
