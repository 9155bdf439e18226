"""ZenML pipelines: one file per pipeline, each only wires steps."""
