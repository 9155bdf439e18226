"""Run the training pipeline with one fault that a test cannot cause from outside.

``python -m tests.e2e.faults FAULT CONFIG`` runs ``training_pipeline`` with ``CONFIG``, as
``zenml pipeline run`` does, after arranging for ``FAULT``:

- ``classifier-vanishes``: once ``evaluate_model`` has succeeded, the run's ``classifier``
  artifact files are deleted from the artifact store (another process cleaning the store), so
  ``register_model`` cannot load its input;
- ``registry-unreachable``: the first move of the MLflow ``champion`` alias raises, as when the
  tracking server goes away while ``promote_model`` moves production;
- ``decision-not-stored``: writing ``promote_model``'s output to the artifact store raises, as
  when the store goes away after the step's own code has returned;
- ``registration-not-stored``: the same for ``register_model``'s output, after the step's code
  has created and registered the model version.

Everything else is real: the stack, the stores, the steps.
"""

from __future__ import annotations

import sys
from typing import Any, NoReturn

from zenml import get_step_context
from zenml.client import Client

FAULTS = (
    "classifier-vanishes",
    "registry-unreachable",
    "decision-not-stored",
    "registration-not-stored",
)


def delete_this_runs_classifier() -> None:
    """Success hook of ``evaluate_model``: delete the run's ``classifier`` artifact files."""
    run = Client().get_pipeline_run(get_step_context().pipeline_run.id)
    artifact = run.steps["train_model"].outputs["classifier"][0]
    Client().active_stack.artifact_store.rmtree(artifact.uri)


def _registry_unreachable_once() -> None:
    import release.production as production

    original = production._move_aliases
    calls = {"n": 0}

    def move_aliases(*args: Any, **kwargs: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionError("MLflow registry unreachable (injected fault)")
        original(*args, **kwargs)

    production._move_aliases = move_aliases  # type: ignore[assignment]


def _output_refused(step: str) -> None:
    """Make the artifact store refuse ``step``'s output once the step's code returned.

    The output's own materializer is patched: ``promote_model`` returns a ``PromotionRecord``
    (``PromotionRecordMaterializer``), ``register_model`` a ``Registration``
    (``RecordModelMaterializer``). A fault on the wrong materializer would never fire, and the
    test would see a run that succeeds.
    """
    from zenml.materializers.base_materializer import BaseMaterializer

    from materializers.promotion_materializer import PromotionRecordMaterializer
    from materializers.typed_records import RecordModelMaterializer

    materializer: type[BaseMaterializer] = (
        PromotionRecordMaterializer if step == "promote_model" else RecordModelMaterializer
    )
    original = materializer.save

    def save(self: BaseMaterializer, data: Any) -> None:
        if f"/{step}/" in self.uri:
            raise OSError(f"{self.uri}: the artifact store refused the write (injected fault)")
        original(self, data)

    materializer.save = save  # type: ignore[method-assign]


def _usage() -> NoReturn:
    print(f"usage: python -m tests.e2e.faults {{{','.join(FAULTS)}}} CONFIG", file=sys.stderr)
    raise SystemExit(2)


def main(argv: list[str]) -> int:
    """Arrange the fault, then run the pipeline; ZenML's own error ends the process."""
    if len(argv) != 2 or argv[0] not in FAULTS:
        _usage()
    fault, config = argv
    from pipelines.training import training_pipeline
    from steps.evaluation.evaluate_model import evaluate_model

    if fault == "classifier-vanishes":
        evaluate_model.configure(on_success="tests.e2e.faults.delete_this_runs_classifier")
    elif fault == "registry-unreachable":
        _registry_unreachable_once()
    elif fault == "decision-not-stored":
        _output_refused("promote_model")
    else:
        _output_refused("register_model")
    training_pipeline.with_options(config_path=config)()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
