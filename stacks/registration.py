"""Register or update a ZenML stack from a declarative YAML file, then activate it.

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
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

if TYPE_CHECKING:
    from zenml.stack.flavor import Flavor

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


def load_custom_flavors(spec: StackSpec, source: str) -> list[Flavor]:
    """Import the file's custom flavors and check each against the ZenML store, read-only.

    Args:
        spec: The parsed stack file.
        source: The file name, for messages.

    Returns:
        One instance of each flavor class, in file order.

    Raises:
        StackSpecError: If a source cannot be imported, is not a concrete ZenML flavor class,
            has an implementation class that cannot be imported, repeats another flavor's type
            and name, or takes the name of a built-in flavor of the same type.
    """
    from zenml.client import Client
    from zenml.stack.flavor import Flavor, validate_flavor_source
    from zenml.utils import source_utils

    client = Client()
    flavors: list[Flavor] = []
    seen: dict[tuple[str, str], int] = {}
    for index, flavor_source in enumerate(spec.flavors):
        key = f"flavors[{index}]"
        try:
            flavor_class = source_utils.load(flavor_source)
        except (ValueError, AttributeError, ImportError) as exc:
            raise StackSpecError(
                f"{source}: key '{key}': cannot import '{flavor_source}': {exc}"
            ) from exc
        if not (isinstance(flavor_class, type) and issubclass(flavor_class, Flavor)):
            raise StackSpecError(
                f"{source}: key '{key}': '{flavor_source}' is not a ZenML Flavor class"
            )
        try:
            component_type = flavor_class().type
            _, flavor = validate_flavor_source(flavor_source, component_type=component_type)
        except (TypeError, ValueError, AttributeError, ImportError, NotImplementedError) as exc:
            raise StackSpecError(f"{source}: key '{key}': {exc}") from exc
        if not isinstance(flavor.name, str) or not flavor.name:
            raise StackSpecError(
                f"{source}: key '{key}': '{flavor_source}' has no flavor name (a base class?)"
            )
        domain = (flavor.type.value, flavor.name)
        if domain in seen:
            raise StackSpecError(
                f"{source}: key '{key}': {flavor.type.value} flavor '{flavor.name}' is already "
                f"declared by flavors[{seen[domain]}]"
            )
        seen[domain] = index
        registered = client.list_flavors(type=flavor.type, name=flavor.name).items
        if any(not f.is_custom for f in registered):
            raise StackSpecError(
                f"{source}: key '{key}': '{flavor.name}' is the name of a built-in "
                f"{flavor.type.value} flavor; give the custom flavor another name"
            )
        flavors.append(flavor)
    return flavors


def register_custom_flavors(flavors: list[Flavor]) -> None:
    """Register new custom flavors; update those whose source or config schema changed.

    Args:
        flavors: Flavors from :func:`load_custom_flavors`.
    """
    from zenml.client import Client
    from zenml.models import FlavorUpdate
    from zenml.utils import source_utils

    client = Client()
    for flavor in flavors:
        import_path = source_utils.resolve(type(flavor)).import_path
        registered = client.list_flavors(type=flavor.type, name=flavor.name, hydrate=True).items
        if not registered:
            client.create_flavor(source=import_path, component_type=flavor.type)
            continue
        existing = registered[0]
        if existing.source != import_path or existing.config_schema != flavor.config_schema:
            client.zen_store.update_flavor(
                flavor_id=existing.id,
                flavor_update=FlavorUpdate(source=import_path, config_schema=flavor.config_schema),
            )


def validate_against_zenml(spec: StackSpec, source: str) -> list[Flavor]:
    """Check flavors, component types, required settings and secrets against ZenML itself.

    Args:
        spec: The parsed stack file.
        source: The file name, for messages.

    Returns:
        The file's custom flavors (see :func:`load_custom_flavors`), not yet registered.

    Raises:
        StackSpecError: On a custom flavor that cannot be loaded, an unknown component type
            or flavor, a configuration the flavor's config class rejects (missing required
            setting, unknown key), or a sensitive field holding a plain-text value instead of
            a ``{{secret.key}}`` reference.
    """
    from zenml.client import Client
    from zenml.enums import StackComponentType
    from zenml.stack.flavor import Flavor
    from zenml.utils.secret_utils import is_secret_field, is_secret_reference

    client = Client()
    custom_flavors = load_custom_flavors(spec, source)
    declared = {(f.type.value, f.name): f for f in custom_flavors}
    valid_types = {t.value for t in StackComponentType}
    if "orchestrator" not in spec.components or "artifact_store" not in spec.components:
        raise StackSpecError(
            f"{source}: key 'components': a stack needs an orchestrator and an artifact_store"
        )
    for ctype, comp in spec.components.items():
        prefix = f"components.{ctype}"
        if ctype not in valid_types:
            raise StackSpecError(
                f"{source}: key '{prefix}': unknown component type '{ctype}' "
                f"(known: {', '.join(sorted(valid_types))})"
            )
        if (ctype, comp.flavor) in declared:
            config_class = declared[(ctype, comp.flavor)].config_class
        else:
            try:
                flavor = client.get_flavor_by_name_and_type(
                    name=comp.flavor, component_type=StackComponentType(ctype)
                )
            except KeyError as exc:
                raise StackSpecError(
                    f"{source}: key '{prefix}.flavor': unknown {ctype} flavor '{comp.flavor}'"
                    " (is its ZenML integration installed? `zenml integration list`;"
                    " a custom flavor goes in the file's `flavors` list)"
                ) from exc
            config_class = Flavor.from_model(flavor).config_class
        for field_name, field in config_class.model_fields.items():
            value = comp.configuration.get(field_name)
            if value is not None and is_secret_field(field) and not is_secret_reference(value):
                raise StackSpecError(
                    f"{source}: key '{prefix}.configuration.{field_name}': secret written in "
                    "plain text; store it with `zenml secret create` and reference it as "
                    "'{{secret_name.key}}'"
                )
        for field_name, value in comp.configuration.items():
            plain = _plain_credentials(
                value, f"{prefix}.configuration.{field_name}", top_level=True
            )
            if plain:
                raise StackSpecError(
                    f"{source}: key '{plain}': credential written in plain text; store it with "
                    "`zenml secret create` and reference it as '{{secret_name.key}}' (or use the "
                    "component's `authentication_secret`)"
                )
        unknown = set(comp.configuration) - set(config_class.model_fields)
        if unknown:
            raise StackSpecError(
                f"{source}: key '{prefix}.configuration.{sorted(unknown)[0]}': not a setting "
                f"of the {comp.flavor} {ctype} flavor"
            )
        try:
            # Secrets are checked by name and key before `apply` registers anything
            # (`check_secrets_exist`); here they stand in as placeholders, so that a file
            # validates offline and config validators never try to resolve them.
            config_class(**_with_secret_placeholders(comp.configuration))
        except ValidationError as exc:
            err = exc.errors()[0]
            key = ".".join(str(p) for p in err["loc"])
            where = f"{prefix}.configuration" + (f".{key}" if key else "")
            raise StackSpecError(f"{source}: key '{where}': {err['msg']}") from exc
        except Exception as exc:  # flavor-specific checks raise their own types (e.g. a path)
            raise StackSpecError(
                f"{source}: key '{prefix}.configuration': {type(exc).__name__}: {exc}"
            ) from exc
    return custom_flavors


# Settings whose value is the *name* of a ZenML secret (S3 artifact store, Seldon deployer).
NAMED_SECRET_FIELDS = frozenset({"authentication_secret", "secret"})
# Keys that hold credentials wherever they appear, e.g. inside `client_kwargs`.
_CREDENTIAL_KEY = re.compile(
    r"(secret|password|passwd|token|api_?key|access_?key|private_?key|credential)", re.IGNORECASE
)


def _plain_credentials(value: Any, key: str, top_level: bool) -> str | None:
    """The first key under ``value`` holding a credential in plain text, or None."""
    from zenml.utils.secret_utils import is_secret_reference

    if isinstance(value, dict):
        for name, item in value.items():
            found = _plain_credentials(item, f"{key}.{name}", top_level=False)
            if found:
                return found
        return None
    if isinstance(value, list):
        for i, item in enumerate(value):
            found = _plain_credentials(item, f"{key}[{i}]", top_level=False)
            if found:
                return found
        return None
    name = key.rsplit(".", 1)[-1]
    if (
        isinstance(value, str)
        and value
        and not is_secret_reference(value)
        and _CREDENTIAL_KEY.search(name)
        and not (top_level and name in NAMED_SECRET_FIELDS)
    ):
        return key
    return None


def _with_secret_placeholders(configuration: dict[str, Any]) -> dict[str, Any]:
    """Replace each ``{{secret.key}}`` value with a plain placeholder naming it."""
    from zenml.utils.secret_utils import is_secret_reference

    return {
        name: f"<secret {value.strip('{} ')}>" if is_secret_reference(value) else value
        for name, value in configuration.items()
    }


def secret_references(spec: StackSpec) -> list[tuple[str, str, str | None]]:
    """List the ``{{secret.key}}`` references of a stack file's component settings.

    Args:
        spec: The parsed stack file.

    Returns:
        ``(file key, secret name, secret key)`` for each reference, in file order; the file
        key is e.g. ``components.alerter.configuration.slack_token``. Settings that name a
        whole secret (``authentication_secret``, ``secret``) give a secret key of None.
    """
    from zenml.utils.secret_utils import is_secret_reference, parse_secret_reference

    found: list[tuple[str, str, str | None]] = []
    for ctype, comp in spec.components.items():
        for name, value in comp.configuration.items():
            if is_secret_reference(value):
                ref = parse_secret_reference(value)
                found.append((f"components.{ctype}.configuration.{name}", ref.name, ref.key))
            elif name in NAMED_SECRET_FIELDS and isinstance(value, str) and value:
                found.append((f"components.{ctype}.configuration.{name}", value, None))
    return found


def check_secrets_exist(spec: StackSpec, source: str) -> None:
    """Check that every referenced secret exists in the ZenML store and holds its key.

    Args:
        spec: The parsed stack file.
        source: The file name, for messages.

    Raises:
        StackSpecError: Naming the first setting whose secret or key is missing.
    """
    from zenml.client import Client

    client = Client()
    for file_key, secret_name, secret_key in secret_references(spec):
        try:
            secret = client.get_secret_by_name_and_private_status(secret_name)
        except KeyError as exc:
            raise StackSpecError(
                f"{source}: key '{file_key}': secret '{secret_name}' does not exist in this "
                f"ZenML store; create it first: zenml secret create {secret_name} "
                f"--{secret_key or '<key>'}=..."
            ) from exc
        if secret_key is not None and secret_key not in secret.secret_values:
            raise StackSpecError(
                f"{source}: key '{file_key}': secret '{secret_name}' has no key "
                f"'{secret_key}' (it has: {', '.join(sorted(secret.secret_values)) or 'none'})"
            )


def apply_stack(path: str | Path, activate: bool = True) -> str:
    """Validate a stack file, then register or update its components and the stack.

    Args:
        path: The YAML file (see the module docstring for the format).
        activate: Whether to make the stack the active one afterwards.

    Returns:
        The stack name.

    Raises:
        StackSpecError: If the file is invalid, a referenced secret or secret key does not
            exist (nothing is registered then), or an existing component of the same name has
            a different flavor.
    """
    from zenml.client import Client
    from zenml.enums import StackComponentType

    source = str(path)
    spec = load_stack_spec(path)
    custom_flavors = validate_against_zenml(spec, source)
    check_secrets_exist(spec, source)
    client = Client()

    registered: dict[str, Any] = {}
    for ctype, comp in spec.components.items():
        try:
            found = client.get_stack_component(
                StackComponentType(ctype),
                name_id_or_prefix=comp.name,
                allow_name_prefix_match=False,
            )
        except KeyError:
            continue
        if found.flavor_name != comp.flavor:
            raise StackSpecError(
                f"{source}: key 'components.{ctype}.flavor': component '{comp.name}' is already "
                f"registered with flavor '{found.flavor_name}'; rename it or delete it first"
            )
        registered[ctype] = found
    register_custom_flavors(custom_flavors)
    for ctype, comp in spec.components.items():
        component_type = StackComponentType(ctype)
        existing = registered.get(ctype)
        if existing is None:
            client.create_stack_component(
                name=comp.name,
                flavor=comp.flavor,
                component_type=component_type,
                configuration=comp.configuration,
            )
            continue
        desired = _with_removed_settings_reset(
            dict(comp.configuration), existing.configuration, ctype, comp.flavor, custom_flavors
        )
        if existing.configuration != desired:
            client.update_stack_component(
                name_id_or_prefix=existing.id,
                component_type=component_type,
                configuration=desired,
            )

    wanted = {StackComponentType(t): [comp.name] for t, comp in spec.components.items()}
    try:
        stack = client.get_stack(spec.name, allow_name_prefix_match=False)
    except KeyError:
        stack = None
    if stack is None:
        client.create_stack(
            name=spec.name,
            components={t: names[0] for t, names in wanted.items()},
        )
    else:
        current = {t: [c.name for c in comps] for t, comps in stack.components.items()}
        if current != wanted:
            removed = [t for t in current if t not in wanted]
            client.update_stack(
                name_id_or_prefix=stack.id,
                component_updates={**wanted, **{t: [] for t in removed}},
            )
    if activate:
        client.activate_stack(spec.name)
    return spec.name


def _with_removed_settings_reset(
    desired: dict[str, Any],
    current: dict[str, Any],
    ctype: str,
    flavor_name: str,
    custom_flavors: list[Flavor],
) -> dict[str, Any]:
    """Add each setting the file no longer has, at its flavor default.

    ZenML merges an update into the stored configuration, so a setting deleted from the file
    (a webhook URL, say) would otherwise stay in force.
    """
    removed = set(current) - set(desired)
    if not removed:
        return desired
    from zenml.client import Client
    from zenml.enums import StackComponentType
    from zenml.stack.flavor import Flavor

    declared = {(f.type.value, f.name): f for f in custom_flavors}
    if (ctype, flavor_name) in declared:
        config_class = declared[(ctype, flavor_name)].config_class
    else:
        flavor = Client().get_flavor_by_name_and_type(
            name=flavor_name, component_type=StackComponentType(ctype)
        )
        config_class = Flavor.from_model(flavor).config_class
    for key in sorted(removed):
        field = config_class.model_fields.get(key)
        if field is not None and not field.is_required():
            desired[key] = field.get_default(call_default_factory=True)
    return desired


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m stacks``.

    Returns:
        The process exit code: 0 on success, 2 on an invalid stack file.
    """
    parser = argparse.ArgumentParser(prog="python -m stacks", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    apply_parser = sub.add_parser("apply", help="register or update a stack from YAML")
    apply_parser.add_argument("file", help="stack YAML, e.g. stacks/local.yaml")
    apply_parser.add_argument("--no-activate", action="store_true")
    apply_parser.add_argument(
        "--allow-defaults",
        action="store_true",
        help="register even if ${VAR:-default} values fell back to the file's examples",
    )
    validate_parser = sub.add_parser("validate", help="validate a stack YAML, register nothing")
    validate_parser.add_argument("file")
    args = parser.parse_args(argv)
    try:
        if args.command == "validate":
            spec = load_stack_spec(args.file)
            validate_against_zenml(spec, args.file)
            print(f"{args.file}: stack '{spec.name}' is valid")
            _note_defaults(args.file)
            _note_resolved_paths(args.file)
            _note_secrets(spec, args.file)
            return 0
        defaulted = defaulted_variables(args.file)
        if defaulted and not args.allow_defaults:
            raise StackSpecError(
                f"{args.file}: these variables are not set and would register the file's "
                f"example values: {', '.join(defaulted)}; set them (or pass --allow-defaults)"
            )
        name = apply_stack(args.file, activate=not args.no_activate)
    except StackSpecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    _note_defaults(args.file)
    _note_resolved_paths(args.file)
    if args.no_activate:
        print(f"stack '{name}' registered (not activated)")
        return 0
    scope, repository = activation_scope()
    print(f"stack '{name}' registered and active in {scope}")
    _warn_about_scope(args.file, name, repository)
    return 0


def activation_scope() -> tuple[str, Path | None]:
    """Where ZenML keeps the active stack that ``apply`` sets, from the current directory.

    ZenML keeps one active stack per repository (``.zen/config.yaml``) and one in its global
    configuration, used outside any repository; ``zenml stack set`` and ``apply`` change the
    one of the repository they are run in.

    Returns:
        A description of the scope, and the repository root (None for the global scope).
    """
    from zenml.client import Client
    from zenml.config.global_config import GlobalConfiguration

    root = Client().root
    if root is not None:
        return f"the ZenML repository {root} (commands run inside it use it)", root
    return (
        f"the global ZenML configuration ({GlobalConfiguration().config_directory}; commands "
        "run outside any ZenML repository use it)",
        None,
    )


def _warn_about_scope(path: str, name: str, repository: Path | None) -> None:
    """Warn when the stack was activated somewhere its repository's runs will not see it."""
    own = stack_file_repository(path)
    if repository is not None and (own is None or own == repository):
        return
    where = (
        f"{Path.cwd()} is in no ZenML repository"
        if repository is None
        else f"{Path.cwd()} is in the ZenML repository {repository}"
    )
    target = f" the repository of {path} ({own})" if own is not None else " a repository"
    print(
        f"warning: {where}, so runs in{target} keep their own active stack. To use '{name}' "
        f"there, run `zenml stack set {name}` (or this command) inside it.",
        file=sys.stderr,
    )


def _note_resolved_paths(path: str) -> None:
    """Say which relative paths were registered as which absolute ones."""
    try:
        spec = load_stack_spec(path)
    except StackSpecError:
        return
    for key, written, absolute in spec.resolved_paths:
        print(f"note: {path}: key '{key}': '{written}' registered as {absolute}", file=sys.stderr)


def _note_defaults(path: str) -> None:
    """Tell the user which variables took the file's defaults (examples, in ``cloud.yaml``)."""
    names = defaulted_variables(path)
    if names:
        print(
            f"note: {path}: not set, so the file's defaults were used: {', '.join(names)}",
            file=sys.stderr,
        )


def _note_secrets(spec: StackSpec, path: str) -> None:
    """List the ZenML secrets (and their keys) that ``apply`` will require to exist."""
    wanted: dict[str, set[str]] = {}
    for _, secret_name, secret_key in secret_references(spec):
        keys = wanted.setdefault(secret_name, set())
        if secret_key is not None:
            keys.add(secret_key)
    if wanted:
        listed = "; ".join(
            f"{name} ({', '.join(sorted(keys)) or 'the whole secret'})"
            for name, keys in wanted.items()
        )
        print(f"note: {path}: `apply` needs these ZenML secrets: {listed}", file=sys.stderr)
