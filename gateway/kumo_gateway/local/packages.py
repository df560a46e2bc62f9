"""Deployment packages for local mode: `code.path`/`code.zip`/`code.requirements` built at load/reload.

Builds go into the content-addressed cache `<state-dir>/packages/<address>/` (kumo.packages), reused
across functions and restarts; the package dir is the instance's code dir (LAMBDA_TASK_ROOT) as is,
so a cold start costs no copy or unpack. A function whose package fails is recorded with the reason
(its invocations answer that reason) and the other functions start as usual.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from pathlib import Path

from kumo.manifests import Manifests
from kumo.models.function import CUSTOM_RUNTIMES, Code, Function, FunctionSpec
from kumo.packages.build import PackageSource, build_package, read_directory, read_zip
from kumo.packages.freeze import pinned_layer_refs, zip_code_sha256
from kumo.packages.layers import LayerStore
from kumo.packages.plan import PackageError
from kumo_gateway.local.code import CodeUnavailable, code_files

log = logging.getLogger("kumo.local")


def is_package(spec: FunctionSpec) -> bool:
    """Whether the function's code goes through the package builder (rather than plain inline files)."""
    code = spec.code
    custom = spec.runtime in CUSTOM_RUNTIMES  # its bootstrap must be executable
    return custom or code.path is not None or code.zip is not None or code.requirements is not None


def package_inputs(
    code: Code, base_dir: Path, config_maps: Mapping[str, Mapping[str, str]]
) -> tuple[PackageSource, list[str]]:
    """The code files and requirement lines of `code`; relative paths resolve against `base_dir`.

    Inline/ConfigMap files carry no modes: their `bootstrap` (custom runtimes) is made executable.
    """
    if code.path is not None:
        source = read_directory(base_dir / code.path)
    elif code.zip is not None:
        source = read_zip(base_dir / code.zip)
    else:
        files = {name: text.encode() for name, text in code_files(code, config_maps).items()}
        source = PackageSource(files, frozenset({"bootstrap"} & files.keys()))
    requirements: list[str] = []
    if isinstance(code.requirements, list):
        requirements = list(code.requirements)
    elif isinstance(code.requirements, str):
        path = base_dir / code.requirements
        try:
            requirements = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise PackageError(f"requirements file {str(path)!r}: {exc.strerror or exc}") from None
    return source, requirements


def custom_runtime_command(runtime: str, code_dir: Path) -> list[str] | None:
    """`<task root>/bootstrap` for `provided*` runtimes (as Lambda starts it), `None` for the others."""
    return [str(code_dir / "bootstrap")] if runtime in CUSTOM_RUNTIMES else None


class LocalPackages:
    """The built package (or the reason there is none) of every package function."""

    def __init__(self, state_dir: Path) -> None:
        self.cache = state_dir / "packages"
        self.layers = LayerStore(state_dir)
        self.built: dict[str, Path] = {}
        #: The merged layers (the function's `/opt`) of functions with `spec.layers`.
        self.opt: dict[str, Path] = {}
        self.problems: dict[str, str] = {}
        #: The exact layer versions (`NAME:N`) each function with layers runs now (a version freezes them).
        self.layer_refs: dict[str, list[str]] = {}
        #: (CodeSha256, CodeSize) of functions whose package is a zip as given (no requirements): the zip's,
        #: read when the package was built (kumo.packages.freeze).
        self.zips: dict[str, tuple[str, int]] = {}
        #: Functions created through the Lambda API that are not Active yet: name → state (Pending, Failed).
        self.not_ready: dict[str, str] = {}

    def publish_template_layers(self, manifests: Manifests) -> None:
        """Publish the layers SAM templates declare (a new version only when their content changed)."""
        for layer in manifests.layers:
            try:
                version, published = self.layers.publish_if_changed(layer.name, layer.path)
            except (PackageError, OSError) as exc:
                log.error("layer %s (%s) not published: %s", layer.name, layer.logical_id, exc)
                continue
            log.info("layer %s: version %s %s", layer.name, version, "published" if published else "unchanged")

    def build(self, manifests: Manifests, names: Iterable[str] | None = None) -> list[str]:
        """Build the packages of `names` (default: every function); failures are logged and recorded.

        Returns the names whose package, layers or problem differ from before (their `$LATEST` changed)."""
        self.publish_template_layers(manifests)
        changed = []
        for name in list(manifests.functions) if names is None else list(names):
            before = self._state(name)
            function = manifests.functions.get(name)
            for recorded in (self.built, self.opt, self.problems, self.layer_refs, self.zips):
                recorded.pop(name, None)
            if function is not None and (is_package(function.spec) or function.spec.layers):
                source = manifests.sources.get(("Function", name))
                base_dir = source.resolve().parent if source is not None else Path.cwd()
                self.build_one(function, base_dir, manifests.config_maps)
            if self._state(name) != before:
                changed.append(name)
        return changed

    def uses_packages(self, manifests: Manifests) -> list[str]:
        """The functions built here (a package or layers): a reload rebuilds them to see whether their
        code dir, zip, requirements or layers changed under an unchanged manifest."""
        return [n for n, f in manifests.functions.items() if is_package(f.spec) or f.spec.layers]

    def _state(self, name: str) -> tuple[object, ...]:
        return self.built.get(name), self.opt.get(name), self.problems.get(name)

    def build_one(self, function: Function, base_dir: Path, config_maps: Mapping[str, Mapping[str, str]]) -> None:
        name = function.metadata.name
        try:
            layer_refs = pinned_layer_refs(self.layers.resolve(function.spec.layers))
            opt = self.layers.merged(layer_refs)
            if layer_refs:
                self.layer_refs[name] = layer_refs
            if not is_package(function.spec):
                if opt is not None:
                    self.opt[name] = opt
                return
            source, requirements = package_inputs(function.spec.code, base_dir, config_maps)
            package = build_package(
                name, source.files, requirements, function.spec.runtime, self.cache, executables=source.executables
            )
        except (PackageError, CodeUnavailable) as exc:
            message = str(exc) if str(exc).startswith("function ") else f"function {name!r}: {exc}"
            self.problems[name] = message
            log.error("package not built: %s", message)
            return
        self.built[name] = package.path
        code = function.spec.code
        if code.zip is not None and not requirements:
            try:
                data = (base_dir / code.zip).read_bytes()
                self.zips[name] = (zip_code_sha256(data), len(data))
            except OSError:  # replaced while building: the package's own identity is used instead
                pass
        if opt is not None:
            self.opt[name] = opt
        log.info("function %s: package %s ready (pip ran: %s)", name, package.address[:12], package.installed)

    def opt_dir(self, name: str) -> Path | None:
        """The merged layers of function `name` (`None` without layers); CodeUnavailable if not built."""
        if name in self.problems:
            raise CodeUnavailable(self.problems[name])
        return self.opt.get(name)

    def code_dir(self, name: str) -> Path:
        """The package dir of function `name`; CodeUnavailable with the build problem otherwise."""
        if name in self.built:
            return self.built[name]
        raise CodeUnavailable(self.problems.get(name, "its package was not built"))
