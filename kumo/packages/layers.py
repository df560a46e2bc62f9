"""Layers: immutable numbered versions under `<state-dir>/layers/NAME/N/`, merged into one `opt` dir.

Local mode cannot mount `/opt`: the merged dir of a function's layers (in order, later layers win on
file conflicts) is handed to the runtime as `KUMO_OPT_DIR`; the Python runtime puts
`$KUMO_OPT_DIR/python/lib/python3.X/site-packages` and `$KUMO_OPT_DIR/python` on sys.path after the
function's own package, and `$KUMO_OPT_DIR/bin` goes first on PATH (docs/packages.md).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from kumo.packages.build import PackageSource, build_package, read_directory, read_zip
from kumo.packages.plan import PackageError

LAYER_NAME_PATTERN = r"^[A-Za-z0-9_-]{1,140}$"
LAYER_REF_PATTERN = r"^[A-Za-z0-9_-]{1,140}(:[1-9][0-9]{0,8})?$"
#: Lambda's limit of layers per function.
MAX_LAYERS = 5
#: The environment variable that stands for `/opt` in local mode.
OPT_ENV = "KUMO_OPT_DIR"


def parse_layer_ref(ref: str) -> tuple[str, int | None]:
    """`NAME[:VERSION]` → (name, version or None for the latest)."""
    if not re.match(LAYER_REF_PATTERN, ref):
        raise PackageError(f"layer {ref!r} must be NAME or NAME:VERSION")
    name, _, version = ref.partition(":")
    return name, int(version) if version else None


def opt_environment(opt_dir: Path, host_path: str) -> dict[str, str]:
    """The variables that make a merged layer dir the function's `/opt` (bin/ first on PATH)."""
    return {OPT_ENV: str(opt_dir), "PATH": f"{opt_dir / 'bin'}:{host_path}"}


class LayerStore:
    """Published layer versions of one state dir (local mode, offline `kumo layer publish`)."""

    def __init__(self, state_dir: Path) -> None:
        self.root = state_dir / "layers"
        self.cache = state_dir / "packages"

    def versions(self, name: str) -> list[int]:
        """The versions of `name`, without deleted ones (DeleteLayerVersion)."""
        deleted = self.deleted(name)
        return [number for number in self._numbers(name) if number not in deleted]

    def _numbers(self, name: str) -> list[int]:
        """Every version ever published (a deleted one keeps its dir: functions using it keep working)."""
        folder = self.root / name
        if not folder.is_dir():
            return []
        return sorted(int(p.name) for p in folder.iterdir() if p.name.isdigit() and p.is_dir())

    def deleted(self, name: str) -> set[int]:
        folder = self.root / name
        if not folder.is_dir():
            return set()
        return {int(p.stem) for p in folder.glob("*.deleted") if p.stem.isdigit()}

    def delete(self, name: str, version: int) -> None:
        """Hide version `version` from listings and from `NAME` (latest); its number is never reused."""
        if version in self._numbers(name):
            (self.root / name / f"{version}.deleted").touch()

    def publish(self, name: str, source: Path, runtime: str = "python3.12") -> int:
        """A new version N of layer `name` from a directory, a zip, or a requirements file (→ `python/`)."""
        if not re.match(LAYER_NAME_PATTERN, name):
            raise PackageError(f"layer name {name!r}: 1-140 letters, digits, '-' or '_'")
        if source.is_dir():
            content = read_directory(source)
        elif source.suffix == ".zip":
            content = read_zip(source)
        elif source.is_file():
            lines = source.read_text(encoding="utf-8").splitlines()
            with tempfile.TemporaryDirectory() as scratch:
                built = build_package(f"layer {name}", {}, lines, runtime, Path(scratch))
                content = read_directory(built.path)
            content = PackageSource({f"python/{k}": v for k, v in content.files.items()}, frozenset())
        else:
            raise PackageError(f"{source}: no such file or directory")
        folder = self.root / name
        folder.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=folder))
        try:
            _write(staging, content)
            for _ in range(100):  # another publisher may take the number first
                version = (self._numbers(name) or [0])[-1] + 1
                try:
                    os.rename(staging, folder / str(version))
                    return version
                except OSError:
                    continue
            raise PackageError(f"layer {name}: could not allocate a version")
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def publish_if_changed(self, name: str, source: Path) -> tuple[int, bool]:
        """Publish a directory or zip as layer `name` unless its latest version has the same files.

        For layers declared in a SAM template: `kumo up` then adds a version only when the content
        changed. Returns `(version, published)`.
        """
        if source.is_dir():
            content = read_directory(source)
        elif source.suffix == ".zip" and source.is_file():
            content = read_zip(source)
        else:
            raise PackageError(f"layer {name}: {source} is not a directory or a .zip")
        known = self.versions(name)
        if known and read_directory(self.root / name / str(known[-1])).files == content.files:
            return known[-1], False
        return self.publish(name, source), True

    def resolve(self, refs: Sequence[str]) -> list[Path]:
        """The dirs of `refs` (latest version when none is given); a missing one is a PackageError."""
        if len(refs) > MAX_LAYERS:
            raise PackageError(f"at most {MAX_LAYERS} layers per function")
        dirs = []
        for ref in refs:
            name, version = parse_layer_ref(ref)
            known = self.versions(name)
            if version is None:
                if not known:
                    raise PackageError(f"layer {name!r} has no published version")
                version = known[-1]
            if version not in self._numbers(name):  # a deleted version still serves who names it
                raise PackageError(f"layer {name}:{version} not found (versions: {', '.join(map(str, known))})")
            dirs.append(self.root / name / str(version))
        return dirs

    def merged(self, refs: Sequence[str]) -> Path | None:
        """One content-addressed `opt-<address>` dir per layer combination (`None` without layers)."""
        dirs = self.resolve(refs)
        if not dirs:
            return None
        address = hashlib.sha256("\0".join(str(d.resolve()) for d in dirs).encode()).hexdigest()
        final = self.cache / f"opt-{address}"
        if final.is_dir():
            return final
        self.cache.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=self.cache))
        try:
            for layer in dirs:  # in order: a later layer's file replaces an earlier one's
                shutil.copytree(layer, staging, dirs_exist_ok=True, copy_function=_replace)
            try:
                os.rename(staging, final)
            except OSError:
                if not final.is_dir():
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return final


def _write(root: Path, content: PackageSource) -> None:
    for name, data in content.files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        os.chmod(target, 0o555 if name in content.executables else 0o444)


def _replace(source: str, target: str) -> None:
    if os.path.lexists(target):
        os.unlink(target)  # read-only files are replaced, not written through
    shutil.copy2(source, target)
