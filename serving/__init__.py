"""Serving adapters around the singleton predictor (MLflow pyfunc)."""
