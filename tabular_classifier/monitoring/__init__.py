"""Monitoring logic with no ZenML in it: window selection, drift summaries, health checks, alerts.

- ``config``: the validated ``monitoring:`` block of ``configs/monitoring.yaml``.
- ``window``: the current data, streamed from the prediction log (or a file) with bounded memory.
- ``drift``: the Evidently metrics to run and the JSON summary read back from the report.
- ``health``: latency percentiles against the SLO, live metrics against the training test metrics.
- ``alerts``: the alerts those results call for, as plain records.
"""
