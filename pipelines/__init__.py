"""ZenML pipelines: one file per pipeline, each only wires steps."""

import steps.noise  # noqa: F401  (drops library warnings about nothing wrong here)
