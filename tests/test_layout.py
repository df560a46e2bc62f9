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
    for folder in ("gateway", "operator", "tablestore", "codestore", "runtime-images/python"):
        assert (ROOT / folder / "README.md").is_file(), folder
    for folder in ("gateway", "codestore", "runtime-images/python"):
        assert (ROOT / folder / "Dockerfile").is_file(), folder


# -- the package map (docs/architecture.md): who may import whom ------------------------------------

#: package -> (source folder, packages it may import besides itself). Third-party imports are free.
PACKAGES: dict[str, tuple[str, frozenset[str]]] = {
    "kumo": ("kumo", frozenset({"kumo_runtime_python"})),
    "kumo_runtime_python": ("runtime-images/python/kumo_runtime_python", frozenset()),
    "kumo_tablestore": ("tablestore/kumo_tablestore", frozenset({"kumo"})),
    "kumo_codestore": ("codestore/kumo_codestore", frozenset({"kumo"})),
    "kumo_operator": ("operator/kumo_operator", frozenset({"kumo"})),
    "kumo_gateway": ("gateway/kumo_gateway", frozenset({"kumo", "kumo_tablestore"})),
    "kumo_cli": (
        "cli/kumo_cli",
        frozenset({"kumo", "kumo_tablestore", "kumo_codestore", "kumo_operator", "kumo_gateway"}),
    ),
}


def _imports(path: Path) -> list[tuple[str, list[str], int]]:
    """``(module, imported names, line)`` for every import statement in ``path`` (absolute modules)."""
    import ast

    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, [], node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.module, [alias.name for alias in node.names], node.lineno))
    return found


def _package_files() -> list[tuple[str, Path]]:
    return [(pkg, path) for pkg, (folder, _) in PACKAGES.items() for path in sorted((ROOT / folder).rglob("*.py"))]


def test_packages_import_only_what_the_package_map_allows() -> None:
    wrong = []
    for pkg, path in _package_files():
        allowed = PACKAGES[pkg][1] | {pkg}
        for module, _, line in _imports(path):
            top = module.split(".")[0]
            if top in PACKAGES and top not in allowed:
                wrong.append(f"{path.relative_to(ROOT)}:{line} ({pkg}) imports {module}")
    assert wrong == []


def test_no_package_imports_another_packages_underscore_names() -> None:
    wrong = []
    for pkg, path in _package_files():
        for module, names, line in _imports(path):
            top = module.split(".")[0]
            if top not in PACKAGES or top == pkg:
                continue
            private = [part for part in module.split(".") if part.startswith("_") and not part.startswith("__")]
            private += [name for name in names if name.startswith("_") and not name.startswith("__")]
            if private:
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {module}: {private}")
    assert wrong == []


def test_the_import_rules_catch_a_violation(tmp_path: Path) -> None:
    # The checks above read real import statements: an upward and a private import are both seen.
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import kumo_gateway.app\nfrom kumo.local.up import _loop_factory\n\ndef f():\n    import kumo_cli\n"
    )
    assert [(m, n) for m, n, _ in _imports(sample)] == [
        ("kumo_gateway.app", []),
        ("kumo.local.up", ["_loop_factory"]),
        ("kumo_cli", []),
    ]


def test_the_cli_imports_each_process_lazily() -> None:
    # `kumo --help` must not pay for the gateway, operator or table store.
    code = "import sys, kumo_cli.main; print(sorted({m.split('.')[0] for m in sys.modules if m.startswith('kumo')}))"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['kumo', 'kumo_cli']"


def test_architecture_doc_opens_with_the_package_map() -> None:
    doc = (ROOT / "docs" / "architecture.md").read_text()
    head = doc[: doc.index("\n## ", doc.index("## Package map") + 1)]
    for pkg, (folder, _) in PACKAGES.items():
        assert f"`{pkg}`" in head and f"`{folder.split('/')[0]}/" in head, pkg
