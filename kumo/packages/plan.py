"""Pure planning of a deployment package: its content address, the pip command, zip entry checks.

Nothing here touches the disk or starts a process; `kumo.packages.build` does the I/O.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

#: Lambda's deployment package limits (aws-compat.md): 50 MB zipped upload, 250 MB unzipped.
MAX_ZIPPED_BYTES = 50 * 1024 * 1024
MAX_UNZIPPED_BYTES = 250 * 1024 * 1024

_RUNTIME_RE = re.compile(r"^python(3\.\d+)$")
#: Bumped when the layout of a built package changes, so old cache entries are not reused.
LAYOUT_VERSION = "1"


class PackageError(ValueError):
    """A package cannot be built (bad zip, failed install, limits); the message says why."""


@dataclass(frozen=True)
class PackagePlan:
    """What to build: the cache address and the pip command (`None` without requirements)."""

    address: str
    requirements: tuple[str, ...]
    python_version: str | None
    platform: str


def python_version(runtime: str) -> str | None:
    """`python3.12` → `3.12`; `None` for non-Python runtimes (provided: nothing to pip-install)."""
    match = _RUNTIME_RE.match(runtime)
    return match.group(1) if match else None


def pip_platform(machine: str) -> str:
    """The manylinux tag for a machine name (`x86_64`, `aarch64`/`arm64`)."""
    arch = {"amd64": "x86_64", "x86_64": "x86_64", "arm64": "aarch64", "aarch64": "aarch64"}.get(machine.lower())
    if arch is None:
        raise PackageError(f"unsupported machine {machine!r} for binary wheels (x86_64 or aarch64)")
    return f"manylinux2014_{arch}"


def normalize_requirements(lines: Iterable[str]) -> tuple[str, ...]:
    """Requirement lines without comments/blank lines, whitespace collapsed, in their given order."""
    result: list[str] = []
    for line in lines:
        text = line.split(" #", 1)[0].strip() if not line.lstrip().startswith("#") else ""
        text = " ".join(text.split())
        if text:
            result.append(text)
    return tuple(result)


def files_digest(files: Mapping[str, bytes], executables: Collection[str] = ()) -> str:
    """sha256 over sorted (relative name, executable bit, content): equal trees give equal digests."""
    digest = hashlib.sha256()
    for name in sorted(files):
        data = files[name]
        mode = "x" if name in executables else "-"
        digest.update(f"{len(name)}:{name}:{mode}:{len(data)}:".encode())
        digest.update(data)
    return digest.hexdigest()


def plan_package(code_digest: str, requirements: Sequence[str], runtime: str, platform: str) -> PackagePlan:
    """The content address of (code, requirements, runtime version, platform), and what pip installs."""
    version = python_version(runtime)
    normalized = normalize_requirements(requirements)
    if normalized and version is None:
        raise PackageError(f"requirements need a python3.X runtime, not {runtime!r}")
    digest = hashlib.sha256()
    for part in (LAYOUT_VERSION, code_digest, "\n".join(normalized), version or runtime, platform):
        digest.update(part.encode() + b"\0")
    return PackagePlan(digest.hexdigest(), normalized, version, platform)


def pip_command(python: str, plan: PackagePlan, target: str, requirements_file: str) -> list[str]:
    """The `pip install` line that vendors the plan's requirements into `target` (binary wheels only)."""
    if plan.python_version is None:
        raise PackageError("no pip install for a non-Python runtime")
    return [
        python,
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--no-input",
        "--quiet",
        "--target",
        target,
        "--only-binary=:all:",
        "--platform",
        plan.platform,
        "--implementation",
        "cp",
        "--python-version",
        plan.python_version,
        "-r",
        requirements_file,
    ]


def check_zip_entry(name: str, is_symlink: bool) -> str | None:
    """Why the zip member `name` may not be extracted (absolute, `..`, symlink), or `None` if it may."""
    if is_symlink:
        return f"zip entry {name!r} is a symbolic link"
    if not name or name.startswith("/") or "\\" in name or re.match(r"^[A-Za-z]:", name):
        return f"zip entry {name!r} must be a relative path"
    if any(segment == ".." for segment in name.split("/")):
        return f"zip entry {name!r} must not contain '..'"
    return None


def check_zip_sizes(zipped: int, unzipped: int) -> str | None:
    """Why a zip of these sizes is refused (Lambda's limits), or `None`."""
    if zipped > MAX_ZIPPED_BYTES:
        return f"zip is {zipped} bytes; the limit is {MAX_ZIPPED_BYTES} bytes (50 MB)"
    if unzipped > MAX_UNZIPPED_BYTES:
        return f"zip unpacks to {unzipped} bytes; the limit is {MAX_UNZIPPED_BYTES} bytes (250 MB)"
    return None


def pip_failure(function: str, requirements: Sequence[str], output: str, max_lines: int = 5) -> str:
    """The message for a failed install: function, the requirement pip names (or all), pip's first lines."""
    lines = [line.strip() for line in output.splitlines() if line.strip() and not line.startswith("WARNING")]
    text = "\n".join(lines)
    named = [req for req in requirements if _req_name(req) and _req_name(req).lower() in text.lower()]
    which = ", ".join(named or requirements)
    return f"function {function!r}: installing requirement(s) {which} failed: " + " | ".join(lines[:max_lines])


def _req_name(requirement: str) -> str:
    match = re.match(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    return match.group(1) if match else ""
