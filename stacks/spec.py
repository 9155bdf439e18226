"""Stack files: their format, parsing, ``${VAR}`` expansion and local path resolution.

The file format (see ``stacks/local.yaml``)::

    name: <stack name>
    flavors:                       # optional: custom flavors, as importable class paths
      - <package.module.FlavorClass>
    components:
      <component type>:            # orchestrator, artifact_store, experiment_tracker, ...
        name: <component name>
        flavor: <flavor name>      # known to this ZenML installation, or one of `flavors`
        configuration: {...}       # validated against the flavor's own config class

Applying a file is idempotent: components that exist are updated in place, missing ones are
created, and the stack is created or pointed at exactly the listed components. Everything is
validated *before* anything is registered, so a bad file leaves the ZenML store untouched.
Custom flavors are registered (or brought up to date with their code) before the components.

A relative local path in a setting named ``path`` or ending in ``_path``, ``_dir`` or
``_directory`` (``data/artifacts``, ``~/alerts.jsonl``) is resolved against the ZenML repository
that holds the stack file and registered as an absolute path; a stack file outside any ZenML
repository must give absolute paths. ZenML itself would register it as written and resolve it
against whatever directory a step runs in.

Values of the form ``${ENV_VAR}`` are expanded from the environment (an unset variable is an
error); ``${ENV_VAR:-default}`` falls back to ``default`` when the variable is unset or empty, as
in a shell, and ``python -m stacks`` names the variables that fell back. Secrets never go in the
file: a sensitive field (one ZenML marks with ``SecretField``) must hold a ZenML secret reference
(``{{secret_name.key}}``), otherwise the file is refused.

Parsing needs no ZenML store; :mod:`stacks.validation` checks a parsed file against one and
:mod:`stacks.apply` registers it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

_ENV_PATTERN = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_PATH_SETTING = re.compile(r"^(path|.+_path|.+_dir|.+_directory)$")


class StackSpecError(ValueError):
    """A stack file that cannot be applied; the message names the file and the key."""


class ComponentSpec(BaseModel):
    """One stack component: its name, flavor and flavor configuration."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    flavor: str = Field(min_length=1)
    configuration: dict[str, Any] = Field(default_factory=dict)


class StackSpec(BaseModel):
    """A whole stack: a name, custom flavor sources and components keyed by component type."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    flavors: list[str] = Field(default_factory=list)
    components: dict[str, ComponentSpec]
    _resolved_paths: list[tuple[str, str, str]] = PrivateAttr(default_factory=list)

    @property
    def resolved_paths(self) -> list[tuple[str, str, str]]:
        """``(file key, value as written, absolute path)`` for each relative path resolved."""
        return self._resolved_paths


def _expand_env(value: Any, source: str, key: str) -> Any:
    """Expand ``${VAR}`` and ``${VAR:-default}`` in strings, recursively.

    Raises:
        StackSpecError: If a variable referenced without a default is not set or empty.
    """
    if isinstance(value, str):

        def _sub(match: re.Match[str]) -> str:
            var, default = match.group(1), match.group(2)
            if default is not None:
                return os.environ.get(var) or default
            if var not in os.environ:
                raise StackSpecError(
                    f"{source}: key '{key}': environment variable '{var}' is not set"
                )
            if not os.environ[var].strip():
                raise StackSpecError(
                    f"{source}: key '{key}': environment variable '{var}' is empty"
                )
            return os.environ[var]

        return _ENV_PATTERN.sub(_sub, value)
    if isinstance(value, dict):
        return {k: _expand_env(v, source, f"{key}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [_expand_env(v, source, f"{key}[{i}]") for i, v in enumerate(value)]
    return value


def defaulted_variables(path: str | Path) -> list[str]:
    """Name the variables of a stack file that fall back to their ``${VAR:-default}``.

    Args:
        path: The YAML file.

    Returns:
        Sorted names of variables written with a default that are unset or empty in the
        environment; empty if the file cannot be read (``load_stack_spec`` reports that).
    """
    try:
        raw = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError):
        return []
    names: set[str] = set()

    def _walk(value: Any) -> None:
        if isinstance(value, str):
            for match in _ENV_PATTERN.finditer(value):
                if match.group(2) is not None and not os.environ.get(match.group(1)):
                    names.add(match.group(1))
        elif isinstance(value, dict):
            for item in value.values():
                _walk(item)
        elif isinstance(value, list):
            for item in value:
                _walk(item)

    _walk(raw)
    return sorted(names)


def load_stack_spec(path: str | Path) -> StackSpec:
    """Read and structurally validate a stack file.

    Args:
        path: The YAML file.

    Returns:
        The parsed specification, with ``${VAR}`` expanded.

    Raises:
        StackSpecError: If the file is missing, not YAML, or has an unknown or missing key.
    """
    source = str(path)
    try:
        raw = yaml.safe_load(Path(path).read_text())
    except FileNotFoundError as exc:
        raise StackSpecError(f"{source}: file not found") from exc
    except yaml.YAMLError as exc:
        raise StackSpecError(f"{source}: invalid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise StackSpecError(f"{source}: expected a mapping at the top level")
    try:
        spec = StackSpec.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        raise StackSpecError(f"{source}: key '{key}': {err['msg']}") from exc
    for ctype, comp in spec.components.items():
        comp.configuration = _expand_env(
            comp.configuration, source, f"components.{ctype}.configuration"
        )
    _resolve_local_paths(spec, source, Path(path))
    return spec


def stack_file_repository(path: str | Path) -> Path | None:
    """The ZenML repository (the folder holding ``.zen``) that contains a stack file.

    Args:
        path: The stack file.

    Returns:
        The repository root, or None if no folder above the file is a ZenML repository.
    """
    from zenml.client import Client

    folder = Path(path).resolve().parent
    for candidate in (folder, *folder.parents):
        if Client.is_repository_directory(candidate):
            return candidate
    return None


def _resolve_local_paths(spec: StackSpec, source: str, stack_file: Path) -> None:
    """Make each relative local path setting absolute, against the stack file's repository.

    Raises:
        StackSpecError: If a setting holds a relative path and the stack file is in no ZenML
            repository.
    """
    repository: Path | None = None
    for ctype, comp in spec.components.items():
        for name, value in comp.configuration.items():
            if not (isinstance(value, str) and value and _PATH_SETTING.match(name)):
                continue
            if "://" in value or value.startswith("{{"):
                continue
            key = f"components.{ctype}.configuration.{name}"
            expanded = Path(value).expanduser()
            if expanded.is_absolute():
                if str(expanded) != value:
                    comp.configuration[name] = str(expanded)
                    spec.resolved_paths.append((key, value, str(expanded)))
                continue
            repository = repository or stack_file_repository(stack_file)
            if repository is None:
                raise StackSpecError(
                    f"{source}: key '{key}': relative path '{value}', and the stack file is in "
                    "no ZenML repository to resolve it against; write an absolute path (or "
                    "keep the stack file in the repository: `zenml init` marks one)"
                )
            absolute = str((repository / expanded).resolve())
            comp.configuration[name] = absolute
            spec.resolved_paths.append((key, value, absolute))
