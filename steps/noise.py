"""Logging filters for three library messages that warn about nothing wrong in this project.

Each filter drops one exact message and nothing else (README, "Log lines you can ignore"):

* ZenML's MLflow experiment tracker disables MLflow autologging for a fixed list of frameworks
  before every step, including ``fastai``, whose MLflow flavor MLflow 3 removed: it warns
  ``Failed to disable MLflow autologging for the following frameworks: ['fastai'].`` on every
  step. Autologging is disabled for every framework that exists; the warning is dropped only
  when ``fastai`` is the sole framework listed.
* ZenML's compiler warns ``[ZML002] ... docker settings but no component in your stack makes use
  of them`` on the local stack: the pipelines carry Docker settings for the containerised stacks
  (``pipelines/docker_settings.py``) and the local orchestrator ignores them, as intended.

Installed by importing this module (``steps`` and ``pipelines`` import it); installing twice is
harmless.
"""

from __future__ import annotations

import logging

_AUTOLOG_LOGGER = "zenml.integrations.mlflow.experiment_trackers.mlflow_experiment_tracker"
_AUTOLOG_MESSAGE = "Failed to disable MLflow autologging for the following frameworks: ['fastai']."
_WARNINGS_LOGGER = "zenml.utils.warnings.controller"


class DropMessages(logging.Filter):
    """Drop log records whose message is one of ``exact`` or starts with one of ``prefixes``.

    Args:
        exact: Messages dropped when equal.
        prefixes: Messages dropped when they start with one of these.
    """

    def __init__(self, exact: tuple[str, ...] = (), prefixes: tuple[str, ...] = ()) -> None:
        super().__init__(name="tabular-noise")
        self.exact = exact
        self.prefixes = prefixes

    def filter(self, record: logging.LogRecord) -> bool:
        """False for a record to drop."""
        message = record.getMessage()
        return message not in self.exact and not message.startswith(self.prefixes)


def install() -> None:
    """Attach the filters to ZenML's loggers (once)."""
    targets = {
        _AUTOLOG_LOGGER: DropMessages(exact=(_AUTOLOG_MESSAGE,)),
        _WARNINGS_LOGGER: DropMessages(prefixes=("[ZML002]",)),
    }
    for name, noise_filter in targets.items():
        target = logging.getLogger(name)
        if not any(getattr(f, "name", None) == "tabular-noise" for f in target.filters):
            target.addFilter(noise_filter)


install()
