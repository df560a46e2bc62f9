"""The layer store: refs, numbered immutable versions, resolution, merging (later layers win)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kumo.packages.layers import LayerStore, opt_environment, parse_layer_ref
from kumo.packages.plan import PackageError


def test_parse_layer_ref() -> None:
    assert parse_layer_ref("deps") == ("deps", None)
    assert parse_layer_ref("my_deps-2:12") == ("my_deps-2", 12)
    for bad in ("", "a:0", "a:b", "a/b", "a:1:2"):
        with pytest.raises(PackageError, match="NAME or NAME:VERSION"):
            parse_layer_ref(bad)


def test_opt_environment() -> None:
    env = opt_environment(Path("/s/opt-x"), "/usr/bin:/bin")
    assert env == {"KUMO_OPT_DIR": "/s/opt-x", "PATH": "/s/opt-x/bin:/usr/bin:/bin"}


def layer(tmp_path: Path, name: str, files: dict[str, str]) -> Path:
    root = tmp_path / name
    for relative, text in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text)
    return root


def test_publish_resolve_and_merge(tmp_path: Path) -> None:
    store = LayerStore(tmp_path / "state")
    one = layer(tmp_path, "one", {"python/x.py": "1", "python/only1.py": ""})
    two = layer(tmp_path, "two", {"python/x.py": "2"})
    assert store.publish("L", one) == 1
    assert store.publish("L", two) == 2
    assert store.publish("M", one) == 1
    assert store.versions("L") == [1, 2]
    assert (tmp_path / "state" / "layers" / "L" / "1" / "python" / "x.py").read_text() == "1"  # immutable
    assert store.resolve(["L", "L:1"]) == [store.root / "L" / "2", store.root / "L" / "1"]
    merged = store.merged(["L:1", "L:2"])
    assert merged is not None and (merged / "python" / "x.py").read_text() == "2"  # later wins
    assert (merged / "python" / "only1.py").is_file()
    assert store.merged(["L:1", "L"]) == merged  # the same versions: the same dir, reused
    again = store.merged(["L:2", "L:1"])
    assert again is not None and again != merged and (again / "python" / "x.py").read_text() == "1"
    assert store.merged([]) is None
    with pytest.raises(PackageError, match=r"layer L:7 not found \(versions: 1, 2\)"):
        store.resolve(["L:7"])
    with pytest.raises(PackageError, match="has no published version"):
        store.resolve(["nope"])
    with pytest.raises(PackageError, match="at most 5 layers"):
        store.resolve(["L"] * 6)
    with pytest.raises(PackageError, match="layer name"):
        store.publish("bad/name", one)
    assert not list((tmp_path / "state" / "layers" / "L").glob(".staging-*"))


def test_a_deleted_version_is_hidden_its_number_never_reused_and_it_still_serves_who_names_it(tmp_path: Path) -> None:
    store = LayerStore(tmp_path / "state")
    one = layer(tmp_path, "one", {"python/x.py": "1"})
    assert store.publish("L", one) == 1 and store.publish("L", one) == 2
    store.delete("L", 2)
    store.delete("L", 9)  # not there: nothing happens, as on Lambda
    assert store.versions("L") == [1] and store.deleted("L") == {2}
    assert store.resolve(["L"]) == [store.root / "L" / "1"]  # the latest left
    assert store.resolve(["L:2"]) == [store.root / "L" / "2"]  # its files stay for functions naming it
    assert store.publish("L", one) == 3
    store.delete("L", 1)
    store.delete("L", 3)
    with pytest.raises(PackageError, match="has no published version"):
        store.resolve(["L"])
