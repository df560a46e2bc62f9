"""Where the gateway looks access keys up: an in-memory map, filled by a store (file or Secrets)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from kumo.access_keys import AccessKey


class KeyLookup(Protocol):
    """What verification needs of a key store (:class:`KeyRing` is one)."""

    def lookup(self, access_key_id: str) -> AccessKey | None: ...


class KeyRing:
    """Access keys by id; lookups are a dict read (the hot path), changes replace entries atomically."""

    def __init__(self, keys: Iterable[AccessKey] = ()) -> None:
        self._keys: dict[str, AccessKey] = {key.access_key_id: key for key in keys}
        #: Keys of this process only (no store holds them): kept when the store's keys are replaced.
        self._process_keys: dict[str, AccessKey] = {}

    def lookup(self, access_key_id: str) -> AccessKey | None:
        return self._keys.get(access_key_id)

    def put(self, key: AccessKey) -> None:
        self._keys[key.access_key_id] = key

    def remove(self, access_key_id: str) -> AccessKey | None:
        return self._keys.pop(access_key_id, None)

    def replace_all(self, keys: Iterable[AccessKey]) -> None:
        """The store's keys become ``keys``; this process's own keys stay."""
        self._keys = {key.access_key_id: key for key in keys} | self._process_keys

    def add_process_key(self, key: AccessKey) -> None:
        """A key only this process knows (e.g. its stream pollers' own), kept across :meth:`replace_all`."""
        self._process_keys[key.access_key_id] = key
        self._keys[key.access_key_id] = key

    def all(self) -> list[AccessKey]:
        return sorted(self._keys.values(), key=lambda k: (k.created, k.access_key_id))

    def by_name(self, name: str) -> AccessKey | None:
        return next((key for key in self._keys.values() if key.name == name), None)
