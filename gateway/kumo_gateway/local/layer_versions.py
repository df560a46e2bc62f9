"""Local mode's layer versions (:class:`~kumo_gateway.lambda_.layer_versions.LayerVersionStore`) over
:class:`kumo.packages.layers.LayerStore`, the one ``kumo layer publish`` uses.

Each version's files are ``<state-dir>/layers/NAME/N/``; its description, runtimes, creation date and
archive hash sit beside them in ``NAME/N.json`` (absent for versions published offline). A deleted
version keeps its files (functions naming it keep working, as on Lambda) behind ``NAME/N.deleted``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import tempfile
import time
from pathlib import Path

from kumo.packages.code_store import ref_of
from kumo.packages.layers import LayerStore
from kumo.packages.plan import PackageError
from kumo_gateway.lambda_.layer_versions import LayerVersion, invalid


class LocalLayerVersions:
    def __init__(self, store: LayerStore) -> None:
        self.store = store

    async def publish(self, name: str, data: bytes, description: str, runtimes: tuple[str, ...]) -> LayerVersion:
        return await asyncio.to_thread(self._publish, name, data, description, runtimes)

    def _publish(self, name: str, data: bytes, description: str, runtimes: tuple[str, ...]) -> LayerVersion:
        with tempfile.TemporaryDirectory() as scratch:
            archive = Path(scratch) / "layer.zip"
            archive.write_bytes(data)
            try:
                number = self.store.publish(name, archive)
            except PackageError as exc:
                raise invalid(str(exc)) from None
        ref = ref_of(data)
        layer = LayerVersion(
            name,
            number,
            ref.sha256,
            ref.size,
            description,
            time.strftime("%Y-%m-%dT%H:%M:%S.000+0000", time.gmtime()),
            runtimes,
        )
        meta = {
            "Description": layer.description,
            "CompatibleRuntimes": list(runtimes),
            "CreatedDate": layer.created,
            "Sha256": layer.sha256,
            "CodeSize": layer.size,
        }
        (self.store.root / name / f"{number}.json").write_text(json.dumps(meta))
        return layer

    async def versions(self, name: str) -> list[LayerVersion]:
        return [self._read(name, number) for number in self.store.versions(name)]

    async def names(self) -> list[str]:
        if not self.store.root.is_dir():
            return []
        return sorted(p.name for p in self.store.root.iterdir() if p.is_dir() and self.store.versions(p.name))

    async def delete(self, name: str, version: int) -> None:
        self.store.delete(name, version)

    def _read(self, name: str, number: int) -> LayerVersion:
        meta: dict = {}
        with contextlib.suppress(OSError, ValueError):  # published offline (`kumo layer publish`): no sidecar
            meta = json.loads((self.store.root / name / f"{number}.json").read_text())
        sha = str(meta.get("Sha256") or "")
        if not sha and meta.get("CodeSha256"):  # sidecars written before the hex hash was kept
            with contextlib.suppress(ValueError, binascii.Error):
                sha = base64.b64decode(meta["CodeSha256"]).hex()
        return LayerVersion(
            name,
            number,
            sha,
            int(meta.get("CodeSize") or 0),
            str(meta.get("Description") or ""),
            str(meta.get("CreatedDate") or "1970-01-01T00:00:00.000+0000"),
            tuple(str(r) for r in meta.get("CompatibleRuntimes") or ()),
        )
