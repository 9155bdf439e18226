"""Declarative ZenML stack definitions (`stacks/*.yaml`) and the command that applies them.

The modules, by job: :mod:`stacks.spec` (the file format, parsing, ``${VAR}`` expansion, local
paths), :mod:`stacks.validation` (flavor loading and checks against the ZenML store, read-only),
:mod:`stacks.apply` (secrets, registering flavors, components and the stack) and
:mod:`stacks.cli` (``python -m stacks apply|validate``). The names below are the public API.
"""

from stacks.apply import (
    apply_stack,
    check_secrets_exist,
    register_custom_flavors,
    secret_references,
)
from stacks.cli import activation_scope
from stacks.spec import (
    ComponentSpec,
    StackSpec,
    StackSpecError,
    defaulted_variables,
    load_stack_spec,
    stack_file_repository,
)
from stacks.validation import load_custom_flavors, validate_against_zenml

__all__ = [
    "ComponentSpec",
    "StackSpec",
    "StackSpecError",
    "activation_scope",
    "apply_stack",
    "check_secrets_exist",
    "defaulted_variables",
    "load_custom_flavors",
    "load_stack_spec",
    "register_custom_flavors",
    "secret_references",
    "stack_file_repository",
    "validate_against_zenml",
]
