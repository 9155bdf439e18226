"""Reading config files: YAML with a safe loader, and validation errors that name file and key.

Shared by every config loader (:mod:`tabular_classifier.config`); knows no config model.
"""

import difflib
import re
import sys
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from tabular_classifier.errors import ConfigError


class _ConfigLoader(yaml.SafeLoader):
    """SafeLoader that also reads ``1e-3`` as a float.

    PyYAML follows YAML 1.1, where an exponent without a dot (``1e-3``) is a string; the strict
    ModelConfig would then reject the most common way of writing a learning rate.
    """


_ConfigLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


_UNION_MEMBER = re.compile(r"\[|^constrained-|^ThresholdRule$")
# Bad keys named after the first in one message; the rest are counted.
_MORE_KEYS = 9


def _key(loc: tuple[Any, ...]) -> str | None:
    # Pydantic names union members in the location ("function-after[...]", "constrained-float").
    return ".".join(str(part) for part in loc if not _UNION_MEMBER.search(str(part))) or None


def _fields_at(model: type[BaseModel] | None, path: Sequence[Any]) -> list[str]:
    """The field names of the (nested) pydantic model at ``path`` below ``model``, or []."""
    for part in path:
        if model is None or not isinstance(part, str) or part not in model.model_fields:
            return []
        annotation = model.model_fields[part].annotation
        members = typing.get_args(annotation) or (annotation,)
        model = next((m for m in members if isinstance(m, type) and issubclass(m, BaseModel)), None)
    return list(model.model_fields) if model is not None else []


def _with_suggestion(item: dict[str, Any], model: type[BaseModel] | None) -> dict[str, Any]:
    """An ``extra_forbidden`` error with the closest field name appended to its message."""
    loc = item["loc"]
    if item["type"] != "extra_forbidden" or not loc:
        return item
    close = difflib.get_close_matches(str(loc[-1]), _fields_at(model, loc[:-1]), n=1)
    if close:
        item["msg"] = f"{item['msg']} (did you mean '{close[0]}'?)"
    return item


def config_error(
    source: str, error: ValidationError, model: type[BaseModel] | None = None
) -> ConfigError:
    """A pydantic validation's errors as one :class:`ConfigError` naming every bad key.

    The error's ``key`` and the start of its message are the first bad key's; every other bad
    key follows in the message (``...; also key 'epochs': ...``), so that one run shows all the
    mistakes in a file rather than one per attempt.

    Args:
        source: The file or block validated, for the message.
        error: The pydantic error.
        model: The model validated; when given, a misspelt key is followed by the closest
            field name (``Extra inputs are not permitted (did you mean 'target'?)``).

    Returns:
        The error to raise: ``source``, the first dotted key (None at the top level) and the
        messages.
    """
    by_key: dict[str | None, list[dict[str, Any]]] = {}
    for item in error.errors():
        by_key.setdefault(_key(item["loc"]), []).append(_with_suggestion(dict(item), model))

    def message(items: list[dict[str, Any]]) -> str:
        # A union (decision_threshold: number or rule) fails once per member; the member of the
        # value's own type has the useful message, not "Input should be a valid number".
        return str(
            next((e for e in items if not str(e["type"]).endswith("_type")), items[0])["msg"]
        )

    (key, first), *others = by_key.items()
    also = "".join(
        f"; also key '{other}': {message(items)}"
        if other is not None
        else f"; also {message(items)}"
        for other, items in others[:_MORE_KEYS]
    )
    if len(others) > _MORE_KEYS:
        also += f"; and {len(others) - _MORE_KEYS} more bad keys"
    return ConfigError(source, key, message(first) + also)


def run_config_file(argv: Sequence[str] | None = None) -> str | None:
    """The ``-c`` file of this process's ``zenml pipeline run`` command line, if there is one.

    ZenML keeps no record of the run config file once it has merged it, so it is read from the
    command line (``-c FILE``, ``--config FILE``, ``--config=FILE``, ``-cFILE``).

    Args:
        argv: The command line; ``sys.argv`` when None.

    Returns:
        The file as written on the command line, or None (run from Python, or no ``-c``).
    """
    args = list(sys.argv if argv is None else argv)
    if "pipeline" not in args or "run" not in args:
        return None
    for position, arg in enumerate(args):
        if arg in ("-c", "--config") and position + 1 < len(args):
            return args[position + 1]
        if arg.startswith("--config="):
            return arg.split("=", 1)[1]
        if arg.startswith("-c") and not arg.startswith("--") and len(arg) > 2:
            return arg[2:]
    return None


def parameter_source(name: str, argv: Sequence[str] | None = None) -> str:
    """How an error names a pipeline parameter: with the run config file when it is known.

    Args:
        name: The parameter (``data``, ``split``, ``monitoring``, ...).
        argv: The command line; ``sys.argv`` when None (see :func:`run_config_file`).

    Returns:
        ``"FILE: pipeline parameter 'NAME'"``, or ``"pipeline parameter 'NAME'"``.
    """
    label = f"pipeline parameter '{name}'"
    file = run_config_file(argv)
    return label if file is None else f"{file}: {label}"


def read_yaml_mapping(path: Path) -> tuple[dict[str, Any], bytes]:
    """Read a YAML file whose top level is a mapping with string keys.

    Args:
        path: The file.

    Returns:
        The mapping and the file's bytes (for a digest of the exact configuration).

    Raises:
        ConfigError: If the file is missing or unreadable, is not valid YAML, is not a mapping,
            or has a key that is not a string.
    """
    source = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(source, None, "file not found") from None
    except OSError as exc:
        raise ConfigError(source, None, f"cannot read the file: {exc.strerror}") from exc
    try:
        # _ConfigLoader derives from SafeLoader: no arbitrary Python objects are built.
        document = yaml.load(raw, Loader=_ConfigLoader)
    except yaml.YAMLError as exc:
        raise ConfigError(source, None, f"invalid YAML: {exc}") from exc
    if not isinstance(document, dict):
        raise ConfigError(
            source, None, f"expected a mapping at the top level, got {type(document).__name__}"
        )
    for key in document:
        if not isinstance(key, str):
            raise ConfigError(source, str(key), "keys must be strings")
    return document, raw


_Block = TypeVar("_Block", bound=BaseModel)


def validate_block(model: type[_Block], raw: Mapping[str, Any] | None, source: str) -> _Block:
    """Validate an optional config block (None gives the model's defaults).

    Raises:
        ConfigError: Naming ``source`` and every offending key.
    """
    try:
        return model.model_validate(dict(raw or {}))
    except ValidationError as exc:
        raise config_error(source, exc, model) from None  # the message holds every error
