"""A ZenML pipeline whose run-config parameters fail with a message that names file and key.

ZenML checks a pipeline's parameters (the run config's ``parameters:`` block) against the
entrypoint's signature with pydantic, and on a mistake raises ``Invalid or missing pipeline
function entrypoint arguments. Only JSON serializable inputs are allowed ...`` with the pydantic
error chained above it: a misspelt ``promotoin:`` is reported as a serialisation problem, and the
file is not named. :func:`checked_pipeline` builds the same ``zenml.pipelines.Pipeline``, with
only that check's error replaced by a :class:`~tabular_classifier.errors.ConfigError` naming the
``-c`` file, every bad key and the closest parameter name:

    configs/my.yaml: parameters of training_pipeline: key 'promotoin': not a parameter
    (did you mean 'promotion'? parameters: data, model_config_path, ...)
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from zenml.pipelines.pipeline_definition import Pipeline

from tabular_classifier.config_files import run_config_file
from tabular_classifier.errors import ConfigError


class CheckedPipeline(Pipeline):
    """``zenml.pipelines.Pipeline`` with a clear error for bad run-config parameters."""

    def _validate_entrypoint_args(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """ZenML's check of the entrypoint's arguments (unchanged when they are valid).

        Raises:
            ConfigError: If a parameter is unknown, missing or of the wrong type; the message
                names the run config file (when run with ``zenml pipeline run -c FILE``), the
                pipeline and every offending parameter.
        """
        try:
            return super()._validate_entrypoint_args(*args, **kwargs)
        except ValueError as exc:
            cause = exc.__cause__
            if not isinstance(cause, ValidationError):
                raise
            raise self._config_error(cause) from None

    def _config_error(self, error: ValidationError) -> ConfigError:
        names = list(inspect.signature(self.entrypoint).parameters)
        # One entry per parameter: a union (``version: str | int | None``) fails once per
        # member, at locations such as ("version", "str") that name no key of the file.
        by_key: dict[str, list[dict[str, Any]]] = {}
        for item in error.errors():
            by_key.setdefault(str(item["loc"][0]), []).append(dict(item))
        problems: list[tuple[str, str]] = []
        for key, items in by_key.items():
            kind = items[0]["type"]
            if kind == "unexpected_keyword_argument":
                close = difflib.get_close_matches(key, names, n=1)
                hint = f"did you mean '{close[0]}'? " if close else ""
                problems.append((key, f"not a parameter ({hint}parameters: {', '.join(names)})"))
            elif kind == "missing_argument":
                problems.append((key, "required, and missing"))
            elif len(items) > 1:
                wanted = [str(i["msg"]).removeprefix("Input should be ") for i in items]
                problems.append((key, f"expected {' or '.join(wanted)}"))
            else:
                problems.append((key, str(items[0]["msg"])))
        file = run_config_file()
        source = f"parameters of {self.name}"
        source = source if file is None else f"{file}: {source}"
        (key, detail), *others = problems
        detail += "".join(f"; also key '{other}': {text}" for other, text in others)
        return ConfigError(source, key, detail + _missing_block_hint(file))


def _missing_block_hint(file: str | None) -> str:
    """A note when the run config file has no ``parameters:`` block (a misspelt top-level key)."""
    if file is None:
        return ""
    try:
        document = yaml.safe_load(Path(file).read_text())
    except (OSError, yaml.YAMLError):
        return ""
    if not isinstance(document, dict) or "parameters" in document:
        return ""
    keys = [str(key) for key in document]
    close = difflib.get_close_matches("parameters", keys, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"; {file} has no 'parameters:' block{hint}, top-level keys: {', '.join(keys)}"


def checked_pipeline(**options: Any) -> Callable[[Callable[..., Any]], CheckedPipeline]:
    """``zenml.pipeline(**options)``, building a :class:`CheckedPipeline`.

    Args:
        **options: ``zenml.pipelines.Pipeline``'s keyword arguments (``name``, ``settings``,
            ``enable_cache``, ...); ``name`` defaults to the function's name.

    Returns:
        The decorator.
    """

    def decorate(func: Callable[..., Any]) -> CheckedPipeline:
        checked = CheckedPipeline(**{"name": func.__name__, **options}, entrypoint=func)
        checked.__doc__ = func.__doc__
        return checked

    return decorate
