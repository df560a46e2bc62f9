"""The instance sandbox of local mode: each function as its own unprivileged uid (when ``kumo up`` runs as root).

What it holds, under one root-owned ``/tmp/kumo-sandbox-<digest>`` directory (0711: others may pass, not
list; :func:`sandbox_root`):

- ``code/<function>/<digest>``: a copy of the function's code, owned by root, files 0444 (0555 when
  executable), directories 0555, behind ``code/<function>`` (0750, group = the function's gid): only
  that function can read it, nobody but root can change it;
- ``tmp/<function>``: where its instances' private ``TMPDIR``s are made (each 0700, owned by its uid).

The state directory (0700, root) stays unreachable: logs, tables, keys, the Redis socket.
Without root (or with ``KUMO_SANDBOX=off``) :func:`sandbox_from_environment` returns ``None`` after one
WARNING line, and local mode still keeps code read-only and secrets out of instances' environments.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

from kumo.runtime.host import bootstrap_path
from kumo.runtime.python import candidate_paths, resolve_python, runtime_version
from kumo.runtime.sandbox import DEFAULT_UID_RANGE, Identity, UidAllocator, parse_uid_range, spawn_arguments

log = logging.getLogger("kumo.local")

#: Where ``kumo up`` says why functions are not sandboxed (one line, at start).
NOT_ROOT_WARNING = (
    "instance sandbox off: kumo up is not running as root, so functions run as your user "
    "(code stays read-only, the state directory 0700, secrets out of their environments; see docs/security.md)"
)


def sandbox_wanted(env: Mapping[str, str], euid: int) -> tuple[bool, str | None]:
    """``(sandbox?, warning)`` from ``KUMO_SANDBOX`` and the effective uid (pure)."""
    setting = env.get("KUMO_SANDBOX", "auto").strip().lower()
    if setting in ("off", "0", "false", "no"):
        return False, "instance sandbox off (KUMO_SANDBOX=off): functions run as kumo up's own user"
    if euid != 0:
        return False, NOT_ROOT_WARNING
    return True, None


def readonly_mode(mode: int, is_dir: bool) -> int:
    """0555 for directories and executables, 0444 for other files (pure)."""
    return 0o555 if is_dir or mode & stat.S_IXUSR else 0o444


def make_readonly(root: Path) -> None:
    """Files and directories under ``root`` (not ``root`` itself) read-only to everyone."""
    for dirpath, dirnames, filenames in os.walk(root, topdown=False):
        for name in filenames:
            path = os.path.join(dirpath, name)
            os.chmod(path, readonly_mode(os.lstat(path).st_mode, False), follow_symlinks=False)
        for name in dirnames:
            os.chmod(os.path.join(dirpath, name), 0o555)


def link_or_copy(source: str, target: str) -> None:
    """Hard-link ``source`` when it is read-only and owned by us (nobody can change it under the
    link), else copy it; a link across file systems falls back to a copy."""
    info = os.lstat(source)
    if stat.S_ISREG(info.st_mode) and not info.st_mode & 0o222 and info.st_uid == os.geteuid():
        try:
            os.link(source, target)
            return
        except OSError:
            pass
    shutil.copy2(source, target)


@functools.cache
def runnable_interpreter(runtime: str, uid: int) -> str | None:
    """The first ``python3.X`` binary ``uid`` can run with Kumo's bootstrap (probed once as that uid);
    ``None`` with a warning."""
    version = runtime_version(runtime)
    first = resolve_python(runtime).executable
    seen: list[str] = []
    for path in [first, *candidate_paths(version, os.environ, os.path.expanduser("~"))]:
        real = os.path.realpath(path)
        if "*" in path or real in seen or not os.path.isfile(real):
            continue
        seen.append(real)
        if _runs_as(real, version, uid):
            if real != first:
                log.info("sandboxed %s functions run on %s (%s is not readable by other users)", runtime, real, first)
            return real
    log.warning(
        "no %s interpreter is readable by sandbox uids (%s lives in a private directory): "
        "%s functions run without the instance sandbox",
        runtime,
        first,
        runtime,
    )
    return None


def _runs_as(executable: str, version: str, uid: int) -> bool:
    """Whether ``uid`` can run ``executable`` and read Kumo's bootstrap with it."""
    code = "import sys, json; open(sys.argv[1]).close(); print('%d.%d' % sys.version_info[:2])"
    try:
        out = subprocess.run(
            [executable, "-I", "-c", code, str(bootstrap_path())],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
            cwd="/",
            **spawn_arguments(Identity(uid, uid)),
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return out.returncode == 0 and out.stdout.strip() == version


class LocalSandbox:
    """Identities, code copies and ``TMPDIR`` roots of sandboxed functions."""

    def __init__(self, uids: range, root: Path | None = None) -> None:
        self.uids = UidAllocator(uids)
        self.probe_uid = uids[-1]
        self.root = root or Path(tempfile.mkdtemp(prefix="kumo-sandbox-"))
        self.root.mkdir(exist_ok=True)
        os.chmod(self.root, 0o711)
        for part in ("code", "tmp"):
            (self.root / part).mkdir(mode=0o711, exist_ok=True)
            os.chmod(self.root / part, 0o711)

    def identity(self, function: str, runtime: str) -> Identity | None:
        """Who ``function`` runs as; ``None`` (with a warning, once per runtime) when no interpreter for
        ``runtime`` can be run by a sandbox uid."""
        python = self.interpreter(runtime) if runtime.startswith("python") else None
        if runtime.startswith("python") and python is None:
            return None
        uid = self.uids.uid(function)
        return Identity(uid=uid, gid=uid, python=python)

    def interpreter(self, runtime: str) -> str | None:
        """A ``python3.X`` binary a sandbox uid can run (the usual one may live under an 0700 home)."""
        return runnable_interpreter(runtime, self.probe_uid)

    def code_copy(self, function: str, identity: Identity, code_dir: Path) -> Path:
        """A read-only copy of ``code_dir`` only ``identity`` (and root) can read; made once per code.

        Files that are already immutable (read-only and ours, as every built package's are) are
        hard-linked rather than copied: a package of any size costs its directory entries, not its
        bytes, and functions sharing a package share its data (the gate stays per function).
        """
        gate = self.root / "code" / function
        gate.mkdir(mode=0o750, exist_ok=True)
        os.chown(gate, 0, identity.gid)
        os.chmod(gate, 0o750)
        target = gate / f"{code_dir.parent.name}-{code_dir.name}"
        if target.is_dir():
            return target
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=gate))
        try:
            shutil.copytree(code_dir, staging / "code", symlinks=False, copy_function=link_or_copy)
            make_readonly(staging / "code")
            os.chmod(staging / "code", 0o555)
            os.rename(staging / "code", target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return target

    def tmp_root(self, function: str, identity: Identity) -> Path:
        """Where ``function``'s instances make their ``TMPDIR`` (root's, 0711; each ``TMPDIR`` its uid's)."""
        path = self.root / "tmp" / function
        path.mkdir(mode=0o711, exist_ok=True)
        return path

    def close(self) -> None:
        """Remove the copies and whatever instances left in their ``TMPDIR``s."""
        remove_tree(self.root)


def sandbox_root(state_dir: Path) -> Path:
    """``/tmp/kumo-sandbox-<digest of the state directory>``: the next start of the same state directory
    removes what a killed ``kumo up`` left. A name someone else created first is not used (mkdtemp)."""
    digest = hashlib.sha256(str(state_dir).encode()).hexdigest()[:12]
    root = Path(tempfile.gettempdir()) / f"kumo-sandbox-{digest}"
    try:
        info = os.lstat(root)
    except FileNotFoundError:
        info = None
    if info is not None and stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid():
        remove_tree(root)
    try:
        root.mkdir(mode=0o700)
    except FileExistsError:  # not ours (or a file): a fresh random name instead
        return Path(tempfile.mkdtemp(prefix="kumo-sandbox-"))
    return root


def remove_tree(root: Path) -> None:
    """Remove a sandbox directory (as root: read-only modes do not stop it)."""
    for dirpath, dirnames, _ in os.walk(root):
        for name in dirnames:
            os.chmod(os.path.join(dirpath, name), 0o700)
    shutil.rmtree(root, ignore_errors=True)


def sandbox_from_environment(state_dir: Path, env: Mapping[str, str] | None = None) -> LocalSandbox | None:
    """The sandbox ``kumo up`` uses, or ``None`` after one WARNING line saying why not."""
    env = os.environ if env is None else env
    wanted, warning = sandbox_wanted(env, os.geteuid())
    if not wanted:
        log.warning("%s", warning)
        return None
    uids = parse_uid_range(env.get("KUMO_SANDBOX_UIDS", DEFAULT_UID_RANGE))
    return LocalSandbox(uids, sandbox_root(state_dir))
