"""Command line of ``python -m stacks apply|validate FILE``, and its notes to the user."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from stacks.apply import apply_stack, secret_references
from stacks.spec import (
    StackSpec,
    StackSpecError,
    defaulted_variables,
    load_stack_spec,
    stack_file_repository,
)
from stacks.validation import validate_against_zenml

DESCRIPTION = "Register or update a ZenML stack from a declarative YAML file, then activate it."


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m stacks``.

    Returns:
        The process exit code: 0 on success, 2 on an invalid stack file.
    """
    parser = argparse.ArgumentParser(prog="python -m stacks", description=DESCRIPTION)
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
