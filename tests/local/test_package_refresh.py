"""LocalPackages.build says which functions' $LATEST changed: a reload rebuilds a function whose manifest
is unchanged but whose code dir or layer versions changed (and publishing then freezes the new ones)."""

from __future__ import annotations

from pathlib import Path

import yaml

from kumo.manifests import load_manifests
from kumo.packages.layers import LayerStore
from kumo_gateway.local.packages import LocalPackages


def function(name: str, code: dict[str, object], layers: list[str]) -> dict[str, object]:
    spec = {"runtime": "python3.12", "handler": "app.handler", "code": code, "layers": layers}
    return {"apiVersion": "kumo.dev/v1alpha1", "kind": "Function", "metadata": {"name": name}, "spec": spec}


def test_build_reports_functions_whose_code_dir_or_layers_changed(tmp_path: Path) -> None:
    state, project = tmp_path / "state", tmp_path / "project"
    (project / "src").mkdir(parents=True)
    (project / "src" / "app.py").write_text("X = 1\n")
    layer = tmp_path / "layer" / "python"
    layer.mkdir(parents=True)
    (layer / "words.py").write_text("WORD = 'a'\n")
    store = LayerStore(state)
    assert store.publish("words", layer.parent) == 1
    manifest = project / "fns.yaml"
    manifest.write_text(
        yaml.safe_dump_all(
            [
                function("pathfn", {"path": "src"}, ["words"]),
                function("inline", {"inline": {"app.py": "x = 1\n"}}, ["words:1"]),
                function("plain", {"inline": {"app.py": "x = 1\n"}}, []),
            ]
        )
    )
    manifests = load_manifests([manifest])
    packages = LocalPackages(state)
    assert packages.build(manifests) == ["pathfn", "inline"]
    assert packages.uses_packages(manifests) == ["pathfn", "inline"]
    first = packages.code_dir("pathfn")
    assert packages.layer_refs == {"pathfn": ["words:1"], "inline": ["words:1"]}
    assert packages.build(manifests, ["pathfn", "inline"]) == []  # nothing changed: nothing to roll

    assert store.publish("words", layer.parent) == 2  # a new layer version: only the unpinned user follows
    assert packages.build(manifests, ["pathfn", "inline"]) == ["pathfn"]
    assert packages.layer_refs["pathfn"] == ["words:2"] and packages.code_dir("pathfn") == first

    (project / "src" / "app.py").write_text("X = 2\n")  # an edit in the code dir: a new package address
    assert packages.build(manifests, ["pathfn", "inline"]) == ["pathfn"]
    assert packages.code_dir("pathfn") != first and first.is_dir()  # the old package stays for its versions
