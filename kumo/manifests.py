"""Load Kumo manifests (multi-document YAML files or folders) into validated models.

Every problem found is reported at once, one line each, e.g.
``examples/bad/fn.yaml: Function 'hello': spec.timeout: must be at most 900s``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from kumo.models import API_VERSION, KINDS, Api, Function, Table, format_validation_error
from kumo.sam import LayerSource, Output, TemplateError, Unmapped, is_sam_template, translate

Resource = Function | Api | Table


class ManifestError(ValueError):
    """One or more problems in manifests; ``str`` gives them one per line."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


@dataclass
class Manifests:
    """The resources found, by name, and the file each came from."""

    functions: dict[str, Function] = field(default_factory=dict)
    apis: dict[str, Api] = field(default_factory=dict)
    tables: dict[str, Table] = field(default_factory=dict)
    #: ``data`` of plain ``v1`` ConfigMaps (so ``code.configMap`` works in local mode).
    config_maps: dict[str, dict[str, str]] = field(default_factory=dict)
    sources: dict[tuple[str, str], Path] = field(default_factory=dict)
    #: From SAM templates (docs/sam.md): layers to publish at start, what Kumo could not map, Outputs.
    layers: list[LayerSource] = field(default_factory=list)
    unmapped: list[Unmapped] = field(default_factory=list)
    outputs: list[Output] = field(default_factory=list)

    def check_references(self) -> list[str]:
        """Problems with references between the loaded objects (routes to unknown functions, ...)."""
        problems = []
        for name, fn in self.functions.items():
            ref = fn.spec.code.config_map
            if ref is not None and ref.name not in self.config_maps:
                where = self.sources.get(("Function", name))
                problems.append(
                    f"{where}: Function {name!r}: spec.code.configMap.name: ConfigMap {ref.name!r} not found"
                )
        for name, api in self.apis.items():
            for index, route in enumerate(api.spec.routes):
                # A name chosen by stage variables is resolved per request (a missing one answers 500).
                function = route.function_name
                if function is not None and function not in self.functions:
                    where = self.sources.get(("Api", name))
                    problems.append(
                        f"{where}: Api {name!r}: spec.routes[{index}].function: Function {function!r} not found"
                    )
        return problems


def _describe(obj: dict[str, Any]) -> str:
    kind = obj.get("kind")
    metadata = obj.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    return f"{kind or 'object'} {name!r}" if name is not None else str(kind or "object")


def _validate(obj: dict[str, Any]) -> Resource:
    """Validate one kumo.dev object; raise ``ManifestError`` with lines prefixed by kind and name."""
    kind = obj.get("kind")
    api_version = obj.get("apiVersion")
    who = _describe(obj)
    if not isinstance(kind, str) or not kind:
        raise ManifestError([f"{who}: kind is required"])
    model = KINDS.get(kind)
    if model is None or api_version != API_VERSION:
        if model is not None:
            raise ManifestError([f"{who}: apiVersion must be {API_VERSION}, got {api_version!r}"])
        raise ManifestError(
            [
                f"{who}: kind {kind!r} (apiVersion {api_version!r}) is not supported; expected "
                f"Function, Api or Table ({API_VERSION}) or ConfigMap (v1)"
            ]
        )
    try:
        return model.model_validate(obj)
    except ValidationError as exc:
        raise ManifestError([f"{who}: {line}" for line in format_validation_error(exc)]) from None


def parse_manifest(obj: dict[str, Any]) -> Resource:
    """Validate one ``Function``, ``Api`` or ``Table`` object (a dict as from YAML or the API server).

    Raises ``ManifestError`` (lines like ``Function 'hello': spec.timeout: must be at most 900s``).
    """
    if not isinstance(obj, dict):
        raise ManifestError([f"expected a mapping with apiVersion and kind, got {type(obj).__name__}"])
    return _validate(obj)


