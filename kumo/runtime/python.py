"""Finding the interpreter for a ``python3.X`` runtime, and the AWS SDK "layer" functions import.

Resolution runs once per runtime per process and is cached: starting an instance never probes.
"""

from __future__ import annotations

import contextlib
import functools
import glob
import hashlib
import importlib.util
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("kumo.runtime")

_RUNTIME_RE = re.compile(r"^python(3\.\d+)$")
#: Pure-Python packages Lambda's Python runtimes ship in ``/var/runtime``.
SDK_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")


class UnsupportedRuntimeError(ValueError):
    """The runtime is not a ``python3.X`` name."""


@dataclass(frozen=True)
class PythonInterpreter:
    """The binary to run and whether it is the interpreter Kumo itself runs on."""

    executable: str
    version: str
    is_kumo_own: bool


def runtime_version(runtime: str) -> str:
    """``"python3.12"`` → ``"3.12"``."""
    match = _RUNTIME_RE.match(runtime)
    if not match:
        raise UnsupportedRuntimeError(f"unsupported runtime {runtime!r}: expected python3.X")
    return match.group(1)


def candidate_paths(version: str, env: dict[str, str] | os._Environ[str], home: str) -> list[str]:
    """Where a real ``python3.X`` binary may live, best first (pure: no file-system access)."""
    name = f"python{version}"
    out: list[str] = []
    for entry in env.get("PATH", "").split(os.pathsep):
        if entry and "shims" not in Path(entry).parts:
            out.append(os.path.join(entry, name))
    pyenv_root = env.get("PYENV_ROOT") or os.path.join(home, ".pyenv")
    out.append(os.path.join(pyenv_root, "versions", f"{version}*", "bin", name))
    out += [f"/usr/local/bin/{name}", f"/usr/bin/{name}"]
    return out


def _is_binary(path: str) -> bool:
    """An executable file that is not a script (pyenv shims are bash scripts)."""
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError:
        return False
    return head == b"\x7fELF" and os.access(path, os.X_OK)


def _version_key(path: str) -> tuple[int, ...]:
    match = re.search(r"/versions/(\d+(?:\.\d+)*)", path)
    return tuple(int(p) for p in match.group(1).split(".")) if match else ()


def _reports_version(executable: str, version: str) -> bool:
    try:
        out = subprocess.run(
            [executable, "-I", "-S", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return out.returncode == 0 and out.stdout.strip() == version


def find_python(version: str) -> str | None:
    """The real binary for ``python3.X``, verified once by running it; ``None`` if absent."""
    for pattern in candidate_paths(version, os.environ, os.path.expanduser("~")):
        matches = sorted(glob.glob(pattern), key=_version_key, reverse=True) if "*" in pattern else [pattern]
        for path in matches:
            real = os.path.realpath(path)
            if _is_binary(real) and _reports_version(real, version):
                return real
    return None


@functools.cache
def resolve_python(runtime: str) -> PythonInterpreter:
    """The interpreter for ``runtime``; falls back to Kumo's own (with a warning, once)."""
    version = runtime_version(runtime)
    own = f"{sys.version_info[0]}.{sys.version_info[1]}"
    found = find_python(version)
    if found is not None:
        return PythonInterpreter(found, version, is_kumo_own=False)
    log.warning(
        "no %s interpreter found on this machine; running %s functions on Kumo's Python %s",
        runtime,
        runtime,
        own,
    )
    return PythonInterpreter(sys.executable, own, is_kumo_own=True)


def sdk_sources() -> dict[str, Path]:
    """Paths of the AWS SDK packages (or single modules) in Kumo's own environment."""
    out: dict[str, Path] = {}
    for name in SDK_PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            continue
        origin = Path(spec.origin)
        out[name] = origin.parent if spec.submodule_search_locations else origin
    return out


@functools.cache
def sdk_layer_dir(root: Path | None = None) -> Path:
    """A directory of symlinks to Kumo's SDK packages, like Lambda's ``/var/runtime`` (built once)."""
    sources = sdk_sources()
    base = root or Path(tempfile.gettempdir())
    digest = hashlib.sha256("\n".join(sorted(str(p) for p in sources.values())).encode()).hexdigest()[:12]
    target = base / f"kumo-sdk-layer-{os.getuid()}-{digest}"
    if target.is_dir():
        with contextlib.suppress(OSError):
            os.chmod(target, 0o755)  # built by an older Kumo as 0700
        return target
    base.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="kumo-sdk-layer-", dir=base))
    for src in sources.values():
        (staging / src.name).symlink_to(src)
    os.chmod(staging, 0o755)  # sandboxed instances (other uids) import the SDK through it
    try:
        staging.rename(target)
    except OSError:  # another process built it first
        shutil.rmtree(staging, ignore_errors=True)
    return target


def python_command(runtime: str, bootstrap: Path, executable: str | None = None) -> tuple[list[str], list[str]]:
    """``(argv, python_path)`` to start Kumo's bootstrap for ``runtime`` (``executable``: a given binary)."""
    interp = resolve_python(runtime)
    if executable is not None and executable != interp.executable:
        interp = PythonInterpreter(executable, interp.version, is_kumo_own=executable == sys.executable)
    python_path = [] if interp.is_kumo_own else [str(sdk_layer_dir())]
    return [interp.executable, "-u", str(bootstrap)], python_path
