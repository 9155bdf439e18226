"""What the README's training command produces, as every test that runs it expects it.

``configs/training.yaml`` names the model and the MLflow experiment; ``pipelines/training.py``
wires the seven steps. The end-to-end, server-stack and container tests assert against these.
"""

from __future__ import annotations

MODEL_NAME = "breast_cancer_classifier"
EXPERIMENT = "breast-cancer-classifier-training"
TRAINING_STEPS = frozenset(
    {
        "ingest_data",
        "validate_data",
        "split_data",
        "train_model",
        "evaluate_model",
        "register_model",
        "promote_model",
    }
)
