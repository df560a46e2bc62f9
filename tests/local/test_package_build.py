"""The package builder with real pip: a local wheel (offline), one small PyPI wheel, zips, the cache."""

from __future__ import annotations

import base64
import hashlib
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from kumo.packages import build as build_module
from kumo.packages.build import build_package, read_directory, read_zip
from kumo.packages.plan import PackageError


def make_wheel(folder: Path, name: str = "kumotiny", version: str = "1.0") -> Path:
    """A minimal pure-Python wheel (`<name>/__init__.py` with VALUE), written by hand: no build backend."""
    dist = f"{name}-{version}.dist-info"
    files = {
        f"{name}/__init__.py": f"VALUE = {version!r}\n",
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: kumo-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(text.encode())}")
    files[f"{dist}/RECORD"] = "\n".join([*record, f"{dist}/RECORD,,"]) + "\n"
    wheel = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return wheel


def run_handler(package: Path, code: str) -> str:
    """Import from the package dir the way an instance does (package root first on sys.path)."""
    done = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(package)!r}); {code}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip()


@pytest.fixture
def pip_runs(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Records every pip command the builder runs (the real pip still runs)."""
    calls: list[list[str]] = []
    real = subprocess.run

    def recording(command: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        if command[1:3] == ["-m", "pip"]:
            calls.append(list(command))
        return real(command, **kwargs)  # type: ignore[call-overload, no-any-return]

    monkeypatch.setattr(build_module.subprocess, "run", recording)
    return calls


def test_local_wheel_installed_code_on_top_and_reused(tmp_path: Path, pip_runs: list[list[str]]) -> None:
    wheel = make_wheel(tmp_path)
    code = {"app.py": b"import kumotiny\ndef handler(e, c):\n    return kumotiny.VALUE\n"}
    cache = tmp_path / "packages"
    first = build_package("f1", code, [str(wheel)], "python3.12", cache)
    assert first.installed and len(pip_runs) == 1
    assert (first.path / "kumotiny" / "__init__.py").is_file()
    assert run_handler(first.path, "import app; print(app.handler(None, None))") == "1.0"
    # a second function with the same code + requirements, and a "restart" (a fresh call): no pip
    second = build_package("f2", dict(code), [str(wheel), "# same"], "python3.12", cache)
    assert (second.path, second.installed) == (first.path, False)
    assert len(pip_runs) == 1
    # nothing left behind but the package
    assert [p.name for p in cache.iterdir()] == [first.address]


def test_code_overrides_vendored_files(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path)
    code = {"kumotiny/__init__.py": b"VALUE = 'mine'\n"}
    built = build_package("f", code, [str(wheel)], "python3.11", tmp_path / "cache")
    assert run_handler(built.path, "import kumotiny; print(kumotiny.VALUE)") == "mine"


def test_failed_install_names_function_requirement_and_pip_message(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    missing = tmp_path / "nosuchpkg_kumo-1.0-py3-none-any.whl"
    with pytest.raises(PackageError) as caught:
        build_package("broken-fn", {"app.py": b""}, [str(missing)], "python3.12", cache)
    message = str(caught.value)
    assert "'broken-fn'" in message and "nosuchpkg_kumo" in message
    assert "No such file or directory" in message  # pip's own words
    assert list(cache.iterdir()) == []  # nothing half-built


def test_no_requirements_no_pip_and_modes(tmp_path: Path, pip_runs: list[list[str]]) -> None:
    files = {"a/b.py": b"X = 1\n", "bootstrap": b"#!/bin/sh\n"}
    built = build_package("f", files, [], "provided.al2023", tmp_path / "cache", executables={"bootstrap"})
    assert not built.installed and pip_runs == []
    assert (built.path / "a" / "b.py").read_text() == "X = 1\n"
    assert (built.path / "bootstrap").stat().st_mode & 0o777 == 0o555
    assert (built.path / "a" / "b.py").stat().st_mode & 0o777 == 0o444
    # the executable bit is part of the content address
    plain = build_package("f", files, [], "provided.al2023", tmp_path / "cache")
    assert plain.address != built.address


def test_small_pypi_package(tmp_path: Path) -> None:
    built = build_package("six-fn", {"app.py": b"import six\n"}, ["six==1.16.0"], "python3.12", tmp_path / "c")
    assert run_handler(built.path, "import app, six; print(six.__version__, six.__file__)").startswith(
        f"1.16.0 {built.path}"
    )


def test_directory_source(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "pkg" / "__pycache__").mkdir(parents=True)
    (src / "app.py").write_text("A = 1\n")
    (src / "pkg" / "m.py").write_text("B = 2\n")
    (src / "pkg" / "__pycache__" / "m.cpython-312.pyc").write_bytes(b"junk")
    (src / "bootstrap").write_text("#!/bin/sh\n")
    (src / "bootstrap").chmod(0o755)
    source = read_directory(src)
    assert source.files == {"app.py": b"A = 1\n", "bootstrap": b"#!/bin/sh\n", "pkg/m.py": b"B = 2\n"}
    assert source.executables == {"bootstrap"}
    (src / "out").symlink_to("/etc")
    with pytest.raises(PackageError, match="symbolic link out of the code directory"):
        read_directory(src)
    with pytest.raises(PackageError, match="not a directory"):
        read_directory(tmp_path / "nope")


def test_zip_source_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    good = tmp_path / "good.zip"
    with zipfile.ZipFile(good, "w") as archive:
        archive.writestr("app.py", "A = 1\n")
        archive.writestr("lib/", "")
        archive.writestr("lib/x.py", "B = 2\n")
        runnable = zipfile.ZipInfo("bootstrap")
        runnable.external_attr = 0o100755 << 16
        archive.writestr(runnable, "#!/bin/sh\n")
    source = read_zip(good)
    assert source.files == {"app.py": b"A = 1\n", "lib/x.py": b"B = 2\n", "bootstrap": b"#!/bin/sh\n"}
    assert source.executables == {"bootstrap"}

    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as archive:
        archive.writestr("app.py", "A = 1\n")
        archive.writestr("../escape.py", "B = 2\n")
    with pytest.raises(PackageError, match=r"evil.zip: zip entry '../escape.py' must not contain '..'"):
        read_zip(evil)

    link = tmp_path / "link.zip"
    with zipfile.ZipFile(link, "w") as archive:
        info = zipfile.ZipInfo("data")
        info.external_attr = 0o120777 << 16
        archive.writestr(info, "/etc/passwd")
    with pytest.raises(PackageError, match="symbolic link"):
        read_zip(link)

    monkeypatch.setattr("kumo.packages.plan.MAX_UNZIPPED_BYTES", 10)
    with pytest.raises(PackageError, match="250 MB"):
        read_zip(good)

    (tmp_path / "not.zip").write_text("hello")
    with pytest.raises(PackageError, match="not a readable zip"):
        read_zip(tmp_path / "not.zip")
