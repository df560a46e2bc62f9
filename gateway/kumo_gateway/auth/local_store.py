"""Local mode's access keys: ``<state-dir>/credentials.json`` (mode 0600, written atomically).

The secrets must stay usable for SigV4 (the algorithm needs the secret itself), so the file holds them
in the clear and is readable only by the user; the state directory itself is made 0700.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from kumo.access_keys import AccessKey, new_access_key
from kumo.policy import ALLOW_ALL, Policy
from kumo_gateway.auth.keys import KeyRing

log = logging.getLogger("kumo.auth")

CREDENTIALS_FILE = "credentials.json"
#: The name of the key ``kumo up`` creates at first start (policy ``*``).
DEFAULT_KEY_NAME = "default"


def private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) and make it 0700."""
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically, readable and writable only by the user (0600)."""
    staging = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(staging, 0o600)
        os.replace(staging, path)
    except BaseException:
        staging.unlink(missing_ok=True)
        raise


def read_keys(state_dir: Path) -> list[AccessKey]:
    """The keys in ``<state_dir>/credentials.json`` (empty when there is no file)."""
    path = state_dir / CREDENTIALS_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    return [AccessKey.from_json(item) for item in data.get("keys", [])]


class LocalKeyStore:
    """The key ring of a ``kumo up``, persisted to the state directory on every change."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.path = state_dir / CREDENTIALS_FILE
        self.ring = KeyRing()

    def load(self) -> None:
        private_dir(self.state_dir)
        self.ring.replace_all(read_keys(self.state_dir))
        if self.path.exists():
            os.chmod(self.path, 0o600)

    def _save(self) -> None:
        body = {"keys": [key.to_json() for key in self.ring.all()]}
        write_private(self.path, json.dumps(body, indent=2) + "\n")

    def create(self, name: str = "", policy: Policy = ALLOW_ALL) -> AccessKey:
        key = new_access_key(name, policy)
        self.ring.put(key)
        try:
            self._save()
        except BaseException:
            self.ring.remove(key.access_key_id)
            raise
        log.info("access key %s (%s) created", key.access_key_id, name or "unnamed")
        return key

    def ensure(self, name: str, policy: Policy = ALLOW_ALL) -> AccessKey:
        """The key named ``name``, created on first need."""
        return self.ring.by_name(name) or self.create(name, policy)

    def revoke(self, access_key_id: str) -> bool:
        removed = self.ring.remove(access_key_id)
        if removed is None:
            return False
        try:
            self._save()
        except BaseException:
            self.ring.put(removed)
            raise
        log.info("access key %s (%s) revoked", access_key_id, removed.name or "unnamed")
        return True

    def list(self) -> list[AccessKey]:
        return self.ring.all()
