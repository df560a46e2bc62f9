"""Building a deployment package into the content-addressed cache `<cache>/<address>/` (the I/O side).

The package dir is used in place as the function's task root (LAMBDA_TASK_ROOT): built once at
load/reload, never copied or unpacked per cold start. A build goes to a staging dir under the cache
and is atomically renamed, so a failed or interrupted build leaves nothing half-built.
"""

from __future__ import annotations

import logging
import os
import platform
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from kumo.packages.plan import (
    PackageError,
    PackagePlan,
    check_zip_entry,
    check_zip_sizes,
    files_digest,
    pip_command,
    pip_failure,
    pip_platform,
    plan_package,
)

log = logging.getLogger("kumo.packages")

#: A pip install that runs longer than this is stopped (and reported as failed).
PIP_TIMEOUT_SECONDS = 600


@dataclass(frozen=True)
class BuiltPackage:
    """A package in the cache; `installed` says whether this call ran pip (False: reused)."""

    address: str
    path: Path
    installed: bool


@dataclass(frozen=True)
class PackageSource:
    """Code files (relative '/' names → bytes) and which of them are executable (e.g. `bootstrap`)."""

    files: dict[str, bytes]
    executables: frozenset[str] = frozenset()


def read_directory(root: Path) -> PackageSource:
    """Every regular file under `root`, with its executable bit; symlinks out of `root` are refused."""
    if not root.is_dir():
        raise PackageError(f"code path {str(root)!r} is not a directory")
    resolved_root = root.resolve()
    files: dict[str, bytes] = {}
    executables: set[str] = set()
    for path in sorted(root.rglob("*")):
        if path.is_symlink() and not path.resolve().is_relative_to(resolved_root):
            raise PackageError(f"{path}: symbolic link out of the code directory")
        if path.is_file() and "__pycache__" not in path.parts:
            name = path.relative_to(root).as_posix()
            files[name] = path.read_bytes()
            if os.access(path, os.X_OK):
                executables.add(name)
    return PackageSource(files, frozenset(executables))


def read_zip(path: Path) -> PackageSource:
    """The members of a Lambda deployment package, checked (no absolute/`..`/symlink, size limits)."""
    try:
        zipped = path.stat().st_size
        with zipfile.ZipFile(path) as archive:
            infos = [info for info in archive.infolist() if not info.is_dir()]
            problem = check_zip_sizes(zipped, sum(info.file_size for info in infos))
            for info in infos:
                is_link = stat.S_ISLNK(info.external_attr >> 16)
                problem = problem or check_zip_entry(info.filename, is_link)
            if problem:
                raise PackageError(f"{path.name}: {problem}")
            files = {info.filename: archive.read(info) for info in infos}
            executables = frozenset(info.filename for info in infos if (info.external_attr >> 16) & 0o111)
            return PackageSource(files, executables)
    except (OSError, zipfile.BadZipFile) as exc:
        raise PackageError(f"{path.name}: not a readable zip: {exc}") from exc


def build_package(
    function: str,
    files: Mapping[str, bytes],
    requirements: Sequence[str],
    runtime: str,
    cache: Path,
    *,
    python: str = sys.executable,
    machine: str | None = None,
    executables: Collection[str] = (),
) -> BuiltPackage:
    """The cached package for these code files + requirements, built (pip, then code on top) if missing.

    Files are written read-only (0o444, 0o555 when in `executables`): functions never change them.
    """
    digest = files_digest(files, executables)
    plan = plan_package(digest, requirements, runtime, pip_platform(machine or platform.machine()))
    final = cache / plan.address
    if final.is_dir():
        return BuiltPackage(plan.address, final, installed=False)
    cache.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=cache))
    try:
        if plan.requirements:
            _pip_install(function, plan, staging, python)
        for name, data in files.items():
            target = staging / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists():
                target.unlink()  # the code wins over a vendored file of the same name
            target.write_bytes(data)
            os.chmod(target, 0o555 if name in executables else 0o444)
        try:
            os.rename(staging, final)
        except OSError:
            if not final.is_dir():  # not a concurrent build of the same address winning the race
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return BuiltPackage(plan.address, final, installed=bool(plan.requirements))


def _pip_install(function: str, plan: PackagePlan, staging: Path, python: str) -> None:
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as handle:
        handle.write("\n".join(plan.requirements) + "\n")
    started = time.monotonic()
    log.info("function %s: installing %s", function, ", ".join(plan.requirements))
    try:
        done = subprocess.run(
            pip_command(python, plan, str(staging), handle.name),
            capture_output=True,
            text=True,
            timeout=PIP_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise PackageError(
            f"function {function!r}: installing {', '.join(plan.requirements)} took over {PIP_TIMEOUT_SECONDS}s"
        ) from exc
    finally:
        os.unlink(handle.name)
    if done.returncode != 0:
        raise PackageError(pip_failure(function, plan.requirements, done.stderr or done.stdout))
    log.info("function %s: installed requirements in %.1fs", function, time.monotonic() - started)
