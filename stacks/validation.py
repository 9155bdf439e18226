"""Checking a parsed stack file against ZenML itself, read-only: flavors, settings, secrets.

Custom flavors are imported and checked (:func:`load_custom_flavors`); each component's
configuration is validated by its flavor's config class, with ``{{secret.key}}`` references
standing in for sensitive values, and plain-text credentials are refused. Nothing is written
to the ZenML store here.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from stacks.spec import StackSpec, StackSpecError

if TYPE_CHECKING:
    from zenml.stack.flavor import Flavor


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
