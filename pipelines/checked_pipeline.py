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
from typing import Any

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
        problems: list[tuple[str, str]] = []
        for item in error.errors():
            key = ".".join(str(part) for part in item["loc"])
            if item["type"] == "unexpected_keyword_argument":
                close = difflib.get_close_matches(key, names, n=1)
                hint = f"did you mean '{close[0]}'? " if close else ""
                problems.append((key, f"not a parameter ({hint}parameters: {', '.join(names)})"))
            elif item["type"] == "missing_argument":
                problems.append((key, "required, and missing"))
            else:
                problems.append((key, str(item["msg"])))
        file = run_config_file()
        source = f"parameters of {self.name}"
        source = source if file is None else f"{file}: {source}"
        (key, detail), *others = problems
        detail += "".join(f"; also key '{other}': {text}" for other, text in others)
        return ConfigError(source, key, detail)


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
