"""The local sandbox's rules (pure) and its code copies and interpreter choice (real files, real uids)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from kumo.runtime.sandbox import Identity, SandboxConfigError, UidAllocator, parse_uid_range, spawn_arguments
from kumo_gateway.local.sandbox import (
    NOT_ROOT_WARNING,
    LocalSandbox,
    readonly_mode,
    remove_tree,
    sandbox_root,
    sandbox_wanted,
)


def test_uid_ranges_and_allocation():
    assert parse_uid_range("61000-61999") == range(61000, 62000)
    assert parse_uid_range(" 7000 ") == range(7000, 7001)
    for bad in ("0-10", "61999-61000", "abc", "61000-", "999-2000"):
        with pytest.raises(SandboxConfigError):
            parse_uid_range(bad)
    uids = UidAllocator(range(61000, 61002))
    assert [uids.uid("a"), uids.uid("b"), uids.uid("a")] == [61000, 61001, 61000]
    with pytest.raises(SandboxConfigError, match="widen KUMO_SANDBOX_UIDS"):
        uids.uid("c")


def test_when_to_sandbox():
    assert sandbox_wanted({}, 0) == (True, None)
    assert sandbox_wanted({}, 1000) == (False, NOT_ROOT_WARNING)
    off, warning = sandbox_wanted({"KUMO_SANDBOX": "off"}, 0)
    assert off is False and "KUMO_SANDBOX=off" in (warning or "")


def test_readonly_modes_and_spawn_arguments():
    assert readonly_mode(0o644, False) == 0o444
    assert readonly_mode(0o755, False) == 0o555
    assert readonly_mode(0o700, True) == 0o555
    assert spawn_arguments(None) == {}
    assert callable(spawn_arguments(Identity(61000, 61000))["preexec_fn"])


def test_code_copy_is_root_owned_read_only_and_gated_by_the_functions_group(tmp_path: Path):
    code = tmp_path / "state" / "code" / "fn" / "abc"
    (code / "pkg").mkdir(parents=True)
    (code / "app.py").write_text("x = 1\n")
    (code / "bootstrap").write_text("#!/bin/sh\n")
    os.chmod(code / "bootstrap", 0o755)
    sandbox = LocalSandbox(range(61000, 61010), root=tmp_path / "sandbox")
    try:
        ident = Identity(61003, 61003)
        copy = sandbox.code_copy("fn", ident, code)
        assert (copy / "app.py").read_text() == "x = 1\n"
        assert stat.S_IMODE(os.stat(copy / "app.py").st_mode) == 0o444
        assert stat.S_IMODE(os.stat(copy / "bootstrap").st_mode) == 0o555
        assert stat.S_IMODE(os.stat(copy / "pkg").st_mode) == 0o555
        assert stat.S_IMODE(os.stat(copy).st_mode) == 0o555
        gate = os.stat(copy.parent)
        assert (gate.st_uid, gate.st_gid, stat.S_IMODE(gate.st_mode)) == (0, 61003, 0o750)
        assert stat.S_IMODE(os.stat(sandbox.root).st_mode) == 0o711
        assert sandbox.code_copy("fn", ident, code) == copy  # once per code
    finally:
        sandbox.close()
    assert not sandbox.root.exists()


def test_immutable_package_files_are_linked_not_copied_writable_ones_copied(tmp_path: Path):
    package = tmp_path / "state" / "packages" / ("a" * 64)
    (package / "dep").mkdir(parents=True)
    (package / "dep" / "big.py").write_bytes(b"# " + b"x" * 100_000 + b"\n")
    (package / "app.py").write_text("import dep.big\n")
    (package / "mutable.py").write_text("y = 2\n")
    for path in (package / "dep" / "big.py", package / "app.py"):
        os.chmod(path, 0o444)  # as kumo.packages.build leaves them
    sandbox = LocalSandbox(range(61000, 61010), root=tmp_path / "sandbox3")
    try:
        first = sandbox.code_copy("one", Identity(61001, 61001), package)
        second = sandbox.code_copy("two", Identity(61002, 61002), package)
        source = os.stat(package / "dep" / "big.py")
        for copy in (first, second):
            linked = os.stat(copy / "dep" / "big.py")
            assert (linked.st_ino, linked.st_dev) == (source.st_ino, source.st_dev)  # shared data, no copy
            assert os.stat(copy / "mutable.py").st_ino != os.stat(package / "mutable.py").st_ino  # writable: copied
            assert stat.S_IMODE(os.stat(copy / "mutable.py").st_mode) == 0o444
        assert first.parent != second.parent  # each behind its own function's gate
        assert stat.S_IMODE(os.stat(package / "mutable.py").st_mode) == 0o644  # the source is left as it was
    finally:
        sandbox.close()
    assert (package / "dep" / "big.py").read_bytes().startswith(b"# xxx")  # removing the sandbox kept the package


def test_interpreter_is_one_a_sandbox_uid_can_run(tmp_path: Path):
    sandbox = LocalSandbox(range(61000, 61010), root=tmp_path / "sandbox2")
    try:
        python = sandbox.interpreter("python3.11")
        assert python is not None and not python.startswith("/root/")  # /root is 0700 here
        assert sandbox.identity("fn", "python3.11") == Identity(61000, 61000, python)
    finally:
        sandbox.close()


def test_the_sandbox_root_of_a_state_dir_is_reused_after_a_killed_kumo_up(tmp_path: Path):
    state = tmp_path / "state"
    first = sandbox_root(state)
    (first / "left-over").mkdir()
    os.chmod(first / "left-over", 0o555)
    again = sandbox_root(state)
    assert again == first and list(again.iterdir()) == []  # what the killed one left is gone
    remove_tree(again)
    other = sandbox_root(tmp_path / "other")
    assert other != first
    remove_tree(other)


def test_a_sandbox_root_someone_else_made_is_not_used(tmp_path: Path):
    state = tmp_path / "state2"
    squatted = sandbox_root(state)
    remove_tree(squatted)
    squatted.write_text("not a directory")  # e.g. planted by another user
    try:
        root = sandbox_root(state)
        assert root != squatted and root.is_dir()
        remove_tree(root)
    finally:
        squatted.unlink()
