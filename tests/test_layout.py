"""Repository rules that keep the suite collectable and the layout as documented."""

from __future__ import annotations

import collections
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_test_module_basenames_are_unique():
    # Test folders are not packages, so two files with one basename would shadow each other.
    names = collections.Counter(p.name for p in (ROOT / "tests").rglob("*.py") if p.name != "conftest.py")
    assert [name for name, count in names.items() if count > 1] == []


def test_operator_folder_does_not_shadow_the_standard_library():
    assert not (ROOT / "operator" / "__init__.py").exists()
    done = subprocess.run(
        [sys.executable, "-c", "import operator, kumo_operator; print(operator.__file__)"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "site-packages" not in done.stdout and "/operator/" not in done.stdout.replace("\\", "/")


def test_each_deployable_folder_has_a_dockerfile_and_readme():
    for folder in ("gateway", "operator", "tablestore", "runtime-images/python"):
        assert (ROOT / folder / "README.md").is_file(), folder
    for folder in ("gateway", "runtime-images/python"):
        assert (ROOT / folder / "Dockerfile").is_file(), folder
