"""Monitoring steps: current window -> drift report -> service health -> alerts (and retraining)."""
