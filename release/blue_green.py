"""Blue-green deployment and rollback: the import path callers have used since the start.

The work lives in modules split by job; this module re-exports their public names so that
``from release.blue_green import deploy`` (steps, pipelines, ``python -m release``, tests)
keeps working:

- :mod:`release.model_servers`: start a model server through the stack's model deployer,
  health check, smoke test, identify the answering process, restart a crashed one, delete.
- :mod:`release.switching`: the blue-green deploy and the routing-table switch.
- :mod:`release.rollback`: rollback from the recorded production history.
"""

from __future__ import annotations

from release.model_servers import (
    DEFAULT_TIMEOUT_S,
    DEFAULT_TOLERANCE,
    DEFAULT_WORKERS,
    MODEL_SERVER_PORT_START,
    DeploymentError,
    health_check,
    identify_server,
    restart_server,
    smoke_test,
)
from release.rollback import history_after_rollback, rollback, rollback_target
from release.switching import (
    already_serving,
    deploy,
    deployment_record,
    resolve_model_version,
    switch,
)

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "DEFAULT_TOLERANCE",
    "DEFAULT_WORKERS",
    "MODEL_SERVER_PORT_START",
    "DeploymentError",
    "already_serving",
    "deploy",
    "deployment_record",
    "health_check",
    "history_after_rollback",
    "identify_server",
    "resolve_model_version",
    "restart_server",
    "rollback",
    "rollback_target",
    "smoke_test",
    "switch",
]
