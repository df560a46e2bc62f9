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
from collections.abc import Mapping, Sequence
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


def read_directory(root: Path) -> dict[str, bytes]:
    """Every regular file under `root` (relative '/' names → bytes); symlinks out of `root` are refused."""
    if not root.is_dir():
        raise PackageError(f"code path {str(root)!r} is not a directory")
    resolved_root = root.resolve()
    files: dict[str, bytes] = {}
    for path in sorted(root.rglob("*")):
        if path.is_symlink() and not path.resolve().is_relative_to(resolved_root):
            raise PackageError(f"{path}: symbolic link out of the code directory")
        if path.is_file() and "__pycache__" not in path.parts:
            files[path.relative_to(root).as_posix()] = path.read_bytes()
    return files


def read_zip(path: Path) -> dict[str, bytes]:
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
            return {info.filename: archive.read(info) for info in infos}
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
) -> BuiltPackage:
    """The cached package for these code files + requirements, built (pip, then code on top) if missing."""
    plan = plan_package(files_digest(files), requirements, runtime, pip_platform(machine or platform.machine()))
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
            target.write_bytes(data)
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
