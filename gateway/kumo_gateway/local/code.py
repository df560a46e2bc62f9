"""Function code on disk for local instances: inline files or a ConfigMap's keys, written once per digest."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path


class CodeUnavailable(Exception):
    """The function's code cannot be provided in local mode."""


def code_files(spec_code: object, config_maps: Mapping[str, Mapping[str, str]]) -> dict[str, str]:
    """The files of a function's ``spec.code`` (inline, or every key of the named ConfigMap)."""
    inline = getattr(spec_code, "inline", None)
    if inline:
        return dict(inline)
    config_map = getattr(spec_code, "config_map", None)
    if config_map is not None:
        name = config_map.name
        if name not in config_maps:
            raise CodeUnavailable(f"ConfigMap '{name}' with the function's code was not found among the manifests")
        return dict(config_maps[name])
    if getattr(spec_code, "image", None):
        raise CodeUnavailable("code.image needs a cluster: local mode runs inline or ConfigMap code only")
    if getattr(spec_code, "package", None) is not None:
        raise CodeUnavailable("code.package (the code store) needs a cluster: use code.path or code.zip locally")
    raise CodeUnavailable("the function has no code")


def code_digest(files: Mapping[str, str]) -> str:
    return hashlib.sha256(json.dumps(dict(files), sort_keys=True).encode()).hexdigest()[:16]


def materialize(files: Mapping[str, str], root: Path) -> Path:
    """Write ``files`` under ``root/<digest>/`` (atomically, once) and return that directory."""
    target = root / code_digest(files)
    write_tree(files, target)
    return target


def write_tree(files: Mapping[str, str], target: Path) -> None:
    """Write ``files`` to ``target`` atomically (staging folder + rename); an existing target is kept."""
    if target.is_dir():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=target.parent))
    try:
        for relative, source in files.items():
            path = staging / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(source)
            os.chmod(path, 0o444)  # functions read their code, never change it
        os.rename(staging, target)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        if not target.is_dir():
            raise
