"""Releasing model versions: the production pointer and blue-green deployments.

ZenML-aware glue shared by the promotion and deployment steps and by the ``python -m release``
command (status, rollback, gateway start/stop).
"""