def _config_map(obj: dict[str, Any]) -> tuple[str, dict[str, str]]:
    who = _describe(obj)
    metadata = obj.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    if not isinstance(name, str) or not name:
        raise ManifestError([f"{who}: metadata.name is required"])
    data = obj.get("data") or {}
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise ManifestError([f"{who}: data must map file names to strings"])
    return name, dict(data)


def yaml_files(paths: Sequence[Path]) -> tuple[list[Path], list[str]]:
    """Expand folders into their ``*.yaml``/``*.yml`` files (sorted, recursive); report missing paths."""
    files: list[Path] = []
    problems = []
    for path in paths:
        if path.is_dir():
            found = [p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file()]
            files.extend(sorted(found))
        elif path.is_file():
            files.append(path)
        else:
            problems.append(f"{path}: no such file or folder")
    return files, problems


def _documents(text: str) -> Iterator[tuple[int, Any]]:
    """Yield ``(line, document)`` for every non-empty YAML document (line is 1-based)."""
    loader = yaml.SafeLoader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            line = node.start_mark.line + 1
            yield line, loader.construct_document(node)
    finally:
        loader.dispose()


def _yaml_problem(path: Path, exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    detail = f"{context}, {problem}" if context else problem
    return f"{where}: invalid YAML: {detail}"


def _add(result: Manifests, resource: Resource, path: Path) -> str | None:
    kind, name = resource.kind, resource.metadata.name
    table: dict[str, Any] = {"Function": result.functions, "Api": result.apis, "Table": result.tables}[kind]
    if name in table:
        first = result.sources[(kind, name)]
        return f"{path}: {kind} {name!r}: duplicate name (first defined in {first})"
    table[name] = resource
    result.sources[(kind, name)] = path
    return None


def _sam_documents(text: str, path: Path, parameters: Mapping[str, str], result: Manifests) -> list[tuple[int, Any]]:
    """A SAM template's Kumo manifests (its layers and unmapped items go to ``result``)."""
    try:
        translation = translate(text, base_dir=path.resolve().parent, overrides=parameters, where=str(path))
    except TemplateError as exc:
        message = str(exc)
        raise ManifestError([message if message.startswith(str(path)) else f"{path}: {message}"]) from None
    result.layers.extend(translation.layers)
    result.unmapped.extend(translation.unmapped)
    result.outputs.extend(translation.outputs)
    return [(1, manifest) for manifest in translation.manifests]


def load_manifests(paths: Sequence[Path], parameters: Mapping[str, str] | None = None) -> Manifests:
    """Load and validate every object in ``paths`` (files or folders, SAM templates translated with
    ``parameters`` overriding their Parameters); raise ``ManifestError`` on problems."""
    files, problems = yaml_files([Path(p) for p in paths])
    result = Manifests()
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
            if is_sam_template(text):
                documents = _sam_documents(text, path, parameters or {}, result)
            else:
                documents = list(_documents(text))
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(f"{path}: cannot read: {exc}")
            continue
        except yaml.YAMLError as exc:
            problems.append(_yaml_problem(path, exc))
            continue
        except ManifestError as exc:
            problems.extend(exc.problems)
            continue
        for line, obj in documents:
            if obj is None:
                continue
            if not isinstance(obj, dict):
                problems.append(f"{path}:{line}: expected a mapping with apiVersion and kind")
                continue
            if obj.get("kind") == "ConfigMap" and obj.get("apiVersion") == "v1":
                try:
                    name, data = _config_map(obj)
                except ManifestError as exc:
                    problems.extend(f"{path}: {problem}" for problem in exc.problems)
                    continue
                if name in result.config_maps:
                    first = result.sources[("ConfigMap", name)]
                    problems.append(f"{path}: ConfigMap {name!r}: duplicate name (first defined in {first})")
                    continue
                result.config_maps[name] = data
                result.sources[("ConfigMap", name)] = path
                continue
            try:
                resource = _validate(obj)
            except ManifestError as exc:
                problems.extend(f"{path}: {problem}" for problem in exc.problems)
                continue
            duplicate = _add(result, resource, path)
            if duplicate:
                problems.append(duplicate)
    if problems:
        raise ManifestError(problems)
    return result
