"""The pure planning of deployment packages: content address, pip command, zip checks, messages."""

from __future__ import annotations

import pytest

from kumo.packages.plan import (
    MAX_UNZIPPED_BYTES,
    MAX_ZIPPED_BYTES,
    PackageError,
    check_zip_entry,
    check_zip_sizes,
    files_digest,
    normalize_requirements,
    pip_command,
    pip_failure,
    pip_platform,
    plan_package,
    python_version,
)

X86 = "manylinux2014_x86_64"


def test_python_version_and_platform() -> None:
    assert python_version("python3.12") == "3.12"
    assert python_version("provided.al2023") is None
    assert pip_platform("x86_64") == X86
    assert pip_platform("arm64") == "manylinux2014_aarch64"
    with pytest.raises(PackageError, match="unsupported machine"):
        pip_platform("riscv64")


def test_requirements_are_normalized() -> None:
    lines = ["# deps", "", "  six==1.16.0   # pinned", "attrs  >= 23", "   "]
    assert normalize_requirements(lines) == ("six==1.16.0", "attrs >= 23")


def test_files_digest_depends_on_names_and_contents_not_order() -> None:
    one = files_digest({"a.py": b"x", "b/c.py": b"y"})
    assert one == files_digest({"b/c.py": b"y", "a.py": b"x"})
    assert one != files_digest({"a.py": b"x", "b/c.py": b"z"})
    assert one != files_digest({"a2.py": b"x", "b/c.py": b"y"})
    assert one != files_digest({"a.py": b"x", "b/c.py": b"y"}, executables={"a.py"})
    # name/content boundaries are unambiguous
    assert files_digest({"ab": b"c"}) != files_digest({"a": b"bc"})


def test_address_covers_code_requirements_runtime_and_platform() -> None:
    base = plan_package("d1", ["six"], "python3.12", X86)
    assert base == plan_package("d1", ["six  ", "# comment"], "python3.12", X86)
    others = [
        plan_package("d2", ["six"], "python3.12", X86),
        plan_package("d1", ["attrs"], "python3.12", X86),
        plan_package("d1", ["six"], "python3.11", X86),
        plan_package("d1", ["six"], "python3.12", "manylinux2014_aarch64"),
        plan_package("d1", [], "python3.12", X86),
    ]
    assert len({base.address, *(plan.address for plan in others)}) == 6
    assert len(base.address) == 64


def test_requirements_need_a_python_runtime() -> None:
    assert plan_package("d", [], "provided.al2023", X86).python_version is None
    with pytest.raises(PackageError, match=r"python3\.X"):
        plan_package("d", ["six"], "provided.al2023", X86)


def test_pip_command_line() -> None:
    plan = plan_package("d", ["six"], "python3.12", X86)
    command = pip_command("/venv/bin/python", plan, "/cache/.staging", "/tmp/req.txt")
    assert command[:4] == ["/venv/bin/python", "-m", "pip", "install"]
    joined = " ".join(command)
    assert "--target /cache/.staging" in joined
    assert "--only-binary=:all: --platform manylinux2014_x86_64 --implementation cp --python-version 3.12" in joined
    assert command[-2:] == ["-r", "/tmp/req.txt"]
    with pytest.raises(PackageError):
        pip_command("py", plan_package("d", [], "provided", X86), "/t", "/r")


@pytest.mark.parametrize(
    ("name", "link", "problem"),
    [
        ("app.py", False, None),
        ("pkg/mod.py", False, None),
        ("pkg/..data", False, None),
        ("/etc/passwd", False, "relative path"),
        ("C:/x.py", False, "relative path"),
        ("a\\b.py", False, "relative path"),
        ("../evil.py", False, "'..'"),
        ("pkg/../../evil.py", False, "'..'"),
        ("link", True, "symbolic link"),
    ],
)
def test_zip_entries(name: str, link: bool, problem: str | None) -> None:
    found = check_zip_entry(name, link)
    assert (found is None) if problem is None else (problem in (found or ""))


def test_zip_sizes() -> None:
    assert check_zip_sizes(MAX_ZIPPED_BYTES, MAX_UNZIPPED_BYTES) is None
    assert "50 MB" in (check_zip_sizes(MAX_ZIPPED_BYTES + 1, 0) or "")
    assert "250 MB" in (check_zip_sizes(1, MAX_UNZIPPED_BYTES + 1) or "")


def test_pip_failure_names_function_requirement_and_pip_lines() -> None:
    output = (
        "WARNING: something irrelevant\n"
        "ERROR: Could not find a version that satisfies the requirement nosuchpkg-kumo (from versions: none)\n"
        "ERROR: No matching distribution found for nosuchpkg-kumo\n"
    )
    message = pip_failure("hello", ["six", "nosuchpkg-kumo"], output)
    assert message.startswith("function 'hello': installing requirement(s) nosuchpkg-kumo failed: ")
    assert "No matching distribution found for nosuchpkg-kumo" in message
    assert "WARNING" not in message
    assert "six" not in message
