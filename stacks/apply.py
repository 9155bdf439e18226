"""Applying a validated stack file: secrets checked, flavors, components and the stack registered.

:func:`apply_stack` validates everything first (:mod:`stacks.validation`), so a bad file or a
missing secret leaves the ZenML store untouched; then it registers or updates the custom
flavors, the components and the stack, idempotently.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from stacks.spec import StackSpec, StackSpecError, load_stack_spec
from stacks.validation import NAMED_SECRET_FIELDS, validate_against_zenml

if TYPE_CHECKING:
    from zenml.stack.flavor import Flavor


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
        path: The YAML file (see :mod:`stacks.spec` for the format).
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
