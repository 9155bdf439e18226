"""Typed records that steps hand each other: registration, deployment, retraining run.

Each is a frozen pydantic model, stored by ZenML as one JSON file
(``materializers/typed_records.py``: ZenML's pydantic materializer plus a JSON view for the
dashboard). The same fields, as a dict (``model_dump(mode="json")``), are what the steps log
as run and model-version metadata, so readers of the metadata see the names documented here.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Registration(BaseModel):
    """The ``registration`` artifact: the model version ``register_model`` created.

    Attributes:
        zenml_model: The ZenML model's name.
        zenml_model_version: The new ZenML model version's number, as a string.
        mlflow_model_uri: The logged MLflow pyfunc model (``models:/<model_id>``).
        mlflow_run_id: The MLflow run it was logged in; empty when no run was active.
        registered_model: The model registry's model name (the ZenML model's name).
        registered_version: The model registry's version; empty when the stack has no
            model registry.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    zenml_model: str
    zenml_model_version: str
    mlflow_model_uri: str
    mlflow_run_id: str
    registered_model: str
    registered_version: str


class Deployment(BaseModel):
    """The ``deployment`` artifact: what a blue-green deployment left serving.

    Attributes:
        model_name: The ZenML model served.
        deployment_id: The deployment's id in the routing table.
        model_version: The ZenML model version now active.
        registered_version: Its model registry version.
        service_id: The model server's service id.
        url: The model server's prediction URL.
        previous_model_name: The model the gateway served before, or None.
        previous_version: The version it served before, or None (the first deployment).
        smoke_max_abs_diff: Largest absolute difference between served probabilities and
            those recorded at evaluation (0 when the version was already active).
        gateway: The gateway's URL, where clients send requests.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    model_name: str
    deployment_id: str
    model_version: str
    registered_version: str
    service_id: str
    url: str
    previous_model_name: str | None
    previous_version: str | None
    smoke_max_abs_diff: float
    gateway: str


class RetrainRun(BaseModel):
    """The ``retraining_run`` artifact: the training run a drift alert started.

    Attributes:
        run_name: The run's name (ties it to the monitoring run that started it).
        run_id: The ZenML pipeline run id; empty when the run could not be started or found.
        status: The run's ZenML status (``completed``, ``failed``, ...), or why it has none
            (``not started: ...``).
        returncode: Exit code of the process that ran it; None when none ran to its end.
        config_path: The training run config it ran with, as configured.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    run_name: str
    run_id: str = ""
    status: str
    returncode: int | None = None
    config_path: str

    @property
    def completed(self) -> bool:
        """Whether the training run finished successfully."""
        return self.status == "completed"
